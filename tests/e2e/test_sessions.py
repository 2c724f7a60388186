"""Stateful sessions end to end: model.session() → real boto3 → emulator → callbacks."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler

from langchain_jumpstart_stream import JumpStartLLM, errors
from langchain_jumpstart_stream._sessions import parse_new_session_id
from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER, Emulator, EndpointConfig, Routing

QUESTION = "How do I build a website?"
SESSION = "x-amzn-sagemaker-session-id"


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


class AsyncTokens(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    async def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def _check_lifecycle(seen: list[Any], session_id: str, calls: int) -> None:
    """NEW_SESSION by InvokeEndpoint, the calls streamed in the session, then the close."""
    opening, *inside, closing = seen
    assert not opening.streaming and opening.headers[SESSION] == "NEW_SESSION"
    assert opening.json == {"requestType": "NEW_SESSION"}
    assert len(inside) == calls
    assert all(r.streaming and r.headers[SESSION] == session_id for r in inside)
    assert len({r.instance for r in inside} | {opening.instance}) == 1  # one instance
    assert not closing.streaming and closing.headers[SESSION] == session_id
    assert closing.json == {"requestType": "CLOSE"}


def test_sync_session_streams_in_the_session_and_closes(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi", routing=Routing(instances=3))
    model = llm(name)
    handler = Tokens()
    with model.session() as session:
        assert session.id is not None and session.expires is not None
        assert session.expires > datetime.now(timezone.utc) + timedelta(minutes=15)
        first = "".join(session.model.stream(QUESTION, config={"callbacks": [handler]}))
        second = session.model.invoke(QUESTION)
    assert first == second == WEBSITE_ANSWER
    assert "".join(handler.tokens) == WEBSITE_ANSWER and len(handler.tokens) > 20
    assert session.closed and session.closed_session_id == session.id
    assert model.session_id is None  # the model itself is untouched
    _check_lifecycle(requests_to(name), session.id, calls=2)


async def test_async_session_streams_in_the_session_and_closes(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="tgi", routing=Routing(instances=3))
    model = chat(name, model_id="huggingface-llm-falcon-7b-instruct-bf16")
    handler = AsyncTokens()
    async with model.session() as session:
        chunks = [c async for c in session.model.astream(QUESTION, config={"callbacks": [handler]})]
        answer = await session.model.ainvoke(QUESTION)
    text = "".join(str(c.content) for c in chunks)
    assert text == answer.content and len(text) > 20
    assert "".join(handler.tokens) == text
    assert session.closed and session.closed_session_id == session.id
    _check_lifecycle(requests_to(name), str(session.id), calls=2)


def test_sync_session_closes_after_an_error_in_the_block(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    with pytest.raises(KeyError, match="boom"), llm(name).session() as session:
        session.model.invoke(QUESTION)
        raise KeyError("boom")
    assert session.closed
    assert requests_to(name)[-1].json == {"requestType": "CLOSE"}


async def test_async_session_closes_after_an_error_and_a_cancel(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi", tokens_per_second=20)
    model = llm(name)
    with pytest.raises(KeyError, match="boom"):
        async with model.session() as session:
            raise KeyError("boom")
    assert session.closed

    async def chat_forever() -> None:
        async with model.session() as inner:
            started.set()
            await inner.model.ainvoke(QUESTION)  # slow: cancelled half-way

    started = asyncio.Event()
    task = asyncio.create_task(chat_forever())
    await started.wait()
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    closes = [r for r in requests_to(name) if r.json == {"requestType": "CLOSE"}]
    assert len(closes) == 2


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_failed_close_never_masks_the_blocks_error(mode, caplog) -> None:
    emu = Emulator(default=EndpointConfig()).start()
    model = JumpStartLLM(
        endpoint_name="e", endpoint_url=emu.url, region_name="us-east-1", max_retries=0
    )
    caplog.set_level(logging.WARNING, logger="langchain_jumpstart_stream._sessions")
    with pytest.raises(KeyError, match="the real problem"):
        if mode == "sync":
            with model.session():
                emu.stop()  # the close cannot reach the endpoint
                raise KeyError("the real problem")
        else:
            async with model.session():
                emu.stop()
                raise KeyError("the real problem")
    assert "could not close stateful session" in caplog.text


def test_a_failed_close_after_a_clean_block_is_raised() -> None:
    emu = Emulator(default=EndpointConfig()).start()
    model = JumpStartLLM(
        endpoint_name="e", endpoint_url=emu.url, region_name="us-east-1", max_retries=0
    )
    with pytest.raises(errors.EndpointConnectionError), model.session():
        emu.stop()


def test_expired_session_is_reported_clearly_and_closing_it_is_quiet(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi", session_ttl=0.3)
    model = llm(name)
    with model.session() as session:
        time.sleep(0.8)
        with pytest.raises(errors.SessionExpiredError) as caught:
            "".join(session.model.stream(QUESTION))
    err = caught.value
    assert isinstance(err, errors.ModelInvocationError) and not err.retryable
    assert err.endpoint_name == name and err.error_code == "ModelError"
    assert "expired, was closed or never existed" in str(err)
    assert "Open a new session" in str(err)
    assert session.closed and session.closed_session_id is None  # it was already gone


async def test_expired_session_async(endpoint, chat) -> None:
    name = endpoint(stream_format="tgi", session_ttl=0.3)
    model = chat(name, model_id="huggingface-llm-falcon-7b-instruct-bf16")
    async with model.session() as session:
        await asyncio.sleep(0.8)
        with pytest.raises(errors.SessionExpiredError, match="Open a new session"):
            [c async for c in session.model.astream(QUESTION)]


def test_unknown_session_is_not_retried(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    with pytest.raises(errors.SessionExpiredError):
        llm(name, session_id="no-such-session", max_retries=3).invoke(QUESTION)
    assert len(requests_to(name)) == 1


def test_using_a_session_after_it_closed_is_refused(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi")
    with llm(name).session() as session:
        pass
    with pytest.raises(errors.SessionExpiredError):
        session.model.invoke(QUESTION)


def test_the_model_of_an_unopened_session_is_an_error(endpoint, llm) -> None:
    with pytest.raises(errors.ConfigurationError, match="not open"):
        _ = llm(endpoint()).session().model


def test_new_session_on_a_streaming_call_is_refused_before_sending(
    endpoint, llm, requests_to
) -> None:
    name = endpoint(stream_format="tgi")
    with pytest.raises(errors.ConfigurationError, match="only InvokeEndpoint opens one"):
        list(llm(name, session_id="NEW_SESSION").stream(QUESTION))
    assert requests_to(name) == []


def test_container_without_sessions(endpoint, llm) -> None:
    with pytest.raises(errors.ModelInvocationError, match="not enabled"):
        llm(endpoint(stream_format="tgi", session_ttl=None)).session().open()


async def test_an_answer_without_new_session_id_is_a_configuration_error(endpoint, llm) -> None:
    # The container serves a body it does not read as "open a session" like any request.
    model = llm(endpoint(stream_format="tgi"))
    with pytest.raises(errors.ConfigurationError, match="did not open a stateful session"):
        model.session(open_body={"inputs": "hello"}).open()
    with pytest.raises(errors.ConfigurationError, match="SAGEMAKER_ENABLE_STATEFUL_SESSIONS"):
        await model.session(open_body=b'{"inputs": "hello"}').aopen()


def test_custom_bodies_are_sent_as_given(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    opening = {"requestType": "NEW_SESSION", "note": "mine"}
    with llm(name).session(open_body=opening, close_body=b'{"requestType":"CLOSE"}'):
        pass
    first, last = requests_to(name)
    assert first.json == opening
    assert last.body == b'{"requestType":"CLOSE"}'


def test_sessions_on_one_model_do_not_mix(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi", routing=Routing(instances=2))
    model = llm(name)
    with model.session() as one, model.session() as two:
        assert one.id != two.id
        one.model.invoke(QUESTION)
        two.model.invoke(QUESTION)
        one.model.invoke(QUESTION)
    served = [r.headers.get(SESSION) for r in requests_to(name) if r.streaming]
    assert served == [one.id, two.id, one.id]


def test_session_routes_with_inference_component_and_variant(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    with llm(name, inference_component_name="ic-1", target_variant="blue").session() as s:
        s.model.invoke(QUESTION)
    for request in requests_to(name):
        assert request.headers["x-amzn-sagemaker-inference-component"] == "ic-1"
        assert request.headers["x-amzn-sagemaker-target-variant"] == "blue"


def test_parse_new_session_id() -> None:
    session_id, expires = parse_new_session_id("ab-12; Expires=2026-12-06T10:00:00Z")
    assert session_id == "ab-12"
    assert expires == datetime(2026, 12, 6, 10, 0, tzinfo=timezone.utc)
    for bad in ("ab-12", "ab-12; Expires=tomorrow", "-ab; Expires=2026-12-06T10:00:00Z", ""):
        with pytest.raises(ValueError, match="Expires"):
            parse_new_session_id(bad)


def test_custom_bodies_can_be_json_strings_too(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    body = json.dumps({"requestType": "NEW_SESSION"}).encode()
    with llm(name).session(open_body=body):
        pass
    assert requests_to(name)[0].body == body


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_stubbed_client_opens_and_closes_a_session(mode: str) -> None:
    import io

    import boto3
    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    model = JumpStartLLM(endpoint_name="stubbed", client=client, max_retries=0)

    def answer(**members: str) -> dict[str, Any]:
        return {"Body": StreamingBody(io.BytesIO(b"ok"), 2), **members}

    with Stubber(client) as stubber:
        stubber.add_response(
            "invoke_endpoint",
            answer(NewSessionId="s-1; Expires=2030-01-01T00:00:00Z"),
            {
                "EndpointName": "stubbed",
                "SessionId": "NEW_SESSION",
                "Body": b'{"requestType": "NEW_SESSION"}',
                "ContentType": "application/json",
                "Accept": "application/json",
            },
        )
        stubber.add_response("invoke_endpoint", answer(ClosedSessionId="s-1"))
        session = model.session()
        if mode == "sync":
            with session:
                assert session.model.session_id == "s-1"
        else:

            async def run() -> None:
                async with session:
                    assert session.model.session_id == "s-1"

            asyncio.run(run())
        stubber.assert_no_pending_responses()
    assert session.expires == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert session.closed_session_id == "s-1"


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("ValidationError", "Session 0a1b-77 not found.", errors.SessionExpiredError),
        (
            "ValidationError",
            "Endpoint e of account 123456789012 not found.",
            errors.EndpointNotFoundError,
        ),
        (
            "ValidationError",
            "1 validation error detected: Value 'x' at 'sessionId' failed",
            errors.InvalidRequestError,
        ),
    ],
)
async def test_how_a_router_refusal_is_read(endpoint, llm, code, message, expected) -> None:
    # SageMaker does not document its router's words for an unknown session id.
    name = endpoint(stream_format="tgi", http_errors=[(400, code, message)] * 2)
    model = llm(name, session_id="0a1b-77", max_retries=0)
    with pytest.raises(expected) as sync_error:
        model.invoke(QUESTION)
    with pytest.raises(expected) as async_error:
        [c async for c in model.astream(QUESTION)]
    for err in (sync_error.value, async_error.value):
        assert type(err) is expected and err.error_code == code
