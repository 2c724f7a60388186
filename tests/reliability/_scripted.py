"""A loopback TCP server that answers each connection with a script: hostile HTTP on demand.

The emulator only speaks correct HTTP. These tests need servers that do not: a body
shorter than its ``Content-Length``, a head cut in half, a connection reset on a
reused socket, a server that dribbles a byte at a time. Each accepted connection
runs ``script(conn, server)`` in its own thread; helpers read a request and build
event-stream bodies. Every loop is bounded in time, and the server stops itself.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from langchain_jumpstart_stream.emulator._frames import payload_part

TOKEN = b'data:{"token":{"id":1,"text":"Hello","special":false}}\n\n'
FINAL = b'data:{"token":{"id":2,"text":"</s>","special":true},"generated_text":"Hello"}\n\n'
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/vnd.amazon.eventstream\r\n"
    b"x-amzn-RequestId: scripted-1\r\n"
)


class Server:
    """What the scripts share: the listening socket, counters, a stop flag."""

    def __init__(self, sock: socket.socket, tls: ssl.SSLContext | None) -> None:
        self.sock = sock
        self.tls = tls
        self.requests = 0  # request heads read, over every connection
        self.connections = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"

    def read_request(self, conn: socket.socket) -> bytes | None:
        """Read one request (head and Content-Length body); None when the peer left."""
        data = b""
        conn.settimeout(10)
        try:
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    return None
                data += more
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(body) < length:
                more = conn.recv(65536)
                if not more:
                    return None
                body += more
        except OSError:
            return None
        with self.lock:
            self.requests += 1
        return head


def chunk(data: bytes) -> bytes:
    """One HTTP chunk."""
    return b"%X\r\n%s\r\n" % (len(data), data)


def stream_body(*payloads: bytes) -> bytes:
    """A whole chunked event-stream body: one chunk per PayloadPart, then the end."""
    return b"".join(chunk(payload_part(p)) for p in payloads) + b"0\r\n\r\n"


def reset(conn: socket.socket) -> None:
    """Close with a TCP reset rather than a clean FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@contextmanager
def scripted(
    script: Callable[[socket.socket, Server], None],
    *,
    tls: ssl.SSLContext | None = None,
    host: str = "127.0.0.1",
    family: socket.AddressFamily = socket.AF_INET,
) -> Iterator[Server]:
    """Serve ``script`` on an ephemeral loopback port until the block ends."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(64)
    sock.settimeout(0.1)
    server = Server(sock, tls)

    def handle(conn: socket.socket) -> None:
        try:
            if tls is not None:
                conn = tls.wrap_socket(conn, server_side=True)
            script(conn, server)
        except (OSError, ssl.SSLError):
            pass  # the client hung up: what many of these tests are about
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def accept() -> None:
        deadline = time.monotonic() + 120  # bounded, whatever the test does
        while not server.stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            with server.lock:
                server.connections += 1
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        thread.join(5)
        sock.close()
