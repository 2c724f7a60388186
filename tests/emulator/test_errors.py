"""Errors before the stream: real REST-JSON shapes, parsed by botocore."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig, HttpError

from . import body_for, payloads, stream


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(endpoints={"falcon": EndpointConfig()}, max_body_bytes=4096) as emulator:
        yield emulator


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str, dict[str, Any]]:
    response = info.value.response
    meta = response["ResponseMetadata"]
    return response["Error"]["Code"], meta["HTTPStatusCode"], meta["RequestId"], response


@pytest.mark.parametrize("streaming", [True, False])
def test_unknown_endpoint(emu: Emulator, client: Any, streaming: bool) -> None:
    call = client.invoke_endpoint_with_response_stream if streaming else client.invoke_endpoint
    with pytest.raises(ClientError) as info:
        call(EndpointName="nope", Body=b"{}")
    code, status, request_id, response = _error(info)
    assert (code, status) == ("ValidationError", 400)
    assert response["Error"]["Message"] == "Endpoint nope of account 123456789012 not found."
    assert request_id == emu.requests[-1].request_id
    assert emu.requests[-1].status == 400
    assert isinstance(info.value, client.exceptions.ValidationError)


def test_injected_errors_come_in_order_then_success(emu: Emulator, client: Any) -> None:
    errors = [
        (400, "ThrottlingException", "Rate exceeded"),
        (429, "ThrottlingException", "Too many requests"),
        HttpError(424, "ModelError", '{"error":"CUDA out of memory"}', original_status=500),
        (500, "InternalFailure", "An internal failure occurred."),
        (503, "ServiceUnavailable", "Service unavailable"),
    ]
    emu.add_endpoint("flaky", EndpointConfig(http_errors=errors))
    seen = []
    for _ in errors:
        with pytest.raises(ClientError) as info:
            stream(client, "flaky", body_for("tgi"))
        code, status, request_id, response = _error(info)
        assert request_id == emu.requests[-1].request_id
        seen.append((status, code, response))
    assert [(s, c) for s, c, _ in seen] == [(e[0], e[1]) for e in errors]
    assert seen[0][2]["Error"]["Message"] == "Rate exceeded"
    model_error = seen[2][2]
    assert model_error["OriginalStatusCode"] == 500
    assert model_error["OriginalMessage"] == '{"error":"CUDA out of memory"}'
    assert model_error["LogStreamArn"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/flaky"
    )
    assert model_error["Error"]["Message"].startswith("Received server error (500) from primary")
    assert payloads(stream(client, "flaky", body_for("tgi")))  # the next one works


def test_a_body_the_container_rejects_is_a_model_error(client: Any) -> None:
    with pytest.raises(ClientError) as info:
        stream(client, "falcon", b"not json")
    code, status, _, response = _error(info)
    assert (code, status) == ("ModelError", 424)
    assert response["OriginalStatusCode"] == 422
    assert json.loads(response["OriginalMessage"])["error_type"] == "validation"
    assert "Received client error (422)" in response["Error"]["Message"]


def test_too_large_body_gets_413(emu: Emulator, client: Any) -> None:
    with pytest.raises(ClientError) as info:
        stream(client, "falcon", body_for("tgi", "x" * 5000))
    code, status, _, response = _error(info)
    assert (code, status) == ("413", 413)
    assert response["Error"]["Message"] == "HTTP content length exceeded 4096 bytes."
    assert emu.requests[-1].body == b""
    # The connection is still usable afterwards.
    assert payloads(stream(client, "falcon", body_for("tgi", parameters={"max_new_tokens": 2})))


def test_unknown_path_is_404(emu: Emulator) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{emu.url}/foo", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 404
    assert info.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    info.value.close()
