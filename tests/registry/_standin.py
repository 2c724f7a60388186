"""A loopback stand-in for the SageMaker control plane, spoken to by real boto3.

The SageMaker API is AWS JSON 1.1: ``POST /`` with ``X-Amz-Target:
SageMaker.<Operation>`` and a JSON body. The stand-in records every call and
answers from per-operation handlers that tests register.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"

Reply = tuple[int, dict[str, Any]]
Handler = Callable[[dict[str, Any]], Reply]


def aws_error(code: str, message: str, status: int = 400) -> Reply:
    """A JSON 1.1 error body, as botocore parses it."""
    return status, {"__type": code, "message": message}


class StandIn:
    """Records calls; answers each operation from a registered handler."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.handlers: dict[str, Handler] = {}
        self.url = ""

    def on(self, operation: str, handler: Handler | dict[str, Any]) -> None:
        if isinstance(handler, dict):
            reply = handler
            self.handlers[operation] = lambda _body: (200, reply)
        else:
            self.handlers[operation] = handler

    def operations(self) -> list[str]:
        return [op for op, _ in self.calls]

    def answer(self, operation: str, body: dict[str, Any]) -> Reply:
        self.calls.append((operation, body))
        handler = self.handlers.get(operation)
        if handler is None:
            return aws_error("UnknownOperationException", f"stand-in has no {operation}")
        return handler(body)


class _RequestHandler(BaseHTTPRequestHandler):
    server: StandInServer

    def do_POST(self) -> None:
        target = self.headers.get("X-Amz-Target", "")
        service, _, operation = target.partition(".")
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if service != "SageMaker":
            status, reply = aws_error("UnknownService", target)
        else:
            status, reply = self.server.standin.answer(operation, body)
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", "standin-request-1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, standin: StandIn) -> None:
        super().__init__(("127.0.0.1", 0), _RequestHandler)
        self.standin = standin
