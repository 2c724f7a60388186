r"""Split a byte stream into lines, whatever the chunk boundaries.

Works on bytes, not text: a line is decoded only once it is complete, so a UTF-8
character cut between two PayloadParts is never decoded in halves. ``\\n``,
``\\r\\n`` and a lone ``\\r`` all end a line (SSE allows all three), also when
``\\r`` and ``\\n`` arrive in different chunks. Memory is bounded by the longest
line: past ``max_line_bytes`` a :class:`LineTooLongError` is raised instead of
buffering without end. It does no I/O.
"""

from __future__ import annotations

from .errors import LineTooLongError

__all__ = ["LineDecoder"]


class LineDecoder:
    """Incremental line splitter with ``feed()`` and ``finish()``.

    Args:
        max_line_bytes: Longest line accepted, in bytes.
    """

    __slots__ = ("_buf", "_max", "_skip_lf", "error")

    def __init__(self, max_line_bytes: int) -> None:
        self._buf = bytearray()
        self._max = max_line_bytes
        # A chunk ended in "\r": if the next one starts with "\n" it belongs to that CR.
        self._skip_lf = False
        #: A line too long, found after complete lines of the same chunk (see :meth:`feed`).
        self.error: LineTooLongError | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the lines they complete, without their line endings.

        When complete lines precede an over-long one in the same chunk, they are
        returned and the error is kept in :attr:`error` (and raised by the next call).

        Raises:
            LineTooLongError: A line grew past ``max_line_bytes``.
        """
        if self.error is not None:
            raise self.error
        if not data:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        if b"\r" in data:
            # Rare in practice (TGI and LMI send "\n"); normalise, then split as usual.
            self._skip_lf = data.endswith(b"\r")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._buf
        if b"\n" not in data:
            # No line ends here: append in place, so a line cut into many small
            # chunks costs linear time, not quadratic.
            buf += data
            if len(buf) > self._max:
                raise self._too_long()
            return []
        lines = data.split(b"\n")
        reach = len(data)  # no line can be longer than the bytes it was made of
        if buf:
            reach += len(buf)
            buf += lines[0]
            lines[0] = bytes(buf)
            buf.clear()
        rest = lines.pop()
        if reach > self._max:  # only then can one of these lines be too long
            for i, line in enumerate(lines):
                if len(line) > self._max:
                    return self._keep_error(lines[:i])
            if len(rest) > self._max:
                return self._keep_error(lines)
        buf += rest
        return lines

    def _too_long(self) -> LineTooLongError:
        self._buf.clear()
        self.error = LineTooLongError(
            f"a line grew past max_line_bytes={self._max} without a line ending"
        )
        return self.error

    def _keep_error(self, good: list[bytes]) -> list[bytes]:
        error = self._too_long()
        if not good:
            raise error
        return good

    def finish(self) -> list[bytes]:
        """Return the last line if the stream ended without a line ending.

        Raises:
            LineTooLongError: An error kept by :meth:`feed` was not raised yet.
        """
        if self.error is not None:
            raise self.error
        if not self._buf:
            return []
        rest = bytes(self._buf)
        self._buf.clear()
        return [rest]
