"""Behaviours 1-8 of the streaming core, end to end: boto3 -> emulator -> JumpStartLLM."""

from __future__ import annotations

import time
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import PromptTemplate

from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER, EndpointConfig, expected_text

QUESTION = "How do I build a website?"


class Recorder(BaseCallbackHandler):
    def __init__(self, log: list[tuple[str, str]] | None = None) -> None:
        self.log = log if log is not None else []
        self.errors: list[BaseException] = []
        self.ends = 0

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        assert kwargs["chunk"].text == token
        self.log.append(("callback", token))

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors.append(error)

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.ends += 1

    @property
    def tokens(self) -> list[str]:
        return [t for kind, t in self.log if kind == "callback"]


def test_stream_sends_tgi_body_and_yields_every_token(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    model = llm(name, stream_format="tgi", model_kwargs={"max_new_tokens": 400, "temperature": 0.2})
    tokens = list(model.stream(QUESTION))
    assert "".join(tokens) == WEBSITE_ANSWER
    assert len(tokens) > 20  # token by token, not one blob
    (req,) = requests_to(name)
    assert req.streaming
    assert req.json == {
        "inputs": QUESTION,
        "parameters": {"details": True, "max_new_tokens": 400, "temperature": 0.2},
        "stream": True,
    }


def test_callback_fires_before_each_chunk_is_yielded(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi")
    log: list[tuple[str, str]] = []
    handler = Recorder(log)
    for token in llm(name).stream(QUESTION, config={"callbacks": [handler]}):
        log.append(("yield", token))
    kinds = [k for k, _ in log]
    assert kinds == ["callback", "yield"] * (len(log) // 2)
    assert handler.ends == 1


def test_invoke_in_a_chain_streams_through_callbacks(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi")
    handler = Recorder()
    chain = PromptTemplate.from_template("{q}") | llm(name) | StrOutputParser()
    out = chain.invoke({"q": QUESTION}, config={"callbacks": [handler]})
    assert out == WEBSITE_ANSWER
    assert len(handler.tokens) > 20
    assert "".join(handler.tokens) == out


class PerRun(BaseCallbackHandler):
    """Tokens by run: batch() runs its prompts concurrently, each as its own run."""

    def __init__(self) -> None:
        self.tokens: dict[Any, list[str]] = {}

    def on_llm_new_token(self, token: str, *, run_id: Any, **kwargs: Any) -> None:
        self.tokens.setdefault(run_id, []).append(token)


def test_batch_and_generate_stream_every_prompt(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi")
    model = llm(name)
    handler = PerRun()
    outs = model.batch([QUESTION, "Tell me about cats"], config={"callbacks": [handler]})
    cfg = EndpointConfig(stream_format="tgi")
    assert outs[1] == expected_text(cfg, {"inputs": "Tell me about cats", "stream": True})
    assert sorted("".join(t) for t in handler.tokens.values()) == sorted(outs)
    result = model.generate([QUESTION])
    gen = result.generations[0][0]
    assert gen.text == WEBSITE_ANSWER
    assert gen.generation_info is not None
    assert gen.generation_info["finish_reason"] == "eos_token"
    assert result.llm_output is not None
    assert result.llm_output["token_usage"]["output_tokens"] == gen.generation_info["output_tokens"]


def test_streaming_false_uses_invoke_endpoint(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    handler = Recorder()
    out = llm(name, streaming=False).invoke(QUESTION, config={"callbacks": [handler]})
    assert out == WEBSITE_ANSWER
    (req,) = requests_to(name)
    assert not req.streaming
    assert req.path.endswith("/invocations")
    assert "stream" not in req.json
    assert handler.tokens == []


@pytest.mark.parametrize(
    ("fmt", "hint", "framing"),
    [
        ("tgi", "tgi", "sse"),
        ("jsonlines", "jsonlines", "sse"),
        ("jsonlines-tgi", "jsonlines", "sse"),
        ("lmi-sse", "jsonlines", "sse"),
        ("openai-chat", "openai", "sse"),
        ("openai-chat", "openai", "jsonlines"),
    ],
)
@pytest.mark.parametrize("give_hint", [True, False])
def test_every_container_format(endpoint, llm, fmt, hint, framing, give_hint) -> None:
    cfg: dict[str, Any] = {"stream_format": fmt, "openai_framing": framing}
    name = endpoint(**cfg)
    model = llm(name, stream_format=hint if give_hint else None)
    if hint == "openai" and not give_hint:
        # Without a hint the LLM sends the TGI/LMI body; an OpenAI container needs `messages`.
        model = llm(name, stream_format="openai")
    chunks = list(model.stream(QUESTION))
    assert "".join(chunks) == WEBSITE_ANSWER


def test_openai_completion_format(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="openai-completion")
    from langchain_jumpstart_stream.llms import JumpStartLLM

    model = llm(name, stream_format="openai")
    assert isinstance(model, JumpStartLLM)
    # The chat body is what the LLM sends to OpenAI-style containers by default.
    out = "".join(model.stream(QUESTION))
    assert out == WEBSITE_ANSWER
    assert requests_to(name)[0].json["messages"] == [{"role": "user", "content": QUESTION}]


@pytest.mark.parametrize("frame_bytes", [1, 2, 3, 7, 64])
@pytest.mark.parametrize("fmt", ["tgi", "jsonlines", "openai-chat"])
def test_frames_cut_at_arbitrary_bytes(endpoint, llm, frame_bytes, fmt) -> None:
    name = endpoint(
        stream_format=fmt,
        frame_bytes=frame_bytes,
        answer="Caf\u00e9 \u2615 \u65e5\u672c\u8a9e done.",
    )
    hint = {"tgi": "tgi", "jsonlines": "jsonlines", "openai-chat": "openai"}[fmt]
    assert "".join(llm(name, stream_format=hint).stream("x")) == "Café ☕ 日本語 done."


@pytest.mark.parametrize(
    "variant", [{"crlf": True}, {"final_newline": False}, {"sse_comments": True}]
)
@pytest.mark.parametrize("fmt", ["tgi", "jsonlines"])
def test_line_ending_variants(endpoint, llm, variant, fmt) -> None:
    name = endpoint(stream_format=fmt, **variant)
    assert "".join(llm(name).stream(QUESTION)) == WEBSITE_ANSWER


def test_last_line_without_newline_does_not_hang(endpoint, llm) -> None:
    name = endpoint(stream_format="jsonlines", final_newline=False, frame_bytes=5)
    start = time.monotonic()
    assert "".join(llm(name).stream(QUESTION)) == WEBSITE_ANSWER
    assert time.monotonic() - start < 10


def test_special_tokens_never_shown_but_reported(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi", eos_token="<|endoftext|>")
    result = llm(name).generate([QUESTION])
    gen = result.generations[0][0]
    assert "<|endoftext|>" not in gen.text
    assert gen.generation_info is not None
    assert gen.generation_info["finish_reason"] == "eos_token"


def test_generation_info_on_last_chunk(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi")
    model = llm(
        name,
        model_id="huggingface-llm-falcon-7b-instruct-bf16",
        stream_format="tgi",
        model_kwargs={"details": True},
        token_details=True,
    )
    chunks = list(model._stream(QUESTION))
    last = chunks[-1].generation_info
    assert last is not None
    assert last["model_id"] == "huggingface-llm-falcon-7b-instruct-bf16"
    assert last["finish_reason"] == "eos_token"
    assert last["output_tokens"] > 20
    assert isinstance(last.get("input_tokens"), int)
    ids = [i for c in chunks if c.generation_info for i in c.generation_info.get("token_ids", [])]
    assert len(ids) == last["output_tokens"]
    # langchain-core's own merge gives a coherent total.
    total = chunks[0]
    for c in chunks[1:]:
        total += c
    assert total.text == WEBSITE_ANSWER
    assert total.generation_info is not None
    assert total.generation_info["token_ids"] == ids
    assert total.generation_info["finish_reason"] == "eos_token"


def test_max_new_tokens_gives_length(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi")
    gen = llm(name, model_kwargs={"max_new_tokens": 5}).generate([QUESTION]).generations[0][0]
    assert gen.generation_info is not None
    assert gen.generation_info["finish_reason"] == "length"
    assert gen.generation_info["output_tokens"] == 5


@pytest.mark.parametrize(
    ("fmt", "hint", "param"),
    [
        ("tgi", "tgi", ("parameters", "stop")),
        ("jsonlines", "jsonlines", ("parameters", "stop_sequences")),
        ("openai-chat", "openai", ("stop",)),
    ],
)
def test_stop_sent_in_container_parameter_and_enforced(
    endpoint, llm, requests_to, fmt, hint, param
) -> None:
    name = endpoint(stream_format=fmt, frame_bytes=3)
    out = llm(name, stream_format=hint).invoke(QUESTION, stop=["domain"])
    assert out == WEBSITE_ANSWER[: WEBSITE_ANSWER.index("domain")]
    body = requests_to(name)[0].json
    for key in param:
        body = body[key]
    assert body == ["domain"]


def test_stop_closes_the_stream_at_once(endpoint, llm, requests_to, emulator) -> None:
    name = endpoint(stream_format="tgi", tokens_per_second=200)
    model = llm(name)
    # A stop the server does not know about (it only gets the first 4): the client cuts.
    stops = ["zz1", "zz2", "zz3", "zz4", "hosting"]
    out = model.invoke(QUESTION, stop=stops)
    assert out == WEBSITE_ANSWER[: WEBSITE_ANSWER.index("hosting")]
    (req,) = requests_to(name)
    assert req.json["parameters"]["stop"] == stops[:4]
    assert req.done.wait(5)
    assert req.client_disconnected
    assert req.tokens_sent < len(WEBSITE_ANSWER.split()) // 2


def test_breaking_out_closes_the_stream(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi", tokens_per_second=200)
    got = []
    for token in llm(name).stream(QUESTION):
        got.append(token)
        if len(got) == 3:
            break
    (req,) = requests_to(name)
    assert req.done.wait(5)
    assert req.client_disconnected
    assert req.tokens_sent < 20


def test_identifying_and_tracing_params(llm) -> None:
    model = llm(
        "some-endpoint",
        model_id="huggingface-llm-mistral-7b-instruct",
        model_kwargs={"temperature": 0.3, "max_new_tokens": 64},
    )
    assert model._llm_type == "sagemaker-jumpstart"
    params = model._identifying_params
    assert params["endpoint_name"] == "some-endpoint"
    assert params["model_id"] == "huggingface-llm-mistral-7b-instruct"
    assert params["stream_format"] == "tgi"
    ls = model._get_ls_params(stop=["x"])
    assert ls["ls_provider"] == "amazon_sagemaker"
    assert ls["ls_model_name"] == "huggingface-llm-mistral-7b-instruct"
    assert ls["ls_temperature"] == 0.3
    assert ls["ls_max_tokens"] == 64
    assert "x" in ls["ls_stop"]


def test_client_is_created_once_and_shared(endpoint, llm) -> None:
    import concurrent.futures

    name = endpoint(stream_format="tgi")
    model = llm(name)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(lambda _: model.invoke(QUESTION), range(8)))
    assert outs == [WEBSITE_ANSWER] * 8
    assert model.get_client() is model.get_client()


def test_user_supplied_client_wins(emulator, endpoint) -> None:
    from langchain_jumpstart_stream import JumpStartLLM

    name = endpoint(stream_format="tgi")
    client = emulator.client()
    model = JumpStartLLM(
        endpoint_name=name,
        client=client,
        region_name="nowhere-1",
        endpoint_url="http://127.0.0.1:9",
    )
    assert model.get_client() is client
    assert model.invoke(QUESTION) == WEBSITE_ANSWER


def test_request_headers_are_passed(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    llm(
        name,
        inference_component_name="ic-1",
        target_variant="AllTraffic",
        custom_attributes="a=b",
        inference_id="inf-9",
        accept_eula=True,
    ).invoke(QUESTION)
    headers = requests_to(name)[0].headers
    assert headers["x-amzn-sagemaker-inference-component"] == "ic-1"
    assert headers["x-amzn-sagemaker-target-variant"] == "AllTraffic"
    assert headers["x-amzn-sagemaker-custom-attributes"] == "a=b;accept_eula=true"
    assert headers["x-amzn-sagemaker-inference-id"] == "inf-9"


@pytest.mark.parametrize(
    "model_id",
    [
        "huggingface-llm-falcon-7b-instruct-bf16",
        "huggingface-llm-mistral-7b-instruct",
        "huggingface-llm-rinna-3-6b-instruction-ppo-bf16",
        "meta-textgeneration-llama-3-8b-instruct",
        "openai-reasoning-gpt-oss-20b",
    ],
)
def test_model_id_alone_picks_body_and_format(emulator, requests_to, model_id) -> None:
    from langchain_jumpstart_stream import JumpStartLLM

    name = f"for-model-{model_id}"
    cfg = EndpointConfig.for_model(model_id, frame_bytes=5)
    emulator.add_endpoint(name, cfg)
    llm = JumpStartLLM(
        endpoint_name=name, model_id=model_id, client=emulator.client(), accept_eula=True
    )
    out = llm.invoke(QUESTION)
    body = requests_to(name)[0].json
    assert out == expected_text(cfg, body)
    assert cfg.resolved_eos_token not in out or not cfg.resolved_eos_token
    if "gpt-oss" in model_id:
        assert body["messages"][0]["content"] == QUESTION
    else:
        assert body["inputs"] == QUESTION and body["stream"] is True
