"""f. The CPU cost per token of per-call telemetry, against the same stream without it.

Two ``JumpStartLLM`` models on the same ``fast`` endpoint, one with ``telemetry=True``
(the default: time to first token, inter-token gaps, tokens/s in the last chunk) and
one with ``telemetry=False``, in the same run. Rounds alternate their order and the
difference is taken per round, then medianed, as in ``cpu.py``.

An unpaced stream delivers many tokens per network read, and telemetry costs one
clock reading per read, so the end-to-end difference is close to the noise. The
worst case, one token per read (a slowly generating endpoint), is measured apart:
``Timing.read(1)`` against the no-op of ``telemetry=False``, plus the closing
report (a sort of every gap) spread over the stream's tokens.

``otel=False`` here, so OpenTelemetry is never imported: the figures hold whether or
not the ``[otel]`` extra is installed. With ``otel=True`` and the SDK installed, the
per-token cost of recording ``time_per_output_chunk`` is shown as context.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

from . import _clients
from ._emulator import FAST
from ._stats import median
from .report import Figure, Section

TARGET_US = 1.0  # CPU per token of telemetry, [otel] not in use


def _models(url: str, tokens: int) -> dict[str, Any]:
    on = _clients.jumpstart_llm(_clients.boto3_client(url), FAST, tokens)
    off = _clients.jumpstart_llm(_clients.boto3_client(url), FAST, tokens)
    off.telemetry = False
    return {"on": on, "off": off}


def _sync_cpu(model: Any, tokens: int, repeats: int) -> float:
    """Microseconds of CPU per token over ``repeats`` sync streams."""
    gc.collect()
    start = time.process_time()
    for _ in range(repeats):
        for _text in model.stream(_clients.PROMPT):
            pass
    return (time.process_time() - start) / (tokens * repeats) * 1e6


def _async_cpu(model: Any, tokens: int, repeats: int) -> float:
    """Microseconds of CPU per token over ``repeats`` async streams, on one event loop."""

    async def drain() -> float:
        gc.collect()
        start = time.process_time()
        for _ in range(repeats):
            async for _text in model.astream(_clients.PROMPT):
                pass
        return (time.process_time() - start) / (tokens * repeats) * 1e6

    return asyncio.run(drain())


def _per_call_ns(fn: Callable[[], None], calls: int) -> float:
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / calls


def worst_case_us(tokens: int = 100_000, rounds: int = 7) -> float:
    """CPU per token of telemetry when every network read brings one token, in µs."""
    from langchain_jumpstart_stream._telemetry import Timing

    def stream(timing: Timing) -> Callable[[], None]:
        def run() -> None:
            read = timing.read
            for _ in range(tokens):
                read(1)
            timing.report({"output_tokens": tokens})  # the closing report: sorts the gaps

        return run

    differences = []
    for _ in range(rounds):
        on = _per_call_ns(stream(Timing()), tokens)
        off = _per_call_ns(stream(Timing.off()), tokens)
        differences.append((on - off) / 1000)
    return median(differences)


def _otel_us(url: str, tokens: int, repeats: int) -> tuple[float | None, str]:
    """CPU per token with ``otel=True`` minus without, with the SDK's in-memory reader."""
    try:
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:
        return None, "opentelemetry-sdk is not installed (pip install opentelemetry-sdk)"
    trace.set_tracer_provider(TracerProvider())
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    models = _models(url, tokens)
    models["on"].otel = True
    models["off"].otel = False
    samples = []
    for _ in range(3):
        with_otel = _sync_cpu(models["on"], tokens, repeats)
        without = _sync_cpu(models["off"], tokens, repeats)
        samples.append(with_otel - without)
    return median(samples), "SDK TracerProvider and InMemoryMetricReader, no exporter"


def run(url: str, *, tokens: int = 2000, rounds: int = 7, repeats: int = 2) -> Section:
    """Measure the CPU per token of telemetry, sync and async, and its worst case."""
    models = _models(url, tokens)
    for model in models.values():  # warm up: imports, connection pools
        texts = [t for t in model.stream(_clients.PROMPT) if t]
        if len(texts) < tokens * 0.9:
            raise RuntimeError(f"the stream had {len(texts)} tokens, expected about {tokens}")
    samples: dict[str, list[float]] = {f"{m}.{k}": [] for m in ("sync", "async") for k in models}
    for r in range(rounds):
        order = ["on", "off"] if r % 2 == 0 else ["off", "on"]
        for name in order:
            samples[f"sync.{name}"].append(_sync_cpu(models[name], tokens, repeats))
            samples[f"async.{name}"].append(_async_cpu(models[name], tokens, repeats))

    def delta(mode: str) -> float:
        pairs = zip(samples[f"{mode}.on"], samples[f"{mode}.off"], strict=True)
        return median([on - off for on, off in pairs])

    sync_delta, async_delta = delta("sync"), delta("async")
    worst = worst_case_us()
    otel, otel_note = _otel_us(url, tokens, repeats)
    target = f"< {TARGET_US:.0f} us/token"
    figures = [
        Figure(
            "telemetry.sync_us",
            "CPU/token of telemetry, sync stream (on - off)",
            sync_delta,
            "us/token",
            target,
            sync_delta < TARGET_US,
        ),
        Figure(
            "telemetry.async_us",
            "CPU/token of telemetry, async stream (on - off)",
            async_delta,
            "us/token",
            target,
            async_delta < TARGET_US,
        ),
        Figure(
            "telemetry.worst_us",
            "CPU/token of telemetry, one token per read",
            worst,
            "us/token",
            target,
            worst < TARGET_US,
        ),
        Figure(
            "telemetry.sync_off_us",
            "CPU/token, sync stream, telemetry off",
            median(samples["sync.off"]),
            "us/token",
        ),
        Figure(
            "telemetry.otel_us",
            "CPU/token of otel=True (SDK, in-memory)",
            otel,
            "us/token",
            note=otel_note,
        ),
    ]
    details = {
        "tokens_per_stream": tokens,
        "rounds": rounds,
        "streams_per_round": repeats,
        "us_per_token_samples": samples,
        "method": "time.process_time() of the client process; emulator in a child process; "
        "worst case: Timing.read(1) per token plus the closing report, minus the no-op",
    }
    return Section("f. telemetry", "CPU per token of per-call telemetry", figures, details)


def main() -> None:  # pragma: no cover - for a quick look: python -m benchmarks.telemetry
    from ._emulator import EmulatorProcess

    with EmulatorProcess(long_tokens=1000, paced_rate=20.0) as emu:
        section = run(emu.url)
    for figure in section.figures:
        print(f"{figure.label:50} {figure.shown():>14} {figure.target:>16} {figure.status}")


if __name__ == "__main__":
    main()
