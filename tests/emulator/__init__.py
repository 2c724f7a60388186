"""Tests of the SageMaker Runtime emulator, through real boto3 where it matters."""

from __future__ import annotations

import itertools
import json
from typing import Any

from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig

PROMPT = "How do I build a website?"
OTHER_PROMPT = "Tell me about coffee in Paris"


_names = (f"ep-{i}" for i in itertools.count())


def add_endpoint(emu: Emulator, **config: Any) -> tuple[str, EndpointConfig]:
    """Add an endpoint with a fresh name and this configuration; return both."""
    name = next(_names)
    cfg = EndpointConfig(**config)
    emu.add_endpoint(name, cfg)
    return name, cfg


def body_for(stream_format: str, prompt: str = PROMPT, **extra: Any) -> dict[str, Any]:
    """A streaming request body in the shape each container expects."""
    if stream_format == "openai-chat":
        return {"messages": [{"role": "user", "content": prompt}], "stream": True, **extra}
    if stream_format == "openai-completion":
        return {"prompt": prompt, "stream": True, **extra}
    parameters = extra.pop("parameters", {})
    return {"inputs": prompt, "parameters": parameters, "stream": True, **extra}


def stream(client: Any, endpoint: str, body: dict[str, Any] | bytes, **kwargs: Any) -> Any:
    """Call InvokeEndpointWithResponseStream with a JSON body."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.invoke_endpoint_with_response_stream(
        EndpointName=endpoint, Body=raw, ContentType="application/json", **kwargs
    )


def payloads(response: Any) -> list[bytes]:
    """Every PayloadPart's bytes, decoded by botocore's own EventStream."""
    parts: list[bytes] = []
    for event in response["Body"]:
        assert set(event) == {"PayloadPart"}, event
        parts.append(event["PayloadPart"]["Bytes"])
    return parts
