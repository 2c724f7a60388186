"""Cassette files: recorded SageMaker Runtime calls, one JSON event per line (pure, stdlib).

A cassette is UTF-8 JSON lines (see ``docs/cassettes.md``)::

    {"cassette": 1, "match": [...], "note": "..."}                       header
    {"i": 0, "request": {"operation": ..., "endpoint": ..., "headers": {...}, "json": {...}}}
    {"i": 0, "response": {"status": 200, "headers": {...}, "t": 0.1203}}
    {"i": 0, "t": 0.1456, "b": "<base64 of the bytes of one network read>", "text": "..."}
    {"i": 0, "end": "complete", "t": 0.9012}

``i`` numbers the interactions; ``t`` is seconds since the request was sent. A read's
``b`` is the raw body bytes exactly as they arrived (event-stream frames for a stream,
the JSON document for a whole answer or an error); ``text`` is a readable preview of
the payloads the read completes, ignored when loading. Lines are written with sorted
keys and rounded times, so a re-recorded cassette diffs line by line.

Only an allowlist of headers is ever kept: nothing that signs or authenticates a
request (``Authorization``, ``X-Amz-*``) can reach a cassette.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

CASSETTE_VERSION = 1
STREAM = "InvokeEndpointWithResponseStream"
WHOLE = "InvokeEndpoint"
OPERATIONS = (STREAM, WHOLE)
End = Literal["complete", "reset", "closed"]
ENDS: tuple[str, ...] = ("complete", "reset", "closed")
MATCHERS: tuple[str, ...] = ("operation", "endpoint", "body", "prompt")
DEFAULT_MATCH: tuple[str, ...] = ("operation", "endpoint", "body")

# The request headers that change what the endpoint answers. Everything else (the
# signature, the security token, dates, hashes, the user agent) is dropped: an
# allowlist, so a header botocore adds tomorrow cannot leak either.
REQUEST_HEADERS = frozenset(
    {
        "content-type",
        "accept",
        "x-amzn-sagemaker-custom-attributes",
        "x-amzn-sagemaker-target-model",
        "x-amzn-sagemaker-target-variant",
        "x-amzn-sagemaker-target-container-hostname",
        "x-amzn-sagemaker-inference-id",
        "x-amzn-sagemaker-inference-component",
        "x-amzn-sagemaker-session-id",
    }
)
RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "x-amzn-requestid",
        "x-amzn-errortype",
        "x-amzn-sagemaker-content-type",
        "x-amzn-sagemaker-custom-attributes",
        "x-amzn-sagemaker-new-session-id",
        "x-amzn-sagemaker-closed-session-id",
        "x-amzn-invoked-production-variant",
    }
)
# JSON body keys that hold the prompt, in every body shape the package sends.
_PROMPT_KEYS = ("inputs", "prompt", "messages")
_REDACTED = "<redacted sha256:"


class CassetteFormatError(ValueError):
    """A cassette file that cannot be read: its path, line and what is wrong."""


def keep_headers(headers: Mapping[str, str], allowed: frozenset[str]) -> dict[str, str]:
    """The allowed headers only, names in lower case, sorted."""
    kept = {str(k).lower(): str(v) for k, v in headers.items() if str(k).lower() in allowed}
    return dict(sorted(kept.items()))


def _redact_value(value: Any) -> Any:
    """Replace every string inside ``value`` by a hash of it (already redacted ones stay)."""
    if isinstance(value, str):
        if value.startswith(_REDACTED):
            return value
        digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
        return f"{_REDACTED}{digest}>"
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    if isinstance(value, dict):
        return {
            k: (v if k in ("role", "type", "name") else _redact_value(v)) for k, v in value.items()
        }
    return value


def redact_prompt(body: Any) -> Any:
    """The JSON body with its prompt (``inputs``, ``prompt``, message texts) hashed.

    Hashing, not blanking, keeps requests matchable: an incoming body is redacted the
    same way before it is compared. Roles and content-part types stay readable.
    """
    if not isinstance(body, dict):
        return body
    return {k: (_redact_value(v) if k in _PROMPT_KEYS else v) for k, v in body.items()}


def prompt_of(body: Any) -> Any:
    """The prompt fields of a JSON body (for ``match=("prompt",)``)."""
    if not isinstance(body, dict):
        return body
    return {k: body[k] for k in _PROMPT_KEYS if k in body}


@dataclass(frozen=True)
class CassetteRequest:
    """The part of a request that decides its answer.

    Attributes:
        operation: ``InvokeEndpointWithResponseStream`` or ``InvokeEndpoint``.
        endpoint: The endpoint name.
        headers: Allowlisted request headers, lower case.
        body: The request body (bytes as sent, or re-serialised JSON when loaded).
        redacted: Whether the prompt in ``body`` is hashed.
    """

    operation: str
    endpoint: str
    headers: Mapping[str, str]
    body: bytes
    redacted: bool = False

    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Interaction:
    """One request and what came back, as it came back.

    Attributes:
        request: What was asked.
        status: HTTP status (0 when no answer arrived).
        headers: Allowlisted response headers, lower case.
        head_t: Seconds from sending the request to the answer's head.
        reads: ``(t, bytes)`` per network read of the body, ``t`` in seconds since
            the request was sent; an error answer has its document here.
        end: ``"complete"`` (the body ended), ``"reset"`` (the connection broke) or
            ``"closed"`` (the client stopped reading first: a stop sequence).
        end_t: When it ended.
    """

    request: CassetteRequest
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    head_t: float = 0.0
    reads: list[tuple[float, bytes]] = field(default_factory=list)
    end: str = "complete"
    end_t: float = 0.0

    @property
    def body(self) -> bytes:
        """Every read joined."""
        return b"".join(data for _, data in self.reads)


@dataclass
class Cassette:
    """Interactions, in the order their requests were sent.

    Attributes:
        interactions: The recorded calls.
        match: The matchers a replay uses unless told otherwise.
        note: Free text kept in the header line (where the recording came from).
    """

    interactions: list[Interaction] = field(default_factory=list)
    match: tuple[str, ...] = DEFAULT_MATCH
    note: str = ""

    def dumps(self) -> str:
        """The cassette as JSON lines, deterministic: same calls, same text."""
        header: dict[str, Any] = {"cassette": CASSETTE_VERSION, "match": list(self.match)}
        if self.note:
            header["note"] = self.note
        lines = [_line(header)]
        for i, item in enumerate(self.interactions):
            lines.extend(_line(event) for event in _events(i, item))
        return "\n".join(lines) + "\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the cassette (atomically: a reader never sees half a file)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_text(self.dumps(), encoding="utf-8")
        temporary.replace(target)


def _line(event: Mapping[str, Any]) -> str:
    return json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _t(seconds: float) -> float:
    return round(seconds, 4)


def _events(i: int, item: Interaction) -> Iterable[dict[str, Any]]:
    request = item.request
    described: dict[str, Any] = {
        "operation": request.operation,
        "endpoint": request.endpoint,
        "headers": dict(sorted(request.headers.items())),
    }
    parsed = request.json()
    if parsed is not None:
        described["json"] = parsed
    else:
        described["b64"] = base64.b64encode(request.body).decode("ascii")
    if request.redacted:
        described["redacted"] = True
    yield {"i": i, "request": described}
    if item.status:
        yield {
            "i": i,
            "response": {"status": item.status, "headers": item.headers, "t": _t(item.head_t)},
        }
    previews = _previews(item)
    for (t, data), preview in zip(item.reads, previews, strict=True):
        event: dict[str, Any] = {"i": i, "t": _t(t), "b": base64.b64encode(data).decode("ascii")}
        if preview:
            event["text"] = preview
        yield event
    yield {"i": i, "end": item.end, "t": _t(item.end_t)}


def _previews(item: Interaction) -> list[str]:
    """Per read, the text of the payloads whose frame ends in it (for humans only)."""
    if item.headers.get("content-type") != "application/vnd.amazon.eventstream":
        return [data.decode("utf-8", "replace") for _, data in item.reads]
    previews: list[str] = []
    buffer = b""
    for _, data in item.reads:
        buffer += data
        texts: list[str] = []
        while len(buffer) >= 12:
            total, headers_length = struct.unpack(">II", buffer[:8])
            if total < 16 or len(buffer) < total:
                break
            payload = buffer[12 + headers_length : total - 4]
            texts.append(payload.decode("utf-8", "replace"))
            buffer = buffer[total:]
        previews.append("".join(texts))
    return previews


def load(path: str | os.PathLike[str]) -> Cassette:
    """Read a cassette file.

    Raises:
        CassetteFormatError: The file is missing, not a cassette, of a newer version,
            or broken; the message names the file and the line.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CassetteFormatError(f"no cassette at {source}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CassetteFormatError(f"cannot read the cassette {source}: {exc}") from exc
    return loads(text, str(source))


def loads(text: str, name: str = "<cassette>") -> Cassette:
    """Parse cassette text; ``name`` appears in error messages.

    Raises:
        CassetteFormatError: As :func:`load`.
    """
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise CassetteFormatError(f"{name} is empty; a cassette starts with a header line")
    header = _parse(name, *lines[0])
    version = header.get("cassette")
    if not isinstance(version, int):
        raise CassetteFormatError(f'{name}:1 is not a cassette header (no "cassette": version)')
    if version > CASSETTE_VERSION:
        raise CassetteFormatError(
            f"{name} is cassette version {version}; this release reads version "
            f"{CASSETTE_VERSION}. Upgrade langchain-jumpstart-stream"
        )
    match = _matchers(header.get("match", list(DEFAULT_MATCH)), f"{name}:1")
    cassette = Cassette(match=match, note=str(header.get("note", "")))
    by_index: dict[int, Interaction] = {}
    for number, line in lines[1:]:
        where = f"{name}:{number}"
        event = _parse(name, number, line)
        try:
            _apply(event, by_index, cassette, where)
        except (AttributeError, KeyError, TypeError, ValueError, binascii.Error) as exc:
            if isinstance(exc, CassetteFormatError):
                raise
            raise CassetteFormatError(f"{where}: malformed event ({exc!r})") from exc
    return cassette


def _parse(name: str, number: int, line: str) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError as exc:
        raise CassetteFormatError(f"{name}:{number} is not JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise CassetteFormatError(f"{name}:{number} is not a JSON object")
    return event


def _apply(
    event: dict[str, Any], by_index: dict[int, Interaction], cassette: Cassette, where: str
) -> None:
    index = event["i"]
    if not isinstance(index, int):
        raise CassetteFormatError(f'{where}: "i" must be an integer')
    if "request" in event:
        if index in by_index:
            raise CassetteFormatError(f"{where}: interaction {index} has two requests")
        by_index[index] = item = Interaction(_request(event["request"], where))
        cassette.interactions.append(item)
        return
    item_or_none = by_index.get(index)
    if item_or_none is None:
        raise CassetteFormatError(f"{where}: interaction {index} has no request line before it")
    item = item_or_none
    if "response" in event:
        response = event["response"]
        item.status = int(response["status"])
        item.headers = {str(k).lower(): str(v) for k, v in response.get("headers", {}).items()}
        item.head_t = float(response.get("t", 0.0))
    elif "b" in event:
        item.reads.append((float(event["t"]), base64.b64decode(event["b"], validate=True)))
    elif "end" in event:
        if event["end"] not in ENDS:
            raise CassetteFormatError(f'{where}: "end" must be one of {", ".join(ENDS)}')
        item.end = event["end"]
        item.end_t = float(event.get("t", 0.0))
    else:
        raise CassetteFormatError(f"{where}: unknown event (no request, response, b or end)")


def _request(described: Mapping[str, Any], where: str) -> CassetteRequest:
    operation = described["operation"]
    if operation not in OPERATIONS:
        raise CassetteFormatError(f"{where}: unknown operation {operation!r}")
    if "json" in described:
        body = json.dumps(described["json"], ensure_ascii=False).encode("utf-8")
    else:
        body = base64.b64decode(described.get("b64", ""), validate=True)
    headers = {str(k).lower(): str(v) for k, v in described.get("headers", {}).items()}
    return CassetteRequest(
        operation=operation,
        endpoint=str(described["endpoint"]),
        headers=headers,
        body=body,
        redacted=bool(described.get("redacted", False)),
    )


def _matchers(names: Any, where: str) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise CassetteFormatError(f'{where}: "match" must be a list of {", ".join(MATCHERS)}')
    unknown = [n for n in names if n not in MATCHERS]
    if unknown:
        raise CassetteFormatError(
            f"{where}: unknown matcher {unknown[0]!r}; use some of {', '.join(MATCHERS)}"
        )
    return tuple(names)
