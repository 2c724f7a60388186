"""d. Many concurrent ``astream()`` calls on one event loop.

``streams`` tasks each stream ``tokens`` tokens from the ``paced`` endpoint (20
tokens/s by default) while a heartbeat task sleeps 10 ms at a time and records
how late it wakes up: that lateness is the event-loop lag every other coroutine
of the application would suffer. The client is created before the clock starts.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from . import _clients
from ._emulator import FAST, PACED
from ._stats import median, percentile, thread_count, weighted_percentile
from .report import Figure, Section

TARGET_LAG_P99_MS = 20.0
TARGET_FAST_LAG_MAX_MS = 100.0  # 64 unpaced streams: the loop's longest stall
_BEAT = 0.010


async def _heartbeat(
    stop: asyncio.Event, beats: list[tuple[float, float]], threads: list[int]
) -> None:
    """Record (seconds since start, lag in ms) for every 10 ms sleep until ``stop``."""
    loop = asyncio.get_running_loop()
    origin = loop.time()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(_BEAT)
        now = loop.time()
        beats.append((now - origin, (now - start - _BEAT) * 1000))
        threads.append(thread_count())


class _GcPauses:
    """Garbage-collection pauses, as (start, end) on the loop's clock (time.monotonic).

    A full collection stops the whole process; in a process that has loaded botocore,
    langchain-core and aiohttp it takes 100 ms or more, whoever triggered it. The
    figures below say how much of the longest stall was that.
    """

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float]] = []
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.monotonic()
        else:
            self.pauses.append((self._start, time.monotonic()))

    def within(self, start: float, end: float) -> float:
        """Seconds of collection between ``start`` and ``end``."""
        return sum(max(0.0, min(end, b) - max(start, a)) for a, b in self.pauses)


async def _one(llm: Any, first: list[float], origin: float) -> int:
    count = 0
    async for text in llm.astream(_clients.PROMPT):
        if text:
            if not count:
                first.append(time.perf_counter() - origin)
            count += 1
    return count


async def _run(
    url: str, streams: int, tokens: int, timeout: float, endpoint: str = PACED
) -> dict[str, Any]:
    client = _clients.boto3_client(url, pool=max(256, streams * 2))
    llm = _clients.jumpstart_llm(client, endpoint, tokens)
    llm.get_client()
    warm = _clients.jumpstart_llm(client, endpoint, 2)
    await _one(warm, [], 0.0)  # warm up: imports, one connection
    beats: list[tuple[float, float]] = []
    threads: list[int] = []
    first: list[float] = []
    stop = asyncio.Event()
    threads_before = thread_count()
    pauses = _GcPauses()
    gc.callbacks.append(pauses)
    origin = asyncio.get_running_loop().time()  # the loop's clock is time.monotonic
    beat = asyncio.create_task(_heartbeat(stop, beats, threads))
    cpu = time.process_time()
    start = time.perf_counter()
    results = await asyncio.wait_for(
        asyncio.gather(*(_one(llm, first, start) for _ in range(streams)), return_exceptions=True),
        timeout,
    )
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    stop.set()
    await beat
    gc.callbacks.remove(pauses)
    beat_origin = origin  # heartbeat times are seconds since about this instant
    without_gc = [
        lag - pauses.within(beat_origin + at - (lag / 1000 + _BEAT), beat_origin + at) * 1000
        for at, lag in beats
    ]
    counts = [r for r in results if isinstance(r, int)]
    errors = [repr(r) for r in results if not isinstance(r, int)]
    delivered = sum(counts)
    lags = [lag for _, lag in beats]
    ramp = max(first, default=0.0)  # every stream has had its first token by then
    steady = [lag for at, lag in beats if at > ramp]
    return {
        "streams": streams,
        "tokens_per_stream": tokens,
        "completed": sum(1 for c in counts if c == tokens),
        "errors": errors[:5],
        "error_count": len(errors),
        "wall_seconds": wall,
        "tokens_per_second": delivered / wall,
        "cpu_us_per_token": cpu / max(delivered, 1) * 1e6,
        "lag_p50_ms": median(lags),
        "lag_p99_ms": percentile(lags, 99),
        "lag_max_ms": max(lags, default=0.0),
        "lag_max_without_gc_ms": max(without_gc, default=0.0),
        "gc_pause_max_ms": max((b - a for a, b in pauses.pauses), default=0.0) * 1000,
        # A freeze of 6 s is one heartbeat: weighting each beat by its length gives the
        # lag a coroutine waking at a random moment would see.
        "lag_p99_time_weighted_ms": weighted_percentile(lags, [_BEAT * 1000 + x for x in lags], 99),
        "lag_p99_after_ramp_ms": percentile(steady, 99),
        "heartbeats": len(lags),
        "worst_beats": sorted(beats, key=lambda b: -b[1])[:10],
        "first_token_p50_s": median(first),
        "first_token_max_s": ramp,
        "threads_before": threads_before,
        "threads_peak": max(threads, default=threads_before),
    }


def run(url: str, *, streams: int = 256, tokens: int = 100, rate: float = 20.0) -> Section:
    """Run ``streams`` concurrent streams of ``tokens`` tokens paced at ``rate`` tokens/s."""
    timeout = tokens / rate * 4 + 60
    r = asyncio.run(_run(url, streams, tokens, timeout))
    ideal = streams * rate
    figures = [
        Figure(
            "async.completed",
            f"{streams} concurrent astream() at {rate:.0f} tokens/s: completed",
            r["completed"],
            "count",
            f"= {streams}",
            r["completed"] == streams,
            "; ".join(r["errors"]),
        ),
        Figure(
            "async.lag_p99",
            "Event-loop lag p99 (10 ms heartbeat)",
            r["lag_p99_ms"],
            "ms",
            f"<= {TARGET_LAG_P99_MS:.0f} ms",
            r["lag_p99_ms"] <= TARGET_LAG_P99_MS,
        ),
        Figure("async.lag_p50", "Event-loop lag p50", r["lag_p50_ms"], "ms"),
        Figure("async.lag_max", "Event-loop lag max (longest freeze)", r["lag_max_ms"], "ms"),
        Figure(
            "async.lag_p99_weighted",
            "Event-loop lag p99, weighted by time",
            r["lag_p99_time_weighted_ms"],
            "ms",
            note="each heartbeat weighted by its duration, so a long freeze is not one sample",
        ),
        Figure(
            "async.lag_p99_steady",
            "Event-loop lag p99 once every stream has started",
            r["lag_p99_after_ramp_ms"],
            "ms",
        ),
        Figure(
            "async.first_token_max",
            "Time until every stream had its first token",
            r["first_token_max_s"] * 1000,
            "ms",
        ),
        Figure(
            "async.tokens_per_second",
            f"Aggregate tokens/s (ideal {ideal:.0f})",
            r["tokens_per_second"],
            "tokens/s",
        ),
        Figure("async.threads_peak", "Peak threads in the process", r["threads_peak"], "count"),
        Figure("async.cpu_us", "Client CPU per token, async", r["cpu_us_per_token"], "us/token"),
    ]
    return Section("d. async", "Concurrent async streams", figures, r)


def run_fast(url: str, *, streams: int = 64, tokens: int = 2000) -> Section:
    """Run ``streams`` unpaced streams at once: each always has data waiting.

    A stream that decoded everything it had received before yielding would freeze
    every other coroutine for as long as it takes to decode it; the longest stall
    shows whether streams take turns.
    """
    r = asyncio.run(_run(url, streams, tokens, timeout=300, endpoint=FAST))
    figures = [
        Figure(
            "fast.completed",
            f"{streams} concurrent unpaced astream() of {tokens} tokens: completed",
            r["completed"],
            "count",
            f"= {streams}",
            r["completed"] == streams,
            "; ".join(r["errors"]),
        ),
        Figure(
            "fast.lag_max_without_gc",
            "Event-loop longest stall, garbage collection taken out",
            r["lag_max_without_gc_ms"],
            "ms",
            f"<= {TARGET_FAST_LAG_MAX_MS:.0f} ms",
            r["lag_max_without_gc_ms"] <= TARGET_FAST_LAG_MAX_MS,
            "the stall the streams cause; a full collection stops every thread, whoever "
            "allocated (see fast.gc_pause_max)",
        ),
        Figure("fast.lag_max", "Event-loop lag max, as measured", r["lag_max_ms"], "ms"),
        Figure("fast.gc_pause_max", "Longest garbage-collection pause", r["gc_pause_max_ms"], "ms"),
        Figure("fast.lag_p99", "Event-loop lag p99", r["lag_p99_ms"], "ms"),
        Figure("fast.tokens_per_second", "Aggregate tokens/s", r["tokens_per_second"], "tokens/s"),
        Figure(
            "fast.cpu_us", "Client CPU per token, async unpaced", r["cpu_us_per_token"], "us/token"
        ),
    ]
    return Section("d2. fast async", "Concurrent unpaced async streams", figures, r)
