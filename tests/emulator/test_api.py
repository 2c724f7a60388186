"""The public surface: exports, configuration checks, lifecycle."""

from __future__ import annotations

import dataclasses

import pytest

import langchain_jumpstart_stream.emulator as emulator
from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig, HttpError


def test_all_is_explicit_and_complete() -> None:
    assert sorted(emulator.__all__) == sorted(
        [
            "STREAM_FORMATS",
            "WEBSITE_ANSWER",
            "Emulator",
            "EndpointConfig",
            "HttpError",
            "RecordedRequest",
            "Replay",
            "Routing",
            "client_for",
            "expected_text",
            "rendered_stream",
        ]
    )
    for name in emulator.__all__:
        assert getattr(emulator, name) is not None


def test_config_is_frozen_and_hashable() -> None:
    cfg = EndpointConfig(http_errors=[(429, "ThrottlingException", "slow down")])
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.answer = "x"
    assert cfg.http_errors == (HttpError(429, "ThrottlingException", "slow down", 500),)
    assert hash(cfg) == hash(
        EndpointConfig(http_errors=[(429, "ThrottlingException", "slow down")])
    )
    assert cfg.http_error(0) == HttpError(429, "ThrottlingException", "slow down")
    assert cfg.http_error(1) is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"stream_format": "grpc"}, "stream_format must be one of"),
        ({"error_kind": "explode"}, "error_kind must be one of"),
        ({"openai_framing": "xml"}, "openai_framing"),
        ({"frame_bytes": 0}, "frame_bytes"),
        ({"drop_after_tokens": -1}, "drop_after_tokens"),
        ({"tokens_per_second": 0}, "tokens_per_second"),
    ],
)
def test_config_rejects_nonsense(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        EndpointConfig(**kwargs)


def test_url_needs_a_running_emulator() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.url
    with emu:
        assert emu.url.startswith("http://127.0.0.1:")
        assert emu.wait_idle(0.1)
    emu.stop()


def test_ipv6_loopback() -> None:
    try:
        emu = Emulator(endpoints={"falcon": EndpointConfig()}, host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert emu.url.startswith("http://[::1]:")
        response = emu.client().invoke_endpoint(EndpointName="falcon", Body=b'{"inputs": "hi"}')
        assert response["Body"].read().startswith(b'[{"generated_text":')
    finally:
        emu.stop()
