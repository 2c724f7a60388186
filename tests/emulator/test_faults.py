"""Each injected fault does what it says, seen through a real boto3 client."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
import urllib3.exceptions
from botocore.eventstream import ChecksumMismatch
from botocore.exceptions import ConnectionClosedError, EventStreamError, ReadTimeoutError

from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig, rendered_stream
from langchain_jumpstart_stream.emulator._formats import plan, stream_records

from . import add_endpoint, body_for, payloads, stream


def _records(cfg: EndpointConfig, body: dict[str, Any]) -> list[bytes]:
    request, generation = plan(cfg, json.dumps(body).encode())
    return [r.data for r in stream_records(cfg, request, generation)]


def _collect(response: Any) -> tuple[list[bytes], BaseException | None]:
    parts: list[bytes] = []
    try:
        parts.extend(event["PayloadPart"]["Bytes"] for event in response["Body"])
    except Exception as exc:
        return parts, exc
    finally:
        response["Body"].close()
    return parts, None


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("model_stream_error", "ModelStreamError"),
        ("internal_stream_failure", "InternalStreamFailure"),
    ],
)
def test_stream_exceptions(emu: Emulator, client: Any, kind: str, code: str) -> None:
    name, cfg = add_endpoint(emu, error_after_tokens=3, error_kind=kind, error_message="it broke")
    body = body_for("tgi")
    parts, error = _collect(stream(client, name, body))
    assert parts == _records(cfg, body)[:3]
    assert isinstance(error, EventStreamError)
    assert error.response["Error"] == {"Code": code, "Message": "it broke"}
    assert emu.requests[-1].tokens_sent == 3


def test_model_stream_error_code(emu: Emulator, client: Any) -> None:
    name, _ = add_endpoint(
        emu, error_after_tokens=0, stream_error_code="ModelInvocationTimeExceeded"
    )
    parts, error = _collect(stream(client, name, body_for("jsonlines")))
    assert parts == []
    assert isinstance(error, EventStreamError)
    assert error.response["Error"]["Code"] == "ModelStreamError"


def test_in_band_error_ends_the_stream_cleanly(emu: Emulator, client: Any) -> None:
    name, cfg = add_endpoint(emu, error_after_tokens=4, error_kind="in_band", error_message="oom")
    body = body_for("tgi")
    parts, error = _collect(stream(client, name, body))
    assert error is None
    assert parts[-1] == b'data:{"error":"oom","error_type":"generation"}\n\n'
    assert b"".join(parts) == rendered_stream(cfg, body)


@pytest.mark.parametrize("mid_frame", [False, True])
def test_drop_resets_the_connection(emu: Emulator, client: Any, mid_frame: bool) -> None:
    name, cfg = add_endpoint(emu, drop_after_tokens=3, reset_mid_frame=mid_frame)
    body = body_for("tgi")
    parts, error = _collect(stream(client, name, body))
    # A real RST: urllib3 reports "Connection broken: ConnectionResetError(104, ...)".
    assert isinstance(error, urllib3.exceptions.ProtocolError), repr(error)
    assert isinstance(error.__context__ or error.args[1], ConnectionResetError)
    assert len(parts) <= 3
    assert parts == _records(cfg, body)[: len(parts)]
    assert emu.requests[-1].done.wait(2)
    assert emu.requests[-1].tokens_sent == 3


def test_truncated_last_frame_ends_silently_in_botocore(emu: Emulator, client: Any) -> None:
    name, cfg = add_endpoint(emu, truncate_last_frame=True)
    body = body_for("tgi", parameters={"max_new_tokens": 6})
    parts, error = _collect(stream(client, name, body))
    assert error is None  # botocore drops the incomplete frame without a word
    assert parts == _records(cfg, body)[:-1]


def test_bad_crc_raises_checksum_mismatch(emu: Emulator, client: Any) -> None:
    name, cfg = add_endpoint(emu, bad_crc_after_tokens=2)
    body = body_for("tgi")
    parts, error = _collect(stream(client, name, body))
    assert isinstance(error, ChecksumMismatch)
    assert parts == _records(cfg, body)[:2]


def test_short_stall_then_the_rest(emu: Emulator, client: Any) -> None:
    name, cfg = add_endpoint(emu, stall_after_tokens=2, stall_seconds=0.4)
    body = body_for("tgi", parameters={"max_new_tokens": 5})
    stamps: list[float] = []
    parts: list[bytes] = []
    for event in stream(client, name, body)["Body"]:
        stamps.append(time.monotonic())
        parts.append(event["PayloadPart"]["Bytes"])
    assert b"".join(parts) == rendered_stream(cfg, body)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert gaps[1] >= 0.35
    assert max(gaps[:1] + gaps[2:]) < 0.2


def test_long_stall_times_the_client_out_and_stop_interrupts_it() -> None:
    cfg = EndpointConfig(stall_after_tokens=1, stall_seconds=30)
    with Emulator(endpoints={"slow": cfg}) as emu:
        client = emu.client(read_timeout=0.5)
        response = stream(client, "slow", body_for("tgi"))
        parts, error = _collect(response)
        assert len(parts) == 1
        assert isinstance(error, ReadTimeoutError | urllib3.exceptions.ReadTimeoutError)
        response["Body"].close()
        started = time.monotonic()
    assert time.monotonic() - started < 3
    assert emu.requests[-1].done.is_set()


def test_endless_line(emu: Emulator, client: Any) -> None:
    name, _ = add_endpoint(emu, endless_line_bytes=100_000)
    parts, error = _collect(stream(client, name, body_for("tgi")))
    data = b"".join(parts)
    assert error is None
    assert len(data) == 100_000
    assert data.startswith(b'data:{"token":{"text":"aaa')
    assert b"\n" not in data
    assert len(parts) > 1


def test_empty_stream(emu: Emulator, client: Any) -> None:
    name, _ = add_endpoint(emu, empty_stream=True)
    response = stream(client, name, body_for("tgi"))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert payloads(response) == []


def test_non_streaming_faults(emu: Emulator, client: Any) -> None:
    from botocore.exceptions import ClientError

    name, _ = add_endpoint(emu, error_after_tokens=2, error_message="boom")
    with pytest.raises(ClientError) as info:
        client.invoke_endpoint(EndpointName=name, Body=json.dumps({"inputs": "hi"}))
    assert info.value.response["Error"]["Code"] == "ModelError"
    assert info.value.response["OriginalMessage"] == "boom"
    name, _ = add_endpoint(emu, drop_after_tokens=0)
    with pytest.raises(ConnectionClosedError):
        client.invoke_endpoint(EndpointName=name, Body=json.dumps({"inputs": "hi"}))
