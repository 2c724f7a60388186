"""What each container puts on the wire for a generation (pure, no I/O).

* ``tgi``: Hugging Face TGI Server-Sent Events, ``data:{...}`` (no space, compact JSON).
* ``jsonlines``: DJL/LMI rolling batch, one ``json.dumps`` line per token.
* ``jsonlines-tgi``: LMI with ``tgi_compat``: TGI token keys, details on by default.
* ``lmi-sse``: LMI's ``sse`` formatter, ``data: `` + the JSON line + a blank line.
* ``openai-chat`` / ``openai-completion``: vLLM-style OpenAI chunks, SSE with
  ``data: [DONE]`` or bare JSON lines (DJL ``jsonlines_chat``).

A ``messages`` body is a chat request, which every container serves in its own chat
stream: TGI's ``/invocations`` route answers with OpenAI chunks over TGI's SSE (the
role on every delta, TGI's finish reasons, ``data:[DONE]``); LMI (its vLLM engine)
with vLLM's chunks as bare JSON lines; vLLM with its usual chunks. Each ends with a
usage chunk when the request asks for one (``stream_options.include_usage``). Tool
calls and JSON-schema answers are made only when the request forces them (``_tools``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ._config import EndpointConfig
from ._generator import (
    FinishReason,
    Generation,
    ParsedRequest,
    Token,
    generate,
    parse_request,
)
from ._generator import tokenize as tokenize_refusal
from ._thinking import add_reasoning
from ._tools import constrain

# Fixed so that the same request always gives the same bytes.
CREATED = 1_718_000_000
_KEEP_ALIVE = ": keep-alive\n\n"
_COMMENT_EVERY = 5
_OPENAI_FINISH: dict[FinishReason, str] = {
    "eos_token": "stop",
    "stop_sequence": "stop",
    "length": "length",
}
# TGI's chat route reports an EOS as "stop" but keeps its own name for a stop sequence.
_TGI_CHAT_FINISH: dict[FinishReason, str] = {
    "eos_token": "stop",
    "stop_sequence": "stop_sequence",
    "length": "length",
}
_TGI_FINGERPRINT = "3.0.1-sha-emulator"

Lines = list[tuple[str, int]]


@dataclass(frozen=True)
class Record:
    """A unit of container output and how many generated tokens it carries."""

    data: bytes
    tokens: int = 0


def _full_text(gen: Generation) -> str:
    """The text as the server writes it whole: inline ``<think>`` reasoning included."""
    if any(t.text == "</think>" for t in gen.tokens):
        return "".join(t.text for t in gen.tokens if not t.special)
    return gen.text


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _pythonic(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def stream_records(
    config: EndpointConfig, request: ParsedRequest, generation: Generation
) -> list[Record]:
    """The records a streaming container sends, in order, with any in-band error."""
    error_at: int | None = None
    if config.error_kind == "in_band" and config.error_after_tokens is not None:
        error_at = min(config.error_after_tokens, len(generation.tokens))
    renderer: _Streamer
    if request.chat:
        renderer = _tgi_chat_stream if config.stream_format == "tgi" else _openai_stream
    else:
        renderer = _STREAMERS[config.stream_format]
    lines = renderer(config, request, generation, error_at)
    return _finish(config, lines, sse=_is_sse(config, request))


def response_body(config: EndpointConfig, request: ParsedRequest, generation: Generation) -> bytes:
    """The body a container returns for a non-streaming request."""
    body = _openai_body if request.chat else _BODIES[config.stream_format]
    return body(config, request, generation).encode("utf-8")


def _is_sse(config: EndpointConfig, request: ParsedRequest) -> bool:
    if request.chat and not config.is_openai:
        return config.stream_format == "tgi"  # LMI sends vLLM's chunks as JSON lines
    return config.is_sse


def _content_type(config: EndpointConfig, request: ParsedRequest) -> str:
    return "text/event-stream" if _is_sse(config, request) else "application/jsonlines"


def _finish(config: EndpointConfig, lines: Lines, *, sse: bool) -> list[Record]:
    if config.sse_comments and sse:
        lines = _with_comments(lines)
    if not config.final_newline and lines:
        text, tokens = lines[-1]
        lines[-1] = (text.rstrip("\n"), tokens)
    newline = "\r\n" if config.crlf else "\n"
    return [Record(text.replace("\n", newline).encode("utf-8"), tokens) for text, tokens in lines]


def _with_comments(lines: Lines) -> Lines:
    out: Lines = [(_KEEP_ALIVE, 0)]
    seen = 0
    for index, (text, tokens) in enumerate(lines):
        out.append(("event: message\n" + text, tokens))
        seen += tokens
        if tokens and seen % _COMMENT_EVERY == 0 and index < len(lines) - 1:
            out.append((_KEEP_ALIVE, 0))
    return out


# -- TGI ------------------------------------------------------------------------------


def _tgi_token(token: Token) -> dict[str, Any]:
    return {"id": token.id, "text": token.text, "logprob": token.logprob, "special": token.special}


def _tgi_stream(
    config: EndpointConfig, request: ParsedRequest, gen: Generation, error_at: int | None
) -> Lines:
    lines: Lines = []
    count = len(gen.tokens) if error_at is None else error_at
    for index, token in enumerate(gen.tokens[:count], start=1):
        final = error_at is None and index == len(gen.tokens)
        event: dict[str, Any] = {
            "index": index,
            "token": _tgi_token(token),
            "generated_text": _full_text(gen) if final else None,
            "details": _tgi_details(request, gen) if final and request.details else None,
        }
        lines.append(("data:" + _compact(event) + "\n\n", 1))
    if error_at is not None:
        error = {"error": config.error_message, "error_type": "generation"}
        lines.append(("data:" + _compact(error) + "\n\n", 0))
    return lines


def _tgi_details(request: ParsedRequest, gen: Generation) -> dict[str, Any]:
    return {
        "finish_reason": gen.finish_reason,
        "generated_tokens": len(gen.tokens),
        "seed": request.seed,
        "input_length": gen.prompt_tokens,
    }


def _tgi_body(config: EndpointConfig, request: ParsedRequest, gen: Generation) -> str:
    result: dict[str, Any] = {"generated_text": _full_text(gen)}
    if request.details:
        details = _tgi_details(request, gen)
        details.pop("input_length")
        details["prefill"] = []
        details["tokens"] = [_tgi_token(t) for t in gen.tokens]
        result["details"] = details
    return _compact([result])


# -- LMI (DJL Serving) ----------------------------------------------------------------


def _lmi_token(token: Token, *, tgi_compat: bool) -> dict[str, Any]:
    if tgi_compat:
        out: dict[str, Any] = {"id": token.id, "text": token.text, "logprob": token.logprob}
        if token.special:
            out["special"] = True
        return out
    out = {"id": token.id, "text": token.text, "log_prob": token.logprob}
    if token.special:
        out["special_token"] = True
    return out


def _lmi_lines(
    config: EndpointConfig, request: ParsedRequest, gen: Generation, error_at: int | None
) -> list[tuple[str, int]]:
    """LMI JSON lines without framing; each ends with a newline."""
    tgi_compat = config.stream_format == "jsonlines-tgi"
    want_details = request.details if request.details is not None else tgi_compat
    lines: Lines = []
    count = len(gen.tokens) if error_at is None else error_at
    for index, token in enumerate(gen.tokens[:count], start=1):
        line: dict[str, Any] = {"token": _lmi_token(token, tgi_compat=tgi_compat)}
        if error_at is None and index == len(gen.tokens):
            line["generated_text"] = _full_text(gen)
            if want_details:
                line["details"] = {
                    "finish_reason": gen.finish_reason,
                    "generated_tokens": len(gen.tokens),
                    "inputs": request.prompt,
                }
        lines.append((_pythonic(line) + "\n", 1))
    if error_at is not None:
        # djl_python's rolling batch on any exception: a dummy special token that
        # carries the message, and finish_reason "error" (details only when asked,
        # else just the finish reason), as its jsonlines formatter writes them.
        error_token = _lmi_token(Token(-1, "", -1, special=True), tgi_compat=tgi_compat)
        if not tgi_compat:  # its TGI-keyed token (as_tgi_dict) drops the message
            error_token["error_msg"] = config.error_message
        details: dict[str, Any] = {"finish_reason": "error"}
        if want_details and config.in_band_style == "standard":
            details["generated_tokens"] = count + 1
            details["inputs"] = request.prompt
        error: dict[str, Any] = {
            "token": error_token,
            "generated_text": "".join(t.text for t in gen.tokens[:count] if not t.special),
            "details": details,
        }
        lines.append((_pythonic(error) + "\n", 0))
    return lines


def _lmi_sse(
    config: EndpointConfig, request: ParsedRequest, gen: Generation, error_at: int | None
) -> Lines:
    return [("data: " + text + "\n", n) for text, n in _lmi_lines(config, request, gen, error_at)]


def _lmi_body(config: EndpointConfig, request: ParsedRequest, gen: Generation) -> str:
    tgi_compat = config.stream_format == "jsonlines-tgi"
    result: dict[str, Any] = {"generated_text": _full_text(gen)}
    if request.details if request.details is not None else tgi_compat:
        result["details"] = {
            "finish_reason": gen.finish_reason,
            "generated_tokens": len(gen.tokens),
            "inputs": request.prompt,
            "tokens": [_lmi_token(t, tgi_compat=tgi_compat) for t in gen.tokens],
        }
    return _pythonic([result] if tgi_compat else result)


# -- OpenAI-compatible (vLLM) ---------------------------------------------------------


def _openai_head(config: EndpointConfig, request: ParsedRequest, obj: str) -> dict[str, Any]:
    prefix = "chatcmpl" if obj.startswith("chat") else "cmpl"
    return {
        "id": f"{prefix}-{request.digest}",
        "object": obj,
        "created": CREATED,
        "model": request.model or config.model_id,
    }


def _usage(gen: Generation) -> dict[str, Any]:
    completion = len(gen.tokens) + len(gen.reasoning)
    usage: dict[str, Any] = {
        "prompt_tokens": gen.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": gen.prompt_tokens + completion,
    }
    if gen.reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": len(gen.reasoning)}
    return usage


def _reasoning_delta(config: EndpointConfig, text: str) -> dict[str, Any]:
    if config.reasoning == "sglang":  # SGLang: reasoning_content, the other fields null
        return {"role": None, "content": None, "reasoning_content": text, "tool_calls": None}
    return {"reasoning": text, "reasoning_content": text}  # vLLM mirrors the old name


def _openai_stream(
    config: EndpointConfig, request: ParsedRequest, gen: Generation, error_at: int | None
) -> Lines:
    chat = request.chat
    sse = _is_sse(config, request)
    tool = gen.tool_call

    def frame(payload: Any, tokens: int = 0) -> tuple[str, int]:
        text = payload if isinstance(payload, str) else _compact(payload)
        return ("data: " + text + "\n\n", tokens) if sse else (text + "\n", tokens)

    obj = "chat.completion.chunk" if chat else "text_completion"

    def chunk(piece: dict[str, Any], finish: str | None, index: int = 0) -> dict[str, Any]:
        choice = {"index": index, **piece, "logprobs": None, "finish_reason": finish}
        return {**_openai_head(config, request, obj), "choices": [choice]}

    lines: Lines = []
    if chat:
        for index in range(config.choices):  # vLLM opens every choice with its role
            role = {"delta": {"role": "assistant", "content": ""}}
            lines.append(frame(chunk(role, None, index)))
    if tool is not None:
        call = {"index": 0, "id": _call_id(request), "type": "function"}
        call["function"] = {"name": tool, "arguments": ""}
        lines.append(frame(chunk({"delta": {"tool_calls": [call]}}, None)))
    if chat and gen.refusal is not None:
        for piece_text in tokenize_refusal(gen.refusal):
            lines.append(frame(chunk({"delta": {"refusal": piece_text}}, None), 1))
        lines.append(frame(chunk({"delta": {}}, "stop")))
        if sse:
            lines.append(frame("[DONE]"))
        return lines
    for token in gen.reasoning:
        lines.append(frame(chunk({"delta": _reasoning_delta(config, token.text)}, None), 1))
    count = len(gen.tokens) if error_at is None else error_at
    for index, token in enumerate(gen.tokens[:count], start=1):
        text = "" if token.special else token.text
        last = error_at is None and index == len(gen.tokens)
        finish = _openai_finish(gen) if last else None
        piece: dict[str, Any]
        if tool is not None:
            arguments = [{"index": 0, "function": {"arguments": text}}]
            piece = {"delta": {"tool_calls": arguments} if text else {}}
        else:
            piece = {"delta": {"content": text}} if chat else {"text": text}
        lines.append(frame(chunk(piece, finish), 1))
        for other in range(1, config.choices):  # n>1: the choices' chunks interleave
            lines.append(frame(chunk(piece, finish, other)))
    if error_at is None and not gen.tokens:
        empty: dict[str, Any] = {"delta": {}} if chat else {"text": ""}
        lines.append(frame(chunk(empty, _openai_finish(gen))))
    if error_at is not None:
        lines.append(frame(_openai_error(config)))
    elif request.include_usage:
        usage = {**_openai_head(config, request, obj), "choices": [], "usage": _usage(gen)}
        lines.append(frame(usage))
    if sse:
        lines.append(frame("[DONE]"))
    return lines


def _openai_finish(gen: Generation) -> str:
    if gen.tool_call is not None and gen.finish_reason != "length":
        return "tool_calls"
    return _OPENAI_FINISH[gen.finish_reason]


def _call_id(request: ParsedRequest) -> str:
    return f"chatcmpl-tool-{request.digest}"


def _openai_error(config: EndpointConfig) -> dict[str, Any]:
    error = {
        "message": config.error_message,
        "type": "InternalServerError",
        "param": None,
        "code": 500,
    }
    if config.in_band_style == "alternate":
        return {"object": "error", **error}
    return {"error": error}


def _openai_body(config: EndpointConfig, request: ParsedRequest, gen: Generation) -> str:
    chat = request.chat
    finish = _openai_finish(gen)
    if chat:
        message: dict[str, Any] = {"role": "assistant", "content": _full_text(gen)}
        if gen.reasoning:  # vLLM's non-streaming message: reasoning (and its old name)
            thought = "".join(t.text for t in gen.reasoning)
            key = "reasoning_content" if config.reasoning == "sglang" else "reasoning"
            message.update({key: thought, "reasoning_content": thought})
        if gen.refusal is not None:
            message.update({"content": None, "refusal": gen.refusal})
        if gen.tool_call is not None:
            function = {"name": gen.tool_call, "arguments": gen.text}
            call = {"id": _call_id(request), "type": "function", "function": function}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        choice: dict[str, Any] = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": finish,
        }
    else:
        choice = {"index": 0, "text": _full_text(gen), "logprobs": None, "finish_reason": finish}
    obj = "chat.completion" if chat else "text_completion"
    body = {**_openai_head(config, request, obj), "choices": [choice], "usage": _usage(gen)}
    return _compact(body)


# -- TGI's chat route (Messages API) ---------------------------------------------------


def _tgi_chat_stream(
    config: EndpointConfig, request: ParsedRequest, gen: Generation, error_at: int | None
) -> Lines:
    """TGI's answer to a ``messages`` body: one chunk per token, the role on each."""
    head = {
        "object": "chat.completion.chunk",
        "id": "",
        "created": CREATED,
        "model": request.model or config.model_id,
        "system_fingerprint": _TGI_FINGERPRINT,
    }
    lines: Lines = []
    count = len(gen.tokens) if error_at is None else error_at
    for index, token in enumerate(gen.tokens[:count], start=1):
        last = error_at is None and index == len(gen.tokens)
        delta: dict[str, Any] = {"role": "assistant"}
        if gen.tool_call is not None and not token.special:
            function = {"name": gen.tool_call if index == 1 else None, "arguments": token.text}
            delta["tool_calls"] = [
                {"index": 0, "id": "0", "type": "function", "function": function}
            ]
        else:
            delta["content"] = "" if token.special else token.text
        finish = _TGI_CHAT_FINISH[gen.finish_reason] if last else None
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        lines.append(("data:" + _compact({**head, "choices": [choice], "usage": None}) + "\n\n", 1))
    if error_at is not None:
        error = {"error": config.error_message, "error_type": "generation"}
        lines.append(("data:" + _compact(error) + "\n\n", 0))
    elif request.include_usage:
        usage = {**head, "choices": [], "usage": _usage(gen)}
        lines.append(("data:" + _compact(usage) + "\n\n", 0))
    lines.append(("data:[DONE]\n\n", 0))
    return lines


_Streamer = Callable[[EndpointConfig, ParsedRequest, Generation, int | None], Lines]
_Body = Callable[[EndpointConfig, ParsedRequest, Generation], str]

_STREAMERS: dict[str, _Streamer] = {
    "tgi": _tgi_stream,
    "jsonlines": _lmi_lines,
    "jsonlines-tgi": _lmi_lines,
    "lmi-sse": _lmi_sse,
    "openai-chat": _openai_stream,
    "openai-completion": _openai_stream,
}
_BODIES: dict[str, _Body] = {
    "tgi": _tgi_body,
    "jsonlines": _lmi_body,
    "jsonlines-tgi": _lmi_body,
    "lmi-sse": _lmi_body,
    "openai-chat": _openai_body,
    "openai-completion": _openai_body,
}


def plan(config: EndpointConfig, body: bytes) -> tuple[ParsedRequest, Generation]:
    """Parse a request body and generate its answer, with the container's rules.

    Raises:
        RequestError: The container would reject the body.
    """
    request = parse_request(body, chat=config.stream_format == "openai-chat")
    forced = constrain(request) if request.chat else None
    generation = generate(
        request,
        eos_token=config.resolved_eos_token,
        keep_stop_text=config.stream_format == "tgi",
        answer=config.answer if forced is None else forced.text,
        default_max_tokens=config.default_max_tokens,
    )
    if forced is not None and forced.tool_name is not None:
        generation = replace(generation, tool_call=forced.tool_name)
    return request, add_reasoning(config, request, generation)


def stream_payload(
    config: EndpointConfig, request: ParsedRequest, generation: Generation
) -> tuple[list[Record], str]:
    """Records for ``InvokeEndpointWithResponseStream`` and the model's content type.

    A request without ``"stream": true`` gets the container's whole non-streaming
    answer as a single record, as the real containers do.
    """
    if request.stream:
        return stream_records(config, request, generation), _content_type(config, request)
    body = response_body(config, request, generation)
    return [Record(body, len(generation.tokens))], "application/json"
