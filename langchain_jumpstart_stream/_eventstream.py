"""Decode ``application/vnd.amazon.eventstream`` frames from raw HTTP bytes.

SageMaker's ``InvokeEndpointWithResponseStream`` answers with a sequence of binary
frames::

    total length u32 | headers length u32 | prelude CRC32 u32 | headers | payload | CRC32 u32

botocore decodes these into dictionaries, one event at a time, through several
layers of generic machinery; that costs more per token than everything else on
the client together. This decoder does the same validation (both CRCs, length
limits) in one pass over a ``bytearray`` and returns only what the stream needs.
It does no I/O.
"""

from __future__ import annotations

import struct
from typing import Final
from zlib import crc32

from .errors import FrameError

__all__ = ["Frame", "FrameDecoder"]

_PRELUDE: Final = struct.Struct(">III")
_U16: Final = struct.Struct(">H")
_PRELUDE_LEN: Final = 12
_MIN_FRAME: Final = 16  # prelude + message CRC, no headers, no payload
# Same ceilings as botocore: a frame larger than this is corruption, not data.
_MAX_HEADERS: Final = 128 * 1024
_MAX_PAYLOAD: Final = 24 * 1024 * 1024

# Header value type -> fixed size in bytes; -1 marks the u16-length-prefixed kinds.
_HEADER_SIZES: Final = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 6: -1, 7: -1, 8: 8, 9: 16}


class Frame:
    """One decoded event-stream message.

    Attributes:
        message_type: ``event``, ``exception`` or ``error`` (header ``:message-type``).
        event_type: ``:event-type`` for events, ``:exception-type`` for exceptions,
            ``:error-code`` for errors.
        payload: The frame payload; for ``PayloadPart`` the model's own bytes.
        headers: All string headers, for error reporting.
    """

    __slots__ = ("event_type", "headers", "message_type", "payload")

    def __init__(
        self, message_type: str, event_type: str, payload: bytes, headers: dict[str, str]
    ) -> None:
        self.message_type = message_type
        self.event_type = event_type
        self.payload = payload
        self.headers = headers

    def __repr__(self) -> str:
        return f"Frame({self.message_type!r}, {self.event_type!r}, {len(self.payload)} bytes)"


def _parse_headers(raw: bytes | memoryview) -> dict[str, str]:
    headers: dict[str, str] = {}
    seen: set[str] = set()
    pos = 0
    end = len(raw)
    while pos < end:
        name_len = raw[pos]
        pos += 1
        name = bytes(raw[pos : pos + name_len]).decode("utf-8", "replace")
        pos += name_len
        if name in seen:  # botocore refuses these too (DuplicateHeader)
            raise FrameError(f"event-stream header {name!r} appears twice in one frame")
        seen.add(name)
        if pos >= end:
            raise FrameError(f"event-stream header {name!r} has no value")
        kind = raw[pos]
        pos += 1
        size = _HEADER_SIZES.get(kind)
        if size is None:
            raise FrameError(f"event-stream header {name!r} has unknown type {kind}")
        if size == -1:
            if pos + 2 > end:
                raise FrameError(f"event-stream header {name!r} is truncated")
            (size,) = _U16.unpack_from(raw, pos)
            pos += 2
            if kind == 7:
                headers[name] = bytes(raw[pos : pos + size]).decode("utf-8", "replace")
        pos += size
        if pos > end:
            raise FrameError(f"event-stream header {name!r} is truncated")
    return headers


class FrameDecoder:
    """Incremental event-stream decoder: ``feed(bytes)`` returns the complete frames.

    Bytes may arrive cut anywhere; an incomplete frame waits for more. Memory is
    bounded by the largest frame.
    """

    __slots__ = ("_buf", "_last_headers", "_last_kind", "_last_raw", "error")

    def __init__(self) -> None:
        self._buf = bytearray()
        # Every PayloadPart frame carries the same headers: parse them once.
        self._last_raw: bytes | None = None
        self._last_headers: dict[str, str] = {}
        self._last_kind = ("", "")
        #: A corruption found after good frames of the same read (see :meth:`feed`).
        self.error: FrameError | None = None

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a whole frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes and return every frame they complete.

        When good frames precede a corrupt one in the same bytes, those frames are
        returned and the error is kept in :attr:`error` (and raised by the next
        call): nothing received intact is lost.

        Raises:
            FrameError: A prelude or message CRC does not match, or a length is absurd.
        """
        if self.error is not None:
            raise self.error
        buf = self._buf
        # Usually a read holds whole frames: decode straight from it, no copying.
        source: bytes | bytearray = data
        if buf:
            buf += data
            source = buf
        frames: list[Frame] = []
        try:
            consumed = self._decode(source, frames)
        except FrameError as exc:
            self.error = exc
            buf.clear()
            if not frames:
                raise
            return frames
        if source is buf:
            del buf[:consumed]
        elif consumed < len(data):
            buf += data[consumed:]
        return frames

    def _decode(self, buf: bytes | bytearray, frames: list[Frame]) -> int:
        """Append the complete frames in ``buf`` to ``frames``; return bytes consumed."""
        start = 0
        size = len(buf)
        append = frames.append
        # One view for the whole read, released even when a check fails.
        with memoryview(buf) as view:
            while size - start >= _PRELUDE_LEN:
                total, headers_len, prelude_crc = _PRELUDE.unpack_from(buf, start)
                if crc32(view[start : start + 8]) != prelude_crc:
                    raise FrameError("event-stream prelude CRC mismatch")
                payload_len = total - headers_len - _MIN_FRAME
                if total < _MIN_FRAME or payload_len < 0:
                    raise FrameError(f"event-stream frame length {total} is invalid")
                if headers_len > _MAX_HEADERS or payload_len > _MAX_PAYLOAD:
                    raise FrameError(f"event-stream frame of {total} bytes exceeds the limits")
                end = start + total
                if size < end:
                    break
                if crc32(view[start : end - 4]) != int.from_bytes(view[end - 4 : end], "big"):
                    raise FrameError("event-stream message CRC mismatch")
                h_start = start + _PRELUDE_LEN
                h_end = h_start + headers_len
                last = self._last_raw
                # Frames of one stream repeat their headers: compare in place, no copy.
                if last is None or len(last) != headers_len or not buf.startswith(last, h_start):
                    self._remember(bytes(view[h_start:h_end]))
                message_type, event_type = self._last_kind
                append(
                    Frame(
                        message_type, event_type, bytes(view[h_end : end - 4]), self._last_headers
                    )
                )
                start = end
        return start

    def _remember(self, raw: bytes) -> None:
        """Parse a new header block and cache it with the frame kind it names."""
        headers = _parse_headers(raw)
        message_type = headers.get(":message-type", "event")
        if message_type == "event":
            event_type = headers.get(":event-type", "")
        elif message_type == "exception":
            event_type = headers.get(":exception-type", "")
        else:
            event_type = headers.get(":error-code", "")
        self._last_raw, self._last_headers = raw, headers
        self._last_kind = (message_type, event_type)

    def finish(self) -> None:
        """Declare the end of the body.

        Raises:
            FrameError: The body ended inside a frame.
        """
        if self.error is not None:
            raise self.error
        if self._buf:
            left = len(self._buf)
            self._buf.clear()
            raise FrameError(f"the response ended inside an event-stream frame ({left} bytes)")
