"""The emulator's stateful sessions and prefix-aware routing, on the wire through boto3.

Header names and value patterns are checked against botocore's own service model,
not against the emulator's code.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import botocore.session
import pytest

from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig, Routing

OPEN = json.dumps({"requestType": "NEW_SESSION"})
CLOSE = json.dumps({"requestType": "CLOSE"})


def _member(operation: str, direction: str, name: str) -> Any:
    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    op = model.operation_model(operation)
    shape = op.input_shape if direction == "in" else op.output_shape
    return shape.members[name]


def _open(client: Any, name: str) -> dict[str, Any]:
    return client.invoke_endpoint(  # type: ignore[no-any-return]
        EndpointName=name, SessionId="NEW_SESSION", Body=OPEN, ContentType="application/json"
    )


@pytest.fixture
def fleet(emu: Emulator) -> Any:
    counter = iter(range(10_000))

    def make(**config: Any) -> str:
        name = f"routing-{next(counter)}-{time.monotonic_ns()}"
        emu.add_endpoint(name, EndpointConfig(**config))
        return name

    return make


def test_open_answers_new_session_id_in_the_service_models_format(client, fleet) -> None:
    name = fleet()
    answer = _open(client, name)
    member = _member("InvokeEndpoint", "out", "NewSessionId")
    assert member.serialization["name"] == "X-Amzn-SageMaker-New-Session-Id"
    assert re.fullmatch(member.metadata["pattern"].strip("^$"), answer["NewSessionId"])
    session_id = answer["NewSessionId"].split(";")[0]
    assert re.fullmatch(
        _member("InvokeEndpoint", "in", "SessionId").metadata["pattern"].split("|")[1].strip("^$"),
        session_id,
    )


def test_session_requests_stick_to_the_opening_instance_and_close(client, fleet, emu) -> None:
    name = fleet(routing=Routing(instances=3))
    session_id = _open(client, name)["NewSessionId"].split(";")[0]
    opened_on = emu.requests[-1].instance
    for _ in range(4):
        response = client.invoke_endpoint_with_response_stream(
            EndpointName=name, SessionId=session_id, Body=b'{"inputs": "hi", "stream": true}'
        )
        assert list(response["Body"])
        assert emu.requests[-1].instance == opened_on
    closed = client.invoke_endpoint(EndpointName=name, SessionId=session_id, Body=CLOSE)
    assert closed["ClosedSessionId"] == session_id
    assert _member("InvokeEndpoint", "out", "ClosedSessionId").serialization["name"] == (
        "X-Amzn-SageMaker-Closed-Session-Id"
    )


@pytest.mark.parametrize("why", ["closed", "unknown", "expired"])
def test_a_gone_session_is_the_containers_400_relayed_as_model_error(client, fleet, why) -> None:
    # Only the expired case may expire: under load, opening then closing can take 0.2 s.
    name = fleet(session_ttl=0.2 if why == "expired" else 60)
    session_id = "0b7d-unknown"
    if why != "unknown":
        session_id = _open(client, name)["NewSessionId"].split(";")[0]
    if why == "closed":
        client.invoke_endpoint(EndpointName=name, SessionId=session_id, Body=CLOSE)
    if why == "expired":
        time.sleep(0.5)
    with pytest.raises(client.exceptions.ModelError) as caught:
        client.invoke_endpoint(EndpointName=name, SessionId=session_id, Body=b'{"inputs": "x"}')
    response = caught.value.response
    assert response["OriginalStatusCode"] == 400
    assert f"Bad request: session not found: {session_id}" in response["Error"]["Message"]
    assert response["Error"]["Message"].startswith("Received client error (400) from primary")


def test_new_session_on_the_streaming_operation_is_a_validation_error(client, fleet) -> None:
    with pytest.raises(client.exceptions.ValidationError, match="sessionId"):
        client.invoke_endpoint_with_response_stream(
            EndpointName=fleet(), SessionId="NEW_SESSION", Body=b'{"inputs": "x"}'
        )


def test_new_session_without_a_session_body_is_served_without_a_session(client, fleet) -> None:
    answer = client.invoke_endpoint(
        EndpointName=fleet(), SessionId="NEW_SESSION", Body=b'{"inputs": "hello"}'
    )
    assert "NewSessionId" not in answer
    assert json.loads(answer["Body"].read())


def test_a_container_without_sessions_refuses_to_open_one(client, fleet) -> None:
    with pytest.raises(client.exceptions.ModelError, match="not enabled"):
        _open(client, fleet(session_ttl=None))


def test_prefix_aware_id_sticks_and_round_robin_spreads(client, fleet, emu) -> None:
    name = fleet(routing=Routing(instances=2))
    served = []
    for _ in range(4):
        client.invoke_endpoint(EndpointName=name, PrefixAwareId="conv-7", Body=b'{"inputs": "a"}')
        served.append(emu.requests[-1].instance)
    assert len(set(served)) == 1
    spread = []
    for _ in range(4):
        client.invoke_endpoint(EndpointName=name, Body=b'{"inputs": "a"}')
        spread.append(emu.requests[-1].instance)
    assert set(spread) == {0, 1}


def test_an_endpoint_without_prefix_aware_routing_ignores_the_id(client, fleet, emu) -> None:
    name = fleet(routing=Routing(instances=2, prefix_aware=False))
    served = set()
    for _ in range(4):
        client.invoke_endpoint(EndpointName=name, PrefixAwareId="conv-7", Body=b'{"inputs": "a"}')
        served.add(emu.requests[-1].instance)
    assert served == {0, 1}


def test_a_repeated_prefix_is_cached_on_its_instance_and_prefills_faster(
    client, fleet, emu
) -> None:
    per_char = 0.002
    name = fleet(routing=Routing(instances=2, prefill_seconds_per_char=per_char))
    history = "User: tell me about the sea. " * 10  # 300 characters
    started = time.perf_counter()
    client.invoke_endpoint(
        EndpointName=name, PrefixAwareId="c", Body=json.dumps({"inputs": history})
    )
    first = time.perf_counter() - started
    assert emu.requests[-1].cached_chars == 0
    assert first >= per_char * len(history)  # a lower bound: the server waited at least this
    follow_up = history + "Assistant: it is big. User: and deep?"
    client.invoke_endpoint(
        EndpointName=name, PrefixAwareId="c", Body=json.dumps({"inputs": follow_up})
    )
    assert emu.requests[-1].cached_chars == len(history)


def test_the_prefix_cache_forgets_the_least_recently_used_prompt(client, fleet, emu) -> None:
    name = fleet(routing=Routing(instances=1, cache_prompts=1))
    for text in ("alpha alpha", "beta beta", "alpha alpha"):
        client.invoke_endpoint(EndpointName=name, Body=json.dumps({"inputs": text}))
    assert emu.requests[-1].cached_chars == 0  # "beta beta" pushed it out


def test_messages_bodies_are_cached_by_conversation(client, fleet, emu) -> None:
    name = fleet(stream_format="openai-chat", routing=Routing(instances=1))
    turn = [{"role": "user", "content": "Hello there, how are you?"}]
    client.invoke_endpoint(EndpointName=name, Body=json.dumps({"messages": turn}))
    longer = [*turn, {"role": "assistant", "content": "Fine."}, {"role": "user", "content": "Good"}]
    client.invoke_endpoint(EndpointName=name, Body=json.dumps({"messages": longer}))
    assert emu.requests[-1].cached_chars > len("Hello there, how are you?")


@pytest.mark.parametrize(
    "bad",
    [
        {"instances": 0},
        {"cache_prompts": 0},
        {"prefill_seconds": -1.0},
    ],
)
def test_routing_rejects_nonsense(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Routing(**bad)


def test_session_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="session_ttl"):
        EndpointConfig(session_ttl=0)


def test_new_routing_ids_are_spread_over_the_instances(client, fleet, emu) -> None:
    name = fleet(routing=Routing(instances=2))
    placed = {}
    for conversation in ("a", "b", "c", "d", "a", "b", "c", "d"):
        client.invoke_endpoint(
            EndpointName=name, PrefixAwareId=conversation, Body=b'{"inputs": "x"}'
        )
        placed.setdefault(conversation, set()).add(emu.requests[-1].instance)
    assert all(len(instances) == 1 for instances in placed.values())
    assert sorted(next(iter(i)) for i in placed.values()) == [0, 0, 1, 1]


def test_the_prefix_cache_is_bounded_in_characters(client, fleet, emu, monkeypatch) -> None:
    from langchain_jumpstart_stream.emulator import _routing

    monkeypatch.setattr(_routing, "_MAX_CACHED_CHARS", 100)
    name = fleet(routing=Routing(instances=1))
    for text in ("a" * 80, "b" * 80, "a" * 80):
        client.invoke_endpoint(EndpointName=name, Body=json.dumps({"inputs": text}))
    assert emu.requests[-1].cached_chars == 0  # 160 characters do not fit in 100
