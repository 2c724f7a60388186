"""Read the error a container writes into its own stream, whatever its shape.

The shapes, from the servers' sources:

* TGI: ``{"error": "Input validation error: ...", "error_type": "validation"}``.
* vLLM and SGLang (OpenAI style): ``{"error": {"message", "type", "param", "code"}}``;
  older vLLM releases: ``{"object": "error", "message", "type", "param", "code"}``.
* DJL/LMI rolling batch: the last token carries the message,
  ``{"token": {"id": -1, "text": "", "log_prob": -1, "special_token": true,
  "error_msg": "..."}, "details": {"finish_reason": "error", ...}}``.
* DJL/LMI's "3p" formatter: ``{"body": {...}, "error": {"error_code": 400,
  "error_msg": "..."}}``.

A prompt that does not fit the model's context becomes :class:`PromptTooLongError`
(a langchain-core ``ContextOverflowError``), so generic code can trim history and
retry. Pure functions, no I/O.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ContainerError, PromptTooLongError

__all__ = ["container_error", "error_text", "is_context_overflow"]

# Lower-cased fragments of the servers' own "prompt too long" messages (vLLM,
# SGLang, TGI, LMI). Substrings, not patterns: the numbers in between vary.
_OVERFLOW = (
    "maximum context length",
    "model's context length",
    "maximum model length",
    "max model len",
    "max_model_len",
    "`inputs` tokens + `max_new_tokens` must be",
    "`inputs` must have less than",
    "prompt is too long",
    "input is too long",
    "too many input tokens",
)


def is_context_overflow(message: str) -> bool:
    """Whether a server's error message says the prompt does not fit the context."""
    lowered = message.lower()
    return any(fragment.lower() in lowered for fragment in _OVERFLOW)


def error_text(error: Any) -> tuple[str, str | None]:
    """Message and code from an in-band error of any container's shape."""
    if isinstance(error, dict):
        message = (
            error.get("message")
            or error.get("error_msg")
            or error.get("error")
            or error.get("detail")
            or json.dumps(error)
        )
        if isinstance(message, dict):  # {"error": {"message": ...}} one level down
            return error_text(message)
        code = error.get("type") or error.get("code") or error.get("error_code")
        return str(message), (str(code) if code is not None else None)
    return str(error), None


def container_error(message: str, code: str | None) -> ContainerError:
    """The error for an in-band message: :class:`PromptTooLongError` where it says so."""
    cls = PromptTooLongError if is_context_overflow(message) else ContainerError
    return cls(message, error_code=code)
