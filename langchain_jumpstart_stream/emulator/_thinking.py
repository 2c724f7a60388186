"""The emulator's reasoning model: thinking before the answer, as each server streams it.

* vLLM and SGLang with a reasoning parser separate it on chat routes
  (``delta.reasoning`` / ``delta.reasoning_content``), kept in
  :attr:`Generation.reasoning`;
* everywhere else the thinking is part of the text, between ``<think>`` tokens
  (or only before ``</think>``, when the template opened the block), so it is put
  in front of the answer's tokens.

The thinking reads as a sentence or two about the question. Pure, no I/O.
"""

from __future__ import annotations

from dataclasses import replace

from ._config import EndpointConfig
from ._generator import Generation, ParsedRequest, Token, token_id, tokenize

__all__ = ["DEFAULT_THINKING", "add_reasoning"]

DEFAULT_THINKING = (
    "The user wants a short, practical answer. "
    "I will give the main point first, then one concrete tip."
)
# Qwen3's ids for its thinking tags.
_OPEN = Token(151667, "<think>", -0.01)
_CLOSE = Token(151668, "</think>", -0.02)


def _tokens(text: str) -> tuple[Token, ...]:
    return tuple(Token(token_id(p), p, -0.05) for p in tokenize(text))


def add_reasoning(config: EndpointConfig, request: ParsedRequest, gen: Generation) -> Generation:
    """``gen`` with the configured thinking (and refusal) added."""
    if config.refusal is not None and request.chat:
        return replace(gen, refusal=config.refusal, text="")
    style = config.reasoning
    if style is None or gen.tool_call is not None:
        return gen
    thinking = _tokens(config.reasoning_text or DEFAULT_THINKING)
    # vLLM, SGLang and LMI's vLLM engine separate it on chat routes; TGI never does.
    separated = request.chat and style in ("vllm", "sglang") and config.stream_format != "tgi"
    if separated:
        return replace(gen, reasoning=thinking)
    inline = [*thinking, _CLOSE, Token(token_id("\n\n"), "\n\n", -0.01)]
    if style != "think-open":
        inline.insert(0, _OPEN)
    return replace(gen, tokens=(*inline, *gen.tokens))
