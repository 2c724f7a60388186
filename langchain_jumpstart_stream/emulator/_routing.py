"""Which simulated instance serves a request, and how long its prefill takes.

SageMaker spreads requests over an endpoint's instances. Two things pin a request
to one instance:

* a stateful session (``SessionId``): the instance that opened it serves every
  request of the session (https://docs.aws.amazon.com/sagemaker/latest/dg/stateful-sessions.html);
* prefix-aware routing (``PrefixAwareId``, endpoints with ``RoutingStrategy``
  ``PREFIX_AWARE``): "the service routes requests with the same prefix and the
  same identifier to the same instance" (botocore's sagemaker-runtime model), so
  the instance's KV cache already holds the conversation so far.

The emulator models the gain with a prefill clock: each instance remembers the
prompts it served (an LRU), and a request waits ``prefill_seconds`` plus
``prefill_seconds_per_char`` for every prompt character beyond the longest prefix
that instance has seen, before its first token. A new ``PrefixAwareId`` is given to
the instance holding the fewest ids and stays there; without an id, requests go
round robin, so a conversation keeps landing where its prefix is not cached (or
was pushed out of a small cache by other conversations). All of it is
deterministic: the same requests in the same order take the same route.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._sessions import (
    NEW_SESSION,
    SessionTable,
    new_session_on_stream,
    session_not_found,
)

if TYPE_CHECKING:
    from ._config import EndpointConfig, HttpError
    from ._state import RecordedRequest

__all__ = ["Admission", "Router", "Routing"]

_SESSION_HEADER = "x-amzn-sagemaker-session-id"
_PREFIX_HEADER = "x-amzn-sagemaker-prefix-aware-id"
_MAX_IDS = 100_000  # routing ids remembered per endpoint
_MAX_CACHED_CHARS = 1 << 23  # prompt characters remembered per instance


@dataclass(frozen=True)
class Routing:
    """How many instances an endpoint has and how they route and prefill.

    Attributes:
        instances: Simulated instances behind the endpoint.
        prefix_aware: Whether the endpoint's ``RoutingStrategy`` is ``PREFIX_AWARE``:
            requests with a ``PrefixAwareId`` stick to one instance. ``False``
            ignores the id, as SageMaker does on other endpoints.
        prefill_seconds: Time to first token of any request (queueing, scheduling).
        prefill_seconds_per_char: Added for each prompt character the serving
            instance has not cached.
        cache_prompts: Prompts each instance remembers (least recently used dropped).
    """

    instances: int = 1
    prefix_aware: bool = True
    prefill_seconds: float = 0.0
    prefill_seconds_per_char: float = 0.0
    cache_prompts: int = 256

    def __post_init__(self) -> None:
        if self.instances < 1:
            raise ValueError(f"instances must be >= 1, got {self.instances}")
        if self.cache_prompts < 1:
            raise ValueError(f"cache_prompts must be >= 1, got {self.cache_prompts}")
        if self.prefill_seconds < 0 or self.prefill_seconds_per_char < 0:
            raise ValueError("prefill_seconds and prefill_seconds_per_char must be >= 0")


@dataclass
class Admission:
    """What the router decided for one request.

    Attributes:
        instance: The instance that serves it.
        prefill: Seconds to wait before the first token.
        cached_chars: Prompt characters the instance had cached.
        error: An error answer to send instead of serving.
        headers: Headers of a session-management answer (open or close).
        body: Its body; ``None`` when the request is served normally.
    """

    instance: int = 0
    prefill: float = 0.0
    cached_chars: int = 0
    error: HttpError | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


class _Fleet:
    """The instances of one endpoint: their prompt caches and the round-robin turn."""

    def __init__(self, routing: Routing, session_ttl: float | None) -> None:
        self.routing = routing
        self.caches: list[OrderedDict[str, None]] = [
            OrderedDict() for _ in range(routing.instances)
        ]
        self.cached_size = [0] * routing.instances  # characters held by each cache
        self.turn = 0
        self.sticky: OrderedDict[str, int] = OrderedDict()  # PrefixAwareId -> instance
        self.load = [0] * routing.instances  # ids assigned to each instance
        self.sessions = SessionTable(session_ttl) if session_ttl is not None else None

    def next_instance(self) -> int:
        instance = self.turn % self.routing.instances
        self.turn += 1
        return instance

    def sticky_instance(self, prefix_aware_id: str) -> int:
        # A new id goes to the instance holding the fewest ids, then stays there: a
        # balanced, deterministic assignment (AWS does not document its algorithm).
        known = self.sticky.get(prefix_aware_id)
        if known is None:
            known = min(range(self.routing.instances), key=lambda i: (self.load[i], i))
            self.sticky[prefix_aware_id] = known
            self.load[known] += 1
            if len(self.sticky) > _MAX_IDS:  # forget the oldest id
                _, gone = self.sticky.popitem(last=False)
                self.load[gone] -= 1
        self.sticky.move_to_end(prefix_aware_id)
        return known

    def prefill(self, instance: int, prompt: str) -> tuple[float, int]:
        cache = self.caches[instance]
        cached = 0
        best = None
        for seen in cache:
            length = _common_prefix(seen, prompt)
            if length > cached:
                cached, best = length, seen
        if best is not None:
            cache.move_to_end(best)
        if prompt not in cache:
            self.cached_size[instance] += len(prompt)
        cache[prompt] = None
        cache.move_to_end(prompt)
        # Bounded in count and in characters: tests may send bodies of megabytes.
        while len(cache) > self.routing.cache_prompts or (
            self.cached_size[instance] > _MAX_CACHED_CHARS and len(cache) > 1
        ):
            dropped, _ = cache.popitem(last=False)
            self.cached_size[instance] -= len(dropped)
        routing = self.routing
        delay = routing.prefill_seconds + routing.prefill_seconds_per_char * (len(prompt) - cached)
        return delay, cached


class Router:
    """Sessions and routing for every endpoint of one emulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fleets: dict[str, _Fleet] = {}

    def forget(self, endpoint: str) -> None:
        """Drop an endpoint's sessions and caches (its config was replaced)."""
        with self._lock:
            self._fleets.pop(endpoint, None)

    def admit(self, record: RecordedRequest, config: EndpointConfig) -> Admission:
        """Route one request: open or close a session, or pick its instance and prefill."""
        from ._config import HttpError

        with self._lock:
            fleet = self._fleets.get(record.endpoint)
            if fleet is None or fleet.routing != config.routing:
                fleet = self._fleets[record.endpoint] = _Fleet(config.routing, config.session_ttl)
            session_id = record.headers.get(_SESSION_HEADER)
            request_type = _request_type(record.json)
            if session_id == NEW_SESSION and record.streaming:
                return Admission(error=HttpError(400, "ValidationError", new_session_on_stream()))
            if session_id is not None and fleet.sessions is not None:
                return self._in_session(fleet, session_id, request_type, record)
            if request_type is not None and fleet.sessions is None:
                detail = "Bad request: stateful sessions are not enabled on this container"
                body = json.dumps({"detail": detail}, separators=(",", ":"))
                return Admission(error=HttpError(424, "ModelError", body, 400))
            return self._serve(fleet, self._choose(fleet, record), record)

    def _in_session(
        self, fleet: _Fleet, session_id: str, request_type: str | None, record: RecordedRequest
    ) -> Admission:
        from ._config import HttpError

        sessions = fleet.sessions
        assert sessions is not None
        if session_id == NEW_SESSION:
            instance = fleet.next_instance()
            if request_type != NEW_SESSION:  # the container serves it without a session
                return self._serve(fleet, instance, record)
            value = sessions.open(instance)
            headers = {"X-Amzn-SageMaker-New-Session-Id": value}
            return Admission(instance, headers=headers, body=b"Session created")
        pinned = sessions.instance_of(session_id)
        if pinned is None:  # unknown, closed or expired: the container's 400, relayed
            body = session_not_found(session_id)
            return Admission(error=HttpError(424, "ModelError", body, 400))
        if request_type == "CLOSE":
            sessions.close(session_id)
            headers = {"X-Amzn-SageMaker-Closed-Session-Id": session_id}
            return Admission(pinned, headers=headers, body=b"Session closed")
        return self._serve(fleet, pinned, record)

    def _choose(self, fleet: _Fleet, record: RecordedRequest) -> int:
        prefix_aware_id = record.headers.get(_PREFIX_HEADER)
        if prefix_aware_id and fleet.routing.prefix_aware:
            return fleet.sticky_instance(prefix_aware_id)
        return fleet.next_instance()

    @staticmethod
    def _serve(fleet: _Fleet, instance: int, record: RecordedRequest) -> Admission:
        delay, cached = fleet.prefill(instance, _prompt_text(record.json, record.body))
        return Admission(instance, prefill=delay, cached_chars=cached)


def _request_type(data: Any) -> str | None:
    if isinstance(data, dict) and "requestType" in data:
        return str(data["requestType"])
    return None


def _prompt_text(data: Any, body: bytes) -> str:
    """The text a container would prefill: the prompt, or the conversation's messages."""
    if isinstance(data, dict):
        if isinstance(data.get("inputs"), str):
            return str(data["inputs"])
        if isinstance(data.get("prompt"), str):
            return str(data["prompt"])
        if isinstance(data.get("messages"), list):
            return json.dumps(data["messages"], separators=(",", ":"), ensure_ascii=False)
    return body.decode("utf-8", "replace")


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix, by bisection over slices compared in C."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low
