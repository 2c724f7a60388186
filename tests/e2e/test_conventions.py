"""LangChain's conventions, end to end (boto3 -> emulator): standard parameters, nothing
silently ignored, streaming switches, profile, concurrent batches, request members,
credential fields and client config, setup errors."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from botocore.config import Config
from langchain_core.callbacks import BaseCallbackHandler
from pydantic import ValidationError

from langchain_jumpstart_stream import ChatJumpStart, JumpStartLLM, _conventions, errors

QUESTION = "How do I build a website?"
FALCON = "huggingface-llm-falcon-7b-instruct-bf16"  # TGI, text prompt
LLAMA = "meta-textgeneration-llama-3-1-8b-instruct"  # LMI, Messages API


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.count = 0

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.count += 1


def config_error(info: pytest.ExceptionInfo[BaseException]) -> errors.ConfigurationError:
    """The package's error, directly or inside pydantic's ValidationError."""
    err = info.value
    if isinstance(err, ValidationError):
        cause = err.errors()[0]["ctx"]["error"]
        assert isinstance(cause, errors.ConfigurationError)
        return cause
    assert isinstance(err, errors.ConfigurationError)
    return err


# -- 1. standard parameters, each container's own names --------------------------------


def test_chat_standard_params_reach_tgi_under_its_names(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    model = chat(name, model_id=FALCON, temperature=0.2, max_tokens=7, top_p=0.9, seed=3)
    model.invoke(QUESTION)
    (req,) = requests_to(name)
    params = req.json["parameters"]
    assert params["max_new_tokens"] == 7 and "max_tokens" not in params
    assert (params["temperature"], params["top_p"], params["seed"]) == (0.2, 0.9, 3)


def test_chat_standard_params_reach_messages_api_under_its_names(
    endpoint, chat, requests_to
) -> None:
    name = endpoint(stream_format="jsonlines")
    model = chat(name, model=LLAMA, accept_eula=True, temperature=0.2, max_tokens=7)
    assert model.model_id == LLAMA  # `model` is an alias of model_id
    model.invoke(QUESTION)
    (req,) = requests_to(name)
    assert req.json["max_tokens"] == 7 and "max_new_tokens" not in req.json
    assert req.json["temperature"] == 0.2 and "messages" in req.json


def test_llm_per_call_overrides_fields_and_model_kwargs_keep_container_names(
    endpoint, llm, requests_to
) -> None:
    name = endpoint(stream_format="tgi")
    model = llm(
        name,
        model_id=FALCON,
        max_tokens=50,
        temperature=0.5,
        stop_sequences=["\n\n\n"],
        model_kwargs={"repetition_penalty": 1.1},
    )
    assert model.stop == ["\n\n\n"]  # `stop_sequences` is an alias of stop
    model.invoke(QUESTION, max_tokens=5, temperature=0.1)
    (req,) = requests_to(name)
    params = req.json["parameters"]
    assert params["max_new_tokens"] == 5 and params["temperature"] == 0.1
    assert params["repetition_penalty"] == 1.1 and "\n\n\n" in params["stop"]


def test_tracing_reports_the_standard_params() -> None:
    model = JumpStartLLM(
        endpoint_name="e", model_id=FALCON, max_tokens=9, temperature=0.3, stop=["x"]
    )
    ls = model._get_ls_params()
    assert (ls["ls_max_tokens"], ls["ls_temperature"]) == (9, 0.3)
    assert ls["ls_stop"][0] == "x"  # then the chat template's own stops


def test_a_field_and_its_model_kwargs_twin_are_refused() -> None:
    with pytest.raises((ValidationError, errors.ConfigurationError)) as info:
        JumpStartLLM(endpoint_name="e", model_id=FALCON, max_tokens=5,
                     model_kwargs={"max_new_tokens": 9})  # fmt: skip
    assert "max_tokens/max_new_tokens" in str(config_error(info))


# -- 2. nothing silently ignored ------------------------------------------------------------


@pytest.mark.parametrize("cls", [JumpStartLLM, ChatJumpStart])
def test_a_typo_is_moved_to_model_kwargs_with_a_did_you_mean(cls) -> None:
    with pytest.warns(UserWarning, match=r"'temprature'.*Did you mean 'temperature'"):
        model = cls(endpoint_name="e", stream_format="tgi", temprature=0.1)
    assert model.model_kwargs == {"temprature": 0.1}


def test_an_unknown_container_parameter_is_sent_with_a_warning(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    with pytest.warns(UserWarning, match="moved into model_kwargs"):
        model = llm(name, stream_format="tgi", typical_p=0.5)
    model.invoke(QUESTION)
    assert requests_to(name)[0].json["parameters"]["typical_p"] == 0.5


def test_a_secret_looking_argument_is_refused_not_sent() -> None:
    with pytest.raises((ValidationError, errors.ConfigurationError)) as info:
        ChatJumpStart(endpoint_name="e", stream_format="openai", api_key="sk-123")
    err = config_error(info)
    assert "aws_access_key_id" in err.hint and "sk-123" not in str(err)


def test_an_argument_given_twice_is_refused() -> None:
    with pytest.raises((ValidationError, errors.ConfigurationError)) as info:
        JumpStartLLM(endpoint_name="e", stream_format="tgi", typical_p=0.5,
                     model_kwargs={"typical_p": 0.4})  # fmt: skip
    assert "twice" in str(config_error(info))


# -- 3. streaming switches -------------------------------------------------------------------


@pytest.mark.parametrize("cls", ["llm", "chat"])
def test_disable_streaming_gets_one_whole_answer(request, endpoint, requests_to, cls) -> None:
    name = endpoint(stream_format="tgi")
    model = request.getfixturevalue(cls)(name, model_id=FALCON, disable_streaming=True)
    handler = Tokens()
    chunks = list(model.stream(QUESTION, config={"callbacks": [handler]}))
    assert len(chunks) == 1 and handler.count <= 1
    model.invoke(QUESTION, config={"callbacks": [handler]})
    assert [r.streaming for r in requests_to(name)] == [False, False]


@pytest.mark.parametrize("cls", ["llm", "chat"])
async def test_stream_false_per_call_uses_invoke_endpoint(
    request, endpoint, requests_to, cls
) -> None:
    name = endpoint(stream_format="tgi")
    model = request.getfixturevalue(cls)(name, model_id=FALCON)
    handler = Tokens()
    model.invoke(QUESTION, stream=False, config={"callbacks": [handler]})
    await model.ainvoke(QUESTION, stream=False, config={"callbacks": [handler]})
    assert handler.count == 0
    model.invoke(QUESTION, config={"callbacks": [handler]})  # default: tokens reach callbacks
    assert handler.count > 20
    assert [r.streaming for r in requests_to(name)] == [False, False, True]
    assert all("stream" not in (r.json.get("parameters") or {}) for r in requests_to(name))


@pytest.mark.parametrize("stream_usage", [True, False])
def test_stream_usage_asks_for_the_usage_chunk_or_not(
    endpoint, chat, requests_to, stream_usage
) -> None:
    name = endpoint(stream_format="openai-chat")
    model = chat(name, stream_format="openai", stream_usage=stream_usage)
    last = list(model.stream(QUESTION))[-1]
    (req,) = requests_to(name)
    assert ("stream_options" in req.json) is stream_usage
    assert (last.usage_metadata is not None) is stream_usage
    model.invoke(QUESTION, stream_usage=not stream_usage)  # per call
    assert ("stream_options" in requests_to(name)[1].json) is not stream_usage


# -- 5. concurrent batches ---------------------------------------------------------------------


def peak_in_flight(emulator, name: str, run: Any) -> int:
    """Run ``run()`` and return the most requests the emulator served at once."""
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            live = [r for r in emulator.requests if r.endpoint == name and not r.done.is_set()]
            peak = max(peak, len(live))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run()
    finally:
        done.set()
        watcher.join()
    return peak


@pytest.mark.parametrize("cls", ["llm", "chat"])
@pytest.mark.parametrize("mode", ["batch", "abatch"])
def test_batches_run_concurrently_within_max_concurrency(
    request, emulator, endpoint, cls, mode
) -> None:
    name = endpoint(stream_format="tgi", tokens_per_second=25)
    model = request.getfixturevalue(cls)(name, model_id=FALCON, max_tokens=8)
    outs: list[Any] = []

    def run() -> None:
        config: Any = {"max_concurrency": 3}
        if mode == "batch":
            outs.extend(model.batch([QUESTION] * 6, config=config))
        else:
            outs.extend(asyncio.run(model.abatch([QUESTION] * 6, config=config)))

    peak = peak_in_flight(emulator, name, run)
    assert len(outs) == 6
    assert 2 <= peak <= 3  # concurrent, and never more than max_concurrency


def test_batch_defaults_max_concurrency_to_the_pool_size() -> None:
    model = JumpStartLLM(endpoint_name="e", stream_format="tgi", max_pool_connections=3)
    (config,) = model._bounded_configs(None, 1)
    assert config["max_concurrency"] == 3
    (config,) = model._bounded_configs({"max_concurrency": 8}, 1)
    assert config["max_concurrency"] == 8


# -- 6. request members --------------------------------------------------------------------------

HEADERS = {
    "session_id": "x-amzn-sagemaker-session-id",
    "target_container_hostname": "x-amzn-sagemaker-target-container-hostname",
    "prefix_aware_id": "x-amzn-sagemaker-prefix-aware-id",
    "inference_id": "x-amzn-sagemaker-inference-id",
}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_request_members_as_fields_and_per_call(endpoint, chat, requests_to, mode) -> None:
    name = endpoint(stream_format="tgi", session_ttl=None)  # no sessions: any SessionId passes
    fields = {key: f"field-{key}" for key in HEADERS}
    model = chat(name, model_id=FALCON, **fields)
    per_call = {"session_id": "call-session", "inference_id": "call-inference"}
    if mode == "sync":
        model.invoke(QUESTION)
        model.invoke(QUESTION, **per_call)
    else:
        asyncio.run(model.ainvoke(QUESTION))
        asyncio.run(model.ainvoke(QUESTION, **per_call))
    first, second = requests_to(name)
    for key, header in HEADERS.items():
        assert first.headers[header] == fields[key]
        assert second.headers[header] == per_call.get(key, fields[key])
    assert "session_id" not in (second.json.get("parameters") or {})


def test_target_model_goes_through_invoke_endpoint(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    model = llm(name, model_id=FALCON)
    model.invoke(QUESTION, target_model="model-b.tar.gz")
    (req,) = requests_to(name)
    assert not req.streaming
    assert req.headers["x-amzn-sagemaker-target-model"] == "model-b.tar.gz"
    with pytest.raises(errors.ConfigurationError, match="InvokeEndpoint only") as info:
        list(model.stream(QUESTION, target_model="model-b.tar.gz"))
    assert "disable_streaming=True" in info.value.hint


def test_a_member_the_installed_botocore_lacks_names_the_version(monkeypatch) -> None:
    old = frozenset({"EndpointName", "Body", "SessionId"})
    monkeypatch.setattr(_conventions, "_members", lambda operation: old)
    with pytest.raises((ValidationError, errors.ConfigurationError)) as info:
        JumpStartLLM(endpoint_name="e", stream_format="tgi", prefix_aware_id="p")
    err = config_error(info)
    assert "PrefixAwareId" in str(err) and "1.43.68" in err.hint


# -- 7. credential fields and client config ---------------------------------------------------


def test_explicit_credentials_and_config_build_the_client(emulator, endpoint) -> None:
    name = endpoint(stream_format="tgi")
    model = JumpStartLLM(
        endpoint_name=name,
        stream_format="tgi",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        aws_access_key_id="AKIAEXPLICIT",
        aws_secret_access_key="explicit-secret",
        aws_session_token="explicit-token",
        config=Config(user_agent_appid="my-app", connect_timeout=99, read_timeout=99),
        read_timeout=7,
    )
    client = model.get_client()
    creds = client._request_signer._credentials  # the signer's credentials, for the test only
    assert (creds.access_key, creds.secret_key, creds.token) == (
        "AKIAEXPLICIT",
        "explicit-secret",
        "explicit-token",
    )
    config = client.meta.config
    assert config.user_agent_appid == "my-app"  # the user's setting is kept
    assert config.read_timeout == 7  # the package's own settings win
    assert config.retries["total_max_attempts"] == 1
    assert model.invoke(QUESTION)
    assert "explicit-secret" not in repr(model) and "AKIAEXPLICIT" not in repr(model)


# -- 9. setup errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [JumpStartLLM, ChatJumpStart])
def test_unknown_model_id_advice_names_the_class(cls) -> None:
    with pytest.raises((ValidationError, errors.ConfigurationError)) as info:
        cls(endpoint_name="e", model_id="huggingface-llm-falcon-7b-instruct")
    err = config_error(info)
    assert isinstance(err, errors.JumpStartStreamError)
    assert f"{cls.__name__}(endpoint_name=..., stream_format=" in err.hint
    assert "Did you mean model_id='huggingface-llm-falcon-7b-instruct-bf16'" in err.hint


@pytest.mark.parametrize("url", ["localhost:8080", "ftp://host", "http://", "http://h:0x"])
def test_bad_endpoint_url_is_a_configuration_error(url) -> None:
    with pytest.raises((ValidationError, errors.ConfigurationError)) as info:
        ChatJumpStart(endpoint_name="e", stream_format="openai", endpoint_url=url)
    err = config_error(info)
    assert "ChatJumpStart(endpoint_url=" in err.hint


# -- 4. profile ----------------------------------------------------------------------------------


def test_profile_comes_from_the_registry_and_the_fields() -> None:
    falcon = ChatJumpStart(endpoint_name="e", model_id=FALCON).profile
    assert falcon is not None
    assert falcon["tool_calling"] is False and falcon["structured_output"] is False
    assert falcon["image_inputs"] is False  # a chat template renders text only
    llama = ChatJumpStart(endpoint_name="e", model_id=LLAMA).profile
    assert llama is not None
    assert llama["tool_calling"] is False and llama["structured_output"] is True
    vllm = ChatJumpStart(endpoint_name="e", stream_format="openai", supports_tools=True).profile
    assert vllm is not None and vllm["tool_calling"] and vllm["tool_choice"]


def test_a_given_profile_wins() -> None:
    model = ChatJumpStart(endpoint_name="e", model_id=FALCON, profile={"max_input_tokens": 2048})
    assert model.profile == {"max_input_tokens": 2048}


# -- 8. output_version="v1" ------------------------------------------------------------------------


class Chunks(BaseCallbackHandler):
    def __init__(self) -> None:
        self.contents: list[Any] = []

    def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
        self.contents.append(chunk.message.content)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_output_version_v1_gives_standard_blocks(endpoint, chat, mode) -> None:
    from langchain_core.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """Get the weather for a city."""
        return "sunny"

    name = endpoint(stream_format="openai-chat")
    model = chat(name, stream_format="openai", output_version="v1", max_tokens=8)
    handler = Chunks()
    forced = model.bind_tools([get_weather], tool_choice="get_weather")
    if mode == "sync":
        text = model.invoke(QUESTION, config={"callbacks": [handler]})
        call = forced.invoke("Paris?")
    else:
        text = asyncio.run(model.ainvoke(QUESTION, config={"callbacks": [handler]}))
        call = asyncio.run(forced.ainvoke("Paris?"))
    assert [b["type"] for b in text.content] == ["text"]
    assert text.text and all(isinstance(c, list) for c in handler.contents)
    assert [b["type"] for b in call.content] == ["tool_call"]
    assert call.content[0]["name"] == "get_weather" == call.tool_calls[0]["name"]


def test_profile_reports_reasoning_images_and_context_from_the_registry() -> None:
    from langchain_jumpstart_stream.registry import get_model, list_models

    ids = list_models(task=None, framework=None, streaming=None, catalog="all")
    qwen3 = next(m for m in ids if m.startswith("huggingface-reasoning-qwen3"))
    vision = next(m for m in ids if get_model(m).vision)
    reasoning = ChatJumpStart(endpoint_name="e", model_id=qwen3).profile
    assert reasoning is not None
    assert reasoning["reasoning_output"] is True
    assert reasoning["max_input_tokens"] == get_model(qwen3).context_length
    seeing = ChatJumpStart(endpoint_name="e", model_id=vision, use_messages_api=True).profile
    assert seeing is not None and seeing["image_inputs"] is True
    falcon = ChatJumpStart(endpoint_name="e", model_id=FALCON).profile
    assert falcon is not None and falcon["reasoning_output"] is False


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_thinking_and_effort_reach_a_messages_api_body(endpoint, chat, requests_to, mode) -> None:
    import asyncio
    import json

    name = endpoint(stream_format="openai-chat")
    model = chat(name, use_messages_api=True, thinking=False, reasoning_effort="low")
    if mode == "sync":
        model.invoke("Hi")
        model.invoke("Hi", thinking=True, reasoning_effort="high")
    else:
        asyncio.run(model.ainvoke("Hi"))
        asyncio.run(model.ainvoke("Hi", thinking=True, reasoning_effort="high"))
    first, second = (json.loads(r.body) for r in requests_to(name))
    assert first["chat_template_kwargs"] == {"enable_thinking": False}
    assert first["reasoning_effort"] == "low"
    assert second["chat_template_kwargs"] == {"enable_thinking": True}
    assert second["reasoning_effort"] == "high"
    assert "thinking" not in first and "thinking" not in second


def test_thinking_without_the_messages_api_is_refused(endpoint, llm) -> None:
    from langchain_jumpstart_stream import errors

    model = llm(endpoint(stream_format="tgi"), thinking=False)
    with pytest.raises(errors.ConfigurationError, match="Messages API"):
        model.invoke("Hi")
