"""Tool calls and structured output through each container's chat stream.

The emulator makes a call only when the request forces one, with arguments made from
the schema alone (required properties, placeholder values): these tests check the
protocol (forcing, streaming, merging, parsing), never a model's judgement.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel, Field

from langchain_jumpstart_stream import ChatJumpStart, errors
from langchain_jumpstart_stream._tool_calls import ToolCallDeltas

from . import QUESTION

CONTAINERS = {
    "vllm": ({"stream_format": "openai-chat"}, {"stream_format": "openai"}),
    "tgi": ({"stream_format": "tgi"}, {"stream_format": "tgi", "use_messages_api": True}),
    "lmi": ({"stream_format": "jsonlines"}, {"stream_format": "jsonlines", "supports_tools": True}),
}


@tool
def get_weather(city: str, unit: str = "celsius", days: int = 1) -> str:
    """Get the weather forecast for a city."""
    return f"Sunny in {city}"


@tool
def get_time(zone: str) -> str:
    """Get the time in a time zone."""
    return "12:00"


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str = Field(description="full name")
    age: int = Field(ge=0, description="age in years")
    nickname: str | None = None


@pytest.fixture(params=sorted(CONTAINERS))
def container(request: pytest.FixtureRequest, endpoint, chat) -> tuple[str, ChatJumpStart]:
    served, client = CONTAINERS[request.param]
    name = endpoint(**served)
    return name, chat(name, **client)


def _weather_call(message: AIMessage) -> dict[str, Any]:
    (call,) = message.tool_calls
    assert call["name"] == "get_weather"
    assert call["args"] == {"city": "string"}  # the schema's required property, a placeholder
    assert call["id"]
    assert call["type"] == "tool_call"
    assert message.invalid_tool_calls == []
    return dict(call)


def test_forced_tool_call_streams_chunks_that_merge_into_one_call(container, requests_to) -> None:
    name, model = container
    bound = model.bind_tools([get_weather, get_time], tool_choice="get_weather")
    chunks = list(bound.stream("What's the weather in Paris?"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    with_calls = [c for c in chunks if c.tool_call_chunks]
    assert len(with_calls) > 5  # the arguments arrive in pieces, as the model writes them
    names = [tc["name"] for c in with_calls for tc in c.tool_call_chunks if tc["name"]]
    ids = [tc["id"] for c in with_calls for tc in c.tool_call_chunks if tc["id"]]
    assert names == ["get_weather"]  # once, whatever the container repeats
    assert len(ids) == 1
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    assert full.chunk_position == "last"
    call = _weather_call(full)
    assert call["id"] == ids[0]
    assert full.content == ""
    assert full.usage_metadata is not None
    body = requests_to(name)[0].json
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]
    assert body["tools"][0]["function"]["parameters"]["required"] == ["city"]


def test_invoke_aggregates_the_tool_call(container) -> None:
    _, model = container
    answer = model.bind_tools([get_weather], tool_choice="any").invoke("Weather in Oslo?")
    _weather_call(answer)
    assert answer.response_metadata["finish_reason"] in ("tool_calls", "stop")


async def test_async_tool_call(container) -> None:
    _, model = container
    bound = model.bind_tools([get_weather], tool_choice=True)
    answer = await bound.ainvoke("Weather in Oslo?")
    _weather_call(answer)
    full = None
    async for chunk in bound.astream("Weather in Oslo?"):
        full = chunk if full is None else full + chunk
    assert isinstance(full, AIMessageChunk)
    _weather_call(full)


def test_non_streaming_tool_call(endpoint, chat) -> None:
    name = endpoint(stream_format="openai-chat")
    model = chat(name, stream_format="openai", streaming=False)
    _weather_call(model.bind_tools([get_weather], tool_choice="required").invoke("Weather?"))


def test_auto_tool_choice_answers_in_text(container, requests_to) -> None:
    # Whether to call a tool is judgement: the emulator never makes that choice.
    name, model = container
    answer = model.bind_tools([get_weather, get_time]).invoke(QUESTION)
    assert answer.tool_calls == []
    assert answer.content
    assert "tool_choice" not in requests_to(name)[0].json


def test_required_with_several_tools_is_refused_not_guessed(endpoint, chat) -> None:
    name = endpoint(stream_format="openai-chat")
    model = chat(name, stream_format="openai", max_retries=0)
    with pytest.raises(errors.ModelInvocationError, match="needs a model to choose"):
        model.bind_tools([get_weather, get_time], tool_choice="any").invoke("Hi")


def test_with_structured_output_function_calling(container, requests_to) -> None:
    name, model = container
    structured = model.with_structured_output(Person, method="function_calling")
    person = structured.invoke("Ada Lovelace was 36.")
    assert person == Person(name="string", age=0)
    body = requests_to(name)[0].json
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Person"}}
    streamed = list(structured.stream("Ada Lovelace was 36."))
    assert streamed[-1] == Person(name="string", age=0)
    raw = model.with_structured_output(Person, include_raw=True).invoke("Ada was 36.")
    assert raw["parsing_error"] is None
    assert raw["parsed"] == Person(name="string", age=0)
    assert raw["raw"].tool_calls[0]["name"] == "Person"


def test_with_structured_output_dict_schema(endpoint, chat) -> None:
    name = endpoint(stream_format="openai-chat")
    model = chat(name, stream_format="openai")
    schema = {
        "title": "Flight",
        "description": "A flight booking.",
        "type": "object",
        "properties": {
            "origin": {"type": "string"},
            "seats": {"type": "integer", "minimum": 1},
            "class": {"enum": ["economy", "business"]},
            "when": {"type": "string", "format": "date"},
        },
        "required": ["origin", "seats", "class", "when"],
    }
    result = model.with_structured_output(schema).invoke("Book me a flight")
    assert result == {"origin": "string", "seats": 1, "class": "economy", "when": "1970-01-01"}


@pytest.mark.parametrize(
    ("served", "client", "response_format"),
    [
        (
            "openai-chat",
            {"stream_format": "openai"},
            lambda s: {"type": "json_schema", "json_schema": {"name": "Person", "schema": s}},
        ),
        (
            "tgi",
            {"stream_format": "tgi", "use_messages_api": True},
            lambda s: {"type": "json", "value": s},  # TGI's grammar parameter
        ),
    ],
    ids=["vllm", "tgi"],
)
def test_with_structured_output_json_schema(
    endpoint, chat, requests_to, served, client, response_format
) -> None:
    name = endpoint(stream_format=served)
    model = chat(name, **client)
    structured = model.with_structured_output(Person, method="json_schema")
    assert structured.invoke("Ada Lovelace was 36.") == Person(name="string", age=0)
    body = requests_to(name)[0].json
    assert body["response_format"] == response_format(convert_to_json_schema(Person))
    assert "tools" not in body


def test_tool_choice_spellings(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="openai-chat")
    model = chat(name, stream_format="openai")
    two = [get_weather, get_time]
    cases: list[tuple[Any, Any]] = [
        ("auto", "auto"),
        ("none", "none"),
        (False, "none"),
        ("get_time", {"type": "function", "function": {"name": "get_time"}}),
        ({"type": "function", "function": {"name": "get_time"}}, None),
    ]
    for given, sent in cases:
        bound = model.bind_tools(two, tool_choice=given)
        expected = given if sent is None else sent
        assert bound.kwargs["tool_choice"] == expected  # type: ignore[attr-defined]
    assert "tool_choice" not in model.bind_tools(two).kwargs  # type: ignore[attr-defined]
    for must in ("any", "required", True):
        assert model.bind_tools(two, tool_choice=must).kwargs["tool_choice"] == "required"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="not one of the bound tools"):
        model.bind_tools(two, tool_choice="get_news")


def test_tool_calling_is_configurable_per_container(chat) -> None:
    llama = "meta-textgeneration-llama-3-8b-instruct"  # LMI: tools need extra options
    with pytest.raises(errors.ConfigurationError, match="supports_tools=True"):
        chat("ep", model_id=llama).bind_tools([get_weather])
    assert chat("ep", model_id=llama, supports_tools=True).bind_tools([get_weather])
    with pytest.raises(errors.ConfigurationError):
        chat("ep", stream_format="openai", supports_tools=False).bind_tools([get_weather])


# -- the delta normaliser, fed what each container really sends --------------------------


def _merge(deltas: list[list[dict[str, Any]]]) -> AIMessageChunk:
    normaliser = ToolCallDeltas()
    chunks = [AIMessageChunk(content="", tool_call_chunks=normaliser.chunks(d)) for d in deltas]
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    return AIMessageChunk(content="", tool_call_chunks=full.tool_call_chunks, chunk_position="last")


def test_lmi_named_choice_repeats_the_name_and_sends_no_id() -> None:
    # DJL/LMI's jsonlines_chat formatter, named tool choice: the name on every delta.
    pieces = ['{"city"', ': "Par', 'is"}']
    deltas = [[{"index": 0, "function": {"name": "get_weather", "arguments": p}}] for p in pieces]
    full = _merge(deltas)
    (call,) = full.tool_calls
    assert call["name"] == "get_weather"  # not "get_weatherget_weatherget_weather"
    assert call["args"] == {"city": "Paris"}
    assert call["id"] and call["id"].startswith("call_")


def test_tgi_repeats_the_id_and_nulls_the_name() -> None:
    deltas = [
        [{"index": 0, "id": "0", "type": "function", "function": {"name": "f", "arguments": "{"}}],
        [
            {
                "index": 0,
                "id": "0",
                "type": "function",
                "function": {"name": None, "arguments": '"a": 1'},
            }
        ],
        [{"index": 0, "id": "0", "type": "function", "function": {"name": None, "arguments": "}"}}],
    ]
    (call,) = _merge(deltas).tool_calls
    assert call == {"name": "f", "args": {"a": 1}, "id": "0", "type": "tool_call"}


def test_parallel_calls_and_parsed_arguments() -> None:
    deltas = [
        [
            {"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}},
            {"index": 1, "id": "b", "function": {"name": "g", "arguments": {"x": 2}}},
        ],
        [{"index": 0, "function": {"arguments": '{"y": 1}'}}],
        [{"index": 0, "id": "", "function": {"name": "", "arguments": ""}}],  # nothing new
    ]
    full = _merge(deltas)
    assert [(c["name"], c["args"], c["id"]) for c in full.tool_calls] == [
        ("f", {"y": 1}, "a"),
        ("g", {"x": 2}, "b"),
    ]


def test_a_broken_call_is_an_invalid_tool_call() -> None:
    full = _merge([[{"index": 0, "id": "a", "function": {"name": "f", "arguments": "[1, 2"}}]])
    assert full.tool_calls == []
    assert full.invalid_tool_calls[0]["name"] == "f"


def test_tool_arguments_survive_a_round_trip_through_history(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="openai-chat")
    model = chat(name, stream_format="openai")
    bound = model.bind_tools([get_weather], tool_choice="get_weather")
    call_message = bound.invoke("Weather in Paris?")
    result = get_weather.invoke(call_message.tool_calls[0])
    final = model.bind_tools([get_weather]).invoke(["Weather in Paris?", call_message, result])
    assert final.content
    messages = requests_to(name)[1].json["messages"]
    (sent,) = messages[1]["tool_calls"]
    assert sent["id"] == call_message.tool_calls[0]["id"]
    assert json.loads(sent["function"]["arguments"]) == {"city": "string"}
    assert messages[2] == {
        "role": "tool",
        "name": "get_weather",
        "tool_call_id": sent["id"],
        "content": "Sunny in string",
    }
