"""a. Client CPU per token of a sync stream, at 2k, 20k and 100k tokens.

Each round runs every client on the same unpaced endpoint (one PayloadPart per
token) and measures ``time.process_time()`` in this process only: the emulator runs
in another one. Rounds rotate the order of the clients, and the ratios are taken per
round (so a noisy moment hits both sides) and then medianed.

Clients: ``JumpStartLLM.stream()`` against the raw boto3 loop; ``ChatJumpStart.stream()``
against langchain-core's chat floor (``BaseChatModel.stream()`` over pre-made chunks of
the same texts); langchain-core's LLM floor and langchain-aws for context (langchain-aws
at the shortest length only: it is the slowest client and adds nothing at longer ones).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from . import _clients
from ._emulator import FAST, LONG
from ._stats import median
from .report import Figure, Section

Stream = Callable[[], Iterable[Any]]

TARGET_RATIO = 0.70  # JumpStartLLM / raw boto3, at every length
TARGET_FLAT = 1.15  # cost per token at the longest length / at the shortest
TARGET_CHAT_FLOOR = 1.3  # ChatJumpStart / langchain-core's chat floor, at the shortest
TARGET_PEER_SPEEDUP = 2.0
FAST_TOKENS = 20_000  # the FAST endpoint's answer; longer streams use LONG

# tokens -> (rounds, streams per client per round)
DEFAULT_LENGTHS: dict[int, tuple[int, int]] = {2000: (5, 2), 20_000: (3, 1), 100_000: (2, 1)}


def _k(tokens: int) -> str:
    return f"{tokens // 1000}k" if tokens % 1000 == 0 else str(tokens)


def _raw_texts(client: Any, endpoint: str, tokens: int) -> list[str]:
    return list(_clients.raw_boto3_stream(client, endpoint, tokens))


def _streams(url: str, tokens: int, with_aws: bool) -> tuple[dict[str, Stream], list[str], str]:
    """The clients at one length, the raw loop's texts, and why langchain-aws is missing."""
    endpoint = FAST if tokens <= FAST_TOKENS else LONG
    raw_client = _clients.boto3_client(url)
    texts = _raw_texts(raw_client, endpoint, tokens)
    ours = _clients.jumpstart_llm(_clients.boto3_client(url), endpoint, tokens)
    chat = _clients.jumpstart_chat(_clients.boto3_client(url), endpoint, tokens)
    floor = _clients.floor_llm(texts)
    chat_floor = _clients.floor_chat(texts)

    def run_chat_floor() -> Iterator[Any]:
        return chat_floor.stream(_clients.PROMPT)

    streams: dict[str, Stream] = {
        "ours": lambda: ours.stream(_clients.PROMPT),
        "raw": lambda: _clients.raw_boto3_stream(raw_client, endpoint, tokens),
        "floor": lambda: floor.stream(_clients.PROMPT),
        "chat": lambda: chat.stream(_clients.PROMPT),
        "chat_floor": run_chat_floor,
    }
    note = ""
    if with_aws:
        aws = _clients.langchain_aws_llm(_clients.boto3_client(url), endpoint, tokens)
        if aws is None:
            note = "langchain-aws is not installed (pip install langchain-aws); row skipped"
        else:
            streams["aws"] = lambda: aws.stream(_clients.PROMPT)
    setattr(run_chat_floor, "reset", chat_floor.reset)  # noqa: B010 - read by _cpu_per_token
    return streams, texts, note


def _check(streams: Mapping[str, Stream], texts: Sequence[str]) -> None:
    """Every client must deliver the raw loop's answer (checked at the shortest length)."""
    expected = "".join(texts)
    for name in ("ours", "aws"):
        if name in streams and "".join(streams[name]()) != expected:
            raise RuntimeError(f"{name} assembled a different answer than the raw loop")
    chat = "".join(str(m.content) for m in streams["chat"]())
    if chat != expected:
        raise RuntimeError("ChatJumpStart assembled a different answer than the raw loop")


def _cpu_per_token(stream: Stream, tokens: int, repeats: int) -> float:
    """Microseconds of this process's CPU per token, over ``repeats`` whole streams."""
    reset = getattr(stream, "reset", None)
    total = 0.0
    for _ in range(repeats):
        if reset is not None:
            reset()
        gc.collect()
        start = time.process_time()
        for _item in stream():
            pass
        total += time.process_time() - start
    return total / (tokens * repeats) * 1e6


def _measure(url: str, tokens: int, rounds: int, repeats: int, first: bool) -> dict[str, Any]:
    streams, texts, note = _streams(url, tokens, with_aws=first)
    if len(texts) < tokens * 0.9:
        raise RuntimeError(f"the stream had {len(texts)} tokens, expected about {tokens}")
    if first:
        _check(streams, texts)  # also the warm-up: imports, connection pools
    else:
        # The emulator renders each new request body once (then memoises it): a cold
        # first chat request would be read in small pieces while it renders.
        for name in ("ours", "chat"):
            for _item in streams[name]():
                pass
    samples: dict[str, list[float]] = {name: [] for name in streams}
    names = list(streams)
    # The floors' pre-made chunks (600k objects at 100k tokens) would otherwise make
    # every full garbage collection slower for whichever client triggers it.
    gc.collect()
    gc.freeze()
    try:
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                samples[name].append(_cpu_per_token(streams[name], len(texts), repeats))
    finally:
        gc.unfreeze()
    return {"tokens": len(texts), "samples": samples, "aws_note": note}


def _ratio(samples: Mapping[str, list[float]], a: str, b: str) -> float | None:
    if a not in samples or b not in samples:
        return None
    return median([x / y for x, y in zip(samples[a], samples[b], strict=True)])


def _flatness(
    key: str, label: str, client: str, results: Mapping[int, Any], short: int, long: int
) -> Figure:
    """Cost per token at ``long`` over ``short``, each as a ratio to the raw loop's.

    The raw boto3 loop costs the same per token at every length (it keeps nothing), so
    it serves as the yardstick of the machine's speed during each length's rounds: on a
    loaded machine the absolute µs of two lengths, measured a minute apart, differ by
    more than the effect being measured. The ratio of absolute medians is in the note.
    """
    at_long = _ratio(results[long]["samples"], client, "raw")
    at_short = _ratio(results[short]["samples"], client, "raw")
    value = at_long / at_short if at_long is not None and at_short else None
    absolute = median(results[long]["samples"][client]) / median(results[short]["samples"][client])
    return Figure(
        key,
        f"CPU/token of {label}, {_k(long)} vs {_k(short)} tokens (each vs raw loop)",
        value,
        "x",
        f"<= {TARGET_FLAT:.2f}x",
        value is not None and value <= TARGET_FLAT,
        f"absolute µs medians: {absolute:.2f}x (machine load moves it more)",
    )


def run(url: str, *, lengths: Mapping[int, Sequence[int]] | None = None) -> Section:
    """Measure CPU per token of every client at every length.

    Args:
        url: The emulator's URL.
        lengths: Stream length in tokens -> (rounds, streams per client per round).
    """
    chosen = {int(k): (int(v[0]), int(v[1])) for k, v in (lengths or DEFAULT_LENGTHS).items()}
    ordered = sorted(chosen)
    results = {
        n: _measure(url, n, *chosen[n], first=n == ordered[0]) for n in ordered
    }  # shortest first: it warms up and checks the answers
    short, long = ordered[0], ordered[-1]
    us = {n: {c: median(v) for c, v in r["samples"].items()} for n, r in results.items()}
    figures: list[Figure] = []
    for n in ordered:
        ratio = _ratio(results[n]["samples"], "ours", "raw")
        key = "cpu.ratio_raw" if n == short else f"cpu.ratio_raw_{_k(n)}"
        figures.append(
            Figure(
                key,
                f"CPU/token, JumpStartLLM.stream() vs raw boto3 loop, {_k(n)} tokens",
                ratio,
                "x",
                f"<= {TARGET_RATIO:.2f}x",
                ratio is not None and ratio <= TARGET_RATIO,
            )
        )
    figures.append(_flatness("cpu.flat", "JumpStartLLM.stream()", "ours", results, short, long))
    for n in ordered:
        ratio = _ratio(results[n]["samples"], "chat", "chat_floor")
        key = "cpu.chat_floor" if n == short else f"cpu.chat_floor_{_k(n)}"
        target = n == short
        figures.append(
            Figure(
                key,
                f"CPU/token, ChatJumpStart.stream() vs langchain-core chat floor, {_k(n)} tokens",
                ratio,
                "x",
                f"<= {TARGET_CHAT_FLOOR:.1f}x" if target else "",
                (ratio is not None and ratio <= TARGET_CHAT_FLOOR) if target else None,
            )
        )
    figures.append(
        _flatness("cpu.chat_flat", "ChatJumpStart.stream()", "chat", results, short, long)
    )
    aws_ours = _ratio(results[short]["samples"], "aws", "ours")
    figures.append(
        Figure(
            "cpu.aws_over_ours",
            f"CPU/token, langchain-aws vs JumpStartLLM (speed-up), {_k(short)} tokens",
            aws_ours,
            "x",
            f"> {TARGET_PEER_SPEEDUP:.1f}x",
            aws_ours is not None and aws_ours > TARGET_PEER_SPEEDUP,
            results[short]["aws_note"],
        )
    )
    labels = {
        "ours": "JumpStartLLM.stream()",
        "raw": "raw boto3 loop",
        "floor": "langchain-core LLM floor",
        "chat": "ChatJumpStart.stream()",
        "chat_floor": "langchain-core chat floor",
        "aws": "langchain-aws SagemakerEndpoint",
    }
    for n in ordered:
        for client, label in labels.items():
            key = f"cpu.{client}_us" if n == short else f"cpu.{client}_us_{_k(n)}"
            value = us[n].get(client)
            if value is not None:
                figures.append(
                    Figure(key, f"CPU/token, {label}, {_k(n)} tokens", value, "us/token")
                )
    figures.append(
        Figure(
            "cpu.floor_raw",
            f"CPU/token, langchain-core LLM floor vs raw, {_k(short)} tokens",
            _ratio(results[short]["samples"], "floor", "raw"),
            "x",
        )
    )
    details = {
        "lengths": {
            str(n): {"rounds": chosen[n][0], "streams_per_round": chosen[n][1]} for n in ordered
        },
        "us_per_token_samples": {str(n): r["samples"] for n, r in results.items()},
        "method": "time.process_time() of the client process; emulator in a child process",
    }
    return Section("a. cpu", "Client CPU per token (sync), by stream length", figures, details)
