"""Serve a cassette: find the recorded interaction of a request and play it back.

The answer is replayed as it was received: the same status, allowlisted headers and
body bytes, each recorded network read sent as one HTTP chunk at its recorded time
(or scaled, or at once), or the bytes re-cut at random. A request no interaction
matches gets a ``ValidationError`` naming the cassette, never a made-up answer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from ._cassette import (
    MATCHERS,
    REQUEST_HEADERS,
    WHOLE,
    Cassette,
    CassetteFormatError,
    CassetteRequest,
    Interaction,
    keep_headers,
    load,
    prompt_of,
    redact_prompt,
)
from ._sink import StoppedError
from ._state import RecordedRequest

# How long a replayed stream that broke waits before its reset (see serve()).
_READ_GRACE = 0.25

__all__ = [
    "CassetteFormatError",
    "CassetteMissError",
    "Replay",
    "add_replay_arguments",
    "replay_from_arguments",
    "serve",
]

Matcher = Callable[[CassetteRequest, CassetteRequest], bool]
Cut = Literal["recorded", "random"]
# Re-cut pieces are 1 to this many bytes long: small enough to split frame headers.
_MAX_RANDOM_PIECE = 64


class CassetteMissError(LookupError):
    """No interaction of the cassette matches a request."""


@dataclass(frozen=True)
class _Piece:
    due: float
    data: bytes


class Replay:
    """What an :class:`~langchain_jumpstart_stream.emulator.Emulator` serves from a cassette.

    Args:
        cassette: A cassette file, or a loaded :class:`Cassette`.
        match: What must be equal for a recorded request to answer an incoming one:
            names among ``"operation"``, ``"endpoint"``, ``"body"`` (the JSON body,
            key order and spacing ignored) and ``"prompt"`` (only ``inputs``,
            ``prompt``, ``messages``); or a function ``(recorded, incoming) -> bool``.
            ``None``: the cassette's own (by default operation, endpoint and body).
        speed: ``1.0`` replays at the recorded pace, ``2.0`` twice as fast, ``None``
            as fast as possible.
        cut: ``"recorded"`` sends each recorded network read as one HTTP chunk;
            ``"random"`` re-cuts the same bytes at random places (see ``seed``),
            each piece sent when the recorded read that completes it arrived.
        seed: Seed of the random cuts.

    Several recorded interactions may match one request (a retried call, a
    question asked twice): the one played the fewest times is served, the
    earliest first, so they come back in the recorded order and then cycle.

    Attributes:
        misses: A description of every request that matched nothing, in order.
    """

    def __init__(
        self,
        cassette: str | os.PathLike[str] | Cassette,
        *,
        match: Sequence[str] | Matcher | None = None,
        speed: float | None = 1.0,
        cut: Cut = "recorded",
        seed: int = 0,
    ) -> None:
        if isinstance(cassette, Cassette):
            self.cassette, self.name = cassette, "<in-memory cassette>"
        else:
            self.cassette, self.name = load(cassette), str(Path(cassette))
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be a positive number or None, not {speed!r}")
        if cut not in ("recorded", "random"):
            raise ValueError(f'cut must be "recorded" or "random", not {cut!r}')
        if match is None:
            match = self.cassette.match
        if not callable(match):
            unknown = [m for m in match if m not in MATCHERS]
            if isinstance(match, str) or unknown:
                raise ValueError(f"match takes names among {', '.join(MATCHERS)}, not {match!r}")
        self.match = match
        self.speed = speed
        self.cut = cut
        self._random = random.Random(seed)  # noqa: S311 - cuts, not secrets
        self._plays = [0] * len(self.cassette.interactions)
        self._lock = threading.Lock()
        self.misses: list[str] = []

    def find(self, incoming: CassetteRequest) -> Interaction:
        """The interaction to play for ``incoming``.

        Raises:
            CassetteMissError: Nothing matches; the message says what was asked and
                what the cassette holds, without the prompt.
        """
        interactions = self.cassette.interactions
        with self._lock:
            found = [i for i, item in enumerate(interactions) if self._matches(item, incoming)]
            if found:
                index = min(found, key=lambda i: (self._plays[i], i))
                self._plays[index] += 1
                return interactions[index]
            message = self._miss_message(incoming)
            self.misses.append(message)
        raise CassetteMissError(message)

    def _matches(self, item: Interaction, incoming: CassetteRequest) -> bool:
        recorded = item.request
        if callable(self.match):
            return bool(self.match(recorded, incoming))
        for name in self.match:
            if name == "operation" and recorded.operation != incoming.operation:
                return False
            if name == "endpoint" and recorded.endpoint != incoming.endpoint:
                return False
            if name in ("body", "prompt") and not _same_body(recorded, incoming, name):
                return False
        return True

    def _miss_message(self, incoming: CassetteRequest) -> str:
        rules = ", ".join(self.match) if not callable(self.match) else "a custom matcher"
        same_place = [
            item.request
            for item in self.cassette.interactions
            if item.request.operation == incoming.operation
            and item.request.endpoint == incoming.endpoint
        ]
        if same_place:
            keys = sorted({k for r in same_place for k in _differing_keys(r, incoming)})
            held = (
                f"it holds {len(same_place)} for this operation and endpoint, with other "
                f"bodies (they differ in {', '.join(keys) or 'their bytes'})"
            )
        else:
            places = sorted(
                {
                    f"{r.request.operation} on {r.request.endpoint!r}"
                    for r in self.cassette.interactions
                }
            )
            held = "it holds " + ("; ".join(places) if places else "no interactions")
        return (
            f"no interaction in cassette {self.name} matches {incoming.operation} on endpoint "
            f"{incoming.endpoint!r} (matching on {rules}); {held}. Record it again "
            "(pytest --jumpstart-record, or cassettes.record()), or loosen match="
        )

    def pieces(self, item: Interaction) -> list[_Piece]:
        """The body as it is to be sent, each piece with its due time in seconds."""
        reads = [_Piece(self.due(t), data) for t, data in item.reads if data]
        if self.cut == "recorded" or not reads:
            return reads
        out: list[_Piece] = []
        with self._lock:  # one Random shared by the handler threads
            for piece in reads:
                data = piece.data
                while data:
                    size = self._random.randint(1, _MAX_RANDOM_PIECE)
                    out.append(_Piece(piece.due, data[:size]))
                    data = data[size:]
        return out

    def due(self, t: float) -> float:
        """When something recorded ``t`` seconds after the request is to be sent."""
        return 0.0 if self.speed is None else max(0.0, t) / self.speed


def _comparable(request: CassetteRequest, redacted: bool, part: str) -> Any:
    parsed = request.json()
    if parsed is None:
        return request.body
    if redacted:
        parsed = redact_prompt(parsed)
    return prompt_of(parsed) if part == "prompt" else parsed


def _same_body(recorded: CassetteRequest, incoming: CassetteRequest, part: str) -> bool:
    expected = _comparable(recorded, recorded.redacted, part)
    return bool(expected == _comparable(incoming, recorded.redacted, part))


def _differing_keys(recorded: CassetteRequest, incoming: CassetteRequest) -> list[str]:
    a = _comparable(recorded, recorded.redacted, "body")
    b = _comparable(incoming, recorded.redacted, "body")
    if not isinstance(a, dict) or not isinstance(b, dict):
        return []
    return [k for k in set(a) | set(b) if a.get(k) != b.get(k)]


class ReplayTarget(Protocol):
    """What :func:`serve` needs from the HTTP handler."""

    @property
    def stop_event(self) -> threading.Event:
        """Set when the emulator stops."""
        ...

    def start_stream(self, record: RecordedRequest, headers: dict[str, str]) -> None:
        """Send the status line and headers of a chunked 200 response."""
        ...

    def write_raw(self, data: bytes) -> None:
        """Write bytes as they are."""
        ...

    def write_chunk(self, data: bytes) -> None:
        """Write one HTTP chunk."""
        ...

    def reset_connection(self) -> None:
        """Abort the connection with a TCP RST."""
        ...

    def send_document(
        self, status: int, body: bytes, headers: dict[str, str], record: RecordedRequest
    ) -> None:
        """Send a whole response with a ``Content-Length``."""
        ...


def incoming_request(record: RecordedRequest, operation: str) -> CassetteRequest:
    """The served request in a cassette's terms."""
    return CassetteRequest(
        operation=operation,
        endpoint=record.endpoint,
        headers=keep_headers(record.headers, REQUEST_HEADERS),
        body=record.body,
    )


def serve(handler: ReplayTarget, replay: Replay, record: RecordedRequest, operation: str) -> None:
    """Answer one request from the cassette, or with a miss error.

    Raises:
        StoppedError: The emulator is stopping.
        ClientGoneError: The client went away.
    """
    started = time.monotonic()
    try:
        item = replay.find(incoming_request(record, operation))
    except CassetteMissError as miss:
        body = json.dumps({"message": str(miss)}).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "x-amzn-RequestId": record.request_id,
            "x-amzn-ErrorType": "ValidationError",
        }
        handler.send_document(400, body, headers, record)
        return

    def wait_until(due: float) -> None:
        delay = started + due - time.monotonic()
        if delay > 0 and handler.stop_event.wait(delay):
            raise StoppedError

    headers = dict(item.headers)
    pieces = replay.pieces(item)
    streamed = operation != WHOLE and 200 <= item.status < 300
    wait_until(replay.due(item.head_t))
    if not item.status:  # no answer was recorded: the connection failed
        handler.reset_connection()
        return
    if not streamed:
        if pieces:
            wait_until(pieces[-1].due)
        if item.end == "reset":
            handler.reset_connection()
            return
        handler.send_document(item.status, item.body, headers, record)
        return
    handler.start_stream(record, headers)
    for piece in pieces:
        wait_until(piece.due)
        handler.write_chunk(piece.data)
    if item.end == "reset":
        # The recording client read every recorded byte before the connection broke.
        # A reset that lands before this client has read them discards them (the
        # kernel drops unread data, and aiohttp raises before handing out its
        # buffer), so the replay would lose text the recording kept: let it read.
        if handler.stop_event.wait(_READ_GRACE):
            raise StoppedError
        handler.reset_connection()
    else:
        handler.write_raw(b"0\r\n\r\n")


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator command's options to serve a cassette."""
    parser.add_argument(
        "--cassette", type=Path, default=None, help="answer every request from this cassette"
    )
    parser.add_argument(
        "--replay-speed",
        type=float,
        default=1.0,
        help="1 = the recorded pace, 2 = twice as fast, 0 = at once (default: %(default)s)",
    )
    parser.add_argument("--replay-cut", choices=("recorded", "random"), default="recorded")
    parser.add_argument("--replay-seed", type=int, default=0, help="seed of random cuts")
    parser.add_argument(
        "--match",
        default=None,
        help=f"comma-separated, among {','.join(MATCHERS)} (default: the cassette's)",
    )


def replay_from_arguments(args: argparse.Namespace) -> Replay | None:
    """The :class:`Replay` the options ask for, if any.

    Raises:
        ValueError: An option is invalid, or the cassette cannot be read (its
            :class:`CassetteFormatError` says where).
    """
    if args.cassette is None:
        return None
    match = args.match.split(",") if args.match else None
    return Replay(
        args.cassette,
        match=match,
        speed=args.replay_speed or None,
        cut=args.replay_cut,
        seed=args.replay_seed,
    )
