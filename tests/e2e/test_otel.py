"""OpenTelemetry spans and metrics (``otel=True``), checked with the SDK's in-memory exporters."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from langchain_jumpstart_stream import errors
from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER

from ._answers import FALCON, QUESTION, THROTTLED, WAYS, Chunks, ask, fail, model_maker

_SPANS = InMemorySpanExporter()
_READER = InMemoryMetricReader()


@pytest.fixture(scope="module", autouse=True)
def _providers() -> None:
    """The global providers, set once per process as OpenTelemetry allows."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        current.add_span_processor(SimpleSpanProcessor(_SPANS))
    else:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_SPANS))
        trace.set_tracer_provider(provider)
    if not isinstance(metrics.get_meter_provider(), MeterProvider):
        metrics.set_meter_provider(MeterProvider(metric_readers=[_READER]))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    _SPANS.clear()
    _READER.collect()  # drop what earlier tests recorded (delta would, cumulative does not)
    yield _SPANS
    _SPANS.clear()


@pytest.fixture
def model(llm, chat) -> Any:
    return model_maker(llm, chat)


def points(name: str, endpoint_model: str) -> list[Any]:
    """Histogram data points of ``name`` recorded for ``gen_ai.request.model``."""
    data = _READER.get_metrics_data()
    found = []
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    if point.attributes.get("gen_ai.request.model") == endpoint_model:
                        found.append(point)
    return found


def only_span(exporter: InMemorySpanExporter, model_name: str) -> ReadableSpan:
    mine = [
        s
        for s in exporter.get_finished_spans()
        if s.attributes and s.attributes.get("gen_ai.request.model") == model_name
    ]
    assert len(mine) == 1, [s.name for s in exporter.get_finished_spans()]
    return mine[0]


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_a_served_call_is_one_span_and_four_histograms(
    endpoint, model, spans, requests_to, kind, mode
) -> None:
    primary = endpoint(http_errors=[THROTTLED])
    secondary = endpoint(variant_name="Blue", tokens_per_second=200)
    # A model id of its own per test: metrics are cumulative over the test session.
    model_name = f"{FALCON}-{kind}-{mode}"
    chosen = model(kind, primary, fallback_targets=[secondary], otel=True)
    chosen.model_id = model_name  # what the span reports as the requested model
    handler = Chunks()
    text, info = await ask(chosen, mode, handler)
    assert text == WEBSITE_ANSWER
    span = only_span(spans, model_name)
    operation = "chat" if kind == "chat" else "text_completion"
    assert span.name == f"{operation} {model_name}"
    assert span.kind == SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == operation
    assert attributes["gen_ai.provider.name"] == "aws.sagemaker"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["aws.sagemaker.endpoint_name"] == secondary
    assert attributes["aws.sagemaker.invoked_production_variant"] == "Blue"
    assert attributes["aws.sagemaker.attempts"] == 2
    assert attributes["aws.request_id"] == requests_to(secondary)[0].request_id
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert attributes["gen_ai.response.finish_reasons"] == ("eos_token",)
    assert attributes["gen_ai.response.time_to_first_chunk"] == info["time_to_first_token_s"]
    # Content is never recorded unless asked for.
    assert not any(key.endswith("messages") for key in attributes)
    assert QUESTION not in json.dumps(attributes) and "website" not in json.dumps(attributes)
    assert span.status.status_code == StatusCode.UNSET
    assert span.start_time is not None and span.end_time is not None
    assert (span.end_time - span.start_time) / 1e9 >= info["time_to_first_token_s"]

    (duration,) = points("gen_ai.client.operation.duration", model_name)
    assert duration.count == 1 and "error.type" not in duration.attributes
    assert duration.attributes["gen_ai.provider.name"] == "aws.sagemaker"
    tokens = {
        p.attributes["gen_ai.token.type"]: p
        for p in points("gen_ai.client.token.usage", model_name)
    }
    assert tokens["output"].sum == attributes["gen_ai.usage.output_tokens"]
    (first,) = points("gen_ai.client.operation.time_to_first_chunk", model_name)
    assert first.count == 1
    (per_chunk,) = points("gen_ai.client.operation.time_per_output_chunk", model_name)
    # One value per chunk after the first (the closing chunk carries no text).
    assert per_chunk.count == len([token for token in handler.tokens if token]) - 1
    assert per_chunk.sum > 0  # paced at 200 tokens/s: real gaps


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_content_is_recorded_only_on_opt_in(endpoint, model, spans, kind, mode) -> None:
    name = endpoint()
    model_name = f"{FALCON}-content-{kind}-{mode}"
    chosen = model(kind, name, otel=True, otel_capture_content=True)
    chosen.model_id = model_name
    text, _ = await ask(chosen, mode)
    attributes = only_span(spans, model_name).attributes or {}
    inputs = json.loads(str(attributes["gen_ai.input.messages"]))
    outputs = json.loads(str(attributes["gen_ai.output.messages"]))
    assert QUESTION in json.dumps(inputs)
    assert inputs[-1]["role"] == "user"
    assert outputs == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": text}],
            "finish_reason": "eos_token",
        }
    ]


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_a_failed_call_is_an_error_span(endpoint, model, spans, kind, mode) -> None:
    primary = endpoint(http_errors=[THROTTLED] * 2)
    model_name = f"{FALCON}-fail-{kind}-{mode}"
    chosen = model(kind, primary, otel=True, max_retries=1)
    chosen.model_id = model_name
    _, err = await fail(chosen, mode)
    assert isinstance(err, errors.EndpointThrottledError)
    span = only_span(spans, model_name)
    assert span.status.status_code == StatusCode.ERROR
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "ThrottlingException"
    assert attributes["aws.sagemaker.attempts"] == 2
    assert "gen_ai.usage.output_tokens" not in attributes
    (duration,) = points("gen_ai.client.operation.duration", model_name)
    assert duration.attributes["error.type"] == "ThrottlingException"
    assert points("gen_ai.client.operation.time_to_first_chunk", model_name) == []


async def test_a_whole_answer_has_no_chunk_metrics(endpoint, model, spans) -> None:
    name = endpoint()
    model_name = f"{FALCON}-whole"
    chosen = model("chat", name, otel=True, disable_streaming=True)
    chosen.model_id = model_name
    assert (await chosen.ainvoke(QUESTION)).content == WEBSITE_ANSWER
    attributes = only_span(spans, model_name).attributes or {}
    assert "gen_ai.response.time_to_first_chunk" not in attributes
    assert len(points("gen_ai.client.operation.duration", model_name)) == 1
    assert points("gen_ai.client.operation.time_per_output_chunk", model_name) == []


def test_without_the_extra_otel_is_a_clear_error(
    endpoint, llm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", None)  # as if not installed
    chosen = llm(endpoint(), otel=True)
    with pytest.raises(errors.MissingDependencyError) as info:
        chosen.invoke(QUESTION)
    assert "pip install 'langchain-jumpstart-stream[otel]'" in str(info.value)
    assert isinstance(info.value, ImportError)


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_a_stream_closed_early_is_one_span_without_error(
    endpoint, model, spans, kind, mode
) -> None:
    name = endpoint(tokens_per_second=200)
    model_name = f"{FALCON}-early-{kind}-{mode}"
    chosen = model(kind, name, otel=True)
    chosen.model_id = model_name
    if mode == "sync":
        stream = chosen.stream(QUESTION)
        next(stream)
        stream.close()
    else:
        astream = chosen.astream(QUESTION)
        await anext(astream)
        await astream.aclose()
    span = only_span(spans, model_name)
    attributes = dict(span.attributes or {})
    assert attributes["aws.sagemaker.answer_complete"] is False
    assert "error.type" not in attributes
    assert span.status.status_code == StatusCode.UNSET
    (duration,) = points("gen_ai.client.operation.duration", model_name)
    assert duration.count == 1


async def test_a_cancelled_call_is_an_error_span(endpoint, chat, spans) -> None:
    name = endpoint(tokens_per_second=20)
    model_name = f"{FALCON}-cancelled"
    chosen = chat(name, model_id=FALCON, otel=True)
    chosen.model_id = model_name
    started = asyncio.Event()

    async def read() -> None:
        async for _ in chosen.astream(QUESTION):
            started.set()

    task = asyncio.create_task(read())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = only_span(spans, model_name)
    assert span.status.status_code == StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "CancelledError"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_no_credential_prompt_or_answer_reaches_spans_metrics_or_metadata(
    endpoint, chat, spans, mode
) -> None:
    secrets = ("AKIAFAKEFAKEFAKE1234", "fakeSecret/DoNotLeak+0123456789", "fakeToken/DoNotLeak")
    prompt = "PROMPT-MARKER: my bank password is hunter2"
    name = endpoint(answer="OUTPUT-MARKER: the generated answer", http_errors=[THROTTLED])
    model_name = f"{FALCON}-secrets-{mode}"
    chosen = chat(
        name,
        model_id=FALCON,
        otel=True,
        aws_access_key_id=secrets[0],
        aws_secret_access_key=secrets[1],
        aws_session_token=secrets[2],
    )
    chosen.model_id = model_name
    if mode == "sync":
        answer = chosen.invoke(prompt)
    else:
        answer = await chosen.ainvoke(prompt)
    assert "OUTPUT-MARKER" in str(answer.content)
    span = only_span(spans, model_name)
    data = _READER.get_metrics_data()
    seen = " ".join(
        [
            json.dumps(dict(span.attributes or {}), default=str),
            str(span.status.description),
            json.dumps(answer.response_metadata, default=str),
            data.to_json() if data else "",
        ]
    )
    for marker in (*secrets, "PROMPT-MARKER", "hunter2", "OUTPUT-MARKER"):
        assert marker not in seen
    assert (span.attributes or {})["aws.sagemaker.attempts"] == 2  # it did record the call
