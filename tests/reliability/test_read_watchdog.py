"""``read_timeout`` on async calls: the lazy watchdog that replaced aiohttp's per-read timer.

Real boto3 signs; aiohttp talks to scripted loopback servers that stall before the
head, stall mid-stream, or trickle frames slower than a burst but faster than the
read timeout. Bounds on elapsed time are generous (a shared 2-core machine).
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
import warnings
from typing import Any, ClassVar

import pytest

from langchain_jumpstart_stream import JumpStartLLM, _async_http, errors
from langchain_jumpstart_stream.emulator._frames import payload_part

from ._scripted import FINAL, STREAM_HEAD, TOKEN, Server, chunk, scripted

QUESTION = "How do I build a website?"
READ_TIMEOUT = 1.0


def _llm(url: str, **kwargs: Any) -> JumpStartLLM:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("read_timeout", READ_TIMEOUT)
    kwargs.setdefault("connect_timeout", 5)
    return JumpStartLLM(
        endpoint_name="watchdog", endpoint_url=url, region_name="us-east-1", **kwargs
    )


class _Spy(_async_http.AsyncResponse):
    """Records every answer opened, and the watchdog each one started."""

    opened: ClassVar[list[_Spy]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handles: list[asyncio.TimerHandle] = []
        _Spy.opened.append(self)

    def _watch(self) -> None:
        super()._watch()
        if self.watchdog is not None:
            self.handles.append(self.watchdog)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[_Spy]:
    _Spy.opened = []
    monkeypatch.setattr(_async_http, "AsyncResponse", _Spy)
    return _Spy.opened


def _assert_no_watchdog(answers: list[_Spy]) -> None:
    assert answers
    for answer in answers:
        assert answer.watchdog is None
        assert all(
            handle.cancelled() or handle.when() <= time.monotonic() for handle in answer.handles
        )


async def _stream(model: JumpStartLLM, got: list[str]) -> None:
    async for token in model.astream(QUESTION):
        got.append(token)


def _frames_then(stall: float, tokens: int, gap: float = 0.0, final: bool = False):  # type: ignore[no-untyped-def]
    def script(conn: socket.socket, server: Server) -> None:
        if server.read_request(conn) is None:
            return
        conn.sendall(STREAM_HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(tokens):
            conn.sendall(chunk(payload_part(TOKEN)))
            if gap and server.stop.wait(gap):
                return
        if final:
            conn.sendall(chunk(payload_part(FINAL)) + b"0\r\n\r\n")
        server.stop.wait(stall)

    return script


def _silent(conn: socket.socket, server: Server) -> None:
    if server.read_request(conn) is not None:
        server.stop.wait(10)


def test_no_head_within_read_timeout_is_a_timed_out_request(spy: list[_Spy]) -> None:
    with scripted(_silent) as server:
        got: list[str] = []
        start = time.monotonic()
        with pytest.raises(errors.EndpointConnectionError) as caught:
            asyncio.run(_stream(_llm(server.url), got))
        elapsed = time.monotonic() - start
    err = caught.value
    assert "timed out" in err.message
    assert err.endpoint_name == "watchdog"
    assert isinstance(err.__cause__, asyncio.TimeoutError)
    assert 0.8 <= elapsed < 4.0
    assert got == []
    assert server.requests == 1  # max_retries=0: one request


def test_no_head_within_read_timeout_is_retried_as_before() -> None:
    with scripted(_silent) as server, pytest.raises(errors.EndpointConnectionError) as caught:
        asyncio.run(_stream(_llm(server.url, max_retries=1, retry_base_delay=0.01), []))
    assert "gave up after 2 attempts" in caught.value.message
    assert server.requests == 2


def test_a_stall_mid_stream_is_a_stream_timeout_with_the_partial_text(spy: list[_Spy]) -> None:
    with scripted(_frames_then(stall=10, tokens=3)) as server:
        got: list[str] = []

        async def run() -> float:
            model = _llm(server.url)
            try:
                await _stream(model, got)
            finally:
                last = time.monotonic()
            return last

        start = time.monotonic()
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            with pytest.raises(errors.StreamTimeoutError) as caught:
                asyncio.run(run())
            gc.collect()
        elapsed = time.monotonic() - start
    err = caught.value
    assert "no data arrived within the read timeout" in err.message
    assert err.endpoint_name == "watchdog"
    assert err.partial_text == "Hello" * 3
    assert "".join(got) == "Hello" * 3
    assert not isinstance(err, errors.EndpointConnectionError)
    assert 0.8 <= elapsed < 4.0
    _assert_no_watchdog(spy)
    assert spy[0].timed_out


def test_a_trickle_slower_than_a_burst_but_within_the_read_timeout_never_times_out(
    spy: list[_Spy],
) -> None:
    # 8 frames 0.3 s apart: 2.4 s in all, more than twice the read timeout.
    with scripted(_frames_then(stall=0, tokens=8, gap=0.3, final=True)) as server:
        got: list[str] = []
        start = time.monotonic()
        asyncio.run(_stream(_llm(server.url), got))
        elapsed = time.monotonic() - start
    assert "".join(got) == "Hello" * 8
    assert elapsed >= 2.4
    _assert_no_watchdog(spy)
    assert not spy[0].timed_out
    assert spy[0].handles  # the watchdog fired, and set itself again


def test_the_watchdog_is_gone_once_the_consumer_stops_early(spy: list[_Spy]) -> None:
    with scripted(_frames_then(stall=10, tokens=3)) as server:

        async def first_token() -> None:
            stream = _llm(server.url).astream(QUESTION)
            async for _ in stream:
                break
            await stream.aclose()  # type: ignore[attr-defined]
            assert spy[0].watchdog is None

        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            asyncio.run(first_token())
            gc.collect()
    _assert_no_watchdog(spy)


def test_a_consumer_slower_than_the_read_timeout_is_not_a_stall(spy: list[_Spy]) -> None:
    # Every frame is already waiting when the consumer comes back: nothing waited.
    with scripted(_frames_then(stall=0, tokens=2, final=True)) as server:
        got: list[str] = []

        async def slow() -> None:
            async for token in _llm(server.url).astream(QUESTION):
                got.append(token)
                await asyncio.sleep(READ_TIMEOUT * 1.3)

        asyncio.run(slow())
    assert "".join(got) == "Hello" * 2
    _assert_no_watchdog(spy)


def test_a_read_that_fails_stops_the_watchdog() -> None:
    class Response:
        closed = False
        content = None
        status = 200
        headers: ClassVar[dict[str, str]] = {}

    async def run() -> None:
        answer = _async_http.AsyncResponse(Response(), 5.0)
        reads = answer.areads()
        with pytest.raises(AttributeError):  # no content to read: stops at once
            await reads.__anext__()
        assert answer.watchdog is None

    asyncio.run(run())
