"""OpenTelemetry spans and metrics for each call, after the GenAI semantic conventions.

Imported only when a model has ``otel=True``; ``opentelemetry-api`` comes with the
``[otel]`` extra. It uses the global tracer and meter providers, so whatever the
application configured (an OTLP exporter, a test's in-memory reader) receives them.

One span per call, kind CLIENT, named ``"{operation} {model}"`` (``chat`` for
:class:`ChatJumpStart`, ``text_completion`` for :class:`JumpStartLLM`). It is
written when the call ends, with the call's real start time: no span is left open
while the caller reads the stream, and a span is never ended twice. Metrics:
``gen_ai.client.operation.duration``, ``gen_ai.client.token.usage``, and for streams
``gen_ai.client.operation.time_to_first_chunk`` and
``gen_ai.client.operation.time_per_output_chunk``.

Prompts and answers are recorded (``gen_ai.input.messages``/``gen_ai.output.messages``)
only with ``otel_capture_content=True``.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import errors

if TYPE_CHECKING:
    from opentelemetry.metrics import Histogram

    from ._attempt import Policy
    from ._endpoint import EndpointSettings
    from ._telemetry import Timing

__all__ = ["CallObserver", "observer"]

PROVIDER = "aws.sagemaker"
_SCOPE = "langchain_jumpstart_stream"

# Bucket boundaries the GenAI conventions advise for each histogram.
_SECONDS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
_CHUNK_SECONDS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
_TOKENS = tuple(float(4**i) for i in range(14))  # 1, 4, 16 ... 67,108,864


@dataclass(frozen=True)
class _Instruments:
    duration: Histogram
    tokens: Histogram
    first_chunk: Histogram
    per_chunk: Histogram


_instruments: tuple[object, _Instruments] | None = None


def _histograms() -> _Instruments:
    """The four histograms, made once per meter provider (an instrument is not free)."""
    global _instruments  # a cache; a forked child may keep it (providers survive fork)
    from opentelemetry import metrics

    provider = metrics.get_meter_provider()
    if _instruments is not None and _instruments[0] is provider:
        return _instruments[1]
    meter = metrics.get_meter(_SCOPE, _version())
    made = _Instruments(
        duration=meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_SECONDS,
        ),
        tokens=meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKENS,
        ),
        first_chunk=meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed answer.",
            explicit_bucket_boundaries_advisory=_SECONDS,
        ),
        per_chunk=meter.create_histogram(
            "gen_ai.client.operation.time_per_output_chunk",
            unit="s",
            description="Time from the end of one output chunk to the end of the next.",
            explicit_bucket_boundaries_advisory=_CHUNK_SECONDS,
        ),
    )
    _instruments = (provider, made)
    return made


def _endpoint_url(policy: Policy) -> str | None:
    """The SageMaker Runtime URL of the target the call ended at (``server.address``)."""
    plan = policy.plan
    if plan is None or not plan.current.connection_ready():
        return None
    url = getattr(getattr(plan.current.connection().client, "meta", None), "endpoint_url", None)
    return url if isinstance(url, str) else None


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("langchain-jumpstart-stream")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "0"


def observer(
    model: EndpointSettings,
    *,
    prompt: str | None,
    messages: Sequence[Mapping[str, Any]] | None,
    stream: bool,
) -> CallObserver:
    """The observer of one call of ``model``.

    Raises:
        MissingDependencyError: ``opentelemetry-api`` is not installed.
    """
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError as exc:
        raise errors.MissingDependencyError(
            "otel=True needs the opentelemetry-api package",
            endpoint_name=model.endpoint_name,
            hint="pip install 'langchain-jumpstart-stream[otel]', or leave otel=False",
        ) from exc
    operation = "chat" if model._llm_type.endswith("chat") else "text_completion"  # type: ignore[attr-defined]
    content = None
    if model.otel_capture_content:
        content = _input_messages(prompt, messages)
    return CallObserver(
        operation=operation,
        model=model.model_id or model.endpoint_name,
        stream=stream,
        input_messages=content,
    )


def _input_messages(prompt: str | None, messages: Sequence[Mapping[str, Any]] | None) -> str:
    """The input as the conventions' ``gen_ai.input.messages`` (JSON of role and parts)."""
    if messages is None:
        entries = [{"role": "user", "parts": [{"type": "text", "content": prompt or ""}]}]
    else:
        entries = []
        for message in messages:
            content = message.get("content")
            if not isinstance(content, str):  # content blocks: keep their text
                content = "".join(
                    str(block.get("text", "")) for block in content or () if isinstance(block, dict)
                )
            part = {"type": "text", "content": content}
            entries.append({"role": str(message.get("role", "user")), "parts": [part]})
    return json.dumps(entries, ensure_ascii=False)


@dataclass
class CallObserver:
    """Writes one call's span and metrics when it ends (see :class:`._telemetry.Observer`)."""

    operation: str
    model: str
    stream: bool
    input_messages: str | None = None

    def served(
        self,
        info: Mapping[str, Any],
        report: Mapping[str, Any],
        policy: Policy,
        timing: Timing,
        text: Callable[[], str],
    ) -> None:
        """The call succeeded."""
        attributes = self._common(policy, info.get("model_id"))
        span = self._span(attributes, timing)
        span.set_attribute("aws.sagemaker.endpoint_name", str(report["endpoint_name"]))
        for key in ("inference_component_name", "invoked_production_variant", "region_name"):
            if report.get(key):
                span.set_attribute(f"aws.sagemaker.{key}", str(report[key]))
        if report.get("request_id"):
            span.set_attribute("aws.request_id", str(report["request_id"]))
        span.set_attribute("aws.sagemaker.attempts", policy.attempts)
        if info.get("finish_reason"):
            span.set_attribute("gen_ai.response.finish_reasons", [str(info["finish_reason"])])
        usage = {
            "input": info.get("input_tokens"),
            "output": info.get("output_tokens"),
        }
        for kind, count in usage.items():
            if isinstance(count, int):
                span.set_attribute(f"gen_ai.usage.{kind}_tokens", count)
        first = report.get("time_to_first_token_s")
        if self.stream and isinstance(first, float):
            span.set_attribute("gen_ai.response.time_to_first_chunk", first)
        if self.input_messages is not None:
            span.set_attribute("gen_ai.input.messages", self.input_messages)
            output = [
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": text()}],
                    "finish_reason": str(info.get("finish_reason") or ""),
                }
            ]
            span.set_attribute("gen_ai.output.messages", json.dumps(output, ensure_ascii=False))
        span.end()
        histograms = _histograms()
        histograms.duration.record(time.perf_counter() - timing.start, attributes)
        for kind, count in usage.items():
            if isinstance(count, int):
                histograms.tokens.record(count, {**attributes, "gen_ai.token.type": kind})
        if self.stream and timing.enabled and timing.pieces:
            histograms.first_chunk.record(timing.first - timing.start, attributes)
            per_chunk = histograms.per_chunk
            for _ in range(timing.bursts):  # pieces that came in the same read as the last
                per_chunk.record(0.0, attributes)
            for gap in timing.gaps:
                per_chunk.record(gap, attributes)

    def failed(self, err: errors.JumpStartStreamError, policy: Policy, timing: Timing) -> None:
        """The call gave up with ``err``."""
        from opentelemetry.trace import Status, StatusCode

        attributes = self._common(policy, None)
        attributes["error.type"] = err.error_code or type(err).__name__
        span = self._span(attributes, timing)
        if err.endpoint_name:
            span.set_attribute("aws.sagemaker.endpoint_name", err.endpoint_name)
        if err.request_id:
            span.set_attribute("aws.request_id", err.request_id)
        span.set_attribute("aws.sagemaker.attempts", policy.attempts)
        # The message names endpoints and codes, never credentials or the prompt.
        span.set_status(Status(StatusCode.ERROR, type(err).__name__))
        span.end()
        _histograms().duration.record(time.perf_counter() - timing.start, attributes)

    def cut_short(self, exc: BaseException, policy: Policy, timing: Timing) -> None:
        """The caller closed the stream early, or the call was cancelled or interrupted.

        A caller that stops reading on purpose is no error: the span says only that
        the answer was not read to its end. Cancellation and interruption are errors.
        """
        from opentelemetry.trace import Status, StatusCode

        attributes = self._common(policy, None)
        if not isinstance(exc, GeneratorExit):
            attributes["error.type"] = type(exc).__name__
        span = self._span(attributes, timing)
        span.set_attribute("aws.sagemaker.attempts", policy.attempts)
        span.set_attribute("aws.sagemaker.answer_complete", False)
        if "error.type" in attributes:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        span.end()
        _histograms().duration.record(time.perf_counter() - timing.start, attributes)

    def _common(self, policy: Policy, response_model: Any) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": self.operation,
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.request.model": self.model,
        }
        if response_model:
            attributes["gen_ai.response.model"] = str(response_model)
        endpoint_url = _endpoint_url(policy)
        if endpoint_url:
            parts = urlsplit(endpoint_url)
            if parts.hostname:
                attributes["server.address"] = parts.hostname
            if parts.port:
                attributes["server.port"] = parts.port
        return attributes

    def _span(self, attributes: Mapping[str, Any], timing: Timing) -> Any:
        from opentelemetry import trace

        # Written once the call is over, from its real start: nothing stays open
        # while the caller reads, and an abandoned stream leaves no dangling span.
        elapsed = time.perf_counter() - timing.start
        start = time.time_ns() - int(elapsed * 1e9)
        tracer = trace.get_tracer(_SCOPE, _version())
        return tracer.start_span(
            f"{self.operation} {self.model}",
            kind=trace.SpanKind.CLIENT,
            attributes=attributes,
            start_time=start,
        )
