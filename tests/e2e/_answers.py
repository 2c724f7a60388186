"""What the failover, telemetry and OpenTelemetry tests share: four ways to ask."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from langchain_jumpstart_stream import ChatJumpStart, JumpStartLLM, errors

QUESTION = "How do I build a website?"
FALCON = "huggingface-llm-falcon-7b-instruct-bf16"
THROTTLED = (400, "ThrottlingException", "Rate exceeded")
COLD = (429, "ModelNotReadyException", "The model is not ready: scaling from zero")
BUSY = (503, "ServiceUnavailable", "busy")

WAYS = [(kind, mode) for kind in ("llm", "chat") for mode in ("sync", "async")]


class Chunks(BaseCallbackHandler):
    """Every token and chunk the callbacks saw, in order."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.chunks: list[Any] = []

    def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
        self.tokens.append(token)
        self.chunks.append(chunk)


def last_info(chunk: Any) -> dict[str, Any]:
    """The ``"jumpstart"`` entry of a last chunk: response_metadata or generation_info."""
    message = getattr(chunk, "message", None)
    if message is not None:
        return dict(message.response_metadata["jumpstart"])
    if hasattr(chunk, "response_metadata"):
        return dict(chunk.response_metadata["jumpstart"])
    return dict(chunk.generation_info["jumpstart"])


async def ask(
    model: JumpStartLLM | ChatJumpStart, mode: str, handler: Chunks | None = None
) -> tuple[str, dict[str, Any]]:
    """Stream one answer; return its text and the last chunk's ``"jumpstart"`` entry.

    Also checks that callbacks (``handler``, or a new one) saw the same tokens and the
    same last chunk.
    """
    handler = handler or Chunks()
    config: Any = {"callbacks": [handler]}
    if isinstance(model, ChatJumpStart):
        if mode == "sync":
            chunks = list(model.stream(QUESTION, config=config))
        else:
            chunks = [c async for c in model.astream(QUESTION, config=config)]
        text = "".join(str(c.content) for c in chunks)
        info = last_info(chunks[-1])
        assert chunks[-1].chunk_position == "last"
    else:
        if mode == "sync":
            result = model.generate([QUESTION], callbacks=[handler])
        else:
            result = await model.agenerate([QUESTION], callbacks=[handler])
        generation = result.generations[0][0]
        text = generation.text
        info = dict((generation.generation_info or {})["jumpstart"])
    assert "".join(handler.tokens) == text
    assert last_info(handler.chunks[-1]) == info  # the callbacks' last chunk says the same
    return text, info


async def fail(model: JumpStartLLM | ChatJumpStart, mode: str) -> tuple[str, BaseException]:
    """Stream until the call fails; return what was delivered and the error."""
    got: list[str] = []
    with pytest.raises(errors.JumpStartStreamError) as info:
        if mode == "sync":
            for chunk in model.stream(QUESTION):
                got.append(str(getattr(chunk, "content", chunk)))
        else:
            async for chunk in model.astream(QUESTION):
                got.append(str(getattr(chunk, "content", chunk)))
    return "".join(got), info.value


def model_maker(llm: Callable[..., JumpStartLLM], chat: Callable[..., ChatJumpStart]) -> Any:
    """``make(kind, endpoint_name, **fields)``: a Falcon LLM or chat model on the emulator."""

    def make(kind: str, endpoint_name: str, **kwargs: Any) -> JumpStartLLM | ChatJumpStart:
        kwargs.setdefault("model_id", FALCON)
        return llm(endpoint_name, **kwargs) if kind == "llm" else chat(endpoint_name, **kwargs)

    return make
