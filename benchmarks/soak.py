"""Soak test: many streams in a row and at once, then nothing must be left behind.

Run: ``python -m benchmarks.soak`` (under two minutes on two cores). Options:
``--sequential N`` (default 1000), ``--concurrent N`` (default 256), ``--rounds N``
concurrent rounds (default 3), ``--tokens N`` tokens per answer (default: the whole
185-token website answer), ``--json PATH``.

The emulator runs in its own processes (``python -m langchain_jumpstart_stream.emulator
--port 0 --ready-file F``), so its sockets, threads and memory never count as the
client's: one unpaced for the sequential streams, one paced at
``--tokens-per-second`` (default 25, about 7 s per answer) for the concurrent ones,
so that all of them are open at the same time. After a warm-up (a few streams, then
one full concurrent round, so that lazy loading and the allocator reach steady
state), a baseline of this process's open file descriptors, threads and resident
memory is taken; it is taken again after 1,000 sequential streams and after each
round of concurrent async streams.

What "back to baseline" means here:

* connections: a stream read to its end hands its connection back to urllib3's pool
  for reuse (up to ``max_pool_connections`` idle ones), which is by design. Each
  measurement is taken twice: as is, and after closing the idle pooled
  connections. The second must equal the baseline exactly: any socket still open
  then was never closed nor returned, i.e. leaked;
* threads: back to the baseline exactly (async streams start none);
* memory: RSS after ``malloc_trim(0)`` (glibc keeps freed arenas of finished threads
  otherwise) within ``--rss-slack-mib`` of the baseline, and Python's allocated
  block count within ``--blocks-slack`` of it;
* the emulator process: its descriptors and threads back to its own baseline too,
  which shows that the server saw every connection closed.

Prints a table, saves JSON (default ``benchmarks/results/soak.json``) and exits 1 if
anything is not back to baseline. Linux only (reads ``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "soak.json"
WORKER_THREAD = "jumpstart-stream"
QUESTION = "How do I build a website?"


# -- measuring a process ------------------------------------------------------------


def _status(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _fds(pid: int | str) -> tuple[int, int]:
    """(open descriptors, of which sockets) of a process."""
    total = sockets = 0
    folder = f"/proc/{pid}/fd"
    for entry in os.listdir(folder):
        with contextlib.suppress(OSError):  # closed meanwhile
            target = os.readlink(f"{folder}/{entry}")
            total += 1
            sockets += target.startswith("socket:")
    return total, sockets


def _malloc_trim() -> bool:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


@dataclass
class Snapshot:
    """One process's footprint at a moment."""

    label: str
    fds: int
    sockets: int
    fds_idle_closed: int
    sockets_idle_closed: int
    threads: int
    worker_threads: int
    rss_mib: float
    rss_trimmed_mib: float
    python_blocks: int
    emulator_fds: int
    emulator_threads: int
    emulator_rss_mib: float


def snapshot(label: str, models: list[Any], emulators: list[int]) -> Snapshot:
    """Measure as is, then close idle pooled connections and measure again."""
    _wait(lambda: not _workers(), 10)
    gc.collect()
    fds, sockets = _fds("self")
    rss = _status("self", "VmRSS") / 1024
    for model in models:  # the blocking pools; the event loop's closed with its loop
        model._connection().http.close_idle()
    for pid in emulators:  # the server closes its side once the client has
        _wait(lambda pid=pid: _fds(pid)[1] <= 1, 10)
    fds_closed, sockets_closed = _fds("self")
    _malloc_trim()
    return Snapshot(
        label=label,
        fds=fds,
        sockets=sockets,
        fds_idle_closed=fds_closed,
        sockets_idle_closed=sockets_closed,
        threads=_status("self", "Threads"),
        worker_threads=len(_workers()),
        rss_mib=round(rss, 1),
        rss_trimmed_mib=round(_status("self", "VmRSS") / 1024, 1),
        python_blocks=sys.getallocatedblocks(),
        emulator_fds=sum(_fds(pid)[0] for pid in emulators),
        emulator_threads=sum(_status(pid, "Threads") for pid in emulators),
        emulator_rss_mib=round(sum(_status(pid, "VmRSS") for pid in emulators) / 1024, 1),
    )


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WORKER_THREAD]


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# -- the emulator in its own process --------------------------------------------------


@contextlib.contextmanager
def emulator_process(*extra: str) -> Iterator[tuple[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready"
        command = [
            sys.executable,
            "-m",
            "langchain_jumpstart_stream.emulator",
            "--port",
            "0",
            "--ready-file",
            str(ready),
            *extra,
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            if not _wait(lambda: ready.exists() and ready.read_text().strip() != "", 60):
                raise RuntimeError("the emulator did not start within 60 s")
            yield ready.read_text().strip(), process.pid
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- the streams ----------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    streams: int
    seconds: float
    streams_per_second: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    peak_threads: int
    peak_sockets: int
    failures: int


def _phase(
    name: str, latencies: list[float], seconds: float, peak: int, sockets: int, failed: int
) -> Phase:
    ordered = sorted(latencies)
    return Phase(
        name=name,
        streams=len(latencies),
        seconds=round(seconds, 2),
        streams_per_second=round(len(latencies) / seconds, 1),
        p50_ms=round(statistics.median(ordered) * 1000, 1),
        p95_ms=round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
        max_ms=round(ordered[-1] * 1000, 1),
        peak_threads=peak,
        peak_sockets=sockets,
        failures=failed,
    )


class PeakThreads:
    """Samples the thread count from a plain thread (the event loop may be too busy to)."""

    def __init__(self) -> None:
        self.peak = threading.active_count()
        self.peak_sockets = _fds("self")[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, threading.active_count() - 1)  # not counting itself
            self.peak_sockets = max(self.peak_sockets, _fds("self")[1])

    def __enter__(self) -> PeakThreads:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def run_sequential(model: Any, count: int, expected: str) -> Phase:
    latencies: list[float] = []
    failed = 0
    with PeakThreads() as peak:
        start = time.perf_counter()
        for _ in range(count):
            t0 = time.perf_counter()
            text = "".join(model.stream(QUESTION))
            latencies.append(time.perf_counter() - t0)
            failed += text != expected
        seconds = time.perf_counter() - start
    name = f"{count} sequential (sync)"
    return _phase(name, latencies, seconds, peak.peak, peak.peak_sockets, failed)


def run_concurrent(model: Any, count: int, expected: str, label: str) -> Phase:
    async def one() -> tuple[float, bool]:
        t0 = time.perf_counter()
        text = "".join([t async for t in model.astream(QUESTION)])
        return time.perf_counter() - t0, text == expected

    async def all_at_once() -> list[tuple[float, bool]]:
        return await asyncio.gather(*(one() for _ in range(count)))

    with PeakThreads() as threads:
        start = time.perf_counter()
        results = asyncio.run(all_at_once())
        seconds = time.perf_counter() - start
    failed = sum(not ok for _, ok in results)
    latencies = [t for t, _ in results]
    return _phase(label, latencies, seconds, threads.peak, threads.peak_sockets, failed)


# -- verdict and report -----------------------------------------------------------------


def verdicts(base: Snapshot, later: Snapshot, rss_slack: float, blocks_slack: int) -> list[str]:
    """What is not back to baseline (empty when everything is)."""
    problems = []
    if later.fds_idle_closed != base.fds_idle_closed:
        problems.append(f"fds {base.fds_idle_closed} -> {later.fds_idle_closed}")
    if later.threads != base.threads or later.worker_threads:
        problems.append(f"threads {base.threads} -> {later.threads}")
    if later.rss_trimmed_mib - base.rss_trimmed_mib > rss_slack:
        problems.append(f"RSS {base.rss_trimmed_mib} -> {later.rss_trimmed_mib} MiB")
    if later.python_blocks - base.python_blocks > blocks_slack:
        problems.append(f"Python blocks {base.python_blocks} -> {later.python_blocks}")
    if later.emulator_threads != base.emulator_threads:
        problems.append(f"emulator threads {base.emulator_threads} -> {later.emulator_threads}")
    if later.emulator_fds != base.emulator_fds:
        problems.append(f"emulator fds {base.emulator_fds} -> {later.emulator_fds}")
    return problems


def print_report(phases: list[Phase], snaps: list[Snapshot], problems: list[str]) -> None:
    print("\nStreams")
    print(f"{'phase':34} {'streams':>7} {'s':>7} {'/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'max ms':>8} {'peak thr':>8} {'peak sock':>9} {'fail':>5}")  # fmt: skip
    for p in phases:
        print(f"{p.name:34} {p.streams:>7} {p.seconds:>7} {p.streams_per_second:>7} "
              f"{p.p50_ms:>8} {p.p95_ms:>8} {p.max_ms:>8} {p.peak_threads:>8} "
              f"{p.peak_sockets:>9} {p.failures:>5}")  # fmt: skip
    print("\nFootprint (fds/sockets: as is | idle pooled connections closed)")
    print(f"{'when':28} {'fds':>9} {'sockets':>9} {'threads':>8} {'RSS MiB':>8} {'trimmed':>8} "
          f"{'py blocks':>10} {'emu fds':>8} {'emu thr':>8} {'emu RSS':>8}")  # fmt: skip
    for s in snaps:
        fds = f"{s.fds}|{s.fds_idle_closed}"
        sockets = f"{s.sockets}|{s.sockets_idle_closed}"
        print(f"{s.label:28} {fds:>9} {sockets:>9} {s.threads:>8} {s.rss_mib:>8} "
              f"{s.rss_trimmed_mib:>8} {s.python_blocks:>10} {s.emulator_fds:>8} "
              f"{s.emulator_threads:>8} {s.emulator_rss_mib:>8}")  # fmt: skip
    print("\n" + ("PASS: back to baseline" if not problems else "FAIL: " + "; ".join(problems)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--sequential", type=int, default=1000)
    parser.add_argument("--concurrent", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3, help="concurrent rounds")
    parser.add_argument("--tokens", type=int, default=None, help="max_new_tokens per stream")
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=25.0,
        help="pace of the concurrent streams, so that all of them are open at once",
    )
    parser.add_argument("--rss-slack-mib", type=float, default=8.0)
    parser.add_argument("--blocks-slack", type=int, default=5000)
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not Path("/proc/self/status").exists():
        print("the soak benchmark reads /proc and runs on Linux only", file=sys.stderr)
        return 2

    # Nothing here may reach a real account: static dummy credentials, no config files.
    os.environ.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    from langchain_jumpstart_stream import JumpStartLLM
    from langchain_jumpstart_stream.emulator import EndpointConfig, expected_text

    paced = ("--tokens-per-second", str(args.tokens_per_second))
    with contextlib.ExitStack() as stack:
        fast_url, fast_pid = stack.enter_context(emulator_process())
        slow_url, slow_pid = stack.enter_context(emulator_process(*paced))
        emulators = [fast_pid, slow_pid]
        kwargs = {"max_new_tokens": args.tokens} if args.tokens else {}
        models = [
            JumpStartLLM(
                endpoint_name="soak",
                endpoint_url=url,
                region_name="us-east-1",
                aws_access_key_id="emulator",
                aws_secret_access_key="emulator",
                max_pool_connections=args.concurrent + 8,
                read_timeout=120,
                stream_format="tgi",
                model_kwargs=kwargs,
            )
            for url in (fast_url, slow_url)
        ]
        fast, slow = models
        body = {"inputs": QUESTION, "parameters": {"details": True, **kwargs}, "stream": True}
        expected = expected_text(EndpointConfig(stream_format="tgi"), body)

        # Warm up to steady state: imports, botocore's lazy loading, the pools, and the
        # allocator (glibc caches up to 40 MiB of freed thread stacks and keeps
        # per-thread arenas, so the first burst of threads raises RSS once, for good).
        run_sequential(fast, 20, expected)
        run_concurrent(slow, args.concurrent, expected, "warm-up")
        snaps = [snapshot("baseline (after warm-up)", models, emulators)]
        phases = [run_sequential(fast, args.sequential, expected)]
        snaps.append(snapshot(f"after {args.sequential} sequential", models, emulators))
        for round_ in range(1, args.rounds + 1):
            label = f"{args.concurrent} concurrent (async) #{round_}"
            phases.append(run_concurrent(slow, args.concurrent, expected, label))
            snaps.append(snapshot(f"after concurrent #{round_}", models, emulators))

    problems = [p for s in snaps[1:] for p in verdicts(snaps[0], s, args.rss_slack_mib,
                                                         args.blocks_slack)]  # fmt: skip
    problems += [f"{p.name}: {p.failures} wrong answers" for p in phases if p.failures]
    print_report(phases, snaps, problems)
    result = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "settings": vars(args) | {"json": str(args.json)},
        "phases": [asdict(p) for p in phases],
        "snapshots": [asdict(s) for s in snaps],
        "back_to_baseline": not problems,
        "problems": problems,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"saved {args.json}")
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
