"""Shared fixtures: one in-process emulator per test session, on an ephemeral port."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from langchain_jumpstart_stream import ChatJumpStart, JumpStartLLM
from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig, RecordedRequest

_names = itertools.count()


@pytest.fixture(autouse=True)
def _no_real_aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and no config files: nothing can reach a real account.

    Tests marked ``live`` keep the real environment: they are skipped unless a live
    endpoint is configured on purpose.
    """
    if request.node.get_closest_marker("live"):
        return
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(endpoints={}) as emu:
        yield emu


@pytest.fixture
def endpoint(emulator: Emulator) -> Callable[..., str]:
    """Register a fresh endpoint with the given EndpointConfig fields; return its name."""

    def make(**config: Any) -> str:
        name = f"ep-{next(_names)}"
        emulator.add_endpoint(name, EndpointConfig(**config))
        return name

    return make


M = TypeVar("M", JumpStartLLM, ChatJumpStart)


def _on_emulator(model: type[M], emulator: Emulator) -> Callable[..., M]:
    """Models of this class on the emulator, through their lazily created boto3 client."""

    def make(endpoint_name: str, **kwargs: Any) -> M:
        kwargs.setdefault("endpoint_url", emulator.url)
        kwargs.setdefault("region_name", "us-east-1")
        kwargs.setdefault("retry_base_delay", 0.01)
        return model(endpoint_name=endpoint_name, **kwargs)

    return make


@pytest.fixture
def llm(emulator: Emulator) -> Callable[..., JumpStartLLM]:
    """A JumpStartLLM on the emulator (real boto3 in between)."""
    return _on_emulator(JumpStartLLM, emulator)


@pytest.fixture
def chat(emulator: Emulator) -> Callable[..., ChatJumpStart]:
    """A ChatJumpStart on the emulator (real boto3 in between)."""
    return _on_emulator(ChatJumpStart, emulator)


@pytest.fixture
def requests_to(emulator: Emulator) -> Callable[[str], list[RecordedRequest]]:
    def find(name: str) -> list[RecordedRequest]:
        return [r for r in emulator.requests if r.endpoint == name]

    return find
