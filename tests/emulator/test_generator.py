"""The generator and renderers, without any network."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langchain_jumpstart_stream.emulator import (
    STREAM_FORMATS,
    EndpointConfig,
    expected_text,
    rendered_stream,
)
from langchain_jumpstart_stream.emulator._formats import plan, response_body, stream_records
from langchain_jumpstart_stream.emulator._generator import (
    RequestError,
    answer_text,
    parse_request,
    tokenize,
)

from . import OTHER_PROMPT, PROMPT, body_for


def _records(cfg: EndpointConfig, body: dict[str, object]) -> list[bytes]:
    request, generation = plan(cfg, json.dumps(body).encode())
    return [r.data for r in stream_records(cfg, request, generation)]


def _sse_json(record: bytes) -> object:
    text = record.decode()
    assert text.startswith("data:")
    assert text.endswith("\n\n")
    return json.loads(text.removeprefix("data:"))


# -- answers and tokens -----------------------------------------------------------------


@given(st.text(max_size=200))
def test_tokens_join_back_to_the_text(text: str) -> None:
    assert "".join(tokenize(text)) == text


def test_tokens_look_like_word_pieces() -> None:
    assert tokenize("Build a website, now!\n") == [
        "Build",
        " a",
        " websit",
        "e",
        ",",
        " now",
        "!",
        "\n",
    ]


def test_website_prompt_gets_the_falcon_style_answer() -> None:
    text = answer_text("User: how can I build a website?\nAssistant:")
    for word in ("domain", "hosting", "HTML", "CSS", "site builder"):
        assert word in text
    assert text.count(".") > 5


def test_other_prompts_are_deterministic_and_exercise_utf8() -> None:
    prompts = [f"question number {i}" for i in range(12)]
    answers = [answer_text(p) for p in prompts]
    assert answers == [answer_text(p) for p in prompts]
    assert len(set(answers)) > 3
    assert any(not a.isascii() for a in answers)
    assert any(len(ch.encode()) == 4 for a in answers for ch in a)  # an emoji


def test_japanese_prompt_gets_a_japanese_answer() -> None:
    text = answer_text("日本の首都はどこですか?")
    assert "日本語" in text or "ありがとう" in text
    assert all(len(piece.strip()) <= 2 for piece in tokenize(text))


def test_canned_answer_overrides() -> None:
    cfg = EndpointConfig(answer="Hello there.")
    assert expected_text(cfg, body_for("tgi")) == "Hello there."


@pytest.mark.parametrize("stream_format", STREAM_FORMATS)
def test_same_request_same_bytes(stream_format: str) -> None:
    cfg = EndpointConfig(stream_format=stream_format)
    body = body_for(stream_format, OTHER_PROMPT)
    assert rendered_stream(cfg, body) == rendered_stream(cfg, json.dumps(body))


# -- request parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"parameters": {}}',
        b'{"inputs": "x", "parameters": {"max_new_tokens": 0}}',
    ],
)
def test_bodies_a_container_rejects(raw: bytes) -> None:
    with pytest.raises(RequestError):
        parse_request(raw, chat=False)


def test_chat_answers_the_last_user_message() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "hi"},
            {"role": "user", "content": [{"type": "text", "text": PROMPT}]},
        ],
        "max_completion_tokens": 5,
        "stop": ".",
    }
    request = parse_request(json.dumps(body).encode(), chat=True)
    assert request.prompt == PROMPT
    assert request.max_tokens == 5
    assert request.stop == (".",)
    with pytest.raises(RequestError):
        parse_request(b'{"prompt": "x"}', chat=True)


# -- budgets, EOS and stop sequences ------------------------------------------------------


@pytest.mark.parametrize("stream_format", STREAM_FORMATS)
def test_natural_end_sends_the_eos_token(stream_format: str) -> None:
    cfg = EndpointConfig(stream_format=stream_format)
    _, generation = plan(cfg, json.dumps(body_for(stream_format)).encode())
    assert generation.finish_reason == "eos_token"
    assert generation.tokens[-1].special
    assert generation.tokens[-1].text == cfg.resolved_eos_token
    assert not any(t.special for t in generation.tokens[:-1])
    assert generation.text == answer_text(PROMPT)


def test_eos_defaults_per_format() -> None:
    assert EndpointConfig(stream_format="tgi").resolved_eos_token == "<|endoftext|>"
    assert EndpointConfig(stream_format="jsonlines").resolved_eos_token == "</s>"
    assert EndpointConfig(stream_format="openai-chat").resolved_eos_token == ""
    assert EndpointConfig(eos_token="<|eot_id|>").resolved_eos_token == "<|eot_id|>"


def test_max_new_tokens_ends_with_length() -> None:
    cfg = EndpointConfig()
    _, generation = plan(
        cfg, json.dumps(body_for("tgi", parameters={"max_new_tokens": 7})).encode()
    )
    assert len(generation.tokens) == 7
    assert generation.finish_reason == "length"
    assert not generation.tokens[-1].special


def test_default_max_tokens_applies_only_without_a_request_budget() -> None:
    cfg = EndpointConfig(default_max_tokens=3)
    assert len(plan(cfg, json.dumps(body_for("tgi")).encode())[1].tokens) == 3
    body = body_for("tgi", parameters={"max_new_tokens": 5})
    assert len(plan(cfg, json.dumps(body).encode())[1].tokens) == 5


def test_tgi_keeps_the_stop_text() -> None:
    cfg = EndpointConfig()
    body = body_for("tgi", parameters={"stop": ["hosting"]})
    _, generation = plan(cfg, json.dumps(body).encode())
    assert generation.finish_reason == "stop_sequence"
    assert generation.text.endswith("hosting")
    assert "".join(t.text for t in generation.tokens) == generation.text


@pytest.mark.parametrize(
    ("stream_format", "stop_key"),
    [
        ("jsonlines", "stop_sequences"),
        ("lmi-sse", "stop_sequences"),
        ("openai-chat", "stop"),
        ("openai-completion", "stop"),
    ],
)
def test_lmi_and_openai_cut_the_stop_text(stream_format: str, stop_key: str) -> None:
    cfg = EndpointConfig(stream_format=stream_format)
    if stream_format.startswith("openai"):
        body = body_for(stream_format, stop=["hosting"])
    else:
        body = body_for(stream_format, parameters={stop_key: ["hosting"]})
    _, generation = plan(cfg, json.dumps(body).encode())
    full = answer_text(PROMPT)
    assert generation.finish_reason == "stop_sequence"
    assert generation.text == full[: full.index("hosting")]
    assert "".join(t.text for t in generation.tokens) == generation.text


def test_stop_sequence_across_tokens_and_inside_one() -> None:
    cfg = EndpointConfig(stream_format="openai-completion")
    # "a web hosting" spans several tokens; "bsit" sits inside the token " websit".
    for stop in ("a web hosting", "bsit"):
        text = expected_text(cfg, body_for("openai-completion", stop=[stop]))
        full = answer_text(PROMPT)
        assert text == full[: full.index(stop)]


# -- rendering -------------------------------------------------------------------------


def test_tgi_events() -> None:
    cfg = EndpointConfig()
    records = _records(cfg, body_for("tgi", parameters={"details": True, "seed": 7}))
    events = [_sse_json(r) for r in records]
    assert [e["index"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["generated_text"] is None and e["details"] is None for e in events[:-1])
    last = events[-1]
    assert last["token"]["special"] is True
    assert last["token"]["text"] == "<|endoftext|>"
    assert last["generated_text"] == answer_text(PROMPT)
    assert last["details"]["finish_reason"] == "eos_token"
    assert last["details"]["generated_tokens"] == len(events)
    assert last["details"]["seed"] == 7
    assert records[0].startswith(b'data:{"index":1,"token":{"id":')
    no_details = _records(cfg, body_for("tgi"))
    assert _sse_json(no_details[-1])["details"] is None


def test_lmi_jsonlines() -> None:
    cfg = EndpointConfig(stream_format="jsonlines")
    lines = [json.loads(r) for r in _records(cfg, body_for("jsonlines"))]
    assert set(lines[0]) == {"token"}
    assert set(lines[0]["token"]) == {"id", "text", "log_prob"}
    assert lines[-1]["token"]["special_token"] is True
    assert lines[-1]["generated_text"] == answer_text(PROMPT)
    assert "details" not in lines[-1]
    with_details = _records(cfg, body_for("jsonlines", parameters={"details": True}))
    assert json.loads(with_details[-1])["details"] == {
        "finish_reason": "eos_token",
        "generated_tokens": len(with_details),
        "inputs": PROMPT,
    }


def test_lmi_tgi_compat_jsonlines() -> None:
    cfg = EndpointConfig(stream_format="jsonlines-tgi")
    records = _records(cfg, body_for("jsonlines-tgi"))
    first, last = json.loads(records[0]), json.loads(records[-1])
    assert set(first["token"]) == {"id", "text", "logprob"}
    assert last["token"]["special"] is True
    assert last["details"]["finish_reason"] == "eos_token"  # tgi_compat turns details on
    assert not records[0].startswith(b"data")


def test_lmi_sse() -> None:
    cfg = EndpointConfig(stream_format="lmi-sse")
    records = _records(cfg, body_for("lmi-sse"))
    assert all(r.startswith(b"data: {") and r.endswith(b"}\n\n") for r in records)


def test_openai_chat_chunks() -> None:
    cfg = EndpointConfig(stream_format="openai-chat", model_id="my-model")
    body = body_for("openai-chat", max_tokens=4, stream_options={"include_usage": True})
    records = _records(cfg, body)
    assert records[-1] == b"data: [DONE]\n\n"
    chunks = [_sse_json(r) for r in records[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "my-model" for c in chunks)
    contents = [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]]
    assert "".join(contents) == "".join(tokenize(answer_text(PROMPT))[:4]) == "Building a websit"
    assert [c["choices"][0]["finish_reason"] for c in chunks[1:-1]] == [None] * 3 + ["length"]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 4
    assert chunks[-1]["usage"]["total_tokens"] == 4 + chunks[-1]["usage"]["prompt_tokens"]


def test_openai_natural_end_hides_eos() -> None:
    cfg = EndpointConfig(stream_format="openai-chat")
    chunks = [_sse_json(r) for r in _records(cfg, body_for("openai-chat"))[:-1]]
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {"content": ""},
        "logprobs": None,
        "finish_reason": "stop",
    }


def test_openai_jsonlines_framing_and_completions() -> None:
    cfg = EndpointConfig(stream_format="openai-completion", openai_framing="jsonlines")
    records = _records(cfg, body_for("openai-completion"))
    chunks = [json.loads(r) for r in records]
    assert all(c["object"] == "text_completion" for c in chunks)
    assert "".join(c["choices"][0]["text"] for c in chunks) == answer_text(PROMPT)
    assert cfg.stream_content_type == "application/jsonlines"


def test_crlf_final_newline_and_comments() -> None:
    body = body_for("tgi", parameters={"max_new_tokens": 12})
    plain = rendered_stream(EndpointConfig(), body)
    crlf = rendered_stream(EndpointConfig(crlf=True), body)
    assert crlf == plain.replace(b"\n", b"\r\n")
    assert rendered_stream(EndpointConfig(final_newline=False), body) == plain.rstrip(b"\n")
    commented = rendered_stream(EndpointConfig(sse_comments=True), body).decode()
    assert commented.startswith(": keep-alive\n\nevent: message\ndata:{")
    assert commented.count(": keep-alive") == 3
    assert commented.count("event: message\n") == 12


@pytest.mark.parametrize(
    ("stream_format", "style", "marker"),
    [
        ("tgi", "standard", b'data:{"error":"bad","error_type":"generation"}\n\n'),
        ("jsonlines", "standard", b'"special_token": true, "error_msg": "bad"}'),
        ("jsonlines", "alternate", b'"details": {"finish_reason": "error"}}'),
        ("jsonlines-tgi", "standard", b'{"id": -1, "text": "", "logprob": -1, "special": true}'),
        ("openai-chat", "standard", b'data: {"error":{"message":"bad"'),
        ("openai-chat", "alternate", b'data: {"object":"error","message":"bad"'),
    ],
)
def test_in_band_errors(stream_format: str, style: str, marker: bytes) -> None:
    cfg = EndpointConfig(
        stream_format=stream_format,
        error_after_tokens=2,
        error_kind="in_band",
        error_message="bad",
        in_band_style=style,
    )
    request, generation = plan(cfg, json.dumps(body_for(stream_format)).encode())
    records = stream_records(cfg, request, generation)
    assert sum(r.tokens for r in records) == 2
    error_index = 2 if stream_format != "openai-chat" else 3
    assert marker in records[error_index].data
    if stream_format == "openai-chat":
        assert records[-1].data == b"data: [DONE]\n\n"


@pytest.mark.parametrize(
    ("stream_format", "check"),
    [
        ("tgi", lambda b: b[0]["generated_text"]),
        ("jsonlines", lambda b: b["generated_text"]),
        ("jsonlines-tgi", lambda b: b[0]["generated_text"]),
        ("openai-chat", lambda b: b["choices"][0]["message"]["content"]),
        ("openai-completion", lambda b: b["choices"][0]["text"]),
    ],
)
def test_non_streaming_bodies(stream_format: str, check: object) -> None:
    cfg = EndpointConfig(stream_format=stream_format)
    body = body_for(stream_format, stream=False)
    request, generation = plan(cfg, json.dumps(body).encode())
    parsed = json.loads(response_body(cfg, request, generation))
    assert check(parsed) == answer_text(PROMPT)


@pytest.mark.parametrize(
    ("prompt", "topic"),
    [
        ("Explain to a new engineer, in a few sentences: server-sent events", "server-sent events"),
        ("User: What is a vector database?\nFalcon:", "a vector database"),
        ("<|im_start|>user\nTell me about Paris<|im_end|>\n<|im_start|>assistant\n", "Paris"),
        (">>QUESTION<<What is RAG?\n>>ANSWER<<", "RAG"),
        ("And then?", "your question"),
    ],
)
def test_canned_answers_name_the_question_naturally(prompt: str, topic: str) -> None:
    from langchain_jumpstart_stream.emulator._generator import _topic

    assert _topic(prompt) == topic
    assert " sentences server" not in answer_text(prompt)
