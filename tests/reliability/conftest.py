"""Fixtures of the reliability suite, on top of the session emulator in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from langchain_jumpstart_stream import ChatJumpStart
from langchain_jumpstart_stream.emulator import Emulator

from ._wire import WireServer, wire_server


@pytest.fixture
def chat(emulator: Emulator) -> Callable[..., ChatJumpStart]:
    """A ChatJumpStart on the emulator (Messages API, OpenAI-style stream), real boto3."""

    def make(endpoint_name: str, **kwargs: Any) -> ChatJumpStart:
        kwargs.setdefault("endpoint_url", emulator.url)
        kwargs.setdefault("region_name", "us-east-1")
        kwargs.setdefault("retry_base_delay", 0.01)
        kwargs.setdefault("stream_format", "openai")
        return ChatJumpStart(endpoint_name=endpoint_name, **kwargs)

    return make


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with wire_server() as server:
        yield server
