"""Record from the emulator, replay the cassette: the same answer, errors, cuts and pace.

Every call goes through real boto3 signing, the package's transport, the loopback
emulator and LangChain's callbacks, sync and async.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from langchain_jumpstart_stream import ChatJumpStart, JumpStartLLM, errors
from langchain_jumpstart_stream.cassettes import CassettePlayer, load, record
from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig

FALCON = "huggingface-llm-falcon-7b-instruct-bf16"
QUESTION = "How do I build a website?"
# 30 tokens at 25 per second: a stream of about 1.2 s, long enough to measure its pace
# ("within 10%" then allows 120 ms of a loaded machine's scheduling).
PACED = {"stream_format": "tgi", "tokens_per_second": 25.0}


class Tokens(BaseCallbackHandler):
    """What LangChain's callbacks saw, in order."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


@pytest.fixture
def live() -> Any:
    """The "real" endpoints a cassette is recorded from."""
    endpoints = {
        "paced": EndpointConfig(**PACED),
        "broken": EndpointConfig(
            stream_format="tgi", error_after_tokens=3, error_kind="model_stream_error"
        ),
        "dropped": EndpointConfig(stream_format="tgi", drop_after_tokens=4),
        "throttled": EndpointConfig(
            stream_format="tgi", http_errors=[(400, "ThrottlingException", "Rate exceeded")]
        ),
    }
    with Emulator(endpoints=endpoints) as emu:
        yield emu


def _model(cls: type[Any], url: str | None, name: str, **kwargs: Any) -> Any:
    kwargs.setdefault("model_id", FALCON)
    kwargs.setdefault("max_tokens", 30)
    kwargs.setdefault("retry_base_delay", 0.01)
    if url is not None:
        kwargs.update(endpoint_url=url, region_name="us-east-1")
    return cls(endpoint_name=name, **kwargs)


def _run(model: Any, prompt: Any, mode: str) -> tuple[list[Any], list[str], float]:
    """Stream ``prompt``: the chunks, the callback tokens and the seconds it took."""
    handler = Tokens()
    config = {"callbacks": [handler]}
    start = time.monotonic()
    if mode == "sync":
        chunks = list(model.stream(prompt, config=config))
    else:

        async def collect() -> list[Any]:
            return [c async for c in model.astream(prompt, config=config)]

        chunks = asyncio.run(collect())
    return chunks, handler.tokens, time.monotonic() - start


# The last chunk's "jumpstart" keys that a replay reproduces; the timings and request
# id are the replay's own (docs/production.md).
_SERVED = ("endpoint_name", "inference_component_name", "target_variant", "attempts")


def _comparable(chunk: Any) -> Any:
    """A chunk without what differs between two runs by nature (run ids, timings)."""
    if isinstance(chunk, str):
        return chunk
    data = chunk.model_dump()
    data.pop("id", None)
    served = (data.get("response_metadata") or {}).get("jumpstart")
    if served is not None:
        data["response_metadata"]["jumpstart"] = {k: served[k] for k in _SERVED}
    return data


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("cls", [JumpStartLLM, ChatJumpStart])
def test_paced_stream_replays_identically(live: Emulator, tmp_path: Path, cls, mode) -> None:
    cassette = tmp_path / "paced.jsonl"
    with record(cassette):
        recorded, recorded_tokens, _ = _run(_model(cls, live.url, "paced"), QUESTION, mode)
    again = tmp_path / "again.jsonl"
    with CassettePlayer(cassette) as player, record(again):
        make = player.llm if cls is JumpStartLLM else player.chat
        replayed, replayed_tokens, _ = _run(make(model_id=FALCON, max_tokens=30), QUESTION, mode)
    # Text, metadata (finish reason, usage) and chunk boundaries, chunk by chunk.
    assert [_comparable(c) for c in replayed] == [_comparable(c) for c in recorded]
    assert replayed_tokens == recorded_tokens
    assert len(recorded_tokens) >= 25
    # The replay, recorded in turn, carries the same bytes, and its pace is within 10%
    # over a stream of half a second or more (its end, and the middle of its schedule).
    first, second = load(cassette).interactions[0], load(again).interactions[0]
    assert second.body == first.body
    assert first.end_t >= 0.5
    assert second.end_t == pytest.approx(first.end_t, rel=0.1)
    middle = len(first.reads) // 2
    assert _arrival(second, first.reads[middle][1]) == pytest.approx(
        first.reads[middle][0], rel=0.1, abs=0.03
    )


def _arrival(item: Any, marker: bytes) -> float:
    """When the read that completed ``marker`` arrived."""
    seen = b""
    for t, data in item.reads:
        seen += data
        if marker in seen:
            return float(t)
    raise AssertionError("marker never arrived")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_mid_stream_error_replays_with_the_same_partial_text(live, tmp_path, mode) -> None:
    cassette = tmp_path / "broken.jsonl"
    with record(cassette), pytest.raises(errors.ModelStreamError) as first:
        _run(_model(JumpStartLLM, live.url, "broken", max_retries=0), QUESTION, mode)
    with CassettePlayer(cassette) as player, pytest.raises(errors.ModelStreamError) as second:
        _run(player.llm(model_id=FALCON, max_tokens=30, max_retries=0), QUESTION, mode)
    assert second.value.partial_text == first.value.partial_text != ""
    assert second.value.message == first.value.message
    assert second.value.error_code == first.value.error_code


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_dropped_connection_replays_as_a_drop(live, tmp_path, mode) -> None:
    cassette = tmp_path / "dropped.jsonl"
    with record(cassette), pytest.raises(errors.StreamInterruptedError) as first:
        _run(_model(JumpStartLLM, live.url, "dropped", max_retries=0), QUESTION, mode)
    assert load(cassette).interactions[0].end == "reset"
    with CassettePlayer(cassette) as player, pytest.raises(errors.StreamInterruptedError) as second:
        _run(player.llm(model_id=FALCON, max_tokens=30, max_retries=0), QUESTION, mode)
    assert second.value.partial_text == first.value.partial_text != ""


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_throttled_then_retried_replays_both_attempts(live, tmp_path, mode) -> None:
    cassette = tmp_path / "throttled.jsonl"
    with record(cassette):
        model = _model(JumpStartLLM, live.url, "throttled", max_retries=1)
        recorded, _, _ = _run(model, QUESTION, mode)
    statuses = [i.status for i in load(cassette).interactions]
    assert statuses == [400, 200]
    with CassettePlayer(cassette) as player:
        again = player.llm(model_id=FALCON, max_tokens=30, max_retries=1, retry_base_delay=0.01)
        assert _run(again, QUESTION, mode)[0] == recorded
        # Without a retry the recorded throttling comes back as the same error.
        once = player.llm(model_id=FALCON, max_tokens=30, max_retries=0)
        with pytest.raises(errors.EndpointThrottledError, match="Rate exceeded"):
            _run(once, QUESTION, mode)


def test_stop_sequence_is_recorded_as_closed_and_replays(live, tmp_path) -> None:
    cassette = tmp_path / "stop.jsonl"
    with record(cassette):
        text = _model(JumpStartLLM, live.url, "paced", stop=["website"]).invoke(QUESTION)
    assert load(cassette).interactions[0].end == "closed"
    with CassettePlayer(cassette, speed=None) as player:
        model = player.llm(model_id=FALCON, max_tokens=30, stop=["website"])
        assert model.invoke(QUESTION) == text


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_whole_answers_replay(live, tmp_path, mode) -> None:
    cassette = tmp_path / "whole.jsonl"
    with record(cassette):
        model = _model(JumpStartLLM, live.url, "paced", streaming=False)
        text = model.invoke(QUESTION) if mode == "sync" else asyncio.run(model.ainvoke(QUESTION))
    assert [i.request.operation for i in load(cassette).interactions] == ["InvokeEndpoint"]
    with CassettePlayer(cassette, speed=None) as player:
        again = player.llm(model_id=FALCON, max_tokens=30, streaming=False)
        got = again.invoke(QUESTION) if mode == "sync" else asyncio.run(again.ainvoke(QUESTION))
    assert got == text != ""


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_random_cuts_and_full_speed_give_the_same_chunks(live, tmp_path, mode) -> None:
    cassette = tmp_path / "paced.jsonl"
    with record(cassette):
        recorded, _, took = _run(_model(JumpStartLLM, live.url, "paced"), QUESTION, mode)
    for seed in (1, 2):
        with CassettePlayer(cassette, speed=None, cut="random", seed=seed) as player:
            model = player.llm(model_id=FALCON, max_tokens=30)
            replayed, _, fast = _run(model, QUESTION, mode)
        assert replayed == recorded
        assert fast < took / 2  # no pacing: far quicker than the 1.2 s recording


def test_scaled_speed_halves_the_schedule(live, tmp_path) -> None:
    cassette = tmp_path / "paced.jsonl"
    with record(cassette):
        _run(_model(JumpStartLLM, live.url, "paced"), QUESTION, "sync")
    again = tmp_path / "again.jsonl"
    with CassettePlayer(cassette, speed=2.0) as player, record(again):
        _run(player.llm(model_id=FALCON, max_tokens=30), QUESTION, "sync")
    first, second = load(cassette).interactions[0], load(again).interactions[0]
    assert second.end_t == pytest.approx(first.end_t / 2, rel=0.2)


def test_batch_records_every_call_from_its_threads(live, tmp_path) -> None:
    cassette = tmp_path / "batch.jsonl"
    prompts = ["one", "two", "three"]
    with record(cassette):
        answers = _model(JumpStartLLM, live.url, "paced", max_tokens=3).batch(prompts)
    recorded = load(cassette).interactions
    assert sorted(i.request.json()["inputs"] for i in recorded) == sorted(prompts)
    with CassettePlayer(cassette, speed=None) as player:
        assert player.llm(model_id=FALCON, max_tokens=3).batch(prompts) == answers


def test_a_miss_is_a_clear_error_naming_the_cassette(live, tmp_path) -> None:
    cassette = tmp_path / "one.jsonl"
    with record(cassette):
        _model(JumpStartLLM, live.url, "paced", max_tokens=3).invoke(QUESTION)
    with CassettePlayer(cassette, speed=None) as player:
        model = player.llm(model_id=FALCON, max_tokens=3, max_retries=0)
        with pytest.raises(errors.InvalidRequestError) as info:
            model.invoke("a question never recorded")
        assert str(cassette) in str(info.value)
        assert "differ in inputs" in str(info.value)
        assert "never recorded" not in str(info.value)  # the prompt is not echoed
        assert len(player.misses) == 1
        # Matching on the operation alone answers any body with the recorded stream.
    with CassettePlayer(cassette, speed=None, match=["operation"]) as loose:
        assert loose.llm(model_id=FALCON, max_tokens=3, endpoint_name="other").invoke("x")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_connection_that_failed_replays_as_a_failed_connection(tmp_path, mode) -> None:
    with Emulator() as gone:
        url = gone.url  # nothing listens there any more
    cassette = tmp_path / "refused.jsonl"
    with record(cassette), pytest.raises(errors.EndpointConnectionError):
        _run(_model(JumpStartLLM, url, "paced", max_retries=0), QUESTION, mode)
    item = load(cassette).interactions[0]
    assert (item.status, item.end, item.reads) == (0, "reset", [])
    with CassettePlayer(cassette) as player, pytest.raises(errors.EndpointConnectionError):
        _run(player.llm(model_id=FALCON, max_tokens=30, max_retries=0), QUESTION, mode)
