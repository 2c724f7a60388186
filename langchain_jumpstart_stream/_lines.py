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

    __slots__ = ("_buf", "_max", "_skip_lf")

    def __init__(self, max_line_bytes: int) -> None:
        self._buf = bytearray()
        self._max = max_line_bytes
        # A chunk ended in "\r": if the next one starts with "\n" it belongs to that CR.
        self._skip_lf = False

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the lines they complete, without their line endings.

        Raises:
            LineTooLongError: A line grew past ``max_line_bytes``.
        """
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
            self._check(len(buf))
            return []
        lines = data.split(b"\n")
        if buf:
            buf += lines[0]
            lines[0] = bytes(buf)
            buf.clear()
        rest = lines.pop()
        if rest:
            self._check(len(rest))
            buf += rest
        for line in lines:
            self._check(len(line))
        return lines

    def _check(self, size: int) -> None:
        if size > self._max:
            self._buf.clear()
            raise LineTooLongError(
                f"a line grew past max_line_bytes={self._max} without a line ending"
            )

    def finish(self) -> list[bytes]:
        """Return the last line if the stream ended without a line ending."""
        if not self._buf:
            return []
        rest = bytes(self._buf)
        self._buf.clear()
        return [rest]
