"""Streaming and plain invocations through a real boto3 client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from langchain_jumpstart_stream.emulator import (
    STREAM_FORMATS,
    Emulator,
    EndpointConfig,
    rendered_stream,
)
from langchain_jumpstart_stream.emulator._formats import plan
from langchain_jumpstart_stream.emulator._generator import answer_text

from . import OTHER_PROMPT, PROMPT, add_endpoint, body_for, payloads, stream


@pytest.mark.parametrize("stream_format", STREAM_FORMATS)
@pytest.mark.parametrize("prompt", [PROMPT, OTHER_PROMPT, "日本語で答えてください"])
def test_stream_bytes_equal_the_rendering(
    emu: Emulator, client: Any, stream_format: str, prompt: str
) -> None:
    name, cfg = add_endpoint(emu, stream_format=stream_format)
    body = body_for(stream_format, prompt)
    response = stream(client, name, body)
    parts = payloads(response)
    assert b"".join(parts) == rendered_stream(cfg, body)
    assert len(parts) > 10  # one PayloadPart per record
    assert response["ContentType"] == cfg.stream_content_type
    assert response["InvokedProductionVariant"] == "AllTraffic"
    recorded = emu.requests[-1]
    assert recorded.endpoint == name
    assert recorded.streaming
    assert response["ResponseMetadata"]["RequestId"] == recorded.request_id
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == (
        "application/vnd.amazon.eventstream"
    )
    assert recorded.done.wait(2)
    _, generation = plan(cfg, json.dumps(body).encode())
    assert recorded.tokens_sent == len(generation.tokens)
    assert not recorded.client_disconnected


def test_max_tokens_and_stop_over_the_wire(emu: Emulator, client: Any) -> None:
    name, _ = add_endpoint(emu, stream_format="tgi")
    body = body_for("tgi", parameters={"max_new_tokens": 5, "details": True})
    events = [json.loads(p.removeprefix(b"data:")) for p in payloads(stream(client, name, body))]
    assert len(events) == 5
    assert events[-1]["details"]["finish_reason"] == "length"
    stop_body = body_for("tgi", parameters={"stop": ["registrar"], "details": True})
    events = [
        json.loads(p.removeprefix(b"data:")) for p in payloads(stream(client, name, stop_body))
    ]
    assert events[-1]["generated_text"].endswith("registrar")
    assert events[-1]["details"]["finish_reason"] == "stop_sequence"


def test_request_is_recorded_with_headers(emu: Emulator, client: Any) -> None:
    name, _ = add_endpoint(emu)
    body = body_for("tgi", parameters={"max_new_tokens": 2})
    response = stream(
        client,
        name,
        body,
        CustomAttributes="trace-id=abc",
        TargetVariant="variant-b",
        InferenceId="inf-1",
        InferenceComponentName="falcon-ic",
        Accept="text/event-stream",
    )
    payloads(response)
    assert response["InvokedProductionVariant"] == "variant-b"
    recorded = emu.requests[-1]
    assert recorded.headers["x-amzn-sagemaker-custom-attributes"] == "trace-id=abc"
    assert recorded.headers["x-amzn-sagemaker-target-variant"] == "variant-b"
    assert recorded.headers["x-amzn-sagemaker-inference-id"] == "inf-1"
    assert recorded.headers["x-amzn-sagemaker-inference-component"] == "falcon-ic"
    assert recorded.headers["x-amzn-sagemaker-accept"] == "text/event-stream"
    assert recorded.headers["content-type"] == "application/json"
    assert recorded.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert recorded.json == body
    assert json.loads(recorded.body) == body
    assert recorded.path == f"/endpoints/{name}/invocations-response-stream"


def test_endpoint_names_are_url_decoded(emu: Emulator, client: Any) -> None:
    emu.add_endpoint("my-endpoint.v1", EndpointConfig())
    payloads(stream(client, "my-endpoint.v1", body_for("tgi", parameters={"max_new_tokens": 1})))
    assert emu.requests[-1].endpoint == "my-endpoint.v1"


@pytest.mark.parametrize("frame_bytes", [1, 7])
def test_frame_bytes_rechunks_anywhere(emu: Emulator, client: Any, frame_bytes: int) -> None:
    name, cfg = add_endpoint(emu, stream_format="jsonlines", frame_bytes=frame_bytes)
    body = body_for("jsonlines", "日本語で 🙂 答えて")
    parts = payloads(stream(client, name, body))
    expected = rendered_stream(cfg, body)
    assert b"".join(parts) == expected
    assert all(len(p) == frame_bytes for p in parts[:-1])
    assert len(parts) == -(-len(expected) // frame_bytes)


def test_a_request_without_stream_true_gets_one_json_part(emu: Emulator, client: Any) -> None:
    name, _ = add_endpoint(emu)
    response = stream(client, name, {"inputs": PROMPT})
    parts = payloads(response)
    assert len(parts) == 1
    assert json.loads(parts[0]) == [{"generated_text": answer_text(PROMPT)}]
    assert response["ContentType"] == "application/json"


@pytest.mark.parametrize("stream_format", STREAM_FORMATS)
def test_invoke_endpoint(emu: Emulator, client: Any, stream_format: str) -> None:
    name, _ = add_endpoint(emu, stream_format=stream_format)
    body = body_for(stream_format, stream=False)
    response = client.invoke_endpoint(
        EndpointName=name, Body=json.dumps(body), ContentType="application/json"
    )
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    text = json.dumps(json.loads(response["Body"].read()), ensure_ascii=False)
    assert json.dumps(answer_text(PROMPT), ensure_ascii=False)[1:-1] in text
    assert not emu.requests[-1].streaming


def test_invoke_endpoint_with_stream_true_returns_the_stream_text(
    emu: Emulator, client: Any
) -> None:
    name, cfg = add_endpoint(emu)
    body = body_for("tgi", parameters={"max_new_tokens": 3})
    response = client.invoke_endpoint(EndpointName=name, Body=json.dumps(body))
    assert response["ContentType"] == "text/event-stream"
    assert response["Body"].read() == rendered_stream(cfg, body)


def test_default_config_serves_any_name() -> None:
    with Emulator(default=EndpointConfig(stream_format="lmi-sse")) as emu:
        client = emu.client()
        parts = payloads(stream(client, "whatever-name", body_for("lmi-sse")))
        assert parts[0].startswith(b"data: {")
        assert emu.wait_idle(2)


def test_ping(emu: Emulator) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{emu.url}/ping", timeout=5) as reply:
        assert reply.status == 200


def test_chunked_request_body(emu: Emulator) -> None:
    import http.client

    name, cfg = add_endpoint(emu)
    port = int(emu.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        pieces = [b'{"inputs": "hi", ', b'"stream": true}']
        path = f"/endpoints/{name}/invocations"
        conn.request("POST", path, body=iter(pieces), encode_chunked=True)
        reply = conn.getresponse()
        assert reply.status == 200
        assert reply.read() == rendered_stream(cfg, b"".join(pieces))
    finally:
        conn.close()
    assert emu.requests[-1].json == {"inputs": "hi", "stream": True}
