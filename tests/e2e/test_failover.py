"""Failover targets, end to end: real boto3 -> emulator -> our parser -> LangChain callbacks.

Every behaviour runs four ways: JumpStartLLM and ChatJumpStart, sync and async.
"""

from __future__ import annotations

import asyncio
import os
import time
import warnings
from typing import Any

import pytest
from pydantic import ValidationError

from langchain_jumpstart_stream import JumpStartLLM, Target, errors
from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER

from ._answers import BUSY, COLD, FALCON, QUESTION, THROTTLED, WAYS, ask, fail, model_maker


@pytest.fixture
def model(llm, chat) -> Any:
    return model_maker(llm, chat)


@pytest.mark.parametrize(("kind", "mode"), WAYS)
@pytest.mark.parametrize("first_error", [THROTTLED, COLD, BUSY], ids=["throttled", "cold", "5xx"])
async def test_answer_comes_from_the_next_target_before_the_first_token(
    endpoint, model, requests_to, kind, mode, first_error
) -> None:
    primary = endpoint(http_errors=[first_error])
    secondary = endpoint(variant_name="Blue")
    chosen = model(kind, primary, fallback_targets=[secondary], max_retries=0)
    text, info = await ask(chosen, mode)
    assert text == WEBSITE_ANSWER
    assert info["endpoint_name"] == secondary
    assert info["invoked_production_variant"] == "Blue"
    assert info["region_name"] == "us-east-1"
    assert info["attempts"] == 2
    assert info["request_id"] == requests_to(secondary)[0].request_id
    assert len(requests_to(primary)) == 1  # max_retries=0: moving on is not a retry
    assert len(requests_to(secondary)) == 1


@pytest.mark.parametrize(("kind", "mode"), WAYS)
@pytest.mark.parametrize(
    "fault",
    [
        {"drop_after_tokens": 0},
        {"error_after_tokens": 0, "error_kind": "internal_stream_failure"},
    ],
    ids=["reset-before-first-token", "internal-stream-failure"],
)
async def test_a_stream_broken_before_its_first_token_moves_on(
    endpoint, model, requests_to, kind, mode, fault
) -> None:
    primary = endpoint(**fault)
    secondary = endpoint()
    text, info = await ask(model(kind, primary, fallback_targets=[secondary]), mode)
    assert text == WEBSITE_ANSWER
    assert info["endpoint_name"] == secondary
    assert len(requests_to(primary)) == 1


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_never_moves_after_a_token(endpoint, model, requests_to, kind, mode) -> None:
    primary = endpoint(drop_after_tokens=5)
    secondary = endpoint()
    got, err = await fail(model(kind, primary, fallback_targets=[secondary]), mode)
    assert isinstance(err, errors.StreamInterruptedError)
    assert err.partial_text == got
    assert got and WEBSITE_ANSWER.startswith(got)
    assert err.endpoint_name == primary
    assert requests_to(secondary) == []  # half an answer is never restarted elsewhere
    assert len(requests_to(primary)) == 1


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_an_error_a_retry_cannot_fix_does_not_move(
    endpoint, model, requests_to, kind, mode
) -> None:
    primary = endpoint(http_errors=[(424, "ModelError", "Input validation error")])
    secondary = endpoint()
    _, err = await fail(model(kind, primary, fallback_targets=[secondary]), mode)
    assert isinstance(err, errors.ModelInvocationError)
    assert "Input validation error" in str(err)
    assert requests_to(secondary) == []


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_when_every_target_fails_the_error_lists_each(
    endpoint, model, requests_to, kind, mode
) -> None:
    primary = endpoint(http_errors=[THROTTLED] * 4)
    secondary = endpoint(http_errors=[(500, "InternalFailure", "boom")] * 4)
    chosen = model(kind, primary, fallback_targets=[secondary], max_retries=1)
    got, err = await fail(chosen, mode)
    assert got == ""
    # The same class as without failover for the last failure; every failure listed.
    assert isinstance(err, errors.EndpointServiceError)
    assert err.error_code == "InternalFailure"
    text = str(err)
    assert (
        f"[every target failed: {primary} in us-east-1: ThrottlingException; "
        f"{secondary} in us-east-1: InternalFailure; "
    ) in text
    assert "gave up after 4 attempts" in text
    # One round, a backoff, a second round: each target tried twice.
    assert [type(e) for e in err.failures] == [
        errors.EndpointThrottledError,
        errors.EndpointServiceError,
    ] * 2
    assert [e.endpoint_name for e in err.failures] == [primary, secondary] * 2
    assert err.failures[-1] is err
    assert len(requests_to(primary)) == len(requests_to(secondary)) == 2


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_a_failed_target_cools_down_then_is_used_again(
    endpoint, model, requests_to, kind, mode
) -> None:
    primary = endpoint(http_errors=[THROTTLED])
    secondary = endpoint()
    # Long enough that two calls fit in it on a loaded machine; the unit tests of
    # Breaker check the cool-down's arithmetic with a fake clock.
    chosen = model(kind, primary, fallback_targets=[secondary], failover_cooldown=2.0)
    _, first = await ask(chosen, mode)
    assert (first["endpoint_name"], first["attempts"]) == (secondary, 2)
    # While it cools down, the next call of the same model goes straight to the other.
    _, second = await ask(chosen, mode)
    assert (second["endpoint_name"], second["attempts"]) == (secondary, 1)
    assert len(requests_to(primary)) == 1
    # Another model instance has its own breaker.
    _, other = await ask(model(kind, primary, fallback_targets=[secondary]), mode)
    assert other["endpoint_name"] == primary
    # After the cool-down the primary is first again.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, later = await ask(chosen, mode)
        if later["endpoint_name"] == primary:
            break
        await asyncio.sleep(0.1)
    assert later["endpoint_name"] == primary
    assert later["attempts"] == 1


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_a_target_in_cool_down_is_still_tried_last(
    endpoint, model, requests_to, kind, mode
) -> None:
    primary = endpoint(http_errors=[THROTTLED])
    secondary = endpoint(http_errors=[BUSY, BUSY])
    chosen = model(kind, primary, fallback_targets=[secondary], max_retries=0)
    _, err = await fail(chosen, mode)  # both fail: both cool down
    assert isinstance(err, errors.EndpointServiceError)
    # Both cooling: the call tries them anyway, in the configured order, rather than
    # give up untried; the primary has recovered.
    _, info = await ask(chosen, mode)
    assert (info["endpoint_name"], info["attempts"]) == (primary, 1)
    assert len(requests_to(primary)) == 2
    assert len(requests_to(secondary)) == 1


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_targets_name_component_variant_and_region(
    endpoint, model, requests_to, kind, mode
) -> None:
    name = endpoint(http_errors=[THROTTLED])
    fallback = Target(
        endpoint_name=name,
        inference_component_name="ic-spare",
        target_variant="Green",
        region_name="us-west-2",
    )
    chosen = model(kind, name, inference_component_name="ic-main", fallback_targets=[fallback])
    text, info = await ask(chosen, mode)
    assert text == WEBSITE_ANSWER
    assert info == {
        **info,
        "endpoint_name": name,
        "inference_component_name": "ic-spare",
        "target_variant": "Green",
        "invoked_production_variant": "Green",
        "region_name": "us-west-2",
        "attempts": 2,
    }
    first, second = requests_to(name)
    assert first.headers["x-amzn-sagemaker-inference-component"] == "ic-main"
    assert "/us-east-1/sagemaker/" in first.headers["authorization"]
    assert "x-amzn-sagemaker-target-variant" not in first.headers
    assert second.headers["x-amzn-sagemaker-inference-component"] == "ic-spare"
    assert second.headers["x-amzn-sagemaker-target-variant"] == "Green"
    assert "/us-west-2/sagemaker/" in second.headers["authorization"]  # its own client


@pytest.mark.parametrize("kind", ["llm", "chat"])
async def test_whole_answers_fail_over_too(endpoint, model, requests_to, kind) -> None:
    primary = endpoint(http_errors=[THROTTLED, THROTTLED])
    secondary = endpoint(variant_name="Blue")
    chosen = model(kind, primary, fallback_targets=[secondary], disable_streaming=True)
    for result in (chosen.invoke(QUESTION), await chosen.ainvoke(QUESTION)):
        text = getattr(result, "content", result)
        assert text == WEBSITE_ANSWER
    assert [r.streaming for r in requests_to(secondary)] == [False, False]
    assert len(requests_to(primary)) == 1  # the second call skipped it: cooling down
    if kind == "chat":
        info = chosen.invoke(QUESTION).response_metadata["jumpstart"]
        assert info["endpoint_name"] == secondary
        assert info["invoked_production_variant"] == "Blue"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_timeout_bounds_the_whole_call_across_targets(
    endpoint, model, requests_to, mode
) -> None:
    primary = endpoint(http_errors=[THROTTLED] * 100)
    secondary = endpoint(http_errors=[THROTTLED] * 100)
    chosen = model(
        "llm",
        primary,
        fallback_targets=[secondary],
        max_retries=100,
        retry_base_delay=0.05,
        timeout=1.0,
        failover_cooldown=0,
    )
    _, err = await fail(chosen, mode)
    # The deadline ends the call between attempts (the last failure: throttling) or,
    # on a loaded machine, during one (the call's own timeout); either way it ends it.
    assert isinstance(err, errors.EndpointThrottledError) or (
        isinstance(err, errors.StreamTimeoutError) and "within its timeout of 1 s" in str(err)
    )
    assert len(requests_to(primary)) >= 1 and len(requests_to(secondary)) >= 1
    assert len(requests_to(primary)) < 100


async def test_a_session_stays_on_its_endpoint(endpoint, llm, requests_to) -> None:
    primary = endpoint(http_errors=[THROTTLED])
    secondary = endpoint()
    chosen = llm(primary, fallback_targets=[secondary], max_retries=0, session_id="sess-1")
    with pytest.raises(errors.EndpointThrottledError):
        chosen.invoke(QUESTION)
    assert requests_to(secondary) == []


def test_bad_targets_are_clear_errors(emulator) -> None:
    with pytest.raises(ValidationError, match="is the model's own target"):
        JumpStartLLM(endpoint_name="a", region_name="us-east-1", fallback_targets=["a"])
    with pytest.raises(ValidationError, match="endpoint_name"):
        JumpStartLLM(endpoint_name="a", fallback_targets=[{"endpoint": "b"}])
    with pytest.raises(ValidationError, match="endpoint_name"):
        JumpStartLLM(endpoint_name="a", fallback_targets=[""])
    client = JumpStartLLM(endpoint_name="x", region_name="eu-west-1").get_client()
    with pytest.raises(ValidationError, match="client given calls eu-west-1") as info:
        JumpStartLLM(
            endpoint_name="a",
            client=client,
            fallback_targets=[Target(endpoint_name="b", region_name="us-west-2")],
        )
    assert "Leave client= out" in str(info.value)
    # One name or one target is a list of one.
    one = JumpStartLLM(endpoint_name="a", fallback_targets="b")
    assert one.fallback_targets == [Target(endpoint_name="b")]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_fails_over_with_its_own_connections(endpoint, llm, requests_to) -> None:
    """Per-region connections are remade in a child; the breaker holds only numbers."""
    primary = endpoint(http_errors=[THROTTLED])
    secondary = endpoint()
    chosen = llm(
        primary,
        fallback_targets=[Target(endpoint_name=secondary, region_name="us-west-2")],
    )
    assert chosen.invoke(QUESTION) == WEBSITE_ANSWER  # the parent made both connections
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # forking with threads
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            result = chosen.generate([QUESTION]).generations[0][0]
            served = (result.generation_info or {})["jumpstart"]
            # The parent's cool-down of the primary is still known here.
            ok = result.text == WEBSITE_ANSWER and served["endpoint_name"] == secondary
            code = 0 if ok and served["attempts"] == 1 else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the child hung")
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(requests_to(secondary)) == 2


def test_a_model_with_targets_survives_dumps_and_loads() -> None:
    from langchain_core.load import dumps, loads

    chosen = JumpStartLLM(
        endpoint_name="a",
        region_name="us-east-1",
        fallback_targets=["b", Target(endpoint_name="c", region_name="eu-west-1")],
        failover_cooldown=5,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loads() is beta
        again = loads(
            dumps(chosen),
            valid_namespaces=["langchain_jumpstart_stream"],
            allowed_objects=[JumpStartLLM, Target],
        )
    assert again.fallback_targets == chosen.fallback_targets
    assert again.failover_cooldown == 5


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_concurrent_calls_share_one_breaker(endpoint, chat, requests_to, mode) -> None:
    """batch() in threads, abatch() on the event loop: every answer whole, one cool-down."""
    primary = endpoint(http_errors=[THROTTLED] * 2, tokens_per_second=500)
    secondary = endpoint(tokens_per_second=500)
    chosen = chat(primary, model_id=FALCON, fallback_targets=[secondary], max_retries=0)
    questions = [QUESTION] * 8
    if mode == "sync":
        answers = chosen.batch(questions, config={"max_concurrency": 4})
    else:
        answers = await chosen.abatch(questions, config={"max_concurrency": 4})
    assert [a.content for a in answers] == [WEBSITE_ANSWER] * 8
    reports = [a.response_metadata["jumpstart"] for a in answers]
    served = [r["endpoint_name"] for r in reports]
    to_primary, to_secondary = len(requests_to(primary)), len(requests_to(secondary))
    throttled = min(2, to_primary)  # a call that starts after a throttle skips the primary
    assert throttled >= 1
    assert to_primary + to_secondary == 8 + throttled  # nothing sent twice, nothing lost
    assert served.count(secondary) == to_secondary
    assert served.count(primary) == to_primary - throttled
    assert sum(r["attempts"] for r in reports) == 8 + throttled
