"""langchain-core's own cost per token of ``stream()`` by stream length, no I/O at all.

``python -m benchmarks.lc_core_accumulation`` prints, for 2k, 20k and 100k tokens, the
CPU per token of ``BaseLLM.stream()`` and ``BaseChatModel.stream()`` over models whose
``_stream`` yields a fresh one-word chunk per token (as a real integration does), with
the garbage collector on and off. The reproduction of
docs/upstream-langchain-core-quadratic-stream.md; only langchain-core is imported.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult, GenerationChunk, LLMResult

LENGTHS = (2000, 20_000, 100_000)


class WordsLLM(BaseLLM):
    """Streams ``tokens`` fresh one-word chunks."""

    tokens: int = 0

    @property
    def _llm_type(self) -> str:
        return "words"

    def _generate(self, prompts: list[str], *args: Any, **kwargs: Any) -> LLMResult:
        raise NotImplementedError

    def _stream(self, prompt: str, *args: Any, **kwargs: Any) -> Iterator[GenerationChunk]:
        for _ in range(self.tokens):
            yield GenerationChunk(text=" word")


class WordsChat(BaseChatModel):
    """Streams ``tokens`` fresh one-word message chunks."""

    tokens: int = 0

    @property
    def _llm_type(self) -> str:
        return "words-chat"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        raise NotImplementedError

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for _ in range(self.tokens):
            yield ChatGenerationChunk(message=AIMessageChunk(content=" word"))


def per_token(model: BaseLLM | BaseChatModel, tokens: int, *, collect: bool) -> float:
    """Microseconds of CPU per token of one ``stream()`` of ``tokens`` tokens."""
    gc.collect()
    if not collect:
        gc.disable()
    try:
        start = time.process_time()
        for _item in model.stream("hi"):
            pass
        return (time.process_time() - start) / tokens * 1e6
    finally:
        gc.enable()


def main() -> None:
    """Print µs per token for each model, length and GC setting (best of 3)."""
    print(f"{'model':<28}{'tokens':>8}{'GC on':>10}{'GC off':>10}")
    for name, cls in (("BaseLLM.stream()", WordsLLM), ("BaseChatModel.stream()", WordsChat)):
        for tokens in LENGTHS:
            model = cls(tokens=tokens)
            per_token(model, min(tokens, 2000), collect=True)  # warm-up
            runs = 3 if tokens < 100_000 else 2
            on = min(per_token(model, tokens, collect=True) for _ in range(runs))
            off = min(per_token(model, tokens, collect=False) for _ in range(runs))
            print(f"{name:<28}{tokens:>8}{on:>10.1f}{off:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
