"""Which async HTTP library should carry the signed stream: aiohttp (llhttp) or httpx (h11)?

``python -m benchmarks.async_http [--json PATH] [--no-pin]`` (2-3 minutes) answers it with
figures from one run. Every request is built and signed by botocore, as the package
does: a real ``sagemaker-runtime`` client whose last ``before-send`` handler captures
the ``AWSPreparedRequest`` and hands botocore a dummy 200 ``AWSResponse``, so botocore
sends nothing. The captured method, URL, headers and body then go out through
``aiohttp.ClientSession.request`` (read with ``resp.content.iter_any()``) or
``httpx.AsyncClient.stream`` (read with ``aiter_raw()``); one session/client per
library for the whole run, with keep-alive, as an application has. Each body piece
is fed to the package's own ``FrameDecoder``; every PayloadPart payload is split into
lines and each TGI ``data:`` line goes through ``json.loads``; tokens are counted and
dropped. That consumer is the same code for every client, so differences are the
library's. A third column, ``aiohttp-64k``, is aiohttp with ``read_bufsize=64 KiB``
(its default is 256 KiB), to see what the per-connection buffer changes.

The emulator (``benchmarks._emulator``) runs in its own process and sends one
PayloadPart per HTTP chunk per token, so only the client's CPU is counted
(``time.process_time()`` of this process). On Linux with 2+ CPUs the client is
pinned to one core and the emulator to another (``--no-pin`` to skip), so that the
emulator's 64 sending threads cannot crowd the client's single thread out.

1. **Bulk CPU per token**: 2,000-token unpaced streams, one at a time, for each
   library and for the reference, botocore's own sync loop in this process
   (iterating ``response["Body"]``, then the same line and JSON work). Rounds rotate
   the order; ratios are taken per round, then medianed. Signing is timed on its
   own, so figures come with and without it (botocore's loop always includes it).
2. **Paced CPU per token**: 8 concurrent streams at 100 tokens/s for 3 s; every
   token arrives alone, so the library's cost per socket wake-up dominates. User
   and system time are shown apart (``getrusage``).
3. **Event-loop lag** with 64 concurrent streams on one loop, (a) paced at 100
   tokens/s each and (b) unpaced, 2,000 tokens each: a heartbeat task sleeps 5 ms
   at a time and records how late it wakes up (wall time, pooled over rounds).
   Wall lag also counts time this process was off the CPU, so the CPU time of each
   event-loop iteration is recorded too: the longest one is the freeze the client
   itself causes. Connections are opened and the requests signed before the clock
   starts; the CPU of one request (64 concurrent 2-token streams) is shown apart.
4. **Memory**, in a fresh child process per library and mode: RSS growth (sampled)
   over a 30k-token stream; in another child, the memory the request holds (from
   just before it is sent) after the consumer has stopped reading for 1 s
   mid-stream, i.e. per-connection buffering and backpressure (tracemalloc), then
   the tracemalloc peak over a second 30k-token stream.

Results, with every raw sample, go to ``benchmarks/results/async_http.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import httpx
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from langchain_jumpstart_stream._eventstream import FrameDecoder

from ._clients import tgi_body
from ._emulator import FAST, LONG, PACED, EmulatorProcess
from ._stats import median, percentile, rss_bytes

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "async_http.json"
SMALL = "aiohttp-64k"  # aiohttp with a smaller StreamReader limit, to see what it changes
SMALL_BUFSIZE = 64 * 1024
LIBS = ("aiohttp", SMALL, "httpx")
_MB = 1024 * 1024
_OPERATION = "sagemaker-runtime.InvokeEndpointWithResponseStream"

# Parameters of a run.
BULK = {"tokens": 2000, "rounds": 9, "repeats": 2}
PACE = {"streams": 8, "tokens": 300, "rate": 100.0, "rounds": 3}
LAG = {"streams": 64, "tokens": 2000, "beat": 0.005, "rounds": 3}
LAG_PACED = {"tokens": 200, "rounds": 2}  # LAG["streams"] streams at PACE["rate"]
MEMORY = {"tokens": 30_000, "stall": 1.0, "sample_every": 2048}


# -- the consumer: identical for every client ------------------------------------------


class TokenSink:
    """Frames -> PayloadPart bytes -> lines -> ``json.loads``; tokens counted, then dropped.

    ``keep`` keeps the text, to check that every client assembles the same answer.
    """

    __slots__ = ("_buffer", "_decoder", "bytes", "keep", "reads", "text", "tokens")

    def __init__(self, *, keep: bool = False) -> None:
        self._decoder = FrameDecoder()
        self._buffer = b""
        self.keep = keep
        self.text: list[str] = []
        self.tokens = 0
        self.reads = 0
        self.bytes = 0

    def feed(self, data: bytes) -> None:
        """One read of the HTTP body (any cut)."""
        self.reads += 1
        self.bytes += len(data)
        for frame in self._decoder.feed(data):
            if frame.event_type != "PayloadPart":
                raise RuntimeError(f"unexpected frame {frame!r}: {frame.payload[:200]!r}")
            self.payload(frame.payload)

    def payload(self, data: bytes) -> None:
        """One PayloadPart's bytes (lines may be split across parts)."""
        if b"\n" not in data:
            self._buffer += data
            return
        lines = (self._buffer + data).split(b"\n")
        self._buffer = lines.pop()
        for line in lines:
            self._line(line.rstrip(b"\r"))

    def _line(self, line: bytes) -> None:
        if line.startswith(b"data:"):
            token = json.loads(line[5:])["token"]
            if not token["special"]:
                self.tokens += 1
                if self.keep:
                    self.text.append(token["text"])

    def finish(self, *, frames: bool = True) -> TokenSink:
        """The body ended: check no frame was cut, flush a last line without newline."""
        if frames:
            self._decoder.finish()
        self._line(self._buffer.rstrip(b"\r"))
        self._buffer = b""
        return self


# -- signing with botocore, sending with the library ------------------------------------


@dataclass(frozen=True)
class Signed:
    """A request botocore built and signed, ready for any HTTP library."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class _NoBody:
    """The ``raw`` of the dummy response: botocore may close or stream it; both no-ops."""

    def stream(self, *_args: Any, **_kwargs: Any) -> Any:
        return iter(())

    def close(self) -> None:
        pass


def boto3_client(url: str, *, pool: int = 10) -> Any:
    """A real ``sagemaker-runtime`` client for the emulator (dummy credentials)."""
    config = Config(
        retries={"total_max_attempts": 1},
        read_timeout=120,
        max_pool_connections=pool,
    )
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # a dummy for the emulator
        config=config,
    )


class Signer:
    """botocore builds and signs; a last ``before-send`` handler keeps it from sending.

    ``cpu`` accumulates the process time spent signing, so it can be taken out.
    """

    def __init__(self, url: str) -> None:
        self._client = boto3_client(url)
        self._captured: Any = None
        self._client.meta.events.register_last(f"before-send.{_OPERATION}", self._capture)
        self.cpu = 0.0
        self.count = 0

    def _capture(self, request: Any, **_kwargs: Any) -> AWSResponse:
        self._captured = request
        return AWSResponse(request.url, 200, {}, _NoBody())

    def sign(self, endpoint: str, max_new_tokens: int) -> Signed:
        start = time.process_time()
        response = self._client.invoke_endpoint_with_response_stream(
            EndpointName=endpoint, Body=tgi_body(max_new_tokens), ContentType="application/json"
        )
        response["Body"].close()
        request, self._captured = self._captured, None
        headers = {
            k: v.decode("latin-1") if isinstance(v, bytes) else v
            for k, v in request.headers.items()
        }
        body = request.body if isinstance(request.body, bytes) else bytes(request.body or b"")
        signed = Signed(request.method, request.url, headers, body)
        self.cpu += time.process_time() - start
        self.count += 1
        return signed


class AiohttpClient:
    """One ``aiohttp.ClientSession`` (C llhttp parser); ``resp.content.iter_any()``.

    ``read_bufsize`` is the session's StreamReader limit (aiohttp's default 256 KiB;
    it stops reading from the socket above twice that).
    """

    def __init__(self, pool: int, read_bufsize: int | None = None) -> None:
        self._pool = pool
        self._read_bufsize = read_bufsize
        self.name = "aiohttp" if read_bufsize is None else f"aiohttp-{read_bufsize // 1024}k"
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AiohttpClient:
        options = {} if self._read_bufsize is None else {"read_bufsize": self._read_bufsize}
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._pool),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120),
            **options,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def chunks(self, req: Signed) -> AsyncIterator[bytes]:
        assert self._session is not None
        async with self._session.request(
            req.method, req.url, headers=req.headers, data=req.body
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"aiohttp: HTTP {resp.status}: {await resp.read()!r}")
            async for data in resp.content.iter_any():
                yield data


class HttpxClient:
    """One ``httpx.AsyncClient`` (httpcore + h11 on anyio); ``client.stream().aiter_raw()``."""

    def __init__(self, pool: int) -> None:
        self._pool = pool
        self.name = "httpx"
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> HttpxClient:
        self._client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=self._pool, max_keepalive_connections=self._pool),
            timeout=httpx.Timeout(120.0, connect=10.0),
            trust_env=False,  # as aiohttp's default: no proxy from the environment
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def chunks(self, req: Signed) -> AsyncIterator[bytes]:
        assert self._client is not None
        async with self._client.stream(
            req.method, req.url, headers=req.headers, content=req.body
        ) as resp:
            if resp.status_code != 200:
                raise RuntimeError(f"httpx: HTTP {resp.status_code}: {await resp.aread()!r}")
            async for data in resp.aiter_raw():
                yield data


Client = AiohttpClient | HttpxClient


def make_client(name: str, pool: int = 128) -> Client:
    if name == "httpx":
        return HttpxClient(pool)
    if name == SMALL:
        return AiohttpClient(pool, read_bufsize=SMALL_BUFSIZE)
    return AiohttpClient(pool)


async def stream(
    client: Client,
    signer: Signer,
    endpoint: str,
    tokens: int,
    *,
    keep: bool = False,
    signed: Signed | None = None,
) -> TokenSink:
    """Send a freshly signed request (or ``signed``) with ``client``; feed every read."""
    sink = TokenSink(keep=keep)
    async for data in client.chunks(signed or signer.sign(endpoint, tokens)):
        sink.feed(data)
    return sink.finish()


def botocore_stream(boto: Any, endpoint: str, tokens: int, *, keep: bool = False) -> TokenSink:
    """The reference: botocore sends, parses and decodes; the same line and JSON work."""
    response = boto.invoke_endpoint_with_response_stream(
        EndpointName=endpoint, Body=tgi_body(tokens), ContentType="application/json"
    )
    body = response["Body"]
    sink = TokenSink(keep=keep)
    try:
        for event in body:
            part = event.get("PayloadPart")
            if part is not None:
                sink.reads += 1
                sink.payload(part["Bytes"])
    finally:
        body.close()
    return sink.finish(frames=False)


# -- 1. bulk CPU per token --------------------------------------------------------------


async def _bulk(url: str, signer: Signer, clients: dict[str, Client]) -> dict[str, Any]:
    tokens, rounds, repeats = BULK["tokens"], BULK["rounds"], BULK["repeats"]
    boto = boto3_client(url)

    def runner(name: str, keep: bool = False) -> Callable[[], Awaitable[TokenSink]]:
        if name == "botocore":

            async def sync_ref() -> TokenSink:
                return botocore_stream(boto, FAST, tokens, keep=keep)

            return sync_ref
        return lambda: stream(clients[name], signer, FAST, tokens, keep=keep)

    names = [*LIBS, "botocore"]
    # Warm up (imports, connections); every client must assemble the same answer.
    warm = {name: await runner(name, keep=True)() for name in names}
    texts = {name: "".join(sink.text) for name, sink in warm.items()}
    if len(set(texts.values())) != 1 or warm["botocore"].tokens < tokens * 0.9:
        counts = {name: sink.tokens for name, sink in warm.items()}
        raise RuntimeError(f"the clients assembled different answers: {counts}")

    total: dict[str, list[float]] = {n: [] for n in names}
    net: dict[str, list[float]] = {n: [] for n in LIBS}
    pieces: dict[str, list[float]] = {n: [] for n in LIBS}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            run = runner(name)
            gc.collect()
            signing = signer.cpu
            start = time.process_time()
            delivered = reads = 0
            for _ in range(repeats):
                sink = await run()
                delivered += sink.tokens
                reads += sink.reads
            cpu = time.process_time() - start
            total[name].append(cpu / delivered * 1e6)
            if name in net:
                net[name].append((cpu - (signer.cpu - signing)) / delivered * 1e6)
                pieces[name].append(reads / delivered)
    return {
        "tokens_per_stream": tokens,
        "rounds": rounds,
        "streams_per_round": repeats,
        "us_per_token": total,
        "us_per_token_without_signing": net,
        "pieces_per_token": pieces,
        "bytes_per_token": warm["httpx"].bytes / warm["httpx"].tokens,
    }


# -- 2. paced CPU per token -------------------------------------------------------------


async def _paced_once(client: Client, signer: Signer) -> dict[str, float]:
    streams, tokens = int(PACE["streams"]), int(PACE["tokens"])
    gc.collect()
    signing = signer.cpu
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.process_time()
    wall = time.perf_counter()
    sinks = await asyncio.gather(*(stream(client, signer, PACED, tokens) for _ in range(streams)))
    wall = time.perf_counter() - wall
    cpu = time.process_time() - start
    end = resource.getrusage(resource.RUSAGE_SELF)
    delivered = sum(s.tokens for s in sinks)
    if delivered < streams * tokens * 0.9:
        raise RuntimeError(f"{client.name}: paced streams delivered {delivered} tokens")
    return {
        "us_per_token": cpu / delivered * 1e6,
        "us_per_token_without_signing": (cpu - (signer.cpu - signing)) / delivered * 1e6,
        "user_us_per_token": (end.ru_utime - usage.ru_utime) / delivered * 1e6,
        "system_us_per_token": (end.ru_stime - usage.ru_stime) / delivered * 1e6,
        "pieces_per_token": sum(s.reads for s in sinks) / delivered,
        "wall_seconds": wall,
    }


# -- 3. event-loop lag ------------------------------------------------------------------


async def _heartbeat(stop: asyncio.Event, beats: list[tuple[float, float]], beat: float) -> None:
    """Append (seconds since start, lag in ms) for every ``beat``-second sleep."""
    loop = asyncio.get_running_loop()
    origin = loop.time()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(beat)
        now = loop.time()
        beats.append((now - origin, (now - start - beat) * 1000))


async def _idle_lag(seconds: float = 0.5) -> list[float]:
    beats: list[tuple[float, float]] = []
    stop = asyncio.Event()
    task = asyncio.create_task(_heartbeat(stop, beats, LAG["beat"]))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    return [lag for _, lag in beats]


class IterationClock:
    """CPU time of every event-loop iteration, while active.

    The heartbeat's lag is wall time, so it also counts the moments this process
    was not on a CPU at all (two cores, the emulator's threads, other processes).
    The CPU time of one iteration of the loop (all the callbacks and task steps it
    runs between two polls) is the freeze the client itself causes: a coroutine
    woken during an iteration waits for the rest of it. This wraps the loop's
    private ``_run_once``; without it the clock stays empty.
    """

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (loop time, CPU seconds)
        self.active = False

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        run_once = getattr(loop, "_run_once", None)
        if run_once is None:
            return
        samples = self.samples
        clock = time.process_time

        def timed() -> None:
            if not self.active:
                run_once()
                return
            start = clock()
            run_once()
            samples.append((loop.time(), clock() - start))

        loop._run_once = timed  # type: ignore[attr-defined]


CLOCK = IterationClock()


async def _lag_once(
    client: Client, signer: Signer, endpoint: str, streams: int, tokens: int
) -> dict[str, Any]:
    # Signed before the clock: 64 signatures in one loop iteration would be a lag
    # spike of their own (the same for every library).
    requests = [signer.sign(endpoint, tokens) for _ in range(streams)]
    gc.collect()
    beats: list[tuple[float, float]] = []
    stop = asyncio.Event()
    beat = asyncio.create_task(_heartbeat(stop, beats, LAG["beat"]))
    await asyncio.sleep(0)
    CLOCK.samples.clear()
    CLOCK.active = True
    origin = asyncio.get_running_loop().time()
    cpu = time.process_time()
    wall = time.perf_counter()
    sinks = await asyncio.gather(
        *(stream(client, signer, endpoint, tokens, signed=req) for req in requests)
    )
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    CLOCK.active = False
    iterations = [cpu_s * 1000 for _, cpu_s in CLOCK.samples]
    worst = sorted(CLOCK.samples, key=lambda sample: -sample[1])[:10]
    stop.set()
    await beat
    delivered = sum(s.tokens for s in sinks)
    if delivered < streams * tokens * 0.9:
        raise RuntimeError(f"{client.name}: {endpoint} streams delivered {delivered} tokens")
    lags = [lag for _, lag in beats]
    return {
        "lags_ms": lags,
        "lag_p50_ms": median(lags),
        "lag_p99_ms": percentile(lags, 99),
        "lag_max_ms": max(lags, default=0.0),
        "worst_beats": sorted(beats, key=lambda b: -b[1])[:10],
        "iterations": len(iterations),
        "iteration_cpu_p50_ms": median(iterations),
        "iteration_cpu_p99_ms": percentile(iterations, 99),
        "iteration_cpu_max_ms": max(iterations, default=math.nan),
        "worst_iterations": [(at - origin, cpu_s * 1000) for at, cpu_s in worst],
        "tokens_per_second": delivered / wall,
        "us_per_token_without_signing": cpu / delivered * 1e6,
        "bytes_per_piece": sum(s.bytes for s in sinks) / sum(s.reads for s in sinks),
        "wall_seconds": wall,
    }


async def _per_request(client: Client, signer: Signer) -> float:
    """CPU per request (send, headers, a 2-token body) for 64 concurrent requests,
    with 64 open connections in the pool, without signing: what every stream pays once.
    """
    streams = int(LAG["streams"])
    requests = [signer.sign(FAST, 2) for _ in range(streams)]
    gc.collect()
    cpu = time.process_time()
    await asyncio.gather(*(stream(client, signer, FAST, 2, signed=req) for req in requests))
    return (time.process_time() - cpu) / streams * 1e6


def _rotations(rounds: int) -> list[list[str]]:
    return [list(LIBS[r % len(LIBS) :] + LIBS[: r % len(LIBS)]) for r in range(rounds)]


async def _in_process(url: str) -> dict[str, Any]:
    """Sections 1-3 on one event loop, with one session/client per library."""
    signer = Signer(url)
    started = time.perf_counter()
    CLOCK.install(asyncio.get_running_loop())

    def done(what: str) -> None:
        print(f"  {what} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    async with contextlib.AsyncExitStack() as stack:
        clients = {name: await stack.enter_async_context(make_client(name)) for name in LIBS}
        sign_start, sign_count = signer.cpu, signer.count
        bulk = await _bulk(url, signer, clients)
        sign_us = (signer.cpu - sign_start) / (signer.count - sign_count) * 1e6
        done("1. bulk")

        paced: dict[str, list[dict[str, float]]] = {n: [] for n in LIBS}
        for order in _rotations(int(PACE["rounds"])):
            for name in order:
                paced[name].append(await _paced_once(clients[name], signer))
        done("2. paced")

        idle = await _idle_lag()
        for client in clients.values():  # open every connection of the pools first
            await asyncio.gather(*(stream(client, signer, FAST, 2) for _ in range(LAG["streams"])))
        per_request: dict[str, list[float]] = {n: [] for n in LIBS}
        for order in _rotations(3):
            for name in order:
                per_request[name].append(await _per_request(clients[name], signer))
        streams = int(LAG["streams"])
        lag_paced: dict[str, list[dict[str, Any]]] = {n: [] for n in LIBS}
        for order in _rotations(int(LAG_PACED["rounds"])):
            for name in order:
                run = _lag_once(clients[name], signer, PACED, streams, int(LAG_PACED["tokens"]))
                lag_paced[name].append(await run)
        lag: dict[str, list[dict[str, Any]]] = {n: [] for n in LIBS}
        for order in _rotations(int(LAG["rounds"])):
            for name in order:
                run = _lag_once(clients[name], signer, FAST, streams, int(LAG["tokens"]))
                lag[name].append(await run)
        done("3. lag")
    return {
        "signing_us_per_request": sign_us,
        "bulk": bulk,
        "paced": paced,
        "lag": lag,
        "lag_paced": lag_paced,
        "request_us_without_signing": per_request,
        "idle_lag_ms": {"p50": median(idle), "p99": percentile(idle, 99), "max": max(idle)},
    }


# -- 4. memory, in fresh child processes ------------------------------------------------


async def _child(url: str, name: str, mode: str) -> dict[str, Any]:
    """Runs in a fresh process. ``rss``: RSS growth over the long stream. ``traced``:
    the bytes held in user space while the consumer stops reading mid-stream, then
    the tracemalloc peak over a second long stream."""
    tokens, every = int(MEMORY["tokens"]), int(MEMORY["sample_every"])
    signer = Signer(url)
    result: dict[str, Any] = {}
    async with make_client(name, 4) as client:
        await stream(client, signer, FAST, 2000)  # warm up: imports, one connection
        gc.collect()
        if mode == "traced":
            tracemalloc.start()
            sink = TokenSink()
            stalled = False
            req = signer.sign(LONG, tokens)
            gc.collect()
            baseline = tracemalloc.get_traced_memory()[0]
            async for data in client.chunks(req):
                sink.feed(data)
                if not stalled and sink.tokens >= 1000:
                    stalled = True
                    await asyncio.sleep(MEMORY["stall"])
                    gc.collect()
                    held = tracemalloc.get_traced_memory()[0] - baseline
                    result["stall_held_kib"] = held / 1024
            sink.finish()
            gc.collect()
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
        before = rss_bytes()
        max_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak = before
        largest = 0
        sink = TokenSink()
        next_sample = every
        start = time.perf_counter()
        async for data in client.chunks(signer.sign(LONG, tokens)):
            sink.feed(data)
            largest = max(largest, len(data))
            if sink.tokens >= next_sample:
                next_sample += every
                peak = max(peak, rss_bytes())
        sink.finish()
        seconds = time.perf_counter() - start
        after = rss_bytes()
        max_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if max_after > max_before:  # the high-water mark moved: it is this stream's peak
            peak = max(peak, max_after)
        result |= {
            f"{mode}_tokens": sink.tokens,
            f"{mode}_seconds": seconds,
            f"{mode}_pieces": sink.reads,
            f"{mode}_largest_piece_kib": largest / 1024,
        }
        if mode == "traced":
            result["tracemalloc_peak_mb"] = (tracemalloc.get_traced_memory()[1] - base) / _MB
            tracemalloc.stop()
        else:
            result["rss_growth_mb"] = (max(peak, after) - before) / _MB
    return result


def _memory(url: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {name: {} for name in LIBS}
    for mode in ("rss", "traced"):
        for name in LIBS:
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.async_http", "--child", url, name, mode],
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
                timeout=300,
            )
            if done.returncode != 0:
                raise RuntimeError(f"memory child failed ({name} {mode}):\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if result[f"{mode}_tokens"] < MEMORY["tokens"] * 0.9:
                raise RuntimeError(f"{name}: the long stream had {result[f'{mode}_tokens']} tokens")
            out[name] |= result
    return out


# -- report -----------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: a value per client and the aiohttp/httpx ratio."""

    label: str
    values: dict[str, float | None]
    unit: str
    ratio: float | None = None

    def __post_init__(self) -> None:
        if self.ratio is None:
            a, h = self.values.get("aiohttp"), self.values.get("httpx")
            self.ratio = a / h if a is not None and h else None


def _paired(a: list[float], b: list[float]) -> float:
    """The median of per-round ratios (a noisy moment hits both sides of a pair)."""
    return median([x / y for x, y in zip(a, b, strict=True)])


def _rows(r: dict[str, Any]) -> list[Row]:
    bulk, paced, lag, mem = r["bulk"], r["paced"], r["lag"], r["memory"]
    lag_paced = r["lag_paced"]

    def each(section: dict[str, Any], key: str) -> dict[str, float | None]:
        return {name: median([x[key] for x in section[name]]) for name in LIBS}

    def pooled(section: dict[str, Any], pct: float | None) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for name in LIBS:
            lags = [x for run in section[name] for x in run["lags_ms"]]
            out[name] = max(lags) if pct is None else percentile(lags, pct)
        return out

    def paced_ratio(key: str) -> float:
        return _paired([x[key] for x in paced["aiohttp"]], [x[key] for x in paced["httpx"]])

    tot, net = bulk["us_per_token"], bulk["us_per_token_without_signing"]
    rows = [
        Row(
            "1. bulk CPU/token, incl. signing",
            {n: median(v) for n, v in tot.items()},
            "us",
            _paired(tot["aiohttp"], tot["httpx"]),
        ),
        Row(
            "1. bulk CPU/token, without signing",
            {n: median(v) for n, v in net.items()},
            "us",
            _paired(net["aiohttp"], net["httpx"]),
        ),
        Row(
            "1. bulk body pieces/token",
            {n: median(v) for n, v in bulk["pieces_per_token"].items()},
            "",
        ),
        Row(
            "2. paced CPU/token, without signing",
            each(paced, "us_per_token_without_signing"),
            "us",
            paced_ratio("us_per_token_without_signing"),
        ),
        Row("2. paced user CPU/token", each(paced, "user_us_per_token"), "us"),
        Row("2. paced system CPU/token", each(paced, "system_us_per_token"), "us"),
        Row("2. paced body pieces/token", each(paced, "pieces_per_token"), ""),
        Row(
            "3. CPU/request, 64 at once, w/o signing",
            {n: median(v) for n, v in r["request_us_without_signing"].items()},
            "us",
        ),
        Row("3a. 64 paced: loop lag p50", pooled(lag_paced, 50), "ms"),
        Row("3a. 64 paced: loop lag p99", pooled(lag_paced, 99), "ms"),
        Row("3a. 64 paced: loop lag max", pooled(lag_paced, None), "ms"),
        Row("3a. 64 paced: iteration CPU max", each(lag_paced, "iteration_cpu_max_ms"), "ms"),
        Row("3a. 64 paced: CPU/token", each(lag_paced, "us_per_token_without_signing"), "us"),
        Row(
            f"3a. 64 paced: tokens/s (of {LAG['streams'] * PACE['rate']:,.0f})",
            each(lag_paced, "tokens_per_second"),
            "tok/s",
        ),
        Row("3b. 64 unpaced: loop lag p50", pooled(lag, 50), "ms"),
        Row("3b. 64 unpaced: loop lag p99", pooled(lag, 99), "ms"),
        Row("3b. 64 unpaced: loop lag max", pooled(lag, None), "ms"),
        Row("3b. 64 unpaced: lag max, round median", each(lag, "lag_max_ms"), "ms"),
        Row("3b. 64 unpaced: iteration CPU p99", each(lag, "iteration_cpu_p99_ms"), "ms"),
        Row("3b. 64 unpaced: iteration CPU max", each(lag, "iteration_cpu_max_ms"), "ms"),
        Row("3b. 64 unpaced: CPU/token", each(lag, "us_per_token_without_signing"), "us"),
        Row("3b. 64 unpaced: tokens/s", each(lag, "tokens_per_second"), "tok/s"),
        Row("3b. 64 unpaced: bytes/piece", each(lag, "bytes_per_piece"), "B"),
    ]
    for key, label, unit in (
        ("rss_growth_mb", "4. RSS growth, long stream", "MB"),
        ("tracemalloc_peak_mb", "4. tracemalloc peak, long stream", "MB"),
        ("rss_largest_piece_kib", "4. largest body piece, long stream", "KiB"),
        ("stall_held_kib", "4. in process after a 1 s stall", "KiB"),
    ):
        rows.append(Row(label, {n: mem[n].get(key) for n in LIBS}, unit))
    return rows


def _shown(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".rstrip()


def print_table(r: dict[str, Any]) -> list[Row]:
    rows = _rows(r)
    columns = [*LIBS, "botocore"]
    header = ["figure", *LIBS, "botocore sync", "aiohttp/httpx"]
    lines = [
        [
            row.label,
            *(_shown(row.values.get(c), row.unit) for c in columns),
            "-" if row.ratio is None else f"{row.ratio:.2f}x",
        ]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    rule = "  ".join("-" * w for w in widths)

    def show(line: list[str]) -> None:
        cells = [c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)]
        print("  ".join([line[0].ljust(widths[0]), *cells]))

    print(rule)
    show(header)
    print(rule)
    for line in lines:
        show(line)
    print(rule)
    idle = r["idle_lag_ms"]
    sign = r["signing_us_per_request"]
    print(
        f"signing (botocore, per request): {sign:.0f} us = {sign / BULK['tokens']:.2f} us/token"
        f" at {BULK['tokens']} tokens. Idle loop lag p50/p99/max"
        f" {idle['p50']:.2f}/{idle['p99']:.2f}/{idle['max']:.2f} ms."
        f" {r['bulk']['bytes_per_token']:.0f} body bytes per token (one HTTP chunk each)."
    )
    print(
        f"1: {BULK['rounds']} rounds x {BULK['repeats']} streams x {BULK['tokens']} tokens,"
        f" rotating order; ratios are medians of per-round ratios."
        f" 2: {PACE['streams']} streams x {PACE['tokens']} tokens at {PACE['rate']:.0f}/s,"
        f" {PACE['rounds']} rounds. 3a: {LAG['streams']} streams x {LAG_PACED['tokens']}"
        f" tokens at {PACE['rate']:.0f}/s, {LAG_PACED['rounds']} rounds."
        f" 3b: {LAG['streams']} unpaced streams x {LAG['tokens']} tokens, {LAG['rounds']}"
        f" rounds; {LAG['beat'] * 1000:.0f} ms heartbeat (wall lag, pooled over rounds);"
        f" iteration CPU = process time of one event-loop iteration (median of rounds)."
        f" 4: {MEMORY['tokens']:,}-token stream, fresh child per library and mode."
        f" A body piece is one item of iter_any()/aiter_raw()."
        f" {SMALL}: aiohttp with read_bufsize={SMALL_BUFSIZE // 1024} KiB."
    )
    return rows


def _pin(emulator_pid: int) -> dict[str, list[int]]:
    """Give the client one core and the emulator another (Linux, 2+ CPUs).

    The emulator sends from one thread per stream; 64 runnable threads would
    otherwise take most of the CPU time from the client's single thread and the
    heartbeat would measure that. Threads the emulator starts later inherit the
    affinity of its serving thread.
    """
    if not hasattr(os, "sched_setaffinity"):
        return {}
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return {}
    for tid in os.listdir(f"/proc/{emulator_pid}/task"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(tid), {cpus[1]})
    os.sched_setaffinity(0, {cpus[0]})
    return {"client": cpus[:1], "emulator": cpus[1:2], "all": cpus}


def _versions() -> dict[str, str]:
    names = ("aiohttp", "httpx", "httpcore", "h11", "anyio", "botocore", "boto3", "urllib3")
    return {name: version(name) for name in names} | {"python": platform.python_version()}


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.async_http [--json PATH]``: run, print the table, save JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.async_http")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to save the results")
    parser.add_argument(
        "--no-pin", action="store_true", help="do not give the client and emulator a core each"
    )
    parser.add_argument("--child", nargs=3, metavar=("URL", "LIB", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        url, name, mode = args.child
        print(json.dumps(asyncio.run(_child(url, name, mode))))
        return

    started = time.perf_counter()
    load = os.getloadavg()
    with EmulatorProcess(long_tokens=int(MEMORY["tokens"]), paced_rate=PACE["rate"]) as emu:
        pinned = {} if args.no_pin else _pin(emu.pid)
        try:
            results = asyncio.run(_in_process(emu.url))
            results["memory"] = _memory(emu.url)
        finally:
            if pinned:
                os.sched_setaffinity(0, pinned["all"])
    print(f"  4. memory done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    rows = print_table(results)
    results = {
        "table": [asdict(row) for row in rows],
        "parameters": {
            "bulk": BULK,
            "paced": PACE,
            "lag": LAG,
            "lag_paced": LAG_PACED,
            "memory": MEMORY,
        },
        "aiohttp_small_read_bufsize": SMALL_BUFSIZE,
        "versions": _versions(),
        "event_loop": "asyncio default (selector) event loop",
        "cpus": os.cpu_count(),
        "cpu_affinity": pinned or "not pinned",
        "load_average_before": load,
        "load_average_after": os.getloadavg(),
        "seconds": time.perf_counter() - started,
        **results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"saved {args.json}")


if __name__ == "__main__":
    main()
