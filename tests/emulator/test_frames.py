"""The event-stream encoder round-trips through botocore's own decoder."""

from __future__ import annotations

import json
import struct
import zlib

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer
from hypothesis import given
from hypothesis import strategies as st

from langchain_jumpstart_stream.emulator import _frames


def _decode_bytewise(data: bytes) -> list[object]:
    buffer = EventStreamBuffer()
    messages = []
    for i in range(len(data)):
        buffer.add_data(data[i : i + 1])
        messages.extend(buffer)
    return messages


@given(
    headers=st.lists(
        st.tuples(
            st.text(min_size=1, max_size=30).filter(lambda s: len(s.encode()) < 256),
            st.text(max_size=200),
        ),
        max_size=5,
        unique_by=lambda h: h[0],
    ),
    payload=st.binary(max_size=300),
)
def test_any_message_round_trips(headers: list[tuple[str, str]], payload: bytes) -> None:
    [message] = list(_decode_bytewise(_frames.encode_message(headers, payload)))
    assert message.headers == dict(headers)
    assert message.payload == payload


def test_layout_is_big_endian_with_both_crcs() -> None:
    frame = _frames.payload_part(b"hello")
    total, headers_length, prelude_crc = struct.unpack(">III", frame[:12])
    assert total == len(frame)
    assert prelude_crc == zlib.crc32(frame[:8])
    assert struct.unpack(">I", frame[-4:])[0] == zlib.crc32(frame[:-4])
    assert frame[12 + headers_length : -4] == b"hello"


def test_payload_part_headers() -> None:
    [message] = list(_decode_bytewise(_frames.payload_part("café 日本語 🙂".encode())))
    assert message.headers == {
        ":event-type": "PayloadPart",
        ":content-type": "application/octet-stream",
        ":message-type": "event",
    }
    assert message.payload.decode() == "café 日本語 🙂"


@pytest.mark.parametrize(
    ("frame", "exception_type", "body"),
    [
        (
            _frames.model_stream_error("boom", "ModelInvocationTimeExceeded"),
            "ModelStreamError",
            {"Message": "boom", "ErrorCode": "ModelInvocationTimeExceeded"},
        ),
        (_frames.internal_stream_failure("oops"), "InternalStreamFailure", {"Message": "oops"}),
    ],
)
def test_exception_frames(frame: bytes, exception_type: str, body: dict[str, str]) -> None:
    [message] = list(_decode_bytewise(frame))
    assert message.headers == {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    assert json.loads(message.payload) == body
    assert message.to_response_dict()["status_code"] == 400


def test_corrupted_crc_is_caught_by_botocore() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(_frames.payload_part(b"x", corrupt_crc=True))
    with pytest.raises(ChecksumMismatch):
        next(buffer)


def test_many_frames_in_one_buffer() -> None:
    data = b"".join(_frames.payload_part(bytes([i])) for i in range(50))
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    assert [m.payload for m in buffer] == [bytes([i]) for i in range(50)]


def test_oversized_header_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        _frames.encode_headers([("x" * 256, "v")])
