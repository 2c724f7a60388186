"""The shipped cassettes, replayed end to end: decoders checked against servers' own output.

The cassettes wrap ``tests/fixtures/wire`` fixtures (from TGI, DJL/LMI, vLLM and SGLang
docs and sources), not anything the emulator generates. The expected values are the
ones ``tests/unit/test_decoder_fixtures.py`` checks on the raw fixtures.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from langchain_jumpstart_stream import ChatJumpStart, JumpStartLLM
from langchain_jumpstart_stream.cassettes import SHIPPED, CassettePlayer, load, shipped
from langchain_jumpstart_stream.errors import CassetteError

from .shipped_cassettes import build

FALCON = "huggingface-llm-falcon-7b-instruct-bf16"
LLAMA = "meta-textgeneration-llama-3-8b-instruct"
MISTRAL = "huggingface-llm-mistral-small-24b-instruct-2501"
QWEN3 = "huggingface-reasoning-qwen3-8b"

# name -> (model class, model id, text, reasoning, finish reason, output tokens, input tokens)
EXPECTED: dict[str, tuple[Any, str, str, str, str, int, int | None]] = {
    "tgi-sse": (JumpStartLLM, FALCON, " Building a website café ☕.", "", "eos_token", 6, 9),
    "lmi-jsonlines": (JumpStartLLM, LLAMA, "Deep  Learning is 日本語.", "", "length", 4, None),
    "vllm-chat": (ChatJumpStart, MISTRAL, "Hi there 👋", "", "stop", 3, 12),
    "sglang-reasoning": (
        ChatJumpStart,
        QWEN3,
        "Hello! How can I help today?",
        "Okay, the user says hi. Be brief — ☕.",
        "stop",
        28,
        None,
    ),
}


def test_every_shipped_cassette_is_checked() -> None:
    assert set(EXPECTED) == set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_cassettes_are_built_from_the_fixtures(name: str) -> None:
    # A stale cassette (a fixture changed, or the format) fails here; regenerate with
    # `python -m tests.replay.shipped_cassettes`.
    assert shipped(name).read_text(encoding="utf-8") == build(name).dumps()
    assert load(shipped(name)).match == ("operation",)


def _answer(model: Any, mode: str) -> tuple[str, str, dict[str, Any]]:
    """Stream one answer: its text, its reasoning and its closing metadata."""
    if isinstance(model, JumpStartLLM):  # generate() streams too, and keeps the metadata
        prompts = ["What is Deep Learning?"]
        if mode == "sync":
            result = model.generate(prompts)
        else:
            result = asyncio.run(model.agenerate(prompts))
        generation = result.generations[0][0]
        info = dict(generation.generation_info or {})
        return generation.text, str(info.get("reasoning_content", "")), info
    prompt = "Hi"
    if mode == "sync":
        chunks = list(model.stream(prompt))
    else:

        async def collect() -> list[Any]:
            return [c async for c in model.astream(prompt)]

        chunks = asyncio.run(collect())
    message = chunks[0]
    for chunk in chunks[1:]:
        message = message + chunk
    reasoning = str(message.additional_kwargs.get("reasoning_content", ""))
    usage = message.usage_metadata or {}
    meta = {
        **message.response_metadata,
        "input_tokens": usage.get("input_tokens"),
        "output_tokens": usage.get("output_tokens"),
    }
    return message.text, reasoning, meta


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("cut", ["recorded", "random"])
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_cassette_replays_through_the_models(name: str, cut: str, mode: str) -> None:
    cls, model_id, text, reasoning, finish, output_tokens, input_tokens = EXPECTED[name]
    with CassettePlayer(shipped(name), speed=None, cut=cut, seed=7) as player:  # type: ignore[arg-type]
        model = (player.llm if cls is JumpStartLLM else player.chat)(model_id=model_id)
        got_text, got_reasoning, meta = _answer(model, mode)
        assert player.misses == []
    assert got_text == text
    assert got_reasoning == reasoning
    assert meta["finish_reason"] == finish
    assert meta["output_tokens"] == output_tokens
    if input_tokens is not None:
        assert meta["input_tokens"] == input_tokens


def test_shipped_cassette_paces_its_frames() -> None:
    # 40 ms between frames, 0.25 s to the first: a replay at the recorded pace takes
    # at least as long as the cassette says (a loaded machine only makes it slower).
    item = load(shipped("sglang-reasoning")).interactions[0]
    import time

    with CassettePlayer(shipped("sglang-reasoning")) as player:
        start = time.monotonic()
        player.chat(model_id=QWEN3).invoke("Hi")
        took = time.monotonic() - start
    assert took >= item.reads[-1][0] * 0.95


def test_unknown_shipped_name() -> None:
    with pytest.raises(CassetteError, match="tgi-sse, lmi-jsonlines"):
        shipped("nope")
