"""How fast a call was, and who served it: the figures of the last chunk's ``"jumpstart"``.

The per-token path is hot, so :class:`Timing` takes one ``time.perf_counter()`` per
network read that delivered pieces, not per piece, and keeps one float per such read
in an ``array('d')`` (8 bytes: a 100,000-token stream read token by token holds
800 kB, and bursts of pieces in one read cost nothing more). Percentiles are
computed once, at the end.

A piece delivered in the same read as the one before it follows it after 0 s: that
is what the caller saw (the OpenTelemetry GenAI conventions measure the time per
output chunk the same way, from the end of one chunk to the end of the next).
"""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from . import errors
    from ._attempt import Policy
    from ._decoder import Piece
    from ._targets import Leg

__all__ = ["Observer", "Timing", "served_by"]

_VARIANT_HEADER = "x-amzn-invoked-production-variant"


class Timing:
    """The clock of one call: when it started, when pieces arrived.

    Attributes:
        start: ``perf_counter()`` when the call started.
        first: When the first piece arrived (0.0: none yet).
        last: When the latest piece arrived.
        gaps: Seconds between the read that delivered a piece and the read before it.
        bursts: Pieces that arrived in the same read as the piece before them.
        pieces: Pieces counted.
    """

    __slots__ = ("bursts", "enabled", "first", "gaps", "last", "pieces", "settled", "start")

    def __init__(self) -> None:
        self.enabled = True
        self.settled = False  # the observer was told how the call ended
        self.start = time.perf_counter()
        self.first = 0.0
        self.last = 0.0
        self.gaps = array("d")
        self.bursts = 0
        self.pieces = 0

    @classmethod
    def off(cls) -> Timing:
        """A timing that records nothing (``telemetry=False``)."""
        timing = _Off()
        timing.enabled = False
        return timing

    def read(self, count: int) -> None:
        """A network read delivered ``count`` pieces (the hot path: keep it short)."""
        now = time.perf_counter()
        if self.pieces:
            self.gaps.append(now - self.last)
        else:
            self.first = now
        self.last = now
        self.pieces += count
        self.bursts += count - 1

    def end(self, pieces: list[Piece]) -> None:
        """The call's last batch: count its pieces, but not an empty closing piece."""
        if not self.enabled:
            return
        count = len(pieces)
        if count and not (pieces[-1].text or pieces[-1].reasoning):
            count -= 1  # the closing piece only carries the usage
        if count:
            self.read(count)
        elif not self.pieces:  # an empty answer: its end is its first "token"
            self.first = self.last = time.perf_counter()

    def report(self, info: Mapping[str, Any]) -> dict[str, Any]:
        """The figures for the closing piece's ``"jumpstart"`` entry.

        Args:
            info: The closing piece's info (for ``output_tokens``).
        """
        if not self.enabled:
            return {}
        now = time.perf_counter()
        output = info.get("output_tokens")
        tokens = output if isinstance(output, int) else self.pieces
        span = self.last - self.first
        rate = (tokens - 1) / span if tokens > 1 and span > 0 else None
        return {
            "time_to_first_token_s": _round(self.first - self.start),
            "inter_token_latency_s": self.latencies(),
            "tokens_per_second": None if rate is None else round(rate, 3),
            "duration_s": _round(now - self.start),
        }

    def latencies(self) -> dict[str, float | None]:
        """p50, p99 and max of the gaps between pieces (``None`` with fewer than two)."""
        zeros = self.bursts
        gaps = sorted(self.gaps)
        count = zeros + len(gaps)
        if count == 0:
            return {"p50": None, "p99": None, "max": None}

        def rank(q: float) -> float:
            index = max(0, math.ceil(q * count) - 1)  # nearest rank
            return 0.0 if index < zeros else _round(gaps[index - zeros])

        return {"p50": rank(0.5), "p99": rank(0.99), "max": _round(gaps[-1]) if gaps else 0.0}


class _Off(Timing):
    """A :class:`Timing` whose hot path does nothing."""

    __slots__ = ()

    def read(self, count: int) -> None:
        """Nothing to record."""


def _round(seconds: float) -> float:
    return round(seconds, 6)  # microseconds: finer figures are noise


def served_by(leg: Leg, answer: Any, attempts: int) -> dict[str, Any]:
    """Which target served the call: the closing piece's ``"jumpstart"`` identity keys.

    Args:
        leg: The target that answered.
        answer: Its answer (HTTP headers, or a stub's).
        attempts: Attempts the call made, at every target.
    """
    target = leg.target
    headers = getattr(answer, "headers", None)
    if headers is None:  # a stub's answer: botocore's parsed members
        members = getattr(answer, "members", None) or {}
        headers = {_VARIANT_HEADER: members.get("InvokedProductionVariant")}
    region = leg.region_name
    if region is None:
        try:
            region = leg.connection().client.meta.region_name
        except AttributeError:  # a stand-in client without botocore's meta
            region = None
    return {
        "endpoint_name": target.endpoint_name,
        "inference_component_name": target.inference_component_name,
        "target_variant": target.target_variant,
        "invoked_production_variant": headers.get(_VARIANT_HEADER),
        "region_name": region,
        "request_id": getattr(answer, "request_id", None),
        "attempts": attempts,
    }


class Observer(Protocol):
    """Told how each call ended (the OpenTelemetry bridge implements it)."""

    def served(
        self,
        info: Mapping[str, Any],
        report: Mapping[str, Any],
        policy: Policy,
        timing: Timing,
        text: Callable[[], str],
    ) -> None:
        """The call succeeded; ``report`` is its ``"jumpstart"`` entry, ``text()`` the answer."""

    def failed(self, err: errors.JumpStartStreamError, policy: Policy, timing: Timing) -> None:
        """The call gave up with ``err``."""

    def cut_short(self, exc: BaseException, policy: Policy, timing: Timing) -> None:
        """The caller stopped reading (``GeneratorExit``), or the call was cancelled."""
