"""Generation parameters in each container's own names. Pure functions, no I/O.

Users write the names they know (TGI's ``max_new_tokens``, OpenAI's ``max_tokens``,
``stop`` or ``stop_sequences``); each request schema gets its own and never both:

=====================  ==================  ===================
generic                TGI / LMI (inputs)  OpenAI (vLLM, SGLang)
=====================  ==================  ===================
output length          ``max_new_tokens``  ``max_tokens``
stop strings           client stop list, sent as TGI's ``stop`` or LMI's
                       ``stop_sequences`` / OpenAI's ``stop`` (``build_body``)
=====================  ==================  ===================

Layers (registry defaults, ``model_kwargs``, per-call keyword arguments) are
translated one by one and merged in that order, so a user's ``max_new_tokens``
replaces a default ``max_tokens`` instead of travelling beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._payloads import RequestSchema

__all__ = ["merge_parameters"]

_LENGTH = ("max_new_tokens", "max_tokens")
_STOPS = ("stop", "stop_sequences")
# TGI/LMI-only switches that OpenAI-style servers do not know.
_NOT_OPENAI = frozenset(("details", "return_full_text", "decoder_input_details", "do_sample"))


def _stop_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [s for s in value if isinstance(s, str)]
    return []


def merge_parameters(
    schema: RequestSchema, layers: Iterable[Mapping[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """Merge parameter layers into ``schema``'s names.

    Args:
        schema: The request schema the body is built in.
        layers: Parameter mappings, later ones winning.

    Returns:
        The parameters, and the stop strings found in them (for the caller's stop
        list, which is enforced on the client and sent in the schema's own key).
    """
    openai = schema in ("openai-chat", "openai-completion")
    length = "max_tokens" if openai else "max_new_tokens"
    merged: dict[str, Any] = {}
    stops: list[str] = []
    for layer in layers:
        for key, value in layer.items():
            if key in _LENGTH:
                merged[length] = value
            elif key in _STOPS:
                stops.extend(_stop_list(value))
            elif openai and key in _NOT_OPENAI:
                continue
            else:
                merged[key] = value
    return merged, list(dict.fromkeys(stops))
