"""Behaviour 11: native async, end to end through real boto3 and the emulator."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler

from langchain_jumpstart_stream import errors
from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER

QUESTION = "How do I build a website?"


class AsyncRecorder(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.errors: list[BaseException] = []

    async def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)

    async def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors.append(error)


async def test_astream_yields_every_token(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi", frame_bytes=5)
    tokens = [t async for t in llm(name).astream(QUESTION)]
    assert "".join(tokens) == WEBSITE_ANSWER
    assert len(tokens) > 20


async def test_ainvoke_streams_through_async_callbacks(endpoint, llm) -> None:
    name = endpoint(stream_format="jsonlines")
    handler = AsyncRecorder()
    out = await llm(name).ainvoke(QUESTION, config={"callbacks": [handler]})
    assert out == WEBSITE_ANSWER
    assert "".join(handler.tokens) == out
    assert len(handler.tokens) > 20


async def test_abatch_and_non_streaming_ainvoke(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    outs = await llm(name).abatch([QUESTION, QUESTION])
    assert outs == [WEBSITE_ANSWER, WEBSITE_ANSWER]
    assert await llm(name, streaming=False).ainvoke(QUESTION) == WEBSITE_ANSWER
    assert [r.streaming for r in requests_to(name)] == [True, True, False]


async def test_async_error_keeps_partial_text_and_reports_once(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi", error_after_tokens=4)
    handler = AsyncRecorder()
    got = []
    with pytest.raises(errors.ModelStreamError) as info:
        async for t in llm(name).astream(QUESTION, config={"callbacks": [handler]}):
            got.append(t)
    assert info.value.partial_text == "".join(got)
    assert len(got) == 4
    assert len(handler.errors) == 1


async def test_many_concurrent_streams_do_not_block_the_loop(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi", tokens_per_second=100, answer=" ".join(["word"] * 40))
    model = llm(name, max_pool_connections=128)
    model.get_client()  # creating a boto3 client is a one-off, CPU-bound half second
    lags: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - start - 0.01)

    async def one() -> str:
        return "".join([t async for t in model.astream("x")])

    beat = asyncio.create_task(heartbeat())
    start = time.perf_counter()
    outs = await asyncio.gather(*(one() for _ in range(100)))
    elapsed = time.perf_counter() - start
    done.set()
    await beat
    assert outs == [" ".join(["word"] * 40)] * 100
    # Each stream lasts 0.4 s: run one after another they would take 40 s.
    assert elapsed < 10
    # Reads never run on the loop: it keeps ticking while 100 streams are read.
    # (Loose bounds: the emulator shares this process's GIL; the benchmark measures
    # lag properly, with the emulator in its own process.)
    lags.sort()
    assert lags[len(lags) // 2] < 0.05, lags[-5:]


async def test_cancelling_the_task_closes_the_stream(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi", tokens_per_second=100)
    model = llm(name)
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in model.astream(QUESTION):
            started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (req,) = requests_to(name)
    assert await asyncio.to_thread(req.done.wait, 5)
    assert req.client_disconnected
    assert req.tokens_sent < 30


async def test_breaking_out_of_astream_closes_the_stream(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi", tokens_per_second=100)
    agen = llm(name).astream(QUESTION)
    got = []
    async for t in agen:
        got.append(t)
        if len(got) == 2:
            break
    await agen.aclose()
    (req,) = requests_to(name)
    assert await asyncio.to_thread(req.done.wait, 5)
    assert req.client_disconnected
    # No worker thread is left behind.
    deadline = time.monotonic() + 5
    while (
        any(t.name == "jumpstart-stream" for t in threading.enumerate())
        and time.monotonic() < deadline
    ):
        await asyncio.sleep(0.05)
    assert not any(t.name == "jumpstart-stream" for t in threading.enumerate())
