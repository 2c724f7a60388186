"""Endpoint configuration: which container the emulator imitates and which faults it injects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, get_args

from ._routing import Routing

StreamFormat = Literal[
    "tgi", "jsonlines", "jsonlines-tgi", "lmi-sse", "openai-chat", "openai-completion"
]
OpenAIFraming = Literal["sse", "jsonlines"]
ErrorKind = Literal["model_stream_error", "internal_stream_failure", "in_band"]
InBandStyle = Literal["standard", "alternate"]
ReasoningStyle = Literal["vllm", "sglang", "think-tags", "think-open"]

STREAM_FORMATS: tuple[str, ...] = get_args(StreamFormat)

# The EOS token each container family shows by default: Falcon (TGI), Llama/Mistral (LMI).
# OpenAI-style servers never show the EOS token, so its text there is empty.
_DEFAULT_EOS: dict[str, str] = {
    "tgi": "<|endoftext|>",
    "jsonlines": "</s>",
    "jsonlines-tgi": "</s>",
    "lmi-sse": "</s>",
    "openai-chat": "",
    "openai-completion": "",
}

_DEFAULT_MESSAGE = "The model container failed while generating the response."


class HttpError(NamedTuple):
    """One error response returned before any stream starts.

    A plain ``(status, code, message)`` tuple works too. ``code`` goes into the
    ``x-amzn-ErrorType`` header (an empty code sends none, so botocore reports the
    status number as the code). For ``ModelError`` the body carries the modelled
    fields and ``original_status`` becomes ``OriginalStatusCode``.
    """

    status: int
    code: str
    message: str
    original_status: int = 500


@dataclass(frozen=True)
class EndpointConfig:
    """How one emulated endpoint behaves.

    The first group of fields picks the container wire format; the rest inject faults.
    A fault that counts tokens fires once that many token records were sent; if the
    answer has fewer tokens it fires at the end of the stream instead. When several
    faults are set, the first due wins, in the order drop, error, bad CRC, stall.

    Every format also serves chat requests (a ``messages`` body) in its container's
    chat stream: TGI's OpenAI chunks over its SSE, LMI's vLLM chunks as JSON lines,
    vLLM's chunks; with a usage chunk when ``stream_options.include_usage`` asks. The
    emulator never fakes a model's judgement: it calls a tool only when the request
    forces one (``tool_choice`` naming a function, or ``"required"`` with exactly one
    tool), with arguments generated from the function's JSON schema alone (required
    properties, placeholder values), streamed in pieces and ending with
    ``finish_reason`` ``"tool_calls"``. With ``tool_choice`` ``"auto"``, ``"none"``
    or absent it answers in text; ``"required"`` over several tools is rejected.
    A ``response_format`` JSON schema is honoured the same way.

    Attributes:
        stream_format: Container format: ``"tgi"``, ``"jsonlines"`` (DJL/LMI),
            ``"jsonlines-tgi"`` (LMI with ``tgi_compat``), ``"lmi-sse"``,
            ``"openai-chat"`` or ``"openai-completion"``.
        openai_framing: ``"sse"`` (``data: {...}`` plus ``data: [DONE]``) or
            ``"jsonlines"`` (bare JSON lines, as DJL's ``jsonlines_chat``).
        model_id: Model id shown in OpenAI chunks.
        eos_token: EOS token text; ``None`` picks the format's default
            (``<|endoftext|>`` for TGI, ``</s>`` for LMI, empty for OpenAI).
        answer: Canned answer text that replaces the generated one.
        default_max_tokens: Token budget when the request sets none; ``None`` lets the
            answer run to its natural end (TGI 1.x defaulted to 20, LMI to 30).
        variant_name: Production variant reported when the request names none.
        tokens_per_second: Pace of token records; ``None`` sends as fast as possible.
        frame_bytes: ``None`` sends one PayloadPart per record; ``N`` re-chunks the byte
            stream into ``N``-byte PayloadParts, cutting lines and UTF-8 characters.
        crlf: Use CRLF line endings.
        final_newline: ``False`` drops the newline(s) after the very last record.
        sse_comments: In SSE formats, add ``: keep-alive`` comments and
            ``event: message`` fields.
        error_after_tokens: After this many tokens, fail with ``error_kind``.
        error_kind: ``"model_stream_error"`` or ``"internal_stream_failure"`` (event-stream
            exceptions) or ``"in_band"`` (the container's own error record; needs a
            ``"stream": true`` request). ``InvokeEndpoint`` answers any of them with a
            424 ``ModelError``.
        error_message: Message carried by the injected error.
        stream_error_code: ``ErrorCode`` of an injected ``ModelStreamError``; the service
            model documents ``StreamBroken`` and ``ModelInvocationTimeExceeded``.
        in_band_style: ``"alternate"`` picks the second in-band error shape: LMI's
            error line without ``details=true`` (``{"finish_reason": "error"}`` only;
            the message is in ``token.error_msg`` either way); OpenAI uses
            ``{"object": "error", ...}`` instead of vLLM's ``{"error": {...}}``. TGI has one shape.
        drop_after_tokens: After this many tokens, reset the TCP connection (RST).
        reset_mid_frame: With ``drop_after_tokens``, first send half of the next frame.
        truncate_last_frame: End a properly terminated body with half a frame.
        bad_crc_after_tokens: The frame after this many tokens has a corrupted message
            CRC; the stream ends after it.
        stall_after_tokens: After this many tokens, send nothing for ``stall_seconds``
            (the connection stays open), then carry on.
        stall_seconds: Length of the stall.
        endless_line_bytes: Instead of the answer, send one line of this many bytes
            that never ends with a newline, then end the body.
        http_errors: The first ``len(http_errors)`` requests to this endpoint fail with
            these ``(status, error_code, message)`` errors, in order.
        empty_stream: Answer 200 with zero PayloadParts.
        reasoning: The model thinks first, streamed as ``"vllm"`` (``delta.reasoning``,
            mirrored into ``reasoning_content``, on chat routes), ``"sglang"``
            (``delta.reasoning_content``), ``"think-tags"`` (inline ``<think>…</think>``
            tokens) or ``"think-open"`` (the template opened ``<think>``: only
            ``</think>`` is streamed). Text routes always get inline tags.
        reasoning_text: Canned thinking that replaces the default one.
        refusal: On chat routes, decline with this text (``delta.refusal``) instead of
            answering.
        choices: OpenAI formats stream this many choices, interleaved (as vLLM does
            for ``n>1``); the others repeat choice 0's text.
        session_ttl: Seconds a stateful session lives (``SessionId``, see
            ``_sessions.py``); a request naming an unknown session is refused.
            ``None``: the container has no stateful sessions; ``SessionId`` is
            then passed through unchecked and a session request is refused.
        routing: Simulated instances, prefix-aware routing and the prefill clock
            (see :class:`Routing`).
    """

    stream_format: StreamFormat = "tgi"
    openai_framing: OpenAIFraming = "sse"
    model_id: str = "huggingface-llm-falcon-7b-instruct-bf16"
    eos_token: str | None = None
    answer: str | None = None
    default_max_tokens: int | None = None
    variant_name: str = "AllTraffic"
    tokens_per_second: float | None = None
    frame_bytes: int | None = None
    crlf: bool = False
    final_newline: bool = True
    sse_comments: bool = False
    error_after_tokens: int | None = None
    error_kind: ErrorKind = "model_stream_error"
    error_message: str = _DEFAULT_MESSAGE
    stream_error_code: str = "StreamBroken"
    in_band_style: InBandStyle = "standard"
    drop_after_tokens: int | None = None
    reset_mid_frame: bool = False
    truncate_last_frame: bool = False
    bad_crc_after_tokens: int | None = None
    stall_after_tokens: int | None = None
    stall_seconds: float = 30.0
    endless_line_bytes: int | None = None
    http_errors: Sequence[tuple[int, str, str] | tuple[int, str, str, int]] = ()
    empty_stream: bool = False
    reasoning: ReasoningStyle | None = None
    reasoning_text: str | None = None
    refusal: str | None = None
    choices: int = 1
    session_ttl: float | None = 1200.0
    routing: Routing = field(default_factory=Routing)

    @classmethod
    def for_model(cls, model_id: str, **overrides: Any) -> EndpointConfig:
        """An endpoint that speaks like the container the registry gives ``model_id``.

        Args:
            model_id: A JumpStart model id known to the registry.
            **overrides: Any other field (``tokens_per_second``, faults...).

        Raises:
            UnknownModelError: The registry does not know ``model_id``.
        """
        from ..registry import get_model

        spec = get_model(model_id)
        wire = {"tgi": "tgi", "jsonlines": "jsonlines", "openai": "openai-chat"}
        fields: dict[str, Any] = {
            "stream_format": wire[spec.stream_format or "tgi"],
            "model_id": model_id,
        }
        # The end-of-turn token: a special token the template stops on, else an EOS-like one.
        specials = [t for t in spec.stop_sequences if t in spec.special_tokens] or [
            t for t in spec.special_tokens if t.startswith("</") or "end" in t
        ]
        if specials and fields["stream_format"] != "openai-chat":
            fields["eos_token"] = specials[0]
        if spec.reasoning:  # a reasoning model thinks first, as its container streams it
            if spec.opens_thinking:
                fields["reasoning"] = "think-open"
            elif fields["stream_format"] == "openai-chat":
                fields["reasoning"] = "vllm"
            else:
                fields["reasoning"] = "think-tags"
        fields.update(overrides)
        return cls(**fields)

    def __post_init__(self) -> None:
        _check_choice("stream_format", self.stream_format, get_args(StreamFormat))
        _check_choice("openai_framing", self.openai_framing, get_args(OpenAIFraming))
        _check_choice("error_kind", self.error_kind, get_args(ErrorKind))
        _check_choice("in_band_style", self.in_band_style, get_args(InBandStyle))
        if self.reasoning is not None:
            _check_choice("reasoning", self.reasoning, get_args(ReasoningStyle))
        for name in (
            "error_after_tokens",
            "drop_after_tokens",
            "bad_crc_after_tokens",
            "stall_after_tokens",
            "default_max_tokens",
        ):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        for name in ("frame_bytes", "endless_line_bytes", "choices"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if self.tokens_per_second is not None and self.tokens_per_second <= 0:
            raise ValueError(f"tokens_per_second must be > 0, got {self.tokens_per_second}")
        if self.session_ttl is not None and self.session_ttl <= 0:
            raise ValueError(f"session_ttl must be > 0 or None, got {self.session_ttl}")
        if self.stall_seconds < 0:
            raise ValueError(f"stall_seconds must be >= 0, got {self.stall_seconds}")
        errors = tuple(HttpError(*error) for error in self.http_errors)
        object.__setattr__(self, "http_errors", errors)

    @property
    def resolved_eos_token(self) -> str:
        """The EOS token text: ``eos_token`` or the format's default."""
        if self.eos_token is not None:
            return self.eos_token
        return _DEFAULT_EOS[self.stream_format]

    @property
    def is_openai(self) -> bool:
        """Whether the format is one of the OpenAI-compatible ones."""
        return self.stream_format in ("openai-chat", "openai-completion")

    @property
    def is_sse(self) -> bool:
        """Whether the stream is framed as Server-Sent Events."""
        if self.is_openai:
            return self.openai_framing == "sse"
        return self.stream_format in ("tgi", "lmi-sse")

    @property
    def stream_content_type(self) -> str:
        """The content type the container declares for its streamed body."""
        return "text/event-stream" if self.is_sse else "application/jsonlines"

    def http_error(self, index: int) -> HttpError | None:
        """The injected HTTP error for the ``index``-th request (0-based), if any."""
        errors = self.http_errors
        if index < len(errors):
            error = errors[index]
            return error if isinstance(error, HttpError) else HttpError(*error)
        return None


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
