"""Turns container bytes into event-stream frames inside HTTP chunks."""

from __future__ import annotations

from collections.abc import Callable

from ._frames import payload_part


class ClientGoneError(Exception):
    """The client closed the connection (a write failed)."""


class StoppedError(Exception):
    """The emulator is shutting down; abandon the response."""


class FrameSink:
    """Sends container bytes as ``PayloadPart`` frames, one HTTP chunk per frame.

    Args:
        write_chunk: Sends one HTTP chunk; raises :class:`ClientGoneError` on failure.
        frame_bytes: ``None`` sends one frame per :meth:`payload` call; ``N`` re-chunks
            the byte stream into ``N``-byte frames, carrying the remainder over.
        truncate_last: Hold each frame back until the next one is ready, so that
            :meth:`close` can send only the first half of the very last frame.
    """

    def __init__(
        self,
        write_chunk: Callable[[bytes], None],
        *,
        frame_bytes: int | None = None,
        truncate_last: bool = False,
    ) -> None:
        self._write = write_chunk
        self._frame_bytes = frame_bytes
        self._truncate_last = truncate_last
        self._buffer = bytearray()
        self._held: bytes | None = None

    def payload(self, data: bytes) -> None:
        """Queue container bytes; whole frames go out at once."""
        if self._frame_bytes is None:
            if data:
                self._emit(payload_part(data))
            return
        self._buffer += data
        size = self._frame_bytes
        while len(self._buffer) >= size:
            part = bytes(self._buffer[:size])
            del self._buffer[:size]
            self._emit(payload_part(part))

    def flush(self) -> None:
        """Send the re-chunking remainder as a (short) frame."""
        if self._buffer:
            part = bytes(self._buffer)
            self._buffer.clear()
            self._emit(payload_part(part))

    def frame(self, raw: bytes) -> None:
        """Send a ready-made frame (an exception, a corrupted part) after the remainder."""
        self.flush()
        self._emit(raw)

    def close(self) -> None:
        """Flush everything; with ``truncate_last`` the final frame is cut in half."""
        self.flush()
        held, self._held = self._held, None
        if held is not None:
            self._write(held[: len(held) // 2] if self._truncate_last else held)

    def _emit(self, frame: bytes) -> None:
        if not self._truncate_last:
            self._write(frame)
            return
        held, self._held = self._held, frame
        if held is not None:
            self._write(held)
