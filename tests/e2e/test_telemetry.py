"""Per-call telemetry in the last chunk's metadata and in traced runs, end to end."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.tracers.run_collector import RunCollectorCallbackHandler

from langchain_jumpstart_stream import ChatJumpStart
from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER

from ._answers import QUESTION, THROTTLED, WAYS, ask, model_maker


@pytest.fixture
def model(llm, chat) -> Any:
    return model_maker(llm, chat)


TIMING_KEYS = {"time_to_first_token_s", "inter_token_latency_s", "tokens_per_second", "duration_s"}
IDENTITY_KEYS = {
    "endpoint_name",
    "inference_component_name",
    "target_variant",
    "invoked_production_variant",
    "region_name",
    "request_id",
    "attempts",
}


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_a_paced_stream_reports_first_token_gaps_and_rate(
    endpoint, model, requests_to, kind, mode
) -> None:
    name = endpoint(tokens_per_second=100)
    text, info = await ask(model(kind, name), mode)
    assert text == WEBSITE_ANSWER
    assert set(info) == IDENTITY_KEYS | TIMING_KEYS
    assert info["request_id"] == requests_to(name)[0].request_id
    first, gaps = info["time_to_first_token_s"], info["inter_token_latency_s"]
    assert 0 < first <= info["duration_s"]
    assert set(gaps) == {"p50", "p99", "max"}
    # Paced tokens arrive one per read, some time apart: real gaps, in order.
    assert 0 < gaps["p50"] <= gaps["p99"] <= gaps["max"] < info["duration_s"]
    assert info["tokens_per_second"] > 0


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_time_to_first_token_includes_the_failed_attempt(endpoint, model, kind, mode) -> None:
    primary = endpoint(http_errors=[THROTTLED])
    secondary = endpoint()
    chosen = model(kind, primary, fallback_targets=[secondary], retry_base_delay=0)
    _, info = await ask(chosen, mode)
    assert info["attempts"] == 2
    assert info["duration_s"] >= info["time_to_first_token_s"] > 0


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_telemetry_off_keeps_only_who_served(endpoint, model, kind, mode) -> None:
    name = endpoint()
    _, info = await ask(model(kind, name, telemetry=False), mode)
    assert set(info) == IDENTITY_KEYS
    assert info["endpoint_name"] == name


@pytest.mark.parametrize("kind", ["llm", "chat"])
async def test_a_whole_answer_has_a_first_token_time_but_no_gaps(endpoint, model, kind) -> None:
    name = endpoint()
    chosen = model(kind, name, disable_streaming=True)
    if kind == "chat":
        info = (await chosen.ainvoke(QUESTION)).response_metadata["jumpstart"]
    else:
        result = await chosen.agenerate([QUESTION])
        info = result.generations[0][0].generation_info["jumpstart"]
    assert info["time_to_first_token_s"] > 0
    assert info["inter_token_latency_s"] == {"p50": None, "p99": None, "max": None}
    assert info["tokens_per_second"] is None


@pytest.mark.parametrize(("kind", "mode"), WAYS)
async def test_the_figures_reach_the_traced_run(endpoint, model, kind, mode) -> None:
    """LangSmith records what a run's tracer sees: the run's outputs carry the figures."""
    primary = endpoint(http_errors=[THROTTLED])
    secondary = endpoint(variant_name="Blue")
    chosen = model(kind, primary, fallback_targets=[secondary])
    tracer = RunCollectorCallbackHandler()
    config: Any = {"callbacks": [tracer]}
    if mode == "sync":
        answer = chosen.invoke(QUESTION, config=config)
    else:
        answer = await chosen.ainvoke(QUESTION, config=config)
    (run,) = tracer.traced_runs
    assert run.error is None
    generation = run.outputs["generations"][0][0]
    if isinstance(chosen, ChatJumpStart):
        traced = generation["message"]["kwargs"]["response_metadata"]["jumpstart"]
        assert traced == answer.response_metadata["jumpstart"]
    else:
        traced = generation["generation_info"]["jumpstart"]
    assert traced["endpoint_name"] == secondary
    assert traced["invoked_production_variant"] == "Blue"
    assert traced["attempts"] == 2
    assert traced["time_to_first_token_s"] > 0
    assert run.extra["metadata"]["ls_provider"] == "amazon_sagemaker"
