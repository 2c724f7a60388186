"""The typed record that describes one JumpStart model, and the lookup error."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from ..errors import ConfigurationError
from ._templates import ChatTemplate

__all__ = ["ModelSpec", "RequestSchema", "StreamFormat", "UnknownModelError"]

StreamFormat = Literal["tgi", "jsonlines", "openai"]
RequestSchema = Literal["tgi", "lmi", "openai-chat", "openai-completion"]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Everything needed to talk to one JumpStart model, in the container's own terms.

    Attributes:
        model_id: The JumpStart model id (``huggingface-llm-falcon-7b-instruct-bf16``).
        display_name: Human-readable name.
        task: JumpStart's task, the id's second part (``"llm"``, ``"textgeneration"``).
        framework: JumpStart's framework, the id's first part (``"huggingface"``, ``"meta"``).
        container: Serving container family: ``"tgi"``, ``"djl-lmi"``, ``"vllm"``
            or ``"mms"`` (which does not stream).
        stream_format: What the container streams: TGI server-sent events,
            LMI JSON lines, OpenAI chunks; ``None`` if it does not stream.
        request_schema: The request body the container expects.
        default_parameters: Generation parameters to send by default, in the
            container's own names; read-only.
        max_tokens_parameter: Name of the output-length parameter.
        stop_parameter: Name of the stop-strings parameter.
        special_tokens: Tokens that may leak into generated text and should be removed.
        stop_sequences: Stop strings the chat template needs.
        chat_template: How to lay out a conversation as a prompt, if known.
        supports_messages_api: The container accepts OpenAI-style ``messages`` bodies.
        supports_tools: The container accepts OpenAI-style tools in that API.
        gated: Deploying and invoking need ``accept_eula=true``.
        default_instance_type: JumpStart's default instance type.
        supports_inference_components: Can be deployed as an inference component.
        spec_version: JumpStart spec version the facts come from.
        verified: ``False`` where some facts could not be confirmed (see ``notes``).
        notes: What is unconfirmed, and anything else worth knowing.
        family: Model family (``"falcon"``, ``"llama-3"``, ...).
        seed: One of the ten ids the seed project listed as streaming-capable.
        hf_model_id: The Hugging Face model the JumpStart model packages.
        source: ``"snapshot"``, ``"hub"`` or ``"sdk"``: where this record came from.
        reasoning: The model thinks before it answers (its reasoning streams apart
            from the answer: ``delta.reasoning`` or inline ``<think>`` tags).
        opens_thinking: The model's chat template writes ``<think>`` itself, so a
            stream starts inside the thinking block (DeepSeek-R1 distills, Qwen3
            thinking variants).
        vision: The model takes images (OpenAI ``image_url`` parts) in the Messages API.
        context_length: The context window in tokens, when known.
    """

    model_id: str
    display_name: str
    task: str
    framework: str
    container: str
    stream_format: StreamFormat | None
    request_schema: RequestSchema
    default_parameters: Mapping[str, Any]
    max_tokens_parameter: str
    stop_parameter: str
    special_tokens: tuple[str, ...]
    stop_sequences: tuple[str, ...]
    chat_template: ChatTemplate | None
    supports_messages_api: bool
    supports_tools: bool
    gated: bool
    default_instance_type: str
    supports_inference_components: bool
    spec_version: str
    verified: bool
    notes: str
    family: str = ""
    seed: bool = False
    hf_model_id: str = ""
    source: str = "snapshot"
    reasoning: bool = False
    opens_thinking: bool = False
    vision: bool = False
    context_length: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.default_parameters, MappingProxyType):
            object.__setattr__(
                self, "default_parameters", MappingProxyType(dict(self.default_parameters))
            )

    @property
    def streams(self) -> bool:
        """Whether the container streams tokens."""
        return self.stream_format is not None


class UnknownModelError(ConfigurationError, KeyError):
    """The model id is not in the registry; the message names the closest ids."""

    def __init__(
        self, model_id: str, suggestions: tuple[str, ...] = (), *, live: bool = False
    ) -> None:
        self.model_id = model_id
        self.suggestions = suggestions
        self.live = live
        names = ", ".join(repr(s) for s in suggestions)
        hint = f"Did you mean {names}?" if suggestions else ""
        if not live:
            hint += " get_model knows only the offline snapshot; resolve_model asks JumpStart"
        where = "JumpStart" if live else "the offline snapshot"
        super().__init__(f"{model_id!r} is not a model id in {where}", hint=hint.strip())

    def __str__(self) -> str:
        # KeyError would otherwise print the message in quotes.
        return str(self.args[0])

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_unknown, (self.model_id, self.suggestions, self.live))


def _rebuild_unknown(model_id: str, suggestions: tuple[str, ...], live: bool) -> UnknownModelError:
    return UnknownModelError(model_id, suggestions, live=live)
