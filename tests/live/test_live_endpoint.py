"""Against a real SageMaker endpoint; skipped unless JUMPSTART_LIVE_ENDPOINT is set.

    JUMPSTART_LIVE_ENDPOINT=my-endpoint JUMPSTART_LIVE_MODEL_ID=huggingface-llm-falcon-7b-instruct-bf16 \
    AWS_REGION=us-east-1 .venv/bin/python -m pytest tests/live -p no:socket --force-enable-socket
"""

from __future__ import annotations

import asyncio
import os

import pytest

from langchain_jumpstart_stream import JumpStartLLM, errors

ENDPOINT = os.environ.get("JUMPSTART_LIVE_ENDPOINT")
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not ENDPOINT, reason="set JUMPSTART_LIVE_ENDPOINT to run against AWS"),
]


@pytest.fixture
def live_llm() -> JumpStartLLM:
    assert ENDPOINT
    return JumpStartLLM(
        endpoint_name=ENDPOINT,
        model_id=os.environ.get("JUMPSTART_LIVE_MODEL_ID"),
        region_name=os.environ.get("AWS_REGION"),
        model_kwargs={"max_new_tokens": 64},
    )


def test_live_stream_yields_tokens(live_llm: JumpStartLLM) -> None:
    tokens = list(live_llm.stream("How do I build a website?"))
    assert len(tokens) > 3
    assert "".join(tokens).strip()


async def test_live_astream_and_stop(live_llm: JumpStartLLM) -> None:
    text = "".join([t async for t in live_llm.astream("Count from 1 to 20: 1, 2, 3,", stop=["10"])])
    assert "10" not in text


def test_live_missing_endpoint_error() -> None:
    llm = JumpStartLLM(
        endpoint_name="no-such-endpoint-xyz", region_name=os.environ.get("AWS_REGION")
    )
    with pytest.raises(errors.EndpointNotFoundError):
        llm.invoke("hi")


async def test_live_async_missing_endpoint_error() -> None:
    """The error document of the real service, parsed on the event loop's HTTP path."""
    llm = JumpStartLLM(
        endpoint_name="no-such-endpoint-xyz", region_name=os.environ.get("AWS_REGION")
    )
    with pytest.raises(errors.EndpointNotFoundError) as info:
        [t async for t in llm.astream("hi")]
    assert info.value.request_id


async def test_live_concurrent_astreams_over_tls(live_llm: JumpStartLLM) -> None:
    """Several streams at once on one event loop: TLS, pooled connections, no threads."""

    async def one() -> str:
        return "".join([t async for t in live_llm.astream("How do I build a website?")])

    first = await one()  # leaves a pooled connection for the next ones to reuse
    texts = await asyncio.gather(*(one() for _ in range(4)))
    assert first.strip()
    assert all(text.strip() for text in texts)
