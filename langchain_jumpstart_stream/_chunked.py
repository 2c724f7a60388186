"""Remove HTTP/1.1 chunked transfer framing from a byte stream. Pure; no I/O.

SageMaker sends one HTTP chunk per event-stream frame, that is, per token.
urllib3's ``read_chunked`` runs a few Python calls and a socket read for each
chunk; reading the socket in large blocks and stripping the framing here does the
same job in one pass over whatever arrived, however many chunks it holds.
"""

from __future__ import annotations

import re
from http.client import HTTPException

__all__ = ["ChunkedDecoder"]

_MAX_LINE = 4096  # a chunk-size or trailer line; anything longer is not HTTP


# States: reading a size line, chunk data, the CRLF after the data, trailers.
_SIZE, _DATA, _DATA_END, _TRAILER = range(4)

# A size line that is only hex digits: nearly every one. Anything else (extensions,
# spaces, junk) goes the careful way in ``_start_chunk``.
_PLAIN_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")


class ChunkedDecoder:
    """Incremental ``Transfer-Encoding: chunked`` decoder.

    Attributes:
        done: The terminating zero-size chunk and the trailers were read.
        overrun: Bytes were fed after the end of the message: the connection is out
            of step with HTTP and must not be reused.
    """

    __slots__ = ("_left", "_line", "_state", "done", "overrun")

    def __init__(self) -> None:
        self._state = _SIZE
        self._left = 0  # data bytes left in the current chunk
        self._line = b""  # an incomplete size or trailer line
        self.done = False
        self.overrun = False

    def feed(self, data: bytes) -> bytes:
        """Add raw body bytes; return the payload bytes they carry.

        Raises:
            HTTPException: The bytes do not follow the chunked encoding.
        """
        out: list[bytes] = []
        pos = 0
        size = len(data)
        while pos < size and not self.done:
            state = self._state
            if state == _DATA:
                end = pos + self._left
                if end > size:  # the chunk goes on in the next read
                    out.append(data[pos:])
                    self._left = end - size
                    pos = size
                    break
                out.append(data[pos:end])
                pos = end
                self._left = 0
                # The CRLF after the data is nearly always here: skip it at once
                # rather than read it as a line.
                if data.startswith(b"\r\n", pos):
                    pos += 2
                    self._state = _SIZE
                else:
                    self._state = _DATA_END
                    self._line = b""
                continue
            end = data.find(b"\n", pos)
            if end == -1:
                self._line += data[pos:]
                if len(self._line) > _MAX_LINE:
                    raise HTTPException("an HTTP chunk header is too long")
                pos = size  # all kept for the next read
                break
            line = self._line + data[pos:end] if self._line else data[pos:end]
            self._line = b""
            pos = end + 1
            line = line.rstrip(b"\r")
            if state == _SIZE:
                if _PLAIN_SIZE.fullmatch(line):
                    self._sized(int(line, 16))
                else:
                    self._start_chunk(line)
            elif state == _DATA_END:
                if line:
                    raise HTTPException("an HTTP chunk is longer than its declared size")
                self._state = _SIZE
            elif not line:  # _TRAILER: a blank line ends the message
                self.done = True
        if pos < size:
            self.overrun = True
        return b"".join(out) if len(out) != 1 else out[0]

    def _start_chunk(self, line: bytes) -> None:
        digits = line.split(b";", 1)[0].strip()
        if not digits or digits.strip(b"0123456789abcdefABCDEF"):
            raise HTTPException(f"invalid HTTP chunk size {line[:20]!r}")
        self._sized(int(digits, 16))

    def _sized(self, length: int) -> None:
        if length == 0:
            self._state = _TRAILER
        else:
            self._left = length
            self._state = _DATA
