"""a2. Client CPU per token of ``astream()``, against a raw async loop.

The raw async loop (``_clients.raw_async_stream``) is what a competent hand-written
asyncio client does: aiohttp, botocore's SigV4 signing and ``EventStreamBuffer``, the
same line splitting and ``json.loads`` as the raw boto3 loop. Two regimes:

* bulk: one stream at a time from the unpaced endpoint (every read holds many frames);
* paced: many concurrent streams at 20 and 100 tokens/s (nearly every read holds one
  frame, so the per-read cost of the event loop and the HTTP library dominates).

CPU is ``time.process_time()`` of this process; rounds alternate the two clients and
the ratios are taken per round, then medianed.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from . import _clients
from ._emulator import FAST, PACED, PACED_100
from ._stats import median
from .report import Figure, Section

TARGET_RATIO = 1.0

Open = Callable[[], AsyncIterator[Any]]

DEFAULTS: dict[str, Any] = {
    "bulk": {"tokens": 20_000, "rounds": 3},
    "paced": {"streams": 64, "rounds": 2, "tokens": {20: 100, 100: 300}},
}


async def _drain(open_stream: Open) -> int:
    count = 0
    async for _item in open_stream():
        count += 1
    return count


async def _text(open_stream: Open) -> str:
    return "".join([str(item) async for item in open_stream()])


async def _cpu(open_stream: Open, streams: int) -> tuple[float, int]:
    """CPU seconds and items delivered for ``streams`` concurrent runs of ``open_stream``."""
    gc.collect()
    start = time.process_time()
    counts = await asyncio.gather(*(_drain(open_stream) for _ in range(streams)))
    return time.process_time() - start, sum(counts)


async def _pair(ours: Open, raw: Open, streams: int, rounds: int) -> dict[str, list[float]]:
    """µs per token of both clients, ``rounds`` alternating rounds."""
    samples: dict[str, list[float]] = {"ours": [], "raw": []}
    clients = [("ours", ours), ("raw", raw)]
    for r in range(rounds):
        for name, open_stream in clients[r % 2 :] + clients[: r % 2]:
            cpu, tokens = await _cpu(open_stream, streams)
            samples[name].append(cpu / max(tokens, 1) * 1e6)
    return samples


async def _run(url: str, bulk: Mapping[str, Any], paced: Mapping[str, Any]) -> dict[str, Any]:
    import aiohttp

    pool = max(256, int(paced["streams"]) * 2)
    connector = aiohttp.TCPConnector(limit=pool)
    results: dict[str, Any] = {}
    async with aiohttp.ClientSession(connector=connector) as session:

        def pair(endpoint: str, tokens: int) -> tuple[Open, Open]:
            llm = _clients.jumpstart_llm(_clients.boto3_client(url, pool=pool), endpoint, tokens)

            def ours() -> AsyncIterator[Any]:
                return llm.astream(_clients.PROMPT)

            def raw() -> AsyncIterator[Any]:
                return _clients.raw_async_stream(session, url, endpoint, tokens)

            return ours, raw

        # Warm up both (imports, connections) and check they deliver the same text.
        ours, raw = pair(FAST, 500)
        texts = [await _text(ours), await _text(raw)]
        if texts[0] != texts[1] or not texts[0]:
            raise RuntimeError("astream() and the raw async loop delivered different text")

        ours, raw = pair(FAST, int(bulk["tokens"]))
        results["bulk"] = await _pair(ours, raw, 1, int(bulk["rounds"]))
        rates: Mapping[Any, Any] = paced["tokens"]
        for rate, tokens in rates.items():
            endpoint = PACED if int(rate) == 20 else PACED_100
            ours, raw = pair(endpoint, int(tokens))
            results[f"paced{int(rate)}"] = await _pair(
                ours, raw, int(paced["streams"]), int(paced["rounds"])
            )
    return results


def _ratio(samples: Mapping[str, Sequence[float]]) -> float:
    return median([a / b for a, b in zip(samples["ours"], samples["raw"], strict=True)])


def run(
    url: str, *, bulk: Mapping[str, Any] | None = None, paced: Mapping[str, Any] | None = None
) -> Section:
    """Measure ``astream()`` against the raw async loop, bulk and paced."""
    bulk = bulk or DEFAULTS["bulk"]
    paced = paced or DEFAULTS["paced"]
    results = asyncio.run(_run(url, bulk, paced))
    figures: list[Figure] = []
    for regime, samples in results.items():
        if regime == "bulk":
            what = f"bulk, one {int(bulk['tokens']):,}-token stream"
        else:
            rate = regime.removeprefix("paced")
            what = f"{paced['streams']} streams at {rate} tokens/s"
        ratio = _ratio(samples)
        figures.append(
            Figure(
                f"acpu.ratio_{regime}",
                f"CPU/token, JumpStartLLM.astream() vs raw async loop, {what}",
                ratio,
                "x",
                f"<= {TARGET_RATIO:.1f}x",
                ratio <= TARGET_RATIO,
            )
        )
        for client, label in (("ours", "JumpStartLLM.astream()"), ("raw", "raw async loop")):
            figures.append(
                Figure(
                    f"acpu.{client}_us_{regime}",
                    f"CPU/token, {label}, {what}",
                    median(samples[client]),
                    "us/token",
                )
            )
    details = {
        "bulk": dict(bulk),
        "paced": {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in paced.items()},
        "us_per_token_samples": results,
        "raw_async_loop": "aiohttp + botocore SigV4Auth + botocore EventStreamBuffer + json.loads",
    }
    return Section(
        "a2. async cpu", "Client CPU per token (async) vs a raw async loop", figures, details
    )
