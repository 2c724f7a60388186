"""``python -m benchmarks [--quick] [--json PATH] [--only NAME ...] [--check]``.

Runs the benchmarks against the local emulator (in a child process), prints each
figure with its target and PASS/FAIL, and saves ``benchmarks/results/latest.json``,
``benchmarks/results/latest.md`` and the chart ``docs/benchmarks.png``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from . import async_cpu, concurrency, cpu, imports, latency, memory, routing, telemetry
from ._emulator import EmulatorProcess
from .report import Section, draw_chart, print_table, save

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
CHART = ROOT / "docs" / "benchmarks.png"
NAMES = ("cpu", "acpu", "memory", "latency", "async", "fast", "imports", "routing", "telemetry")

# Parameters of a full run and of --quick. cpu lengths: tokens -> (rounds, streams per
# client per round); a 100k-token stream takes seconds, so long lengths get fewer rounds.
FULL: dict[str, dict[str, Any]] = {
    "cpu": {"lengths": {2000: (5, 2), 20_000: (3, 1), 100_000: (2, 1)}},
    "acpu": {
        "bulk": {"tokens": 20_000, "rounds": 3},
        "paced": {"streams": 64, "rounds": 2, "tokens": {20: 100, 100: 300}},
    },
    "memory": {"tokens": 100_000, "peers": True, "traced": True},
    "latency": {"calls": 30},
    "async": {"streams": 256, "tokens": 100, "rate": 20.0},
    "fast": {"streams": 64, "tokens": 2000},
    "imports": {"repeats": 7},
    "routing": {"conversations": 5, "turns": 6},
    "telemetry": {"tokens": 2000, "rounds": 15, "repeats": 2},
}
QUICK: dict[str, dict[str, Any]] = {
    "cpu": {"lengths": {2000: (3, 1), 20_000: (1, 1), 100_000: (1, 1)}},
    "acpu": {
        "bulk": {"tokens": 2000, "rounds": 3},
        "paced": {"streams": 64, "rounds": 1, "tokens": {20: 40, 100: 200}},
    },
    "memory": {"tokens": 100_000, "peers": False, "traced": False},
    "latency": {"calls": 10},
    "async": {"streams": 256, "tokens": 40, "rate": 20.0},
    "fast": {"streams": 64, "tokens": 500},
    "imports": {"repeats": 3, "context": False},
    "routing": {"conversations": 5, "turns": 4},
    "telemetry": {"tokens": 2000, "rounds": 5, "repeats": 1},
}


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _versions() -> dict[str, str]:
    dists = ("langchain-jumpstart-stream", "langchain-core", "boto3", "botocore", "langchain-aws")
    return {dist: _version(dist) for dist in dists}


def _commit() -> str:
    """The package's git commit, with ``+dirty`` when its files have local changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "langchain_jumpstart_stream"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}+dirty" if dirty else head or "unknown"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[2]
    )
    parser.add_argument("--quick", action="store_true", help="a short run (about a minute)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--only", nargs="+", choices=NAMES, default=None, help="run only these")
    parser.add_argument("--check", action="store_true", help="exit with status 1 if a target fails")
    parser.add_argument("--no-chart", action="store_true", help="do not draw docs/benchmarks.png")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; return the process exit status."""
    args = _parse(argv)
    params = QUICK if args.quick else FULL
    chosen = args.only or list(NAMES)
    started = time.perf_counter()
    load_before = os.getloadavg()
    sections: list[Section] = []

    def step(name: str, fn: Callable[[], Section]) -> None:
        if name not in chosen:
            return
        print(f"[{time.perf_counter() - started:6.1f}s] {name} ...", flush=True)
        sections.append(fn())

    step("imports", lambda: imports.run(**params["imports"]))
    step("routing", lambda: routing.run(**params["routing"]))  # its own two-instance emulator
    if set(chosen) - {"imports", "routing"}:
        long_tokens = params["memory"]["tokens"]
        with EmulatorProcess(long_tokens=long_tokens, paced_rate=params["async"]["rate"]) as emu:
            step("cpu", lambda: cpu.run(emu.url, **params["cpu"]))
            step("acpu", lambda: async_cpu.run(emu.url, **params["acpu"]))
            step("latency", lambda: latency.run(emu.url, **params["latency"]))
            step("async", lambda: concurrency.run(emu.url, **params["async"]))
            step("fast", lambda: concurrency.run_fast(emu.url, **params["fast"]))
            step("memory", lambda: memory.run(emu.url, **params["memory"]))
            step("telemetry", lambda: telemetry.run(emu.url, **params["telemetry"]))
    sections.sort(key=lambda s: s.name)
    duration = time.perf_counter() - started
    mode = "quick" if args.quick else "full"
    meta = {
        "mode": mode,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "duration_seconds": round(duration, 1),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "versions": _versions(),
        "commit": _commit(),
        "parameters": {name: params[name] for name in chosen},
    }
    print()
    print_table(sections)
    paths = [RESULTS] + ([args.json] if args.json else [])
    save(sections, meta, paths)
    print(f"\n{mode} run in {duration:.0f}s; results in {', '.join(str(p) for p in paths)}")
    if not args.no_chart:
        subtitle = (
            f"{meta['date']}, commit {meta['commit']}, {meta['machine']}, "
            f"Python {meta['python']}, {mode} run"
        )
        if draw_chart(sections, CHART, subtitle):
            print(f"chart: {CHART}")
        else:
            print("chart skipped: matplotlib is not installed (pip install matplotlib)")
    failed = [f.label for s in sections for f in s.figures if f.status == "FAIL"]
    if failed:
        print(f"{len(failed)} target(s) not met: " + "; ".join(failed))
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
