"""HTTP server that speaks the SageMaker Runtime REST-JSON protocol.

Routes (from botocore's ``sagemaker-runtime`` service model)::

    POST /endpoints/{EndpointName}/invocations                  InvokeEndpoint
    POST /endpoints/{EndpointName}/invocations-response-stream  InvokeEndpointWithResponseStream
    GET  /ping                                                  health check (emulator only)

Request bodies, prompts and outputs are never logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from ._config import EndpointConfig, HttpError
from ._errors import (
    container_rejection,
    endpoint_not_found,
    model_error_body,
    region_of,
)
from ._formats import plan, stream_payload
from ._generator import Generation, ParsedRequest, RequestError
from ._replay import serve as serve_replay
from ._sink import ClientGoneError, StoppedError
from ._state import EmulatorState, RecordedRequest
from ._streamer import Streamer

_log = logging.getLogger(__name__)

_OPERATIONS = {"invocations": False, "invocations-response-stream": True}
_DRAIN_LIMIT = 64 * 1024 * 1024


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that tracks its connections so it can stop cleanly."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024

    def __init__(
        self,
        host: str,
        port: int,
        state: EmulatorState,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.state = state
        self.ssl_context = ssl_context
        self._connections: set[socket.socket] = set()
        self._active = 0
        self._cond = threading.Condition()
        super().__init__((host, port), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection; with TLS, the handshake runs on the handler's thread."""
        sock, address = super().get_request()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection, then serve it on its own thread."""
        with self._cond:
            self._active += 1
            self._connections.add(request)
        try:
            super().process_request(request, client_address)
        except Exception:
            self._forget(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection and forget it afterwards."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def _forget(self, request: socket.socket) -> None:
        with self._cond:
            self._connections.discard(request)
            self._active -= 1
            self._cond.notify_all()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Keep tracebacks of broken connections out of stderr."""
        _log.debug("error while serving %s", client_address, exc_info=True)

    def close_connections(self, timeout: float) -> bool:
        """Shut every open connection down and wait for their threads to finish."""
        with self._cond:
            connections = list(self._connections)
        for conn in connections:
            _shutdown(conn)
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._active:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SageMakerRuntimeEmulator/1.0"
    sys_version = ""
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s %s", self.address_string(), format % args)

    # -- routing ------------------------------------------------------------------

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/ping":
            self._send_json(200, {}, request_id=str(uuid.uuid4()))
        else:
            self._send_error(404, "UnknownOperationException", "Unknown operation", None)

    def do_POST(self) -> None:
        state = self.server.state
        state.begin()
        try:
            self._route()
        finally:
            state.end()

    def _route(self) -> None:
        parts = urlsplit(self.path).path.split("/")
        if len(parts) != 4 or parts[1] != "endpoints" or parts[3] not in _OPERATIONS:
            self._discard_body()
            self._send_error(404, "UnknownOperationException", "Unknown operation", None)
            return
        body = self._read_body()
        record = RecordedRequest(
            endpoint=unquote(parts[2]),
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body or b"",
            streaming=_OPERATIONS[parts[3]],
            request_id=str(uuid.uuid4()),
        )
        self.server.state.record(record)
        try:
            if body is None:
                limit = self.server.state.max_body_bytes
                message = f"HTTP content length exceeded {limit} bytes."
                self._send_error(413, "", message, record)
            else:
                self._invoke(record, body)
        except ClientGoneError:
            record.client_disconnected = True
            self.close_connection = True
        except StoppedError:
            self.close_connection = True
        finally:
            record.done.set()

    def _invoke(self, record: RecordedRequest, body: bytes) -> None:
        replay = self.server.state.replay
        if replay is not None:  # a cassette answers everything, or says it cannot
            operation = "InvokeEndpointWithResponseStream" if record.streaming else "InvokeEndpoint"
            serve_replay(self, replay, record, operation)
            return
        config, index = self.server.state.claim(record.endpoint)
        if config is None:
            self._send_error(400, "ValidationError", endpoint_not_found(record.endpoint), record)
            return
        injected = config.http_error(index)
        if injected is not None:
            self._send_injected(injected, record)
            return
        if self._admitted(config, record):
            return
        try:
            request, generation = plan(config, body)
        except RequestError as exc:
            status, message = container_rejection(config, str(exc))
            self._send_model_error(status, message, record)
            return
        if record.streaming:
            Streamer(self, config, record).run(request, generation)
        else:
            self._respond(config, record, request, generation)

    def _admitted(self, config: EndpointConfig, record: RecordedRequest) -> bool:
        """Sessions and routing (``_routing.py``); ``True`` when the answer was sent."""
        admission = self.server.state.router.admit(record, config)
        if admission.error is not None:
            self._send_injected(admission.error, record)
            return True
        record.instance, record.cached_chars = admission.instance, admission.cached_chars
        if admission.body is not None:  # a session opened or closed
            headers = {**admission.headers, "Content-Type": "text/plain"}
            headers["x-amzn-RequestId"] = record.request_id
            self._send_bytes(200, admission.body, headers, record)
            return True
        if admission.prefill and self.stop_event.wait(admission.prefill):
            raise StoppedError
        return False

    # -- request body -------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        """The request body, or ``None`` (after draining it) when it is too large."""
        limit = self.server.state.max_body_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length = self._content_length()
        if length <= limit:
            return self.rfile.read(length)
        self._discard_body()
        return None

    def _content_length(self) -> int:
        try:
            return max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            self.close_connection = True
            return 0

    def _read_chunked(self, limit: int) -> bytes | None:
        body = bytearray()
        too_large = False
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return None if too_large else bytes(body)
            data = self.rfile.read(size)
            self.rfile.readline(8)
            too_large = too_large or len(body) + len(data) > limit
            if not too_large:
                body += data

    def _discard_body(self) -> None:
        remaining = self._content_length()
        if remaining > _DRAIN_LIMIT:
            self.close_connection = True
            return
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)

    # -- plain responses ----------------------------------------------------------

    def _start(self, status: int, record: RecordedRequest | None, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
        except OSError as exc:
            raise ClientGoneError from exc
        if record is not None:
            record.status = status

    def _send_bytes(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str],
        record: RecordedRequest | None,
    ) -> None:
        headers = {**headers, "Content-Length": str(len(body))}
        if self.close_connection:
            headers["Connection"] = "close"
        self._start(status, record, headers)
        try:
            self.wfile.write(body)
        except OSError as exc:
            raise ClientGoneError from exc

    def _send_json(
        self,
        status: int,
        payload: dict[str, Any],
        *,
        request_id: str,
        error_type: str = "",
        record: RecordedRequest | None = None,
    ) -> None:
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id}
        if error_type:
            headers["x-amzn-ErrorType"] = error_type
        self._send_bytes(status, json.dumps(payload).encode(), headers, record)

    def _send_error(
        self, status: int, code: str, message: str, record: RecordedRequest | None
    ) -> None:
        request_id = record.request_id if record else str(uuid.uuid4())
        payload = {"message": message}
        self._send_json(status, payload, request_id=request_id, error_type=code, record=record)

    def _send_model_error(
        self, original_status: int, original_message: str, record: RecordedRequest
    ) -> None:
        region = region_of(self.headers.get("Authorization"))
        payload = model_error_body(record.endpoint, region, original_status, original_message)
        self._send_json(
            424, payload, request_id=record.request_id, error_type="ModelError", record=record
        )

    def _send_injected(self, error: HttpError, record: RecordedRequest) -> None:
        if error.code != "ModelError":
            self._send_error(error.status, error.code, error.message, record)
            return
        region = region_of(self.headers.get("Authorization"))
        payload = model_error_body(record.endpoint, region, error.original_status, error.message)
        self._send_json(
            error.status,
            payload,
            request_id=record.request_id,
            error_type="ModelError",
            record=record,
        )

    def _respond(
        self,
        config: EndpointConfig,
        record: RecordedRequest,
        request: ParsedRequest,
        generation: Generation,
    ) -> None:
        """``InvokeEndpoint``: the whole answer at once; token faults act before it."""
        count = len(generation.tokens)
        if _fires(config.drop_after_tokens, count):
            self.reset_connection()
            return
        if _fires(config.error_after_tokens, count):
            self._send_model_error(500, config.error_message, record)
            return
        delay = count / config.tokens_per_second if config.tokens_per_second else 0.0
        if _fires(config.stall_after_tokens, count):
            delay += config.stall_seconds
        if delay and self.stop_event.wait(delay):
            raise StoppedError
        records, content_type = stream_payload(config, request, generation)
        body = b"".join(r.data for r in records)
        headers = {
            "Content-Type": content_type,
            "X-Amzn-Invoked-Production-Variant": self.variant(config),
            "x-amzn-RequestId": record.request_id,
        }
        self._send_bytes(200, body, headers, record)
        record.tokens_sent = count

    # -- helpers used by the streamer ---------------------------------------------

    @property
    def stop_event(self) -> threading.Event:
        """Set when the emulator stops."""
        return self.server.state.stop_event

    def variant(self, config: EndpointConfig) -> str:
        """The production variant that "served" the request."""
        return self.headers.get("X-Amzn-SageMaker-Target-Variant") or config.variant_name

    def send_document(
        self, status: int, body: bytes, headers: dict[str, str], record: RecordedRequest
    ) -> None:
        """Send a whole response (a replayed answer or error document)."""
        self._send_bytes(status, body, headers, record)

    def start_stream(self, record: RecordedRequest, headers: dict[str, str]) -> None:
        """Send the 200 status line and headers of a chunked response."""
        self._start(200, record, {**headers, "Transfer-Encoding": "chunked"})

    def write_raw(self, data: bytes) -> None:
        """Write bytes to the socket; a failure means the client went away."""
        try:
            self.wfile.write(data)
        except OSError as exc:
            raise ClientGoneError from exc

    def write_chunk(self, data: bytes) -> None:
        """Send one HTTP chunk (never an empty one: that would end the body)."""
        if data:
            self.write_raw(b"%X\r\n%s\r\n" % (len(data), data))

    def reset_connection(self) -> None:
        """Close the socket with SO_LINGER(1, 0), so the peer gets a TCP RST."""
        self.close_connection = True
        sock = self.connection
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        sock.close()


def _shutdown(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


def _fires(after: int | None, tokens: int) -> bool:
    return after is not None and after < tokens
