"""A local SageMaker Runtime endpoint emulator that speaks the real wire protocol.

It serves ``InvokeEndpoint`` and ``InvokeEndpointWithResponseStream`` (event-stream
frames in chunked HTTP) to an unmodified boto3 client, imitates the streaming formats
of the JumpStart containers (TGI, DJL/LMI, vLLM's OpenAI API) and injects the faults a
robust client must survive. Standard library only; no AWS account needed.

It also serves chat requests (``messages`` bodies) in each container's chat stream. It
never fakes a model's judgement: a tool is called only when the request forces one (a
named ``tool_choice``, or ``"required"`` with exactly one tool), with arguments
generated from the function's JSON schema; with ``"auto"`` it answers in text. See
:class:`EndpointConfig`.

Run it from a shell with ``python -m langchain_jumpstart_stream.emulator --port 8080``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._config import STREAM_FORMATS, EndpointConfig, HttpError
from ._emulator import Emulator, client_for
from ._formats import plan, stream_payload
from ._generator import WEBSITE_ANSWER
from ._replay import Replay
from ._routing import Routing
from ._state import RecordedRequest

__all__ = [
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


def _as_bytes(body: bytes | str | Mapping[str, Any]) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def rendered_stream(config: EndpointConfig, body: bytes | str | Mapping[str, Any]) -> bytes:
    """The container bytes a streaming call returns, all PayloadParts joined.

    Faults that act on frames (exceptions, drops, bad CRCs) are not included; an
    in-band error record is.

    Args:
        config: The endpoint configuration.
        body: The request body, as bytes, text or a JSON-able mapping.

    Raises:
        ValueError: The container would reject the body.
    """
    request, generation = plan(config, _as_bytes(body))
    records, _ = stream_payload(config, request, generation)
    return b"".join(record.data for record in records)


def expected_text(config: EndpointConfig, body: bytes | str | Mapping[str, Any]) -> str:
    """The text a correct client assembles from a fault-free stream.

    Special tokens (EOS) are excluded; stop sequences follow the container's rule
    (TGI keeps the stop text, LMI and OpenAI-style servers drop it).

    Raises:
        ValueError: The container would reject the body.
    """
    _, generation = plan(config, _as_bytes(body))
    return generation.text
