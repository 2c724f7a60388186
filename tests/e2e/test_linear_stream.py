"""Our linear-time ``stream``/``astream`` against langchain-core's own, on the same model.

Each test runs the same call twice over the emulator: once through our override and
once through ``BaseLLM.stream``/``BaseChatModel.stream`` called explicitly on the same
model, and compares what the caller gets, every callback event in order (with its
arguments), the run's final ``LLMResult``, ``astream_events`` and the rate limiter.
Run ids differ between two runs by design and are replaced by their order of appearance.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import operator
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import langchain_core
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from langchain_core.outputs.chat_generation import merge_chat_generation_chunks
from langchain_core.rate_limiters import InMemoryRateLimiter

from langchain_jumpstart_stream import _accumulate
from langchain_jumpstart_stream._accumulate import ChatTotal, LLMTotal

QUESTION = "How do I build a website?"
REASONING = "<think>First the domain, then the host.</think>Buy a domain, then rent a host."
CONFIG = {"tags": ["t1"], "metadata": {"user": "u1"}, "run_name": "linear"}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


# A run id, bare or as a message id: "lc_run--<uuid>", with "-<n>" for invoke's n-th answer.
_RUN_ID = re.compile(r"(?:lc_run--?)?([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})(-\d+)?")


_TIMED = "<measured>"


def _timed(key: str) -> bool:
    """Telemetry figures (``"jumpstart"`` metadata) that differ from one run to the next."""
    return key.endswith("_s") or key == "tokens_per_second"


class Ids:
    """Replaces run ids (UUIDs and ``lc_run-<uuid>``) by their order of appearance."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            value = str(value)
        if isinstance(value, str):
            found = _RUN_ID.fullmatch(value)
            if found is None:
                return value
            label = self.seen.setdefault(found[1], f"run-{len(self.seen)}")
            return label + (found[2] or "")
        if isinstance(value, dict):
            return {k: _TIMED if _timed(k) else self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        if hasattr(type(value), "model_fields"):  # field by field: LLMResult.model_dump()
            fields = type(value).model_fields  # would dump a chunk as its declared type
            return {
                "__type__": type(value).__name__,
                **{f: self(getattr(value, f)) for f in fields},
            }
        return value


class Events(BaseCallbackHandler):
    """Every LLM callback with all its arguments, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, Any]] = []

    def _add(self, name: str, args: Any, kwargs: Any) -> None:
        self.events.append((name, args, kwargs))

    def on_llm_start(self, *args: Any, **kwargs: Any) -> None:
        self._add("on_llm_start", args, kwargs)

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self._add("on_chat_model_start", args, kwargs)

    def on_llm_new_token(self, *args: Any, **kwargs: Any) -> None:
        self._add("on_llm_new_token", args, kwargs)

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        self._add("on_llm_end", args, kwargs)

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        # The message names the request id, which differs between the two runs.
        self._add("on_llm_error", (type(error).__name__,), kwargs)

    def normalised(self) -> Any:
        return Ids()(self.events)


def _sync_run(stream: Callable[..., Iterator[Any]], model: Any, *, stop_after: int = 0) -> Any:
    events = Events()
    out: list[Any] = []
    for item in stream(model, QUESTION, {**CONFIG, "callbacks": [events]}):
        out.append(item)
        if stop_after and len(out) == stop_after:
            break
    return Ids()(out), events.normalised()


def _async_run(stream: Callable[..., AsyncIterator[Any]], model: Any) -> Any:
    async def run() -> Any:
        events = Events()
        out = [item async for item in stream(model, QUESTION, {**CONFIG, "callbacks": [events]})]
        return Ids()(out), events.normalised()

    return asyncio.run(run())


def _check_same(ours: Any, base: Any) -> None:
    (ours_out, ours_events), (base_out, base_events) = ours, base
    assert ours_out == base_out
    assert [e[0] for e in ours_events] == [e[0] for e in base_events]
    for mine, theirs in zip(ours_events, base_events, strict=True):
        assert mine == theirs
    assert ours_events[-1][0] in ("on_llm_end", "on_llm_error")


# -- the audited langchain-core -----------------------------------------------------

# sha256 of the methods _accumulate mirrors, in the langchain-core version it was
# checked against. A different hash means langchain-core changed them: compare the new
# source with _accumulate.py, update the run functions, then these hashes.
AUDITED = {
    "BaseLLM.stream": "8018915f15a92781fad7889c14183fd77dfdf6a1d01a266d98c32f65964d183b",
    "BaseLLM.astream": "4625f20edd76dce703b08183ebe3bb9bccd10b40023dee0da28829f15e92fe31",
    "BaseChatModel.stream": "55fe993e76fa7c685cce9c06cffcc3f1c88e386cbb61820777a375cd382894a0",
    "BaseChatModel.astream": "1cc95f1b1b80689fd69077e3e52aed3bf99dbe6a0e05e4f59a820f86678ca68c",
}


def _source_hash(method: Any) -> str:
    return hashlib.sha256(inspect.getsource(method).encode()).hexdigest()


def test_only_the_audited_langchain_core_series_gets_the_linear_stream() -> None:
    assert _accumulate._series("1.8.3") == (1, 8) == _accumulate._series("1.8.0rc1")
    assert _accumulate._series("1.9.0") != _accumulate.AUDITED_SERIES
    installed = _accumulate._series(langchain_core.__version__)
    assert (installed == _accumulate.AUDITED_SERIES) == _accumulate.SUPPORTED


def test_langchain_core_stream_methods_are_the_audited_ones() -> None:
    if not _accumulate.SUPPORTED:
        pytest.skip("another langchain-core series: langchain-core's own stream() is used")
    methods = {
        "BaseLLM.stream": BaseLLM.stream,
        "BaseLLM.astream": BaseLLM.astream,
        "BaseChatModel.stream": BaseChatModel.stream,
        "BaseChatModel.astream": BaseChatModel.astream,
    }
    changed = [name for name, m in methods.items() if _source_hash(m) != AUDITED[name]]
    assert not changed, f"langchain-core changed {changed}: re-audit _accumulate.py"


# -- the accumulators against langchain-core's own addition ---------------------------


def test_llm_total_equals_langchain_core_sum() -> None:
    chunks = [
        GenerationChunk(text="a", generation_info={"reasoning_content": "x"}),
        GenerationChunk(text="b", generation_info={"reasoning_content": "y"}),
        GenerationChunk(text="c"),
        GenerationChunk(text="d", generation_info={"reasoning_content": "z", "refusal": "r"}),
        GenerationChunk(text="e", generation_info={"refusal": "s"}),
        GenerationChunk(text="f", generation_info={"token_ids": [1], "id": "i"}),
        GenerationChunk(text="g", generation_info={"token_ids": [2], "id": "i", "n": 3}),
        GenerationChunk(text="h", generation_info={"finish_reason": "stop", "output_tokens": 8}),
    ]
    for end in range(1, len(chunks) + 1):
        total = LLMTotal()
        for chunk in chunks[:end]:
            total.add(chunk)
        expected = functools.reduce(operator.add, chunks[:end])
        assert total.result() == expected


def test_chat_total_equals_langchain_core_merge() -> None:
    run_id = "lc_run-00000000-0000-0000-0000-000000000000"

    def chunk(**message: Any) -> ChatGenerationChunk:
        info = message.pop("info", None)
        message.setdefault("id", run_id)
        return ChatGenerationChunk(message=AIMessageChunk(**message), generation_info=info)

    chunks = [
        chunk(content="Hel"),
        chunk(content="lo"),
        chunk(content="", additional_kwargs={"reasoning_content": "hm"}),
        chunk(content=" wor"),
        chunk(
            content="",
            tool_call_chunks=[{"name": "f", "args": '{"a"', "id": "c1", "index": 0}],
        ),
        chunk(content="", tool_call_chunks=[{"name": None, "args": ": 1}", "index": 0}]),
        chunk(content="ld", id="provider-id"),
        chunk(content="!"),
        chunk(content="", info={"token_ids": [1]}),
        chunk(
            content="",
            response_metadata={"finish_reason": "stop", "model_provider": "x"},
            usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
            chunk_position="last",
        ),
    ]
    for end in range(1, len(chunks) + 1):
        total = ChatTotal(run_id)
        for c in chunks[:end]:
            total.add(c)
        assert total.result() == merge_chat_generation_chunks(chunks[:end])


def test_totals_of_long_streams_equal_langchain_core() -> None:
    """Past the compaction threshold (texts joined into blocks), sums stay exact."""
    words = [f" w{i}" for i in range(3 * _accumulate._COMPACT_EVERY + 7)]
    chunks = [GenerationChunk(text=w) for w in words]
    chunks[300] = GenerationChunk(text="x", generation_info={"reasoning_content": "r"})
    total = LLMTotal()
    for chunk in chunks:
        total.add(chunk)
    assert total.result() == functools.reduce(operator.add, chunks)

    run_id = "lc_run-00000000-0000-0000-0000-000000000000"
    messages = [ChatGenerationChunk(message=AIMessageChunk(content=w, id=run_id)) for w in words]
    messages[400] = ChatGenerationChunk(
        message=AIMessageChunk(content="", id=run_id, additional_kwargs={"refusal": "no"})
    )
    chat_total = ChatTotal(run_id)
    for message in messages:
        chat_total.add(message)
    assert chat_total.result() == merge_chat_generation_chunks(messages)


# -- JumpStartLLM ------------------------------------------------------------------------


def _llm_stream(model: Any, prompt: str, config: Any) -> Iterator[str]:
    return model.stream(prompt, config)


def _base_llm_stream(model: Any, prompt: str, config: Any) -> Iterator[str]:
    return BaseLLM.stream(model, prompt, config)


def _llm_astream(model: Any, prompt: str, config: Any) -> AsyncIterator[str]:
    return model.astream(prompt, config)


def _base_llm_astream(model: Any, prompt: str, config: Any) -> AsyncIterator[str]:
    return BaseLLM.astream(model, prompt, config)


@pytest.mark.parametrize("answer", [None, REASONING])
def test_llm_stream_matches_langchain_core(endpoint, llm, answer) -> None:
    model = llm(endpoint(stream_format="tgi", answer=answer), model_kwargs={"max_new_tokens": 40})
    ours = _sync_run(_llm_stream, model)
    _check_same(ours, _sync_run(_base_llm_stream, model))
    assert ours[1][-1][0] == "on_llm_end"
    assert len(ours[0]) > 5


@pytest.mark.parametrize("answer", [None, REASONING])
def test_llm_astream_matches_langchain_core(endpoint, llm, answer) -> None:
    model = llm(endpoint(stream_format="tgi", answer=answer), model_kwargs={"max_new_tokens": 40})
    ours = _async_run(_llm_astream, model)
    _check_same(ours, _async_run(_base_llm_astream, model))
    assert ours[1][-1][0] == "on_llm_end"


def test_llm_early_break_reports_the_same_partial_answer(endpoint, llm) -> None:
    model = llm(endpoint(stream_format="tgi"), model_kwargs={"max_new_tokens": 40})
    ours = _sync_run(_llm_stream, model, stop_after=3)
    _check_same(ours, _sync_run(_base_llm_stream, model, stop_after=3))
    assert ours[1][-1][0] == "on_llm_error"


def test_llm_stream_error_matches_langchain_core(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi", error_after_tokens=4, error_kind="model_stream_error")
    model = llm(name, model_kwargs={"max_new_tokens": 40}, max_retries=0)
    results = []
    for stream in (_llm_stream, _base_llm_stream):
        events = Events()
        got: list[str] = []
        with pytest.raises(Exception) as raised:
            got.extend(stream(model, QUESTION, {**CONFIG, "callbacks": [events]}))
        results.append((got, type(raised.value), events.normalised()))
    assert results[0][:2] == results[1][:2]
    for mine, theirs in zip(results[0][2], results[1][2], strict=True):
        assert mine == theirs
    assert results[0][2][-1][0] == "on_llm_error"


# -- ChatJumpStart -----------------------------------------------------------------------


def _chat_stream(model: Any, prompt: str, config: Any) -> Iterator[Any]:
    return model.stream(prompt, config)


def _base_chat_stream(model: Any, prompt: str, config: Any) -> Iterator[Any]:
    return BaseChatModel.stream(model, prompt, config)


def _chat_astream(model: Any, prompt: str, config: Any) -> AsyncIterator[Any]:
    return model.astream(prompt, config)


def _base_chat_astream(model: Any, prompt: str, config: Any) -> AsyncIterator[Any]:
    return BaseChatModel.astream(model, prompt, config)


def _chat_models(endpoint: Any, chat: Any) -> dict[str, Any]:
    tgi = endpoint(stream_format="tgi")
    vllm = endpoint(stream_format="openai-chat")
    return {
        "tgi": chat(tgi, stream_format="tgi", use_messages_api=True, max_tokens=30),
        "tools": chat(vllm, stream_format="openai", max_tokens=30).bind_tools(
            [WEATHER], tool_choice="get_weather"
        ),
        "reasoning": chat(
            endpoint(stream_format="openai-chat", answer=REASONING),
            stream_format="openai",
            max_tokens=40,
        ),
    }


@pytest.mark.parametrize("kind", ["tgi", "tools", "reasoning"])
def test_chat_stream_matches_langchain_core(endpoint, chat, kind) -> None:
    model = _chat_models(endpoint, chat)[kind]
    bound = getattr(model, "bound", model)
    kwargs = getattr(model, "kwargs", {})

    def ours(m: Any, p: str, c: Any) -> Iterator[Any]:
        return m.stream(p, c, **kwargs)

    def base(m: Any, p: str, c: Any) -> Iterator[Any]:
        return BaseChatModel.stream(m, p, c, **kwargs)

    mine = _sync_run(ours, bound)
    _check_same(mine, _sync_run(base, bound))
    assert mine[1][-1][0] == "on_llm_end"
    if kind == "tools":
        end = mine[1][-1][1][0]
        assert end["generations"][0][0]["message"]["tool_calls"][0]["name"] == "get_weather"


@pytest.mark.parametrize("kind", ["tgi", "tools", "reasoning"])
def test_chat_astream_matches_langchain_core(endpoint, chat, kind) -> None:
    model = _chat_models(endpoint, chat)[kind]
    bound = getattr(model, "bound", model)
    kwargs = getattr(model, "kwargs", {})

    def ours(m: Any, p: str, c: Any) -> AsyncIterator[Any]:
        return m.astream(p, c, **kwargs)

    def base(m: Any, p: str, c: Any) -> AsyncIterator[Any]:
        return BaseChatModel.astream(m, p, c, **kwargs)

    mine = _async_run(ours, bound)
    _check_same(mine, _async_run(base, bound))
    assert mine[1][-1][0] == "on_llm_end"


def test_chat_early_break_reports_the_same_partial_answer(endpoint, chat) -> None:
    model = chat(endpoint(stream_format="tgi"), use_messages_api=True, max_tokens=30)
    mine = _sync_run(_chat_stream, model, stop_after=3)
    _check_same(mine, _sync_run(_base_chat_stream, model, stop_after=3))
    assert mine[1][-1][0] == "on_llm_error"


class CountingLimiter(InMemoryRateLimiter):
    def __init__(self) -> None:
        super().__init__(requests_per_second=1000)
        self.calls: list[str] = []

    def acquire(self, *, blocking: bool = True) -> bool:
        self.calls.append("acquire")
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        self.calls.append("aacquire")
        return True


def test_chat_rate_limiter_is_acquired_once_per_stream(endpoint, chat) -> None:
    limiter = CountingLimiter()
    model = chat(
        endpoint(stream_format="tgi"), use_messages_api=True, max_tokens=5, rate_limiter=limiter
    )
    list(model.stream(QUESTION))
    list(BaseChatModel.stream(model, QUESTION))

    async def both() -> None:
        [m async for m in model.astream(QUESTION)]
        [m async for m in BaseChatModel.astream(model, QUESTION)]

    asyncio.run(both())
    assert limiter.calls == ["acquire", "acquire", "aacquire", "aacquire"]


# -- the branches langchain-core keeps, and the cache --------------------------------


@pytest.mark.parametrize(
    "settings",
    [{"disable_streaming": True}, {"streaming": False}, {"output_version": "v1"}],
    ids=["disable_streaming", "streaming_false", "output_v1"],
)
def test_chat_branches_left_to_langchain_core_match_it(
    endpoint, chat, requests_to, settings
) -> None:
    name = endpoint(stream_format="tgi")
    model = chat(name, use_messages_api=True, max_tokens=12, **settings)
    ours = _sync_run(_chat_stream, model)
    theirs = _sync_run(_base_chat_stream, model)
    _check_same(ours, theirs)
    mine_async = _async_run(_chat_astream, model)
    _check_same(mine_async, _async_run(_base_chat_astream, model))
    streamed = [r.streaming for r in requests_to(name)]
    assert streamed == [streamed[0]] * 4  # the same operation every time
    assert streamed[0] is ("output_version" in settings)  # invoke_endpoint when not streaming


@pytest.mark.parametrize("kind", ["llm", "chat"])
def test_stream_and_the_cache_behave_as_langchain_core(
    endpoint, llm, chat, requests_to, kind
) -> None:
    """langchain-core 1.8.3's stream() neither reads nor fills the cache; nor do ours."""
    from langchain_core.caches import InMemoryCache

    name = endpoint(stream_format="tgi")
    cache = InMemoryCache()
    if kind == "llm":
        model: Any = llm(name, model_kwargs={"max_new_tokens": 12}, cache=cache)
        base: Any = BaseLLM.stream
    else:
        model = chat(name, use_messages_api=True, max_tokens=12, cache=cache)
        base = BaseChatModel.stream
    model.invoke(QUESTION)  # fills the cache
    assert len(requests_to(name)) == 1
    assert model.invoke(QUESTION) is not None and len(requests_to(name)) == 1  # a cache hit
    entries = len(cache._cache)
    ours = list(model.stream(QUESTION))
    theirs = list(base(model, QUESTION))
    assert Ids()(ours) == Ids()(theirs)
    assert len(requests_to(name)) == 3  # both streamed from the endpoint
    assert len(cache._cache) == entries


# -- astream_events ----------------------------------------------------------------------


def _events_v2(model: Any, *, base: bool) -> list[dict[str, Any]]:
    cls = type(model)
    originals = (cls.stream, cls.astream)
    if base:  # run langchain-core's own astream for the comparison
        parent = BaseChatModel if issubclass(cls, BaseChatModel) else BaseLLM
        cls.astream = parent.astream  # type: ignore[method-assign]

    async def run() -> list[dict[str, Any]]:
        return [e async for e in model.astream_events(QUESTION, version="v2", config=CONFIG)]

    try:
        events = asyncio.run(run())
    finally:
        cls.stream, cls.astream = originals  # type: ignore[method-assign]
    return Ids()(events)


@pytest.mark.parametrize("kind", ["llm", "chat"])
def test_astream_events_v2_match_langchain_core(endpoint, llm, chat, kind) -> None:
    name = endpoint(stream_format="tgi")
    if kind == "llm":
        model = llm(name, model_kwargs={"max_new_tokens": 20})
    else:
        model = chat(name, use_messages_api=True, max_tokens=20)
    ours = _events_v2(model, base=False)
    assert ours == _events_v2(model, base=True)
    kinds = [e["event"] for e in ours]
    stream_event = "on_llm_stream" if kind == "llm" else "on_chat_model_stream"
    assert kinds.count(stream_event) >= 10
    assert kinds[-1].endswith("_end")


def test_stream_events_v3_gives_the_streamed_answer(endpoint, chat) -> None:
    """v3 runs langchain-core's own event pump over ``_stream``: same text as stream()."""
    model = chat(endpoint(stream_format="tgi"), use_messages_api=True, max_tokens=20)
    streamed = "".join(str(m.content) for m in model.stream(QUESTION))
    run = model.stream_events(QUESTION, version="v3")
    assert run.output.text == streamed


def test_another_langchain_core_series_gets_langchain_cores_own_stream(
    endpoint, llm, chat, monkeypatch
) -> None:
    """Outside the audited series the overrides hand every call to langchain-core."""
    name = endpoint(stream_format="tgi")
    text_model = llm(name, model_kwargs={"max_new_tokens": 20})
    chat_model = chat(name, stream_format="tgi", use_messages_api=True, max_tokens=20)
    calls: list[str] = []
    own_llm, own_chat = BaseLLM.stream, BaseChatModel.stream

    def llm_stream(self: Any, *args: Any, **kwargs: Any) -> Iterator[str]:
        calls.append("llm")
        return own_llm(self, *args, **kwargs)

    def chat_stream(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        calls.append("chat")
        return own_chat(self, *args, **kwargs)

    expected = (_sync_run(_llm_stream, text_model), _sync_run(_chat_stream, chat_model))
    monkeypatch.setattr(_accumulate, "SUPPORTED", False)
    monkeypatch.setattr(BaseLLM, "stream", llm_stream)
    monkeypatch.setattr(BaseChatModel, "stream", chat_stream)
    _check_same(_sync_run(_llm_stream, text_model), expected[0])
    _check_same(_sync_run(_chat_stream, chat_model), expected[1])
    assert calls == ["llm", "chat"]
