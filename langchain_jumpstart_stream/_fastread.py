"""Read a urllib3 response body many HTTP chunks at a time: the one fast-path adapter.

SageMaker sends one HTTP chunk per event-stream frame, that is, per token. Through
urllib3's public ``read1``, http.client parses each chunk with several Python
calls and a socket read; that alone costs about as much per token as the rest of
the client (see ``benchmarks/``). Reading the socket file in 64 KiB blocks and
removing the chunk framing with :class:`._chunked.ChunkedDecoder` does the same
job in one pass over whatever arrived.

That needs three internals, read here and nowhere else: urllib3's ``_fp`` (the
``http.client.HTTPResponse``), its ``fp`` (the socket file) and ``chunk_left``,
and ``_close_conn()`` to hand a finished connection back for reuse. Whenever one
of them is missing, or the body is not plainly chunked, the public ``read1``
path is taken; ``tests/unit/test_fastread.py`` fails if the fast path is not taken
on the installed versions.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.client import HTTPResponse, IncompleteRead
from typing import Any

from ._chunked import ChunkedDecoder

__all__ = ["body_reads", "socket_file"]

_READ_SIZE = 65536


def socket_file(response: Any) -> Any:
    """The socket file under a plainly chunked response nobody has read, or ``None``."""
    inner = getattr(response, "_fp", None)
    sock_file = getattr(inner, "fp", None)
    if (
        isinstance(inner, HTTPResponse)
        and inner.chunked
        and getattr(inner, "chunk_left", 0) is None  # nobody has read from it yet
        and hasattr(sock_file, "read1")
        and not response.headers.get("content-encoding")
    ):
        return sock_file
    return None


def body_reads(response: Any) -> Iterator[bytes]:
    """The body of a urllib3 response, one network read at a time, framing removed.

    Raises:
        OSError, http.client.HTTPException, urllib3.exceptions.HTTPError: The body
            broke or ended early; the caller maps these.
    """
    sock_file = socket_file(response)
    if sock_file is None:
        while True:
            data = response.read1(_READ_SIZE, decode_content=True)
            if not data:
                return
            yield data
    chunks = ChunkedDecoder()
    while not chunks.done:
        data = sock_file.read1(_READ_SIZE)
        if not data:
            raise IncompleteRead(b"")  # the peer closed before the last chunk
        data = chunks.feed(data)
        if data:
            yield data
    if not chunks.overrun:  # bytes after the body: leave it to be closed, not reused
        response._fp._close_conn()  # what http.client does at the end of a body
