"""Fixtures of the reliability suite, on top of the session emulator in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from langchain_jumpstart_stream import ChatJumpStart

from ._wire import WireServer, wire_server


@pytest.fixture
def chat(chat: Callable[..., ChatJumpStart]) -> Callable[..., ChatJumpStart]:
    """The root ``chat`` fixture for the Messages API (OpenAI-style stream)."""

    def make(endpoint_name: str, **kwargs: Any) -> ChatJumpStart:
        kwargs.setdefault("stream_format", "openai")
        return chat(endpoint_name, **kwargs)

    return make


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with wire_server() as server:
        yield server
