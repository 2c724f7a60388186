"""b. Memory growth over one long stream whose consumer discards the tokens.

Each measurement runs in a fresh child process (``python -m benchmarks.memory``),
so that nothing measured before can hide a peak: after a warm-up stream it takes
the resident set size, streams ``tokens`` tokens from the ``long`` endpoint while
sampling RSS, and reports the growth. tracemalloc slows Python down and takes
memory of its own, so its peak comes from a second, separate child.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import _clients
from ._emulator import FAST, LONG
from ._stats import rss_bytes
from .report import Figure, Section

TARGET_MB = 5.0
_MB = 1024 * 1024
_SAMPLE_EVERY = 2048


def measure(url: str, variant: str, tokens: int, traced: bool) -> dict[str, Any]:
    """Stream ``tokens`` tokens through ``variant`` in this process; report memory."""
    client = _clients.boto3_client(url, pool=4)
    if variant == "ours":
        warm = _clients.jumpstart_llm(client, FAST, 2000)
        llm = _clients.jumpstart_llm(client, LONG, tokens)
    else:
        warm = _clients.langchain_aws_llm(client, FAST, 2000)
        llm = _clients.langchain_aws_llm(client, LONG, tokens)
        if llm is None:
            return {"skipped": "langchain-aws is not installed"}
    for _ in warm.stream(_clients.PROMPT):
        pass
    if variant == "ours":
        llm.get_client()  # each model creates its own client: outside the window, as warm's
    gc.collect()
    if traced:
        tracemalloc.start()
    before = rss_bytes()
    max_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak = before
    count = 0
    start = time.perf_counter()
    cpu = time.process_time()
    for text in llm.stream(_clients.PROMPT):
        if text:
            count += 1
            if count % _SAMPLE_EVERY == 0:
                peak = max(peak, rss_bytes())
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    after = rss_bytes()
    max_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if max_after > max_before:  # the high-water mark moved: it is this stream's peak
        peak = max(peak, max_after)
    result: dict[str, Any] = {
        "tokens": count,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_before_mb": before / _MB,
        "rss_growth_mb": (max(peak, after) - before) / _MB,
        "rss_retained_mb": (after - before) / _MB,
    }
    if traced:
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["tracemalloc_peak_mb"] = traced_peak / _MB
    return result


def _child(url: str, variant: str, traced: bool, tokens: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.memory", url, variant, str(tokens)]
    if traced:
        command.append("--traced")
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed ({variant}):\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(url: str, *, tokens: int = 100_000, peers: bool = True, traced: bool = True) -> Section:
    """Measure ours (and langchain-aws's RSS when ``peers``); tracemalloc when ``traced``.

    tracemalloc makes a 100k-token stream several times slower, so only ours is
    traced, in parallel with the RSS runs (memory does not depend on CPU contention).
    """
    variants = ("ours", "aws") if peers else ("ours",)
    jobs = ([("ours", True)] if traced else []) + [(v, False) for v in variants]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {job: pool.submit(_child, url, *job, tokens) for job in jobs}
        done = {job: future.result() for job, future in futures.items()}
    results: dict[str, dict[str, Any]] = {}
    for variant in variants:
        results[variant] = done[(variant, False)]
        if "tracemalloc_peak_mb" in done.get((variant, True), {}):
            results[variant]["tracemalloc_peak_mb"] = done[(variant, True)]["tracemalloc_peak_mb"]
            results[variant]["traced_seconds"] = done[(variant, True)]["seconds"]
    ours = results["ours"]
    if ours["tokens"] < tokens * 0.9:
        raise RuntimeError(f"the long stream had {ours['tokens']} tokens, expected {tokens}")
    growth = max(ours["rss_growth_mb"], ours.get("tracemalloc_peak_mb", 0.0))
    aws = results.get("aws", {})
    aws_note = aws.get("skipped", "" if peers else "skipped in --quick")
    traced_note = "" if traced else "tracemalloc skipped in --quick"
    label = f"{tokens // 1000}k-token stream"
    figures = [
        Figure(
            "memory.ours",
            f"Memory growth, {label}, JumpStartLLM (max of RSS, tracemalloc)",
            growth,
            "MB",
            f"<= {TARGET_MB:.0f} MB",
            growth <= TARGET_MB,
            traced_note,
        ),
        Figure("memory.ours_rss", "RSS growth, JumpStartLLM", ours["rss_growth_mb"], "MB"),
        Figure(
            "memory.ours_traced",
            "tracemalloc peak, JumpStartLLM",
            ours.get("tracemalloc_peak_mb"),
            "MB",
        ),
        Figure(
            "memory.aws_rss",
            "RSS growth, langchain-aws",
            aws.get("rss_growth_mb"),
            "MB",
            note=aws_note,
        ),
    ]
    return Section("b. memory", f"Memory over a {label}", figures, {"runs": results})


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.memory URL ours|aws TOKENS [--traced]``: print JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    parser.add_argument("url")
    parser.add_argument("variant", choices=("ours", "aws"))
    parser.add_argument("tokens", type=int)
    parser.add_argument("--traced", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.url, args.variant, args.tokens, args.traced)))


if __name__ == "__main__":
    main()
