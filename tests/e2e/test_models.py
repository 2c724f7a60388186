"""Reasoning, refusals, choices and in-band errors end to end.

Real boto3 -> emulator -> model -> callbacks, sync and async.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import ContextOverflowError
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessageChunk, HumanMessage

from langchain_jumpstart_stream import ChatJumpStart, JumpStartLLM
from langchain_jumpstart_stream.emulator._thinking import DEFAULT_THINKING
from langchain_jumpstart_stream.errors import (
    ConfigurationError,
    ContainerError,
    MalformedStreamError,
    PromptTooLongError,
)

QUESTION = "How do I build a website?"


class Tokens(BaseCallbackHandler):
    """What ``on_llm_new_token`` saw: the token texts and the chunks."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.chunks: list[Any] = []

    def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
        self.texts.append(token)
        self.chunks.append(chunk)


def chat_chunks(model: ChatJumpStart, mode: str, messages: Any) -> list[BaseMessageChunk]:
    if mode == "sync":
        return list(model.stream(messages))

    async def collect() -> list[BaseMessageChunk]:
        return [c async for c in model.astream(messages)]

    return asyncio.run(collect())


def llm_invoke(model: JumpStartLLM, mode: str, prompt: str) -> Any:
    if mode == "sync":
        return model.generate([prompt])
    return asyncio.run(model.agenerate([prompt]))


MODES = ["sync", "async"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("config", "model_kwargs"),
    [
        ({"stream_format": "openai-chat", "reasoning": "vllm"}, {"stream_format": "openai"}),
        ({"stream_format": "openai-chat", "reasoning": "sglang"}, {"stream_format": "openai"}),
        ({"stream_format": "jsonlines", "reasoning": "vllm"}, {"use_messages_api": True}),
        ({"stream_format": "tgi", "reasoning": "think-tags"}, {"use_messages_api": True}),
        (
            {"stream_format": "openai-chat", "reasoning": "think-open"},
            {"model_id": "deepseek-llm-r1-distill-qwen-7b", "stream_format": "openai"},
        ),
    ],
    ids=["vllm", "sglang", "lmi-chat", "tgi-chat-tags", "r1-opens-thinking"],
)
def test_chat_reasoning_streams_apart(
    endpoint: Callable[..., str],
    chat: Callable[..., ChatJumpStart],
    mode: str,
    config: dict[str, Any],
    model_kwargs: dict[str, Any],
) -> None:
    tokens = Tokens()
    model = chat(endpoint(**config), callbacks=[tokens], **model_kwargs)
    chunks = chat_chunks(model, mode, [HumanMessage(QUESTION)])
    whole = chunks[0]
    for c in chunks[1:]:
        whole = whole + c
    assert isinstance(whole, AIMessageChunk)
    assert whole.additional_kwargs["reasoning_content"].strip() == DEFAULT_THINKING
    assert "<think>" not in whole.text and "</think>" not in whole.text
    assert DEFAULT_THINKING not in whole.text
    assert whole.text.startswith("Building a website")
    blocks = whole.content_blocks
    assert blocks[0]["type"] == "reasoning"
    assert blocks[0].get("reasoning", "").strip() == DEFAULT_THINKING
    # The callbacks saw the reasoning first, on the chunks, never as token text.
    seen = [c.message.additional_kwargs.get("reasoning_content", "") for c in tokens.chunks]
    assert "".join(seen).strip() == DEFAULT_THINKING
    assert "".join(tokens.texts) == whole.text


@pytest.mark.parametrize("mode", MODES)
def test_chat_reasoning_tokens_in_usage(
    endpoint: Callable[..., str], chat: Callable[..., ChatJumpStart], mode: str
) -> None:
    model = chat(endpoint(stream_format="openai-chat", reasoning="sglang"), stream_format="openai")
    chunks = chat_chunks(model, mode, QUESTION)
    usage = chunks[-1].usage_metadata  # type: ignore[attr-defined]
    assert usage is not None
    assert usage["output_token_details"]["reasoning"] > 5


@pytest.mark.parametrize("mode", MODES)
def test_chat_v1_output_has_reasoning_blocks(
    endpoint: Callable[..., str], chat: Callable[..., ChatJumpStart], mode: str
) -> None:
    model = chat(
        endpoint(stream_format="openai-chat", reasoning="vllm"),
        stream_format="openai",
        output_version="v1",
    )
    message = model.invoke(QUESTION) if mode == "sync" else asyncio.run(model.ainvoke(QUESTION))
    assert isinstance(message.content, list)
    kinds = [b["type"] for b in message.content if isinstance(b, dict)]
    assert kinds[0] == "reasoning" and "text" in kinds


def test_earlier_reasoning_is_not_sent_back(
    endpoint: Callable[..., str],
    chat: Callable[..., ChatJumpStart],
    requests_to: Callable[[str], Any],
) -> None:
    name = endpoint(stream_format="openai-chat", reasoning="vllm")
    model = chat(name, stream_format="openai")
    first = model.invoke(QUESTION)
    assert first.additional_kwargs["reasoning_content"]
    v1 = AIMessage(
        content=[{"type": "reasoning", "reasoning": "secret"}, {"type": "text", "text": "ok"}]
    )
    model.invoke([HumanMessage(QUESTION), first, HumanMessage("And then?"), v1, HumanMessage("?")])
    sent = requests_to(name)[-1].json
    assert "reasoning" not in str(sent["messages"])
    assert "secret" not in str(sent["messages"])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("config", "model_kwargs"),
    [
        ({"stream_format": "tgi", "reasoning": "think-tags"}, {}),
        ({"stream_format": "jsonlines", "reasoning": "think-tags"}, {}),
        (
            {"stream_format": "openai-chat", "reasoning": "vllm"},
            {"stream_format": "openai"},
        ),
    ],
    ids=["tgi", "lmi", "vllm-messages"],
)
def test_llm_text_is_the_answer_reasoning_in_generation_info(
    endpoint: Callable[..., str],
    llm: Callable[..., JumpStartLLM],
    mode: str,
    config: dict[str, Any],
    model_kwargs: dict[str, Any],
) -> None:
    tokens = Tokens()
    model = llm(endpoint(**config), callbacks=[tokens], **model_kwargs)
    result = llm_invoke(model, mode, QUESTION)
    generation = result.generations[0][0]
    assert generation.text.startswith("Building a website")
    assert "<think>" not in generation.text
    assert generation.generation_info["reasoning_content"].strip() == DEFAULT_THINKING
    streamed = [(c.generation_info or {}).get("reasoning_content", "") for c in tokens.chunks]
    assert "".join(streamed).strip() == DEFAULT_THINKING


def test_llm_prompt_that_opens_thinking(
    endpoint: Callable[..., str], llm: Callable[..., JumpStartLLM]
) -> None:
    model = llm(endpoint(stream_format="tgi", reasoning="think-open"))
    chunks = list(model.stream("<｜User｜>How do I build a website?<｜Assistant｜><think>\n"))  # noqa: RUF001
    assert "".join(chunks).startswith("Building a website")
    assert "</think>" not in "".join(chunks)


@pytest.mark.parametrize("mode", MODES)
def test_refusal(
    endpoint: Callable[..., str], chat: Callable[..., ChatJumpStart], mode: str
) -> None:
    model = chat(
        endpoint(stream_format="openai-chat", refusal="I can't help with that."),
        stream_format="openai",
    )
    chunks = chat_chunks(model, mode, QUESTION)
    whole = chunks[0]
    for c in chunks[1:]:
        whole = whole + c
    assert whole.text == ""
    assert whole.additional_kwargs["refusal"] == "I can't help with that."
    assert whole.response_metadata["finish_reason"] == "refusal"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("stream_format", "style", "use_messages_api"),
    [
        ("jsonlines", "standard", False),
        ("jsonlines", "alternate", False),
        ("openai-chat", "standard", True),
        ("openai-chat", "alternate", True),
        ("tgi", "standard", False),
    ],
)
def test_in_band_errors_keep_their_text(
    endpoint: Callable[..., str],
    chat: Callable[..., ChatJumpStart],
    mode: str,
    stream_format: str,
    style: str,
    use_messages_api: bool,
) -> None:
    name = endpoint(
        stream_format=stream_format,
        error_after_tokens=3,
        error_kind="in_band",
        in_band_style=style,
        error_message="CUDA out of memory while decoding",
    )
    model = chat(
        name, model_id="huggingface-llm-mistral-7b-instruct", use_messages_api=use_messages_api
    )
    with pytest.raises(ContainerError, match="CUDA out of memory") as info:
        chat_chunks(model, mode, QUESTION)
    assert info.value.partial_text


@pytest.mark.parametrize("mode", MODES)
def test_prompt_too_long_in_band_is_a_context_overflow(
    endpoint: Callable[..., str], chat: Callable[..., ChatJumpStart], mode: str
) -> None:
    message = (
        "This model's maximum context length is 4096 tokens. However, you requested "
        "5120 tokens (4096 in the messages, 1024 in the completion)."
    )
    name = endpoint(
        stream_format="openai-chat",
        error_after_tokens=0,
        error_kind="in_band",
        error_message=message,
    )
    with pytest.raises(PromptTooLongError) as info:
        chat_chunks(chat(name, stream_format="openai"), mode, QUESTION)
    assert isinstance(info.value, ContextOverflowError)
    assert "maximum context length" in str(info.value)


@pytest.mark.parametrize(
    ("n_key", "stream_format"), [("n", "openai"), ("top_n_tokens", "jsonlines")]
)
def test_several_choices_are_refused_before_the_request(
    endpoint: Callable[..., str],
    llm: Callable[..., JumpStartLLM],
    chat: Callable[..., ChatJumpStart],
    requests_to: Callable[[str], Any],
    n_key: str,
    stream_format: str,
) -> None:
    name = endpoint(stream_format="openai-chat")
    kwargs: dict[str, Any] = {"model_kwargs": {n_key: 2}, "stream_format": stream_format}
    for model in (llm(name, **kwargs), chat(name, use_messages_api=False, **kwargs)):
        with pytest.raises(ConfigurationError, match="one answer per call"):
            model.invoke(QUESTION)
    assert requests_to(name) == []


def test_several_choices_that_still_arrive_are_never_mixed(
    endpoint: Callable[..., str], chat: Callable[..., ChatJumpStart]
) -> None:
    model = chat(endpoint(stream_format="openai-chat", choices=2), stream_format="openai")
    with pytest.raises(MalformedStreamError, match="several choices"):
        model.invoke(QUESTION)


@pytest.mark.parametrize(
    ("model_id", "key", "other"),
    [
        ("openai-reasoning-gpt-oss-20b", "max_tokens", "max_new_tokens"),
        ("huggingface-llm-mistral-7b-instruct", "max_new_tokens", "max_tokens"),
    ],
)
def test_llm_sends_the_containers_own_length_name_once(
    endpoint: Callable[..., str],
    llm: Callable[..., JumpStartLLM],
    requests_to: Callable[[str], Any],
    model_id: str,
    key: str,
    other: str,
) -> None:
    from langchain_jumpstart_stream.emulator import EndpointConfig

    name = endpoint(**EndpointConfig.for_model(model_id).__dict__)
    model = llm(name, model_id=model_id, model_kwargs={other: 5, "stop_sequences": ["zzz"]})
    model.invoke(QUESTION)
    body = requests_to(name)[-1].json
    params = body.get("parameters", body)
    assert params[key] == 5
    assert other not in params
    assert "stop_sequences" not in params or params["stop_sequences"] == ["zzz"]
    assert "zzz" in str(body)


# A 1x1 PNG, so the image tests need no network.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@pytest.mark.parametrize("mode", MODES)
def test_image_inputs_become_openai_image_url_parts(
    endpoint: Callable[..., str],
    chat: Callable[..., ChatJumpStart],
    requests_to: Callable[[str], Any],
    mode: str,
) -> None:
    name = endpoint(stream_format="openai-chat")
    model = chat(name, model_id="huggingface-vlm-gemma-3-27b-instruct", accept_eula=True)
    blocks: list[Any] = [
        {"type": "image", "base64": PNG, "mime_type": "image/png"},
        {"type": "image", "url": "https://example.com/cat.png"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
    ]
    for block in blocks:
        message = HumanMessage([{"type": "text", "text": "Describe this image."}, block])
        chunks = chat_chunks(model, mode, [message])
        assert "".join(c.text for c in chunks)
        parts = requests_to(name)[-1].json["messages"][-1]["content"]
        images = [p for p in parts if p["type"] == "image_url"]
        assert len(images) == 1
        url = images[0]["image_url"]["url"]
        assert url.startswith(("data:image/png;base64,", "https://example.com/"))


def test_images_need_the_messages_api(
    endpoint: Callable[..., str], chat: Callable[..., ChatJumpStart]
) -> None:
    model = chat(endpoint(), model_id="huggingface-llm-mistral-7b-instruct")
    image = {"type": "image", "base64": PNG, "mime_type": "image/png"}
    with pytest.raises(ConfigurationError, match="no place for images"):
        model.invoke([HumanMessage([{"type": "text", "text": "What is it?"}, image])])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stream_format", ["tgi", "openai-chat"])
def test_whole_answers_keep_reasoning_apart_too(
    endpoint: Callable[..., str],
    llm: Callable[..., JumpStartLLM],
    chat: Callable[..., ChatJumpStart],
    mode: str,
    stream_format: str,
) -> None:
    reasoning = "vllm" if stream_format == "openai-chat" else "think-tags"
    name = endpoint(stream_format=stream_format, reasoning=reasoning)
    fmt = "openai" if stream_format == "openai-chat" else "tgi"
    result = llm_invoke(llm(name, streaming=False, stream_format=fmt), mode, QUESTION)
    generation = result.generations[0][0]
    assert generation.text.startswith("Building a website")
    if stream_format == "tgi":  # the text route's whole answer carries the tags inline
        assert generation.generation_info["reasoning_content"].strip() == DEFAULT_THINKING
    model = chat(name, streaming=False, stream_format=fmt, use_messages_api=True)
    message = model.invoke(QUESTION) if mode == "sync" else asyncio.run(model.ainvoke(QUESTION))
    assert message.text.startswith("Building a website")
    assert message.additional_kwargs["reasoning_content"].strip() == DEFAULT_THINKING
