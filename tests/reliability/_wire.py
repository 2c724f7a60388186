"""A loopback HTTP server that answers every invocation with bytes chosen by the test.

The emulator only sends what real containers send. To feed the client arbitrary
container output, or arbitrary event-stream bytes, through real boto3 and a real
socket, this server answers each POST with a chunked
``application/vnd.amazon.eventstream`` body made of the exact bytes it is given.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_jumpstart_stream.emulator._frames import payload_part


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _WireServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        chunks = self.server.body
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("X-Amzn-SageMaker-Content-Type", "text/event-stream")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in chunks:
                if chunk:
                    self.wfile.write(b"%X\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True


class _WireServer(ThreadingHTTPServer):
    daemon_threads = True
    body: Sequence[bytes] = ()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early is what these tests are about


class WireServer:
    """Serves ``body`` (a list of raw HTTP chunks) to every streaming invocation."""

    def __init__(self, server: _WireServer) -> None:
        self._server = server

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def serve_frames(self, frames: Sequence[bytes]) -> None:
        """Send these event-stream bytes, one HTTP chunk each."""
        self._server.body = list(frames)

    def serve_payloads(self, payloads: Sequence[bytes]) -> None:
        """Send each container byte string as one well-formed PayloadPart frame."""
        self._server.body = [payload_part(p) for p in payloads]


@contextmanager
def wire_server() -> Iterator[WireServer]:
    server = _WireServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield WireServer(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
