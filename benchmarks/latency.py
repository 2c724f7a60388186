"""c. Time to first token added over the raw boto3 loop.

Both clients call the same ``ttft`` endpoint, which paces its tokens so that the
first one arrives alone. Calls alternate between the clients (each on its own
warm connection pool) and the added time is the median of the paired differences.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from . import _clients
from ._emulator import TTFT
from ._stats import median
from .report import Figure, Section

TARGET_MS = 2.0
_TOKENS = 5  # per call: the rest of the stream is drained, so pools stay warm


def _first_token_ms(stream: Callable[[], Iterator[str]]) -> float:
    start = time.perf_counter()
    iterator = stream()
    first = 0.0
    for text in iterator:
        if text and not first:
            first = time.perf_counter() - start
    if not first:
        raise RuntimeError("the stream produced no token")
    return first * 1000


def run(url: str, *, calls: int = 30) -> Section:
    """Measure time to first token of ours, raw boto3 and langchain-aws, ``calls`` each."""
    raw_client = _clients.boto3_client(url)
    ours = _clients.jumpstart_llm(_clients.boto3_client(url), TTFT, _TOKENS)
    streams: dict[str, Callable[[], Iterator[str]]] = {
        "ours": lambda: ours.stream(_clients.PROMPT),
        "raw": lambda: _clients.raw_boto3_stream(raw_client, TTFT, _TOKENS),
    }
    aws = _clients.langchain_aws_llm(_clients.boto3_client(url), TTFT, _TOKENS)
    if aws is not None:
        streams["aws"] = lambda: aws.stream(_clients.PROMPT)
    for stream in streams.values():  # warm up: imports, connections
        _first_token_ms(stream)
    samples: dict[str, list[float]] = {name: [] for name in streams}
    names = list(streams)
    for i in range(calls):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            samples[name].append(_first_token_ms(streams[name]))
    added = median([o - r for o, r in zip(samples["ours"], samples["raw"], strict=True)])
    aws_added = (
        median([a - r for a, r in zip(samples["aws"], samples["raw"], strict=True)])
        if "aws" in samples
        else None
    )
    figures = [
        Figure(
            "latency.added",
            "Time to first token added over raw boto3 (median of pairs)",
            added,
            "ms",
            f"<= {TARGET_MS:.0f} ms",
            added <= TARGET_MS,
        ),
        Figure(
            "latency.ours_ms", "Time to first token, JumpStartLLM", median(samples["ours"]), "ms"
        ),
        Figure(
            "latency.raw_ms", "Time to first token, raw boto3 loop", median(samples["raw"]), "ms"
        ),
        Figure(
            "latency.aws_ms",
            "Time to first token, langchain-aws",
            median(samples.get("aws", [])) if aws else None,
            "ms",
        ),
        Figure("latency.aws_added", "Time to first token added by langchain-aws", aws_added, "ms"),
    ]
    details = {"calls": calls, "tokens_per_call": _TOKENS, "ms_samples": samples}
    return Section("c. latency", "Time to first token", figures, details)
