"""Request bodies in each container's own schema. Pure functions, no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

__all__ = ["RequestSchema", "build_body", "schema_stop_parameter"]

RequestSchema = Literal["tgi", "lmi", "openai-chat", "openai-completion"]

# TGI refuses requests with more stop sequences than --max-stop-sequences (4 by
# default). The client enforces every stop anyway, so send at most this many.
MAX_SERVER_STOPS = 4


def schema_stop_parameter(schema: RequestSchema) -> str:
    """The parameter that carries stop sequences in ``schema``."""
    return "stop_sequences" if schema == "lmi" else "stop"


def build_body(
    schema: RequestSchema,
    *,
    prompt: str | None = None,
    messages: Sequence[Mapping[str, Any]] | None = None,
    parameters: Mapping[str, Any],
    stop: Sequence[str],
    stream: bool,
    extra: Mapping[str, Any] | None = None,
    include_usage: bool = True,
) -> bytes:
    """Serialise one request.

    Args:
        schema: The container's request schema.
        prompt: Text prompt (all schemas but chat with ``messages``).
        messages: OpenAI-style messages (``openai-chat`` only).
        parameters: Generation parameters in the container's own names.
        stop: Stop sequences; the first few are sent to the server.
        stream: Ask for a streamed answer.
        extra: Top-level fields added as they are (e.g. ``tools``).
        include_usage: On OpenAI-style streams, ask for the closing usage chunk.

    Returns:
        The UTF-8 JSON body.
    """
    server_stop = list(stop[:MAX_SERVER_STOPS])
    body: dict[str, Any]
    if schema in ("tgi", "lmi"):
        # TGI and LMI report finish_reason and token counts only when asked.
        params = {"details": True, **parameters}
        if server_stop:
            key = schema_stop_parameter(schema)
            params[key] = list(dict.fromkeys([*params.get(key, []), *server_stop]))[
                :MAX_SERVER_STOPS
            ]
        body = {"inputs": prompt, "parameters": params}
        if stream:
            body["stream"] = True
    else:
        body = dict(parameters)
        if schema == "openai-chat":
            body["messages"] = (
                list(messages) if messages is not None else [{"role": "user", "content": prompt}]
            )
        else:
            body["prompt"] = prompt
        if server_stop:
            body["stop"] = server_stop
        body["stream"] = stream
        if stream and include_usage:
            # Ask for the closing usage chunk; servers that do not know it ignore it.
            body.setdefault("stream_options", {"include_usage": True})
    if extra:
        body.update(extra)
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
