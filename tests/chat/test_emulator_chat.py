"""The emulator's chat streams and its forced-call rule, at the wire."""

from __future__ import annotations

import json
from typing import Any

import pytest

from langchain_jumpstart_stream.emulator import EndpointConfig, rendered_stream
from langchain_jumpstart_stream.emulator._generator import RequestError
from langchain_jumpstart_stream.emulator._tools import placeholder

from . import QUESTION

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
CLOCK = {"type": "function", "function": {"name": "get_time", "parameters": {}}}


def _chat(**extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": QUESTION}], "stream": True, **extra}


def _events(stream_format: str, body: dict[str, Any]) -> list[Any]:
    raw = rendered_stream(EndpointConfig(stream_format=stream_format), body).decode()
    events = []
    for line in raw.splitlines():
        data = line.removeprefix("data:").strip() if line.startswith("data:") else line.strip()
        if data:
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def test_tgi_answers_messages_with_its_chat_chunks() -> None:
    raw = rendered_stream(EndpointConfig(stream_format="tgi"), _chat(max_tokens=3))
    assert raw.startswith(b'data:{"object":"chat.completion.chunk","id":""')
    events = _events("tgi", _chat(max_tokens=3, stream_options={"include_usage": True}))
    *tokens, usage, done = events
    assert done == "[DONE]"
    assert [e["choices"][0]["delta"]["role"] for e in tokens] == ["assistant"] * 3
    assert [e["choices"][0]["finish_reason"] for e in tokens] == [None, None, "length"]
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 3


def test_lmi_answers_messages_with_vllm_chunks_as_json_lines() -> None:
    raw = rendered_stream(EndpointConfig(stream_format="jsonlines"), _chat())
    assert raw.startswith(b'{"id":"chatcmpl-')
    assert b"data:" not in raw and b"[DONE]" not in raw
    events = _events("jsonlines", _chat(stream_options={"include_usage": True}))
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["choices"] == [] and events[-1]["usage"]["prompt_tokens"] > 0


def test_usage_chunk_only_when_asked() -> None:
    for fmt in ("tgi", "jsonlines", "openai-chat"):
        assert all(
            "usage" not in e or e["usage"] is None for e in _events(fmt, _chat()) if e != "[DONE]"
        )


@pytest.mark.parametrize("choice", [None, "auto", "none"])
def test_unforced_tool_choice_answers_in_text(choice: str | None) -> None:
    body = _chat(tools=[WEATHER, CLOCK], **({"tool_choice": choice} if choice else {}))
    events = _events("openai-chat", body)
    assert not any("tool_calls" in e["choices"][0]["delta"] for e in events if e != "[DONE]")


@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "get_weather"}}]
)
def test_forced_call_streams_schema_arguments(choice: Any) -> None:
    tools = [WEATHER] if choice == "required" else [CLOCK, WEATHER]
    events = [
        e for e in _events("openai-chat", _chat(tools=tools, tool_choice=choice)) if e != "[DONE]"
    ]
    deltas = [e["choices"][0]["delta"].get("tool_calls") for e in events]
    calls = [d[0] for d in deltas if d]
    assert calls[0]["function"] == {"name": "get_weather", "arguments": ""}
    assert calls[0]["id"].startswith("chatcmpl-tool-")
    assert all("name" not in c["function"] for c in calls[1:])
    assert len(calls) > 5
    arguments = "".join(c["function"]["arguments"] for c in calls)
    assert json.loads(arguments) == {"city": "string"}
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("tools", "choice", "message"),
    [
        ([WEATHER, CLOCK], "required", "needs a model to choose"),
        ([], "required", "at least one tool"),
        ([WEATHER], {"type": "function", "function": {"name": "nope"}}, "not in `tools`"),
        ([{"type": "function"}], "required", "needs a `function`"),
        ([WEATHER], "sometimes", "unsupported tool_choice"),
    ],
)
def test_choices_the_emulator_refuses(tools: list[Any], choice: Any, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        rendered_stream(
            EndpointConfig(stream_format="openai-chat"), _chat(tools=tools, tool_choice=choice)
        )


def test_response_format_constrains_the_content() -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    openai = {"type": "json_schema", "json_schema": {"name": "R", "schema": schema}}
    for fmt, response_format in [
        ("openai-chat", openai),
        ("tgi", {"type": "json", "value": schema}),
        ("openai-chat", {"type": "json_object"}),
    ]:
        events = _events(fmt, _chat(response_format=response_format))
        text = "".join(
            e["choices"][0]["delta"].get("content") or "" for e in events if e != "[DONE]"
        )
        expected = {} if response_format == {"type": "json_object"} else {"ok": True}
        assert json.loads(text) == expected


def test_non_streaming_chat_answer_carries_the_tool_call() -> None:
    body = {**_chat(tools=[WEATHER], tool_choice="required"), "stream": False}
    answer = json.loads(rendered_stream(EndpointConfig(stream_format="tgi"), body))
    message = answer["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"][0]["function"]["name"] == "get_weather"
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"city": "string"}
    assert answer["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "string"}, "string"),
        ({"type": "string", "format": "date-time"}, "1970-01-01T00:00:00Z"),
        ({"type": "string", "minLength": 8, "maxLength": 9}, "stringxx"),
        ({"type": "integer", "exclusiveMinimum": 0}, 1),
        ({"type": "integer", "minimum": -5, "maximum": 5}, 0),
        ({"type": "number", "maximum": -2}, -2.0),
        ({"type": "boolean"}, True),
        ({"type": "null"}, None),
        ({"type": ["null", "integer"]}, 0),
        ({"enum": ["b", "a"]}, "b"),
        ({"const": 7}, 7),
        ({"type": "string", "default": "x"}, "x"),
        ({"anyOf": [{"type": "null"}, {"type": "integer"}]}, 0),
        ({"type": "array", "items": {"type": "integer"}, "minItems": 2}, [0, 0]),
        ({"type": "array", "maxItems": 0}, []),
        ({"type": "object", "properties": {"a": {"type": "string"}}}, {}),
        (
            {
                "$defs": {
                    "P": {
                        "type": "object",
                        "properties": {"n": {"type": "integer"}},
                        "required": ["n"],
                    }
                },
                "type": "object",
                "properties": {"p": {"$ref": "#/$defs/P"}, "q": {"allOf": [{"$ref": "#/$defs/P"}]}},
                "required": ["p", "q"],
            },
            {"p": {"n": 0}, "q": {"n": 0}},
        ),
        ({}, None),
    ],
)
def test_placeholder_values(schema: dict[str, Any], value: Any) -> None:
    assert placeholder(schema) == value


def test_recursive_schema_ends() -> None:
    schema = {
        "$defs": {
            "N": {
                "type": "object",
                "properties": {"next": {"$ref": "#/$defs/N"}},
                "required": ["next"],
            }
        },
        "$ref": "#/$defs/N",
    }
    depth, node = 0, placeholder(schema)
    while isinstance(node, dict):
        node, depth = node["next"], depth + 1
    assert node is None and depth > 2
