"""Behaviours 9-10: errors and retries, end to end through real boto3 and the emulator."""

from __future__ import annotations

import time
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import ModelAPIError, ModelNotFoundError

from langchain_jumpstart_stream import errors
from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER

QUESTION = "How do I build a website?"


class Errors(BaseCallbackHandler):
    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors.append(error)


def consume(model, handler: Errors | None = None) -> tuple[list[str], BaseException]:
    got: list[str] = []
    config = {"callbacks": [handler]} if handler else None
    with pytest.raises(errors.JumpStartStreamError) as info:
        for token in model.stream(QUESTION, config=config):
            got.append(token)
    return got, info.value


def test_missing_endpoint(llm) -> None:
    handler = Errors()
    with pytest.raises(errors.EndpointNotFoundError) as info:
        llm("no-such-endpoint").invoke(QUESTION, config={"callbacks": [handler]})
    err = info.value
    assert isinstance(err, ModelNotFoundError)
    assert err.error_code == "ValidationError"
    assert err.request_id
    text = str(err)
    assert "no-such-endpoint" in text and "ValidationError" in text and "list-endpoints" in text
    assert len(handler.errors) == 1  # langchain-core reports it once; we never do


@pytest.mark.parametrize(
    ("kind", "cls", "code"),
    [
        ("model_stream_error", errors.ModelStreamError, "ModelStreamError"),
        ("internal_stream_failure", errors.InternalStreamFailure, "InternalStreamFailure"),
        ("in_band", errors.ContainerError, None),
    ],
)
def test_mid_stream_errors_keep_delivered_tokens(
    endpoint, llm, requests_to, kind, cls, code
) -> None:
    name = endpoint(stream_format="tgi", error_after_tokens=5, error_kind=kind)
    handler = Errors()
    got, err = consume(llm(name), handler)
    assert isinstance(err, cls)
    assert isinstance(err, ModelAPIError)
    assert len(got) == 5
    assert "".join(got) == WEBSITE_ANSWER[: len("".join(got))]
    assert err.partial_text == "".join(got)
    assert err.endpoint_name == name
    if code:
        assert err.error_code == code
    assert err.request_id == requests_to(name)[0].request_id
    assert len(handler.errors) == 1
    assert handler.tokens == got
    assert len(requests_to(name)) == 1  # never retried after a token


def test_lmi_error_line(endpoint, llm) -> None:
    name = endpoint(stream_format="jsonlines", error_after_tokens=3, error_kind="in_band")
    got, err = consume(llm(name))
    assert isinstance(err, errors.ContainerError)
    assert len(got) == 3


def test_invoke_error_keeps_partial_text(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi", error_after_tokens=4)
    handler = Errors()
    with pytest.raises(errors.ModelStreamError) as info:
        llm(name).invoke(QUESTION, config={"callbacks": [handler]})
    assert info.value.partial_text == "".join(handler.tokens)
    assert len(handler.tokens) == 4


def test_model_error_before_stream(endpoint, llm) -> None:
    name = endpoint(
        stream_format="tgi",
        http_errors=[(424, "ModelError", "Input validation error: inputs too long")],
    )
    with pytest.raises(errors.ModelInvocationError) as info:
        llm(name).invoke(QUESTION)
    assert "inputs too long" in str(info.value)
    assert info.value.error_code == "ModelError"


def test_throttling_is_retried_then_succeeds(endpoint, llm, requests_to) -> None:
    name = endpoint(
        stream_format="tgi",
        http_errors=[
            (400, "ThrottlingException", "Rate exceeded"),
            (503, "ServiceUnavailable", "busy"),
        ],
    )
    assert llm(name, max_retries=2).invoke(QUESTION) == WEBSITE_ANSWER
    assert len(requests_to(name)) == 3


def test_persistent_5xx_is_a_clear_error_after_retries(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi", http_errors=[(500, "InternalFailure", "boom")] * 5)
    with pytest.raises(errors.EndpointServiceError) as info:
        llm(name, max_retries=2).invoke(QUESTION)
    assert len(requests_to(name)) == 3
    assert "after 3 attempts" in str(info.value)
    assert info.value.error_code == "InternalFailure"


def test_throttling_exhausted(endpoint, llm) -> None:
    name = endpoint(
        stream_format="tgi", http_errors=[(400, "ThrottlingException", "Rate exceeded")] * 3
    )
    with pytest.raises(errors.EndpointThrottledError):
        llm(name, max_retries=1).invoke(QUESTION)


def test_internal_failure_before_first_token_is_retried(
    endpoint, llm, requests_to, emulator
) -> None:
    name = endpoint(stream_format="tgi", error_after_tokens=0, error_kind="internal_stream_failure")
    with pytest.raises(errors.InternalStreamFailure):
        llm(name, max_retries=1).invoke(QUESTION)
    assert len(requests_to(name)) == 2


def test_stall_times_out_in_about_the_configured_time(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi", stall_after_tokens=3, stall_seconds=20)
    start = time.monotonic()
    got, err = consume(llm(name, read_timeout=1.0))
    elapsed = time.monotonic() - start
    assert isinstance(err, errors.StreamTimeoutError)
    assert len(got) == 3
    assert err.partial_text == "".join(got)
    assert elapsed < 6


def test_dropped_connection_is_an_error_not_a_short_answer(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi", drop_after_tokens=6)
    got, err = consume(llm(name))
    assert isinstance(err, errors.StreamInterruptedError)
    assert len(got) == 6
    assert "incomplete" in str(err)


def test_bad_crc_is_a_frame_error(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi", bad_crc_after_tokens=2)
    got, err = consume(llm(name))
    assert isinstance(err, errors.FrameError)
    assert len(got) == 2


def test_truncated_last_frame(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi", truncate_last_frame=True)
    _, err = consume(llm(name))
    assert isinstance(err, errors.FrameError)


def test_endless_line_is_bounded(endpoint, llm) -> None:
    name = endpoint(stream_format="jsonlines", endless_line_bytes=300_000)
    got, err = consume(llm(name, max_line_bytes=100_000))
    assert isinstance(err, errors.LineTooLongError)
    assert "max_line_bytes=100000" in str(err)


def test_empty_stream_without_a_final_record_is_incomplete(endpoint, llm, requests_to) -> None:
    """Zero bytes is not an empty answer: no container ends a generation that way."""
    name = endpoint(stream_format="tgi", empty_stream=True)
    with pytest.raises(errors.StreamInterruptedError, match="final record") as info:
        list(llm(name, max_retries=1)._stream(QUESTION))
    assert info.value.partial_text == ""
    assert len(requests_to(name)) == 2  # nothing was delivered, so it was retried


def test_no_region_is_a_configuration_error(monkeypatch) -> None:
    from langchain_jumpstart_stream import JumpStartLLM

    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(errors.ConfigurationError, match="region"):
        JumpStartLLM(endpoint_name="x").invoke("hi")


def test_unreachable_endpoint_is_a_connection_error(llm) -> None:
    with pytest.raises(errors.EndpointConnectionError):
        llm("x", endpoint_url="http://127.0.0.1:9", max_retries=1, connect_timeout=1).invoke("hi")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_prompt_too_long_model_error_is_a_context_overflow(endpoint, llm, mode: str) -> None:
    """vLLM's words inside SageMaker's ModelError: langchain-core's ContextOverflowError."""
    import asyncio

    from langchain_core.exceptions import ContextOverflowError

    vllm_says = (
        "This model's maximum context length is 4096 tokens. However, you requested "
        "5000 tokens (4900 in the messages, 100 in the completion)."
    )
    name = endpoint(stream_format="tgi", http_errors=[(424, "ModelError", vllm_says)])
    model = llm(name, max_retries=0)
    with pytest.raises(errors.PromptTooLongRequestError) as info:
        if mode == "sync":
            model.invoke(QUESTION)
        else:
            asyncio.run(model.ainvoke(QUESTION))
    assert isinstance(info.value, ContextOverflowError)
    assert "maximum context length" in str(info.value)
