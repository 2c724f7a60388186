"""A container (or a network) that sends anything at all, through real boto3.

The emulator only sends what real containers send; the loopback server in
``_wire.py`` sends whatever bytes a test chooses. Whatever arrives, the models must
end with one of the package's own errors (or an answer), never another exception.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from langchain_jumpstart_stream import ChatJumpStart, JumpStartLLM
from langchain_jumpstart_stream.emulator import client_for
from langchain_jumpstart_stream.errors import (
    FrameError,
    JumpStartStreamError,
    MalformedStreamError,
    StreamInterruptedError,
)

from ._strategies import CRC_VALID_GARBAGE, VALID_FRAMES, container_garbage, cuts
from ._wire import WireServer

EXAMPLES = int(os.environ.get("RELIABILITY_WIRE_EXAMPLES", "20"))
over_the_wire = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
pytestmark = pytest.mark.timeout(60)  # "never hangs": each test, all its examples included


@pytest.fixture(scope="module")
def client(wire: WireServer) -> Any:
    return client_for(wire.url, read_timeout=5, connect_timeout=2)


def run(model: Any) -> None:
    """Stream and invoke; anything but an answer must be one of our errors."""
    for call in (lambda: list(model.stream("hi")), lambda: model.invoke("hi")):
        failure: JumpStartStreamError | None = None
        try:
            call()
        except JumpStartStreamError as exc:
            failure = exc
        assert failure is None or str(failure)  # every error explains itself


@over_the_wire
@given(payload=container_garbage(tool_calls=True) | st.binary(max_size=300), data=st.data())
@example(payload=b'data: {"choices":[{"delta":{"content":5}}]}\n\n', data=None)
@example(payload=b'{"token":{"text":"a","id":1},"details":{"finish_reason":"error"}}\n', data=None)
def test_llm_survives_any_container_output(wire: WireServer, client, payload, data) -> None:
    wire.serve_payloads(data.draw(cuts(payload), label="parts") if data else [payload])
    run(JumpStartLLM(endpoint_name="hostile", client=client, max_retries=0))


@over_the_wire
@given(
    wire_bytes=st.lists(VALID_FRAMES | CRC_VALID_GARBAGE | st.binary(max_size=30), max_size=4).map(
        b"".join
    ),
    data=st.data(),
)
def test_llm_survives_any_event_stream_bytes(wire: WireServer, client, wire_bytes, data) -> None:
    wire.serve_frames(data.draw(cuts(wire_bytes), label="http chunks"))
    run(JumpStartLLM(endpoint_name="hostile", client=client, max_retries=0))


@over_the_wire
@given(payload=container_garbage(tool_calls=True), data=st.data())
def test_chat_survives_any_container_output(wire: WireServer, client, payload, data) -> None:
    wire.serve_payloads(data.draw(cuts(payload), label="parts"))
    run(
        ChatJumpStart(endpoint_name="hostile", client=client, stream_format="openai", max_retries=0)
    )


# -- regressions: bugs this suite found (fixed in 9c55ca6) --------------------------------

MALFORMED_TOOL_CALLS = {
    "not-a-list": b'{"tool_calls":5}',
    "list-of-int": b'{"tool_calls":[1]}',
    "function-is-a-string": b'{"tool_calls":[{"function":"x"}]}',
    "id-is-an-int": b'{"tool_calls":[{"id":5,"function":{"name":"f"}}]}',
    "name-is-an-int": b'{"tool_calls":[{"index":0,"function":{"name":5,"arguments":"{"}}]}',
}


@pytest.mark.parametrize("delta", list(MALFORMED_TOOL_CALLS))
def test_chat_malformed_tool_calls_are_a_malformed_stream(wire: WireServer, client, delta) -> None:
    body = b'data: {"choices":[{"index":0,"delta":' + MALFORMED_TOOL_CALLS[delta] + b"}]}\n\n"
    wire.serve_payloads([body, b"data: [DONE]\n\n"])
    chat = ChatJumpStart(endpoint_name="hostile", client=client, stream_format="openai")
    with pytest.raises(MalformedStreamError):
        list(chat.stream("hi"))


class _DecodedBody(list):
    """What botocore's Stubber or a test double returns: events, already decoded."""

    def close(self) -> None:
        pass


class _StubClient:
    def __init__(self, parts: list[bytes]) -> None:
        self._parts = parts

    def invoke_endpoint_with_response_stream(self, **_: Any) -> dict[str, Any]:
        events = [{"PayloadPart": {"Bytes": p}} for p in self._parts]
        return {"Body": _DecodedBody(events), "ResponseMetadata": {"RequestId": "r-1"}}


def test_a_client_whose_body_is_already_decoded() -> None:
    parts = [
        b'data:{"token":{"id":1,"text":"Hello","special":false}}\n\n',
        b'data:{"token":{"id":2,"text":"</s>","special":true},"generated_text":"Hello"}\n\n',
    ]
    llm = JumpStartLLM(endpoint_name="stubbed", client=_StubClient(parts))
    assert llm.invoke("hi") == "Hello"
    # Without TGI's final event the same answer is incomplete, whoever delivered it.
    cut = JumpStartLLM(endpoint_name="stubbed", client=_StubClient(parts[:1]), max_retries=0)
    with pytest.raises(StreamInterruptedError, match="final record") as info:
        cut.invoke("hi")
    assert info.value.partial_text == "Hello"


TOKEN_FRAME_PAYLOAD = b'data:{"token":{"id":1,"text":"Hello","special":false}}\n\n'


def test_tokens_before_a_bad_crc_in_the_same_read_are_delivered(wire: WireServer, client) -> None:
    from langchain_jumpstart_stream.emulator._frames import payload_part

    good = payload_part(TOKEN_FRAME_PAYLOAD)
    bad = payload_part(b'data:{"token":{"id":2,"text":" world"}}\n\n', corrupt_crc=True)
    wire.serve_frames([good + bad])  # one HTTP chunk: one read on the client
    llm = JumpStartLLM(endpoint_name="hostile", client=client, max_retries=0)
    got: list[str] = []
    with pytest.raises(FrameError) as info:
        got.extend(llm.stream("hi"))
    assert got == ["Hello"]  # as when the two frames arrive in separate reads
    assert info.value.partial_text == "Hello"


def test_tokens_before_an_overlong_line_in_the_same_part_are_delivered(
    wire: WireServer, client
) -> None:
    from langchain_jumpstart_stream.errors import LineTooLongError

    wire.serve_payloads([TOKEN_FRAME_PAYLOAD + b"x" * 200])
    llm = JumpStartLLM(endpoint_name="hostile", client=client, max_line_bytes=100)
    got: list[str] = []
    with pytest.raises(LineTooLongError) as info:
        got.extend(llm.stream("hi"))
    assert got == ["Hello"]  # as when the long line comes in the next PayloadPart
    assert info.value.partial_text == "Hello"


# -- regressions: bugs these tests found, now fixed ------------------------------------

_EXCEPTION_HEADERS = (
    (":exception-type", "ModelStreamError"),
    (":content-type", "application/json"),
    (":message-type", "exception"),
)


def test_deeply_nested_exception_frame_is_still_a_model_stream_error(
    wire: WireServer, client
) -> None:
    from langchain_jumpstart_stream.emulator._frames import encode_message

    wire.serve_frames([encode_message(_EXCEPTION_HEADERS, b"[" * 100_000)])
    llm = JumpStartLLM(endpoint_name="hostile", client=client, retry_base_delay=0.01)
    with pytest.raises(JumpStartStreamError) as info:
        llm.invoke("hi")
    assert type(info.value).__name__ == "ModelStreamError", repr(info.value)
    assert info.value.error_code == "ModelStreamError"
