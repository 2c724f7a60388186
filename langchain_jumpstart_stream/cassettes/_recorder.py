"""Record the package's own calls into a cassette, at the transport's read loop.

The transport asks :mod:`.._recording` for a tap just before it sends a request
(:mod:`.._connection`). The tap keeps the allowlisted request headers and the body,
then the answer's status and allowlisted headers, then every network read of the
body with its arrival time, or the error document. The same :class:`_Tap` serves
blocking and async answers: only the two thin wrappers differ, because one iterates
and the other awaits.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

from .. import _recording
from .._async_http import AsyncResponse
from .._signing import Signed
from .._sync_http import SyncResponse
from ..emulator._cassette import (
    REQUEST_HEADERS,
    RESPONSE_HEADERS,
    Cassette,
    CassetteRequest,
    Interaction,
    keep_headers,
    redact_prompt,
)
from ..errors import CassetteError

__all__ = ["Recorder", "record"]


class Recorder:
    """Collects the calls made while it is active; see :func:`record`.

    Args:
        path: Where :meth:`save` writes the cassette.
        redact_prompts: Hash the prompt (``inputs``, ``prompt``, message texts) in
            recorded requests; replays still match them (the incoming prompt is
            hashed the same way). The answers are kept as they are.
        note: Free text for the cassette's header (where it was recorded).

    Attributes:
        cassette: What was recorded so far.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, redact_prompts: bool = False, note: str = ""
    ) -> None:
        self.path = Path(path)
        self.redact_prompts = redact_prompts
        self.cassette = Cassette(note=note)
        self._lock = threading.Lock()  # batch() records from several threads

    def tap(self, operation: str, signed: Signed, endpoint_name: str) -> _Tap:
        """Start recording one request (called by the transport just before it sends)."""
        body = signed.body
        redacted = False
        if self.redact_prompts:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                body = json.dumps(redact_prompt(parsed), ensure_ascii=False).encode("utf-8")
                redacted = True
        request = CassetteRequest(
            operation=operation,
            endpoint=endpoint_name,
            headers=keep_headers(signed.headers, REQUEST_HEADERS),
            body=body,
            redacted=redacted,
        )
        item = Interaction(request)
        with self._lock:
            self.cassette.interactions.append(item)
        return _Tap(item, self._lock)

    def save(self) -> Path:
        """Write the cassette to :attr:`path`; return the path.

        Raises:
            CassetteError: The file cannot be written.
        """
        with self._lock:
            try:
                self.cassette.save(self.path)
            except OSError as exc:
                raise CassetteError(
                    f"cannot write the cassette {self.path}: {exc.strerror or exc}",
                    hint="Record into a folder you can write to",
                ) from exc
        return self.path


class _Tap:
    """One interaction being filled in as its answer arrives."""

    def __init__(self, item: Interaction, lock: threading.Lock) -> None:
        self._item = item
        self._lock = lock
        self._start = time.monotonic()
        self._ended = False
        # Until an answer arrives, the request failed to get one: a replay then drops
        # the connection, as the network did.
        item.end = "reset"

    def _now(self) -> float:
        return time.monotonic() - self._start

    def _head(self, status: int, headers: Mapping[str, str]) -> None:
        with self._lock:
            self._item.status = status
            self._item.headers = keep_headers(headers, RESPONSE_HEADERS)
            self._item.head_t = self._now()

    def read(self, data: bytes) -> None:
        """A network read arrived."""
        if data:
            with self._lock:
                self._item.reads.append((self._now(), bytes(data)))

    def finish(self, how: str) -> None:
        """The body ended (``complete``), broke (``reset``) or was closed (``closed``)."""
        with self._lock:
            if not self._ended:
                self._ended = True
                self._item.end = how
                self._item.end_t = self._now()

    def error(self, status: int, headers: Mapping[str, str], document: bytes) -> None:
        """An error answer: its head and document."""
        self._head(status, headers)
        self.read(document)
        self.finish("complete")

    def answer(self, response: SyncResponse) -> SyncResponse:
        """Wrap a blocking answer whose head arrived."""
        self._head(response.status, response.headers)
        return _RecordingSync(response, self)

    def aanswer(self, response: AsyncResponse) -> AsyncResponse:
        """Wrap an async answer whose head arrived."""
        self._head(response.status, response.headers)
        return _RecordingAsync(response, self)

    def follow(self, reads: Iterator[bytes]) -> Iterator[bytes]:
        """Pass blocking reads through, recording each."""
        how = "reset"  # unless the body ends or the caller stops reading
        try:
            for data in reads:
                self.read(data)
                yield data
            how = "complete"
        except GeneratorExit:
            how = "closed"
            raise
        finally:
            self.finish(how)

    async def afollow(self, reads: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """:meth:`follow` for ``async for``."""
        how = "reset"
        try:
            async for data in reads:
                self.read(data)
                yield data
            how = "complete"
        except GeneratorExit:
            how = "closed"
            raise
        finally:
            self.finish(how)


class _RecordingSync(SyncResponse):
    """A blocking answer whose reads are recorded; it delegates everything else."""

    def __init__(self, inner: SyncResponse, tap: _Tap) -> None:  # no super(): a wrapper
        self._inner = inner
        self._tap = tap
        self.status = inner.status
        self.headers = inner.headers
        self.request_id = inner.request_id

    def reads(self) -> Iterator[bytes]:
        return self._tap.follow(self._inner.reads())

    def read_all(self, limit: int | None = None) -> bytes:
        with self._recorded_end():
            data = self._inner.read_all() if limit is None else self._inner.read_all(limit)
            self._tap.read(data)
        return data

    def close(self) -> None:
        self._inner.close()
        self._tap.finish("closed")

    @contextlib.contextmanager
    def _recorded_end(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self._tap.finish("reset")
            raise
        self._tap.finish("complete")


class _RecordingAsync(AsyncResponse):
    """An async answer whose reads are recorded; it delegates everything else."""

    def __init__(self, inner: AsyncResponse, tap: _Tap) -> None:  # no super(): a wrapper
        self._inner = inner
        self._tap = tap
        self.status = inner.status
        self.headers = inner.headers
        self.request_id = inner.request_id

    def areads(self) -> AsyncIterator[bytes]:
        return self._tap.afollow(self._inner.areads())

    async def read_all(self, limit: int | None = None) -> bytes:
        try:
            data = await (self._inner.read_all() if limit is None else self._inner.read_all(limit))
        except BaseException:
            self._tap.finish("reset")
            raise
        self._tap.read(data)
        self._tap.finish("complete")
        return data

    def close(self) -> None:
        self._inner.close()
        self._tap.finish("closed")


@contextlib.contextmanager
def record(
    path: str | os.PathLike[str], *, redact_prompts: bool = False, note: str = ""
) -> Iterator[Recorder]:
    """Record every call ``JumpStartLLM``/``ChatJumpStart`` make inside the block.

    The cassette is written when the block ends, failed calls included (an error
    answer is worth replaying too). Credentials, signatures and security tokens are
    never kept: only an allowlist of headers is.

    Example:
        >>> with record("tests/cassettes/hello.jsonl"):  # doctest: +SKIP
        ...     llm.invoke("Hello")

    Args:
        path: The cassette file to write (its folders are created).
        redact_prompts: Hash prompts in the recorded requests; see :class:`Recorder`.
        note: Free text for the cassette's header.

    Yields:
        The :class:`Recorder`; its ``cassette`` grows as calls are made.
    """
    recorder = Recorder(path, redact_prompts=redact_prompts, note=note)
    token = _recording.active.set(recorder)
    try:
        yield recorder
    finally:
        _recording.active.reset(token)
        recorder.save()
