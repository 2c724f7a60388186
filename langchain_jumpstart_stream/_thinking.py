"""Whether a request's answer starts inside the model's thinking block. No I/O.

A chat template that opens ``<think>`` itself (DeepSeek-R1 distills, Qwen3
thinking variants) makes the model's first token reasoning, with no opening tag
in the stream. Where the package renders the prompt, the prompt shows it; where
the server renders it (the Messages API), the registry says so, unless the
request turned thinking off (Qwen3's ``chat_template_kwargs.enable_thinking``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registry import ModelSpec

__all__ = ["starts_in_thinking"]


def _thinking_off(parameters: Mapping[str, Any]) -> bool:
    kwargs = parameters.get("chat_template_kwargs")
    if not isinstance(kwargs, Mapping):
        return False
    return kwargs.get("enable_thinking") is False or kwargs.get("thinking") is False


def starts_in_thinking(
    *,
    prompt: str | None,
    spec: ModelSpec | None,
    parameters: Mapping[str, Any],
    server_template: bool,
) -> bool:
    """Whether the stream for this request begins inside ``<think>``.

    Args:
        prompt: The text prompt as sent, when the package (or the caller) wrote it.
        spec: The model's registry entry, if known.
        parameters: The request's generation parameters.
        server_template: The server lays out the conversation with its own template.
    """
    if not server_template:
        return prompt is not None and prompt.rstrip().endswith("<think>")
    return spec is not None and spec.opens_thinking and not _thinking_off(parameters)
