"""The record parser: SSE framing rules and every container's JSON shape."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_jumpstart_stream._decoder import StreamDecoder
from langchain_jumpstart_stream._records import Record, RecordParser, parse_json_record
from langchain_jumpstart_stream.errors import (
    ContainerError,
    JumpStartStreamError,
    MalformedStreamError,
)

TOKEN = b'{"token":{"id":1,"text":"hi","logprob":-0.5,"special":false}}'


def parse_lines(lines: list[bytes]) -> list[Record]:
    p = RecordParser()
    out = [r for line in lines if (r := p.feed_line(line)) is not None]
    last = p.finish()
    return out + ([last] if last else [])


@pytest.mark.parametrize("prefix", [b"data:", b"data: "])
def test_data_with_or_without_space(prefix: bytes) -> None:
    (record,) = parse_lines([prefix + TOKEN, b""])
    assert record == Record("hi", token_id=1, logprob=-0.5)


def test_lstrip_trap_is_avoided() -> None:
    # line.lstrip("data:") would also eat the leading "a" of "at"...
    (record,) = parse_lines([b'data:{"token":{"id":1,"text":"at","special":false}}', b""])
    assert record.text == "at"


def test_comments_event_id_retry_fields_are_ignored() -> None:
    records = parse_lines(
        [b": keep-alive", b"event: message", b"id: 7", b"retry: 100", b"data:" + TOKEN, b""]
    )
    assert [r.text for r in records] == ["hi"]


def test_multiline_data_is_joined_with_newline() -> None:
    records = parse_lines([b'data: {"token": {"id": 2,', b'data:  "text": "x"}}', b""])
    assert records[0].text == "x"


def test_event_without_blank_line_at_end_of_body_is_dispatched() -> None:
    assert [r.text for r in parse_lines([b"data:" + TOKEN])] == ["hi"]


def test_done_sentinel() -> None:
    assert parse_lines([b"data: [DONE]", b""])[0].done


def test_openai_usage_chunk_and_finish() -> None:
    r = parse_json_record(
        b'{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}'
    )
    assert (r.text, r.input_tokens, r.output_tokens) == ("", 3, 4)
    r = parse_json_record(b'{"choices":[{"delta":{},"finish_reason":"length"}]}')
    assert r.finish_reason == "length"


def test_openai_tool_call_delta_is_kept() -> None:
    r = parse_json_record(
        b'{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{"}}]}}]}'
    )
    assert r.tool_calls == [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{"}}]


def test_non_streaming_answers_are_understood() -> None:
    assert parse_json_record(b'[{"generated_text": "whole"}]').text == "whole"
    assert (
        parse_json_record(
            b'{"generated_text": "whole", "details": {"finish_reason": "length"}}'
        ).finish_reason
        == "length"
    )
    assert (
        parse_json_record(b'{"choices":[{"message":{"content":"c"},"finish_reason":"stop"}]}').text
        == "c"
    )
    assert parse_json_record(b'{"outputs": ["word"]}').text == "word"


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (
            b'{"error":"Input validation error: max_new_tokens","error_type":"validation"}',
            "Input validation",
        ),
        (b'{"error":{"message":"bad things","type":"BadRequestError","code":400}}', "bad things"),
        (b'{"object":"error","message":"vllm says no","type":"x"}', "vllm says no"),
        (
            b'{"token":{"id":-1,"text":"","log_prob":-1,"special_token":true},"generated_text":"",'
            b'"details":{"finish_reason":"error"},"error_msg":"CUDA OOM"}',
            "CUDA OOM",
        ),
    ],
)
def test_in_band_errors(payload: bytes, needle: str) -> None:
    with pytest.raises(ContainerError, match=needle):
        parse_json_record(payload)


def test_sse_error_event_with_plain_text() -> None:
    with pytest.raises(ContainerError, match="overloaded"):
        parse_lines([b"event: error", b"data: overloaded", b""])


@pytest.mark.parametrize(
    "line",
    [
        b"{not json",
        b'{"unknown": 1}',
        b'{"token": "x"}',
        b'{"token": {"text": 5}}',
        b"plain text",
        b"[1, 2]",
    ],
)
def test_malformed_lines_are_clear_errors(line: bytes) -> None:
    with pytest.raises(MalformedStreamError):
        parse_lines([line])


def test_non_utf8_record_is_a_clear_error() -> None:
    with pytest.raises(MalformedStreamError):
        parse_lines([b'{"token": {"text": "\xff\xfe"}}'])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=12))
def test_arbitrary_bytes_raise_only_our_errors(chunks: list[bytes]) -> None:
    decoder = StreamDecoder(stop=["\n\n", "x"], max_line_bytes=256)
    try:
        for chunk in chunks:
            decoder.feed(chunk)
        decoder.finish()
    except JumpStartStreamError:
        pass


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "token",
                    "text",
                    "id",
                    "choices",
                    "delta",
                    "content",
                    "details",
                    "finish_reason",
                    "error",
                    "generated_text",
                    "usage",
                    "outputs",
                    "special",
                    "logprob",
                    "message",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_json)
def test_arbitrary_json_shapes_raise_only_our_errors(value: object) -> None:
    import json

    with contextlib.suppress(JumpStartStreamError):
        parse_json_record(json.dumps(value).encode())


def test_absurd_nesting_is_a_clear_error() -> None:
    with pytest.raises(MalformedStreamError):
        parse_json_record(b"[" * 100_000)
