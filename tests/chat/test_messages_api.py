"""Messages-API mode against each container's chat stream: bodies, streaming, stops,
early close and errors, sync and async."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.exceptions import ModelAPIError
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage

from langchain_jumpstart_stream import errors
from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER

from . import QUESTION, Recorder

LLAMA3 = "meta-textgeneration-llama-3-8b-instruct"
FALCON = "huggingface-llm-falcon-7b-instruct-bf16"

# Each container's chat dialect, as the emulator serves it, and how a client names it.
CONTAINERS = {
    "vllm": ({"stream_format": "openai-chat"}, {"stream_format": "openai"}),
    "tgi": ({"stream_format": "tgi"}, {"stream_format": "tgi", "use_messages_api": True}),
    "lmi": (
        {"stream_format": "jsonlines"},
        {"stream_format": "jsonlines", "use_messages_api": True},
    ),
}
FINISH = {"vllm": "stop", "tgi": "stop", "lmi": "stop"}


@pytest.fixture(params=sorted(CONTAINERS))
def container(request: pytest.FixtureRequest, endpoint, chat):
    """``(endpoint name, model)`` for one container speaking the Messages API."""
    served, client = CONTAINERS[request.param]
    name = endpoint(**served)
    return name, chat(name, **client)


def test_body_maps_parameters_to_openai_names(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="openai-chat")
    model = chat(
        name,
        stream_format="openai",
        model_kwargs={"max_new_tokens": 300, "temperature": 0.2, "details": True},
        stop=["zz-instance"],
    )
    model.invoke(
        [SystemMessage("Be brief."), HumanMessage(QUESTION, name="ana")],
        stop=["zz-call"],
        top_p=0.9,
    )
    (req,) = requests_to(name)
    assert req.json == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "name": "ana", "content": QUESTION},
        ],
        "max_tokens": 300,  # max_new_tokens in OpenAI's name; TGI-only `details` dropped
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["zz-call", "zz-instance"],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_registry_model_defaults_to_the_messages_api(endpoint, chat, requests_to) -> None:
    # Llama 3 on LMI: the registry says the container takes `messages`.
    name = endpoint(stream_format="jsonlines")
    model = chat(name, model_id=LLAMA3, model_kwargs={"stop_sequences": ["zz-kw"]})
    answer = model.invoke([("system", "Be brief."), ("human", QUESTION)])
    assert answer.content == WEBSITE_ANSWER
    body = requests_to(name)[0].json
    assert "inputs" not in body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["max_tokens"] == 256  # the registry's max_new_tokens, renamed
    assert body["temperature"] == 0.6
    assert "stop_sequences" not in body
    assert "zz-kw" in body["stop"]


def test_each_container_streams_chunks_with_metadata_last(container, requests_to) -> None:
    name, model = container
    chunks = list(model.stream(QUESTION))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert len(chunks) > 20
    assert "".join(c.text for c in chunks) == WEBSITE_ANSWER
    *body, last = chunks
    assert not any(c.usage_metadata or c.response_metadata or c.chunk_position for c in body)
    assert last.chunk_position == "last"
    served = last.response_metadata.pop("jumpstart")  # who served, how fast: test_telemetry
    assert served["endpoint_name"] == name
    assert last.response_metadata == {
        "finish_reason": "stop",
        "model_name": name,
        "model_provider": "amazon_sagemaker",
    }
    assert last.usage_metadata is not None
    assert last.usage_metadata["output_tokens"] == requests_to(name)[0].tokens_sent
    assert last.usage_metadata["input_tokens"] > 0
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    assert full.text == WEBSITE_ANSWER
    assert full.usage_metadata == last.usage_metadata


async def test_each_container_streams_async(container, requests_to) -> None:
    name, model = container
    recorder = Recorder()
    chunks = [c async for c in model.astream(QUESTION, config={"callbacks": [recorder]})]
    assert len(chunks) > 20
    assert "".join(c.text for c in chunks) == WEBSITE_ANSWER
    assert recorder.tokens == [c.text for c in chunks]
    assert chunks[-1].chunk_position == "last"
    assert chunks[-1].usage_metadata is not None
    answer = await model.ainvoke(QUESTION)
    assert answer.content == WEBSITE_ANSWER
    assert answer.usage_metadata == chunks[-1].usage_metadata


def test_invoke_reports_every_token_to_callbacks(container) -> None:
    _, model = container
    recorder = Recorder()
    answer = model.invoke(QUESTION, config={"callbacks": [recorder]})
    assert answer.content == WEBSITE_ANSWER
    assert len(recorder.tokens) > 20
    assert "".join(recorder.tokens) == WEBSITE_ANSWER
    assert recorder.ends == 1


def test_non_streaming_messages_call(container, requests_to) -> None:
    name, model = container
    answer = model.model_copy(update={"streaming": False}).invoke(QUESTION)
    assert answer.content == WEBSITE_ANSWER
    assert answer.response_metadata["finish_reason"] == "stop"
    assert answer.usage_metadata is not None
    (req,) = requests_to(name)
    assert not req.streaming
    assert req.json["stream"] is False


def test_stop_sequences_cut_and_report(container, requests_to) -> None:
    name, model = container
    answer = model.invoke(QUESTION, stop=["hosting"])
    assert answer.content == WEBSITE_ANSWER[: WEBSITE_ANSWER.index("hosting")]
    assert answer.response_metadata["finish_reason"] in ("stop", "stop_sequence")
    assert requests_to(name)[0].json["stop"] == ["hosting"]


def test_a_stop_the_server_was_not_sent_is_cut_by_the_client(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="openai-chat", tokens_per_second=200)
    stops = ["zz1", "zz2", "zz3", "zz4", "hosting"]
    answer = chat(name, stream_format="openai").invoke(QUESTION, stop=stops)
    assert answer.content == WEBSITE_ANSWER[: WEBSITE_ANSWER.index("hosting")]
    assert answer.response_metadata["finish_reason"] == "stop_sequence"
    assert answer.response_metadata["stop_sequence"] == "hosting"
    (req,) = requests_to(name)
    assert req.json["stop"] == stops[:4]
    assert req.done.wait(5)
    assert req.client_disconnected  # stopped reading at once


def test_breaking_out_of_stream_closes_it(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="openai-chat", tokens_per_second=200)
    got = []
    for chunk in chat(name, stream_format="openai").stream(QUESTION):
        got.append(chunk)
        if len(got) == 3:
            break
    (req,) = requests_to(name)
    assert req.done.wait(5)
    assert req.client_disconnected
    assert req.tokens_sent < 30


async def test_breaking_out_of_astream_closes_it(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="tgi", tokens_per_second=200)
    model = chat(name, stream_format="tgi", use_messages_api=True)
    stream = model.astream(QUESTION)
    got = []
    async for chunk in stream:
        got.append(chunk)
        if len(got) == 3:
            break
    await stream.aclose()
    (req,) = requests_to(name)
    assert await asyncio.to_thread(req.done.wait, 5)
    assert req.client_disconnected
    assert req.tokens_sent < 30


async def test_cancelling_the_task_closes_the_stream(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="openai-chat", tokens_per_second=100)
    model = chat(name, stream_format="openai")
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in model.astream(QUESTION):
            started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (req,) = requests_to(name)
    assert await asyncio.to_thread(req.done.wait, 5)
    assert req.client_disconnected


@pytest.mark.parametrize(
    ("served", "kind", "cls"),
    [
        ("openai-chat", "model_stream_error", errors.ModelStreamError),
        ("openai-chat", "in_band", errors.ContainerError),
        ("tgi", "in_band", errors.ContainerError),
        ("jsonlines", "internal_stream_failure", errors.InternalStreamFailure),
    ],
)
def test_mid_stream_error_keeps_the_partial_text(
    endpoint, chat, requests_to, served, kind, cls
) -> None:
    name = endpoint(stream_format=served, error_after_tokens=6, error_kind=kind)
    model = chat(name, stream_format="tgi" if served == "tgi" else None, use_messages_api=True)
    recorder = Recorder()
    got: list[str] = []
    with pytest.raises(errors.StreamError) as info:
        for chunk in model.stream(QUESTION, config={"callbacks": [recorder]}):
            got.append(chunk.text)
    err = info.value
    assert isinstance(err, cls)
    assert isinstance(err, ModelAPIError)
    assert len(got) == 6
    assert err.partial_text == "".join(got) == WEBSITE_ANSWER[: len(err.partial_text)]
    assert err.endpoint_name == name
    assert len(recorder.errors) == 1  # reported once, by langchain-core
    assert len(requests_to(name)) == 1  # never retried after a token


def test_rejected_request_is_a_clear_error(endpoint, chat) -> None:
    name = endpoint(stream_format="openai-chat")
    model = chat(name, stream_format="openai", max_retries=0)
    with pytest.raises(errors.ModelInvocationError):
        model.invoke(QUESTION, max_new_tokens=0)


def test_tool_messages_need_no_tools_bound(endpoint, chat, requests_to) -> None:
    # A history with tool traffic is plain OpenAI messages in the Messages API.
    name = endpoint(stream_format="openai-chat")
    model = chat(name, stream_format="openai")
    history = [
        ("human", "What is 1 + 2?"),
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "3"},
    ]
    assert model.invoke(history).content
    messages = requests_to(name)[0].json["messages"]
    assert messages[1]["tool_calls"][0]["function"] == {
        "name": "add",
        "arguments": '{"a": 1, "b": 2}',
    }
    assert messages[2] == {"role": "tool", "tool_call_id": "c1", "content": "3"}


def test_tracing_params(chat) -> None:
    model = chat("ep", model_id=FALCON, model_kwargs={"temperature": 0.3, "max_new_tokens": 99})
    params = model._get_ls_params(stop=["x"])
    assert params["ls_provider"] == "amazon_sagemaker"
    assert params["ls_model_name"] == FALCON
    assert params["ls_model_type"] == "chat"
    assert params["ls_temperature"] == 0.3
    assert params["ls_max_tokens"] == 99
    assert params["ls_stop"][0] == "x"
