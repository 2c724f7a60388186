"""Fixtures for ChatJumpStart tests: models on the session's emulator, real boto3 between."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from langchain_jumpstart_stream import ChatJumpStart
from langchain_jumpstart_stream.emulator import Emulator


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """The root fixture's dummy credentials, except in a live run of the standard suite."""
    if os.environ.get("JUMPSTART_LIVE_CHAT_ENDPOINT"):
        return  # test_standard.py talks to a real endpoint with the real credentials
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def chat(emulator: Emulator) -> Callable[..., ChatJumpStart]:
    """A ChatJumpStart on the emulator, through its lazily created boto3 client."""

    def make(endpoint_name: str, **kwargs: Any) -> ChatJumpStart:
        kwargs.setdefault("endpoint_url", emulator.url)
        kwargs.setdefault("region_name", "us-east-1")
        kwargs.setdefault("retry_base_delay", 0.01)
        return ChatJumpStart(endpoint_name=endpoint_name, **kwargs)

    return make
