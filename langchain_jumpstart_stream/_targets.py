"""Failover targets: where a call may go, and which targets to skip for a while.

A model has one primary target (its own ``endpoint_name``, ``inference_component_name``,
``target_variant`` and ``region_name``) and, optionally, ordered fallbacks. A call
moves to the next target only before the first token and only after a failure a new
attempt may fix (:meth:`._attempt.Policy.retryable`): the same rule as retries, so a
half-streamed answer is never restarted elsewhere.

* :class:`Target` is the public, frozen description of one target.
* :class:`Breaker` belongs to one model instance and is shared by its calls: a
  target that failed is tried after the healthy ones until ``cooldown`` seconds have
  passed, then as normal again. It holds plain numbers only (no lock, no socket, no
  event loop), so it is safe across threads, forks and event loops as it is.
* :class:`Plan` is one call's way through the targets. It does no I/O: the drivers in
  :mod:`._call` ask it for the current :class:`Leg`, and :class:`._attempt.Policy`
  tells it when to move on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.load.serializable import Serializable
from pydantic import ConfigDict, Field

from . import errors

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["Breaker", "Failure", "Leg", "Plan", "Target", "make_legs"]


class Target(Serializable):
    """One place that can answer a model's calls: an endpoint, and optionally where in it.

    Example:
        .. code-block:: python

            from langchain_jumpstart_stream import ChatJumpStart, Target

            chat = ChatJumpStart(
                endpoint_name="llama-primary",
                model_id="meta-textgeneration-llama-3-8b-instruct",
                fallback_targets=[
                    "llama-secondary",  # same region, same inference component settings
                    Target(endpoint_name="llama-dr", region_name="us-west-2"),
                ],
            )

    Attributes:
        endpoint_name: The SageMaker endpoint.
        inference_component_name: Inference component to invoke (``None``: none).
        target_variant: Production variant to invoke (``None``: SageMaker's choice).
        region_name: AWS region (``None``: the model's own region).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint_name: str = Field(min_length=1)
    inference_component_name: str | None = None
    target_variant: str | None = None
    region_name: str | None = None

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Serialisable, so that a model with fallback targets survives ``dumps``/``loads``."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """``["langchain_jumpstart_stream"]``: ``loads`` finds ``Target`` there."""
        return ["langchain_jumpstart_stream"]

    def __str__(self) -> str:
        parts = [self.endpoint_name]
        if self.inference_component_name:
            parts.append(f"component {self.inference_component_name}")
        if self.target_variant:
            parts.append(f"variant {self.target_variant}")
        if self.region_name:
            parts.append(f"in {self.region_name}")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Leg:
    """One target, ready to be called.

    Attributes:
        target: What it is.
        region_name: The region it is called in (the model's when the target names none).
        request: The request for this target (``EndpointName`` and friends set).
        connection: Returns the connection for the target's region.
        connection_ready: Whether ``connection()`` returns at once.
    """

    target: Target
    region_name: str | None
    request: Mapping[str, Any]
    connection: Callable[[], Connection]
    connection_ready: Callable[[], bool]

    @property
    def endpoint_name(self) -> str:
        """The endpoint, for the request and for error messages."""
        return self.target.endpoint_name


@dataclass(frozen=True, slots=True)
class Failure:
    """Why one attempt at one target failed."""

    target: Target
    error: errors.JumpStartStreamError

    def __str__(self) -> str:
        code = self.error.error_code or type(self.error).__name__
        return f"{self.target}: {code}"


class Breaker:
    """The targets a model should avoid for now, shared by all of its calls.

    Args:
        cooldown: Seconds a target that failed is tried only after the others.
    """

    __slots__ = ("_open_until", "cooldown")

    def __init__(self, cooldown: float) -> None:
        self.cooldown = cooldown
        # target -> time.monotonic() until which it is avoided. Plain dict operations
        # are atomic under the GIL and a lost race only shortens or lengthens one
        # cool-down, so no lock: nothing here can deadlock a forked child either.
        self._open_until: dict[Target, float] = {}

    def cooling(self, target: Target, now: float | None = None) -> bool:
        """Whether ``target`` failed less than ``cooldown`` seconds ago."""
        until = self._open_until.get(target)
        if until is None:
            return False
        if (time.monotonic() if now is None else now) >= until:
            self._open_until.pop(target, None)
            return False
        return True

    def trip(self, target: Target) -> None:
        """``target`` failed: avoid it for ``cooldown`` seconds."""
        if self.cooldown > 0:
            self._open_until[target] = time.monotonic() + self.cooldown

    def reset(self, target: Target) -> None:
        """``target`` answered: use it as normal."""
        self._open_until.pop(target, None)

    def order(self, legs: Sequence[Leg]) -> list[Leg]:
        """``legs`` with the healthy ones first, each group in the configured order.

        Targets in cool-down are kept at the end rather than dropped: when every
        healthy target fails too, trying one is better than failing without trying.
        """
        now = time.monotonic()
        healthy = [leg for leg in legs if not self.cooling(leg.target, now)]
        if len(healthy) == len(legs):
            return list(legs)
        return healthy + [leg for leg in legs if leg not in healthy]


@dataclass
class Plan:
    """One call's way through its targets. Pure: no I/O, no clock but the breaker's.

    Args:
        legs: The targets in the configured order (the primary first).
        breaker: The model's breaker; ``None`` for a model without fallbacks.

    Attributes:
        failures: Every failed attempt of this call, in order.
        on_give_up: Told the final error when the call gives up (telemetry).
    """

    legs: Sequence[Leg]
    breaker: Breaker | None = None
    failures: list[Failure] = field(default_factory=list)
    on_give_up: Callable[[errors.JumpStartStreamError], None] | None = None
    _round: list[Leg] = field(default_factory=list, init=False, repr=False)
    _index: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._start_round()

    @property
    def current(self) -> Leg:
        """The target the next attempt goes to."""
        return self._round[self._index]

    def failed(self, err: errors.JumpStartStreamError, *, retryable: bool) -> None:
        """The current target's attempt failed with ``err``."""
        self.failures.append(Failure(self.current.target, err))
        if retryable and self.breaker is not None:
            self.breaker.trip(self.current.target)

    def move_on(self) -> bool:
        """Go to the next target of this round; ``False`` when the round is over.

        When it is over, the next attempt starts a new round (a retry, after a
        backoff) from the healthiest target again.
        """
        if self._index + 1 < len(self._round):
            self._index += 1
            return True
        self._start_round()
        return False

    def served(self) -> None:
        """The current target answered: it is healthy again."""
        if self.breaker is not None:
            self.breaker.reset(self.current.target)

    def explain(self, err: errors.JumpStartStreamError) -> None:
        """Give up with ``err``: name every target's failure in it, when there were several."""
        if self.on_give_up is not None:
            self.on_give_up(err)
        targets = {failure.target for failure in self.failures}
        if len(targets) < 2:
            return
        listed = "; ".join(str(failure) for failure in self.failures)
        err.failures = tuple(failure.error for failure in self.failures)
        err.message = f"{err.message} [every target failed: {listed}]"
        err._attach()

    def _start_round(self) -> None:
        legs = self.legs
        self._round = self.breaker.order(legs) if self.breaker is not None else list(legs)
        self._index = 0


# The request members that say where a request goes, by Target field.
_MEMBERS = {
    "endpoint_name": "EndpointName",
    "inference_component_name": "InferenceComponentName",
    "target_variant": "TargetVariant",
}


def make_legs(
    own: Target,
    fallbacks: Sequence[Target],
    request: Mapping[str, Any],
    connection_in: Callable[[str | None], Connection],
    ready_in: Callable[[str | None], bool],
) -> list[Leg]:
    """One leg per target, the model's own first, each with its own request.

    A fallback's request is the model's with the target's members in place of the
    model's: a member the target leaves unset is left out, not inherited.

    Args:
        own: The model's own target, as this call addresses it.
        fallbacks: The model's ``fallback_targets``.
        request: The model's request for this call.
        connection_in: Returns the connection for a region (``None``: the model's).
        ready_in: Whether that connection exists already.
    """
    legs = [_leg(own, dict(request), connection_in, ready_in)]
    for target in fallbacks:
        if target.region_name is None and own.region_name is not None:
            target = target.model_copy(update={"region_name": own.region_name})
        moved = dict(request)
        for field_name, member in _MEMBERS.items():
            value = getattr(target, field_name)
            if value is None:
                moved.pop(member, None)
            else:
                moved[member] = value
        legs.append(_leg(target, moved, connection_in, ready_in))
    return legs


def _leg(
    target: Target,
    request: Mapping[str, Any],
    connection_in: Callable[[str | None], Connection],
    ready_in: Callable[[str | None], bool],
) -> Leg:
    region = target.region_name
    return Leg(
        target=target,
        region_name=region,
        request=request,
        connection=lambda: connection_in(region),
        connection_ready=lambda: ready_in(region),
    )
