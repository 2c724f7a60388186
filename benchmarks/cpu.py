"""a. Client CPU per token of a sync stream, against the raw boto3 loop and the peers.

Each round runs every client on the same ``fast`` endpoint (unpaced, one
PayloadPart per token) and measures ``time.process_time()`` in this process only:
the emulator runs in another one. Rounds rotate the order of the clients, and the
ratios are taken per round (so a noisy moment hits both sides) and then medianed.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator

from . import _clients
from ._emulator import FAST
from ._stats import median
from .report import Figure, Section

Stream = Callable[[], Iterator[str]]

TARGET_RATIO = 0.70
TARGET_PEER_SPEEDUP = 2.0


def _clients_for(url: str, tokens: int) -> tuple[dict[str, Stream], str]:
    raw_client = _clients.boto3_client(url)
    ours = _clients.jumpstart_llm(_clients.boto3_client(url), FAST, tokens)
    floor = _clients.floor_llm(tokens)
    streams: dict[str, Stream] = {
        "ours": lambda: ours.stream(_clients.PROMPT),
        "raw": lambda: _clients.raw_boto3_stream(raw_client, FAST, tokens),
        "floor": lambda: floor.stream(_clients.PROMPT),
    }
    aws = _clients.langchain_aws_llm(_clients.boto3_client(url), FAST, tokens)
    note = ""
    if aws is None:
        note = "langchain-aws is not installed (pip install langchain-aws); row skipped"
    else:
        streams["aws"] = lambda: aws.stream(_clients.PROMPT)
    return streams, note


def _drain(stream: Stream) -> tuple[int, str]:
    texts = [text for text in stream() if text]
    return len(texts), "".join(texts)


def _cpu_per_token(stream: Stream, tokens: int, repeats: int) -> float:
    """Microseconds of this process's CPU per token, over ``repeats`` whole streams."""
    gc.collect()
    start = time.process_time()
    for _ in range(repeats):
        for _text in stream():
            pass
    return (time.process_time() - start) / (tokens * repeats) * 1e6


def run(url: str, *, tokens: int = 2000, rounds: int = 7, repeats: int = 2) -> Section:
    """Measure CPU per token of every client; ``repeats`` streams per client per round."""
    streams, aws_note = _clients_for(url, tokens)
    # Warm up (imports, connection pools) and check that all clients see the same text.
    texts = {name: _drain(stream) for name, stream in streams.items()}
    reference = texts["raw"]
    for name in ("ours", "aws"):
        if name in texts and texts[name][1] != reference[1]:
            raise RuntimeError(f"{name} assembled a different answer than the raw loop")
    if reference[0] < tokens * 0.9:
        raise RuntimeError(f"the stream had {reference[0]} tokens, expected about {tokens}")

    samples: dict[str, list[float]] = {name: [] for name in streams}
    names = list(streams)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            samples[name].append(_cpu_per_token(streams[name], tokens, repeats))

    def ratio(a: str, b: str) -> float | None:
        if a not in samples or b not in samples:
            return None
        return median([x / y for x, y in zip(samples[a], samples[b], strict=True)])

    us = {name: median(values) for name, values in samples.items()}
    ours_raw = ratio("ours", "raw")
    aws_ours = ratio("aws", "ours")
    figures = [
        Figure(
            "cpu.ratio_raw",
            "CPU/token, JumpStartLLM.stream() vs raw boto3 loop",
            ours_raw,
            "x",
            f"<= {TARGET_RATIO:.2f}x",
            ours_raw is not None and ours_raw <= TARGET_RATIO,
        ),
        Figure(
            "cpu.aws_over_ours",
            "CPU/token, langchain-aws vs JumpStartLLM (speed-up)",
            aws_ours,
            "x",
            f"> {TARGET_PEER_SPEEDUP:.1f}x",
            aws_ours is not None and aws_ours > TARGET_PEER_SPEEDUP,
            aws_note,
        ),
        Figure("cpu.ours_us", "CPU/token, JumpStartLLM.stream()", us["ours"], "us/token"),
        Figure("cpu.raw_us", "CPU/token, raw boto3 loop", us["raw"], "us/token"),
        Figure(
            "cpu.aws_us", "CPU/token, langchain-aws SagemakerEndpoint", us.get("aws"), "us/token"
        ),
        Figure("cpu.aws_raw", "CPU/token, langchain-aws vs raw boto3", ratio("aws", "raw"), "x"),
        Figure("cpu.floor_us", "CPU/token, langchain-core floor", us["floor"], "us/token"),
        Figure(
            "cpu.floor_raw", "CPU/token, langchain-core floor vs raw", ratio("floor", "raw"), "x"
        ),
    ]
    details = {
        "tokens_per_stream": tokens,
        "rounds": rounds,
        "streams_per_round": repeats,
        "us_per_token_samples": samples,
        "method": "time.process_time() of the client process; emulator in a child process",
    }
    return Section("a. cpu", "Client CPU per token (sync)", figures, details)
