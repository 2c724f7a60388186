"""Shared, thread-safe state of a running emulator: endpoints and recorded requests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._config import EndpointConfig
from ._routing import Router

if TYPE_CHECKING:
    from ._replay import Replay

MAX_BODY_BYTES = 6 * 1024 * 1024


@dataclass(eq=False)
class RecordedRequest:
    """One invocation the emulator received, updated live while it is served.

    Attributes:
        endpoint: Endpoint name from the path (URL-decoded).
        path: Request path as sent.
        headers: Request headers, keys in lower case.
        body: Raw request body (empty when it was refused as too large).
        streaming: Whether this was ``InvokeEndpointWithResponseStream``.
        request_id: The ``x-amzn-RequestId`` the emulator answered with.
        json: The body parsed as JSON, or ``None`` when it is not JSON.
        status: HTTP status sent (0 until the response starts).
        tokens_sent: Token records written so far.
        client_disconnected: The server noticed that the client closed early.
        instance: The simulated instance that served it (see ``Routing``).
        cached_chars: Prompt characters that instance had cached (prefix routing).
        done: Set when the handler finished with this request.
    """

    endpoint: str
    path: str
    headers: dict[str, str]
    body: bytes
    streaming: bool
    request_id: str
    json: Any = None
    status: int = 0
    tokens_sent: int = 0
    client_disconnected: bool = False
    instance: int | None = None
    cached_chars: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.json is None and self.body:
            try:
                self.json = json.loads(self.body)
            except ValueError:
                self.json = None


class EmulatorState:
    """Endpoints, per-endpoint request counters, recorded requests and the stop flag."""

    def __init__(
        self,
        endpoints: Mapping[str, EndpointConfig],
        default: EndpointConfig | None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._endpoints = dict(endpoints)
        self._counts: dict[str, int] = {}
        self._inflight = 0
        self.default = default
        self.max_body_bytes = max_body_bytes
        self.requests: list[RecordedRequest] = []
        self.stop_event = threading.Event()
        self.router = Router()  # sessions and instance caches, per endpoint
        # When set, every request is answered from this cassette (see _replay.py).
        self.replay: Replay | None = None

    def add_endpoint(self, name: str, config: EndpointConfig) -> None:
        """Add or replace an endpoint; its injected-error counter starts again."""
        with self._lock:
            self._endpoints[name] = config
            self._counts.pop(name, None)
        self.router.forget(name)

    def claim(self, name: str) -> tuple[EndpointConfig | None, int]:
        """The endpoint's config and how many requests it received before this one."""
        with self._lock:
            config = self._endpoints.get(name, self.default)
            if config is None:
                return None, 0
            index = self._counts.get(name, 0)
            self._counts[name] = index + 1
            return config, index

    def record(self, request: RecordedRequest) -> None:
        """Append a request to the log."""
        with self._lock:
            self.requests.append(request)

    def begin(self) -> None:
        """Mark a request as in flight."""
        with self._lock:
            self._inflight += 1

    def end(self) -> None:
        """Mark a request as finished."""
        with self._idle:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float | None) -> bool:
        """Wait until no request is in flight; ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._inflight:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
            return True
