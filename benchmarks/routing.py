"""g. Time to first token with and without prefix-aware routing (``PrefixAwareId``).

The same multi-turn conversations run twice through ``ChatJumpStart`` against a
two-instance emulated endpoint whose prefill time is proportional to the prompt
characters the serving instance has not cached: once plain, once with
``prefix_aware_id_from="thread_id"`` (each conversation's LangGraph-style thread id
becomes its ``PrefixAwareId``). Each conversation opens with its own long document
and grows turn by turn; the conversations take turns, as concurrent users do.

Each instance's cache holds the prompts of a few conversations only (GPU memory is
the limit on a real endpoint). Without an id, requests go round robin and every
instance sees every conversation, so a conversation's prefix has been pushed out
by the time it comes back. With the id, each conversation stays on one instance,
whose cache holds the conversations it serves. The first turn of a conversation
is never cached either way; the figures are over the later turns.

AWS reports up to 77% lower P50 time to first token from prefix-aware routing on
real endpoints; this measures the emulator's model of it, so the ratio says that
the client sends the id and the routing keeps the cache warm, not what a GPU gains.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langchain_jumpstart_stream import ChatJumpStart
from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig, Routing

from ._stats import median
from .report import Figure, Section

TARGET_RATIO = 0.5  # with / without; AWS reports up to 0.23 on real endpoints
_FALCON = "huggingface-llm-falcon-7b-instruct-bf16"
# The prefill clock: 100 ms per request (scheduling, the first decode step) plus
# 0.1 ms per uncached character (10,000 characters a second, the order of a 7B
# model's prefill on one GPU).
_ROUTING = Routing(
    instances=2, prefill_seconds=0.1, prefill_seconds_per_char=0.0001, cache_prompts=3
)
_WORDS = [
    "harbour",
    "lantern",
    "granite",
    "meadow",
    "orchard",
    "circuit",
    "ledger",
    "violet",
    "thunder",
    "compass",
]


def _document(index: int, chars: int) -> str:
    """A conversation's own opening document, distinct from the others from its start."""
    words = [_WORDS[(index * 7 + i * (index + 3)) % len(_WORDS)] for i in range(chars // 6)]
    return f"Document {index}: " + " ".join(words)[:chars]


def _first_token_ms(
    model: ChatJumpStart, messages: list[BaseMessage], config: Any
) -> tuple[float, str]:
    start = time.perf_counter()
    first = 0.0
    parts: list[str] = []
    for chunk in model.stream(messages, config=config):
        text = str(chunk.content)
        if text and not first:
            first = time.perf_counter() - start
        parts.append(text)
    if not first:
        raise RuntimeError("the stream produced no token")
    return first * 1000, "".join(parts)


def _conversations(
    model: ChatJumpStart, *, conversations: int, turns: int, document_chars: int
) -> list[float]:
    """Run the conversations turn by turn; TTFT in ms of every turn after the first."""
    histories: list[list[BaseMessage]] = [[] for _ in range(conversations)]
    samples: list[float] = []
    for turn in range(turns):
        for index, history in enumerate(histories):
            question = f"Question {turn} about the document: what comes next?"
            if turn == 0:
                question = f"{_document(index, document_chars)}\n\n{question}"
            history.append(HumanMessage(question))
            config = {"configurable": {"thread_id": f"conversation-{index}"}}
            ms, answer = _first_token_ms(model, history, config)
            history.append(AIMessage(answer))
            if turn:
                samples.append(ms)
    return samples


def run(*, conversations: int = 5, turns: int = 6, document_chars: int = 4000) -> Section:
    """Measure p50 TTFT of the same conversations with and without ``PrefixAwareId``."""
    config = EndpointConfig(stream_format="tgi", model_id=_FALCON, routing=_ROUTING)
    with Emulator(endpoints={"plain": config, "routed": config}) as emu:
        common: dict[str, Any] = {
            "client": emu.client(),
            "model_id": _FALCON,
            "max_tokens": 8,  # short answers: the figure is the time to the first token
        }
        plain = ChatJumpStart(endpoint_name="plain", **common)
        routed = ChatJumpStart(endpoint_name="routed", prefix_aware_id_from="thread_id", **common)
        shape = {"conversations": conversations, "turns": turns, "document_chars": document_chars}
        without = _conversations(plain, **shape)
        with_id = _conversations(routed, **shape)
        cached = {
            name: sum(r.cached_chars for r in emu.requests if r.endpoint == name)
            for name in ("plain", "routed")
        }
    p50_without, p50_with = median(without), median(with_id)
    ratio = p50_with / p50_without
    figures = [
        Figure(
            "routing.ratio",
            "p50 time to first token, with PrefixAwareId / without",
            ratio,
            "x",
            f"<= {TARGET_RATIO:.1f}",
            ratio <= TARGET_RATIO,
        ),
        Figure("routing.p50_without_ms", "p50 TTFT without PrefixAwareId", p50_without, "ms"),
        Figure("routing.p50_with_ms", "p50 TTFT with PrefixAwareId", p50_with, "ms"),
        Figure("routing.reduction_pct", "p50 TTFT reduction", (1 - ratio) * 100, "%"),
    ]
    details = {
        **shape,
        "instances": _ROUTING.instances,
        "prefill_seconds": _ROUTING.prefill_seconds,
        "prefill_seconds_per_char": _ROUTING.prefill_seconds_per_char,
        "cache_prompts_per_instance": _ROUTING.cache_prompts,
        "cached_chars": cached,
        "ms_samples": {"without": without, "with": with_id},
    }
    return Section("g. routing", "Prefix-aware routing: time to first token", figures, details)
