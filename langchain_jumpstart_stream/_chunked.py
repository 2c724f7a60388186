"""Remove HTTP/1.1 chunked transfer framing from a byte stream. Pure; no I/O.

SageMaker sends one HTTP chunk per event-stream frame, that is, per token.
urllib3's ``read_chunked`` runs a few Python calls and a socket read for each
chunk; reading the socket in large blocks and stripping the framing here does the
same job in one pass over whatever arrived, however many chunks it holds.
"""

from __future__ import annotations

from http.client import HTTPException

__all__ = ["ChunkedDecoder"]

_MAX_LINE = 4096  # a chunk-size or trailer line; anything longer is not HTTP


class ChunkedDecoder:
    """Incremental ``Transfer-Encoding: chunked`` decoder.

    Attributes:
        done: The terminating zero-size chunk and the trailers were read.
        overrun: Bytes were fed after the end of the message: the connection is out
            of step with HTTP and must not be reused.
    """

    __slots__ = ("_left", "_line", "_state", "done", "overrun")

    # States: reading a size line, chunk data, the CRLF after the data, trailers.
    _SIZE, _DATA, _DATA_END, _TRAILER = range(4)

    def __init__(self) -> None:
        self._state = self._SIZE
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
            if state == self._DATA:
                take = min(self._left, size - pos)
                out.append(data[pos : pos + take])
                pos += take
                self._left -= take
                if not self._left:
                    self._state = self._DATA_END
                    self._line = b""
                continue
            end = data.find(b"\n", pos)
            if end == -1:
                self._line += data[pos:]
                if len(self._line) > _MAX_LINE:
                    raise HTTPException("an HTTP chunk header is too long")
                pos = size  # all kept for the next read
                break
            line = self._line + data[pos:end]
            self._line = b""
            pos = end + 1
            line = line.rstrip(b"\r")
            if state == self._SIZE:
                self._start_chunk(line)
            elif state == self._DATA_END:
                if line:
                    raise HTTPException("an HTTP chunk is longer than its declared size")
                self._state = self._SIZE
            elif not line:  # _TRAILER: a blank line ends the message
                self.done = True
        if pos < size:
            self.overrun = True
        return b"".join(out) if len(out) != 1 else out[0]

    def _start_chunk(self, line: bytes) -> None:
        digits = line.split(b";", 1)[0].strip()
        if not digits or digits.strip(b"0123456789abcdefABCDEF"):
            raise HTTPException(f"invalid HTTP chunk size {line[:20]!r}")
        length = int(digits, 16)
        if length == 0:
            self._state = self._TRAILER
        else:
            self._left = length
            self._state = self._DATA
