"""Every fault of issue 7, end to end: real boto3 -> emulator -> JumpStartLLM / ChatJumpStart.

Each fault runs four ways (LLM and chat model, sync and async) and each run checks:

* the error type, and that its message names the endpoint, the AWS error code when
  there is one, the request id, and what to do;
* the text delivered before the failure is exactly the first N tokens the emulator
  sent, and ``err.partial_text`` equals it;
* the connection is closed: the emulator finished every request (``done``), saw the
  client hang up when the client stopped first, and this process holds no new file
  descriptor and no ``jumpstart-stream`` worker thread afterwards.

tests/e2e/test_errors.py checks the error classes for the LLM, sync; this suite adds
the other three ways, the exact delivered text and the clean-up.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from langchain_jumpstart_stream import errors
from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig, expected_text
from langchain_jumpstart_stream.emulator._formats import plan

from ._leaks import NoLeaks, needs_proc

pytestmark = needs_proc

QUESTION = "How do I build a website?"
# Multi-byte characters of every UTF-8 length, to be cut by 1-byte frames.
UNICODE_ANSWER = "Café ☕ naïve 日本語 🚀"
READ_TIMEOUT = 1.0
_names = (f"rel-fault-{i}" for i in itertools.count())


@dataclass(frozen=True)
class Fault:
    """One injected fault and what the client must make of it."""

    config: dict[str, Any]
    error: type[errors.JumpStartStreamError] | None  # None: the call must succeed
    delivered: int | None  # tokens delivered before the error; None: the whole answer
    attempts: int = 1  # requests the endpoint must see (retries before the first token)
    code: str | None = None  # AWS error code, when the failure has one
    says: tuple[str, ...] = ()  # fragments the message must contain
    client_hangs_up: bool = False  # the client stops reading before the body ends
    model: dict[str, Any] = field(default_factory=dict)


FAULTS = {
    "reset-mid-frame": Fault(
        {"drop_after_tokens": 5, "reset_mid_frame": True},
        errors.StreamInterruptedError,
        5,
        says=("connection broke", "incomplete", "retry the request"),
    ),
    "reset-before-first-token": Fault(
        {"drop_after_tokens": 0, "reset_mid_frame": True},
        errors.StreamInterruptedError,
        0,
        attempts=3,
        says=("connection broke", "retry the request"),
    ),
    "truncated-last-frame": Fault(
        {"truncate_last_frame": True},
        errors.FrameError,
        None,  # every token arrived, but the body is cut: still an error
        says=("ended inside an event-stream frame", "retry the request"),
    ),
    "bad-crc": Fault(
        {"bad_crc_after_tokens": 4},
        errors.FrameError,
        4,
        says=("CRC mismatch", "corrupted in transit"),
    ),
    "stall-past-read-timeout": Fault(
        {"stall_after_tokens": 3, "stall_seconds": READ_TIMEOUT + 0.4},
        errors.StreamTimeoutError,
        3,
        says=("no data arrived within the read timeout", "raise read_timeout"),
        client_hangs_up=True,
        model={"read_timeout": READ_TIMEOUT},
    ),
    "endless-line": Fault(
        {"endless_line_bytes": 32 << 20},  # more than loopback buffers hold
        errors.LineTooLongError,
        0,
        says=("max_line_bytes=100000", "Raise max_line_bytes"),
        client_hangs_up=True,
        model={"max_line_bytes": 100_000},
    ),
    "5xx-then-success": Fault(
        {"http_errors": [(503, "ServiceUnavailable", "busy"), (500, "InternalFailure", "boom")]},
        None,
        None,
        attempts=3,
    ),
    "5xx-persistent": Fault(
        {"http_errors": [(500, "InternalFailure", "boom")] * 5},
        errors.EndpointServiceError,
        0,
        attempts=3,
        code="InternalFailure",
        says=("boom", "gave up after 3 attempts", "Retry later"),
    ),
    "model-stream-error": Fault(
        {"error_after_tokens": 5, "error_message": "CUDA out of memory"},
        errors.ModelStreamError,
        5,
        code="ModelStreamError",
        says=("CUDA out of memory", "StreamBroken", "CloudWatch"),
    ),
    "one-byte-frames": Fault({"frame_bytes": 1, "answer": UNICODE_ANSWER}, None, None),
    # No final record: an empty body is an incomplete answer, retried like a broken one.
    "empty-stream": Fault(
        {"empty_stream": True},
        errors.StreamInterruptedError,
        0,
        attempts=3,
        says=("ended before the container's final record", "incomplete"),
    ),
}

# The LLM reads TGI server-sent events; the chat model the OpenAI chat chunks of vLLM.
KINDS = {"llm": "tgi", "chat": "openai-chat"}


class Chunks(BaseCallbackHandler):
    """Every chunk given to on_llm_new_token, and every error reported."""

    run_inline = True  # also from async code, in order, on the loop's thread

    def __init__(self) -> None:
        self.chunks: list[Any] = []
        self.errors: list[BaseException] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.chunks.append(kwargs["chunk"])

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors.append(error)


@dataclass
class Outcome:
    texts: list[str] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)
    error: errors.JumpStartStreamError | None = None
    started: float = 0.0
    ended: float = 0.0

    @property
    def text(self) -> str:
        return "".join(self.texts)


def _text(item: Any) -> str:
    return item if isinstance(item, str) else item.content


def consume_sync(model: Any, handler: Chunks) -> Outcome:
    out = Outcome(started=time.monotonic())
    try:
        for item in model.stream(QUESTION, config={"callbacks": [handler]}):
            out.texts.append(_text(item))
            out.stamps.append(time.monotonic())
    except errors.JumpStartStreamError as exc:
        out.error = exc
    out.ended = time.monotonic()
    return out


async def consume_async(model: Any, handler: Chunks) -> Outcome:
    out = Outcome(started=time.monotonic())
    try:
        async for item in model.astream(QUESTION, config={"callbacks": [handler]}):
            out.texts.append(_text(item))
            out.stamps.append(time.monotonic())
    except errors.JumpStartStreamError as exc:
        out.error = exc
    out.ended = time.monotonic()
    return out


def first_tokens_text(cfg: EndpointConfig, body: bytes, count: int) -> str:
    """The visible text of the first ``count`` tokens the emulator generates."""
    _, generation = plan(cfg, body)
    return "".join(t.text for t in generation.tokens[:count] if not t.special)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("fault_id", list(FAULTS))
def test_fault(emulator: Emulator, llm, chat, fault_id: str, kind: str, mode: str) -> None:
    fault = FAULTS[fault_id]
    name = next(_names)
    cfg = EndpointConfig(stream_format=KINDS[kind], **fault.config)  # type: ignore[arg-type]
    emulator.add_endpoint(name, cfg)
    factory = llm if kind == "llm" else chat
    model = factory(name, max_retries=2, **fault.model)
    model.get_client()  # created outside the measured window: botocore loads its models once

    leaks = NoLeaks()
    handler = Chunks()
    if mode == "sync":
        out = consume_sync(model, handler)
    else:
        out = asyncio.run(consume_async(model, handler))

    requests = [r for r in emulator.requests if r.endpoint == name]
    assert len(requests) == fault.attempts, [r.status for r in requests]
    body = requests[-1].body

    # -- the outcome and what was delivered before it --------------------------------
    if fault.error is None:
        assert out.error is None, out.error
        assert out.text == ("" if cfg.empty_stream else expected_text(cfg, body))
        if fault.config.get("answer"):
            assert out.text == fault.config["answer"]
    else:
        err = out.error
        assert type(err) is fault.error, repr(err)
        want = (
            expected_text(cfg, body)
            if fault.delivered is None
            else first_tokens_text(cfg, body, fault.delivered)
        )
        assert out.text == want
        assert err.partial_text == out.text
        assert len(handler.errors) == 1  # reported to callbacks once, by langchain-core
        _check_message(err, name, fault, requests[-1].request_id)
        if fault.delivered:
            assert requests[-1].tokens_sent >= fault.delivered
    assert [_text_of(c) for c in handler.chunks if _text_of(c)] == [t for t in out.texts if t]

    if fault_id == "stall-past-read-timeout":
        waited = out.ended - (out.stamps[-1] if out.stamps else out.started)
        # A socket timeout never fires early; the upper bound is generous for a busy CI box.
        assert READ_TIMEOUT * 0.9 <= waited <= READ_TIMEOUT + 4, waited

    # -- the connection is closed, nothing is left behind ----------------------------
    for request in requests:
        assert request.done.wait(10), "the emulator is still serving the request"
    if fault.client_hangs_up:
        assert requests[-1].client_disconnected
    leaks.check(model)


def _text_of(chunk: Any) -> str:
    return chunk.text


def _check_message(
    err: errors.JumpStartStreamError, name: str, fault: Fault, request_id: str
) -> None:
    text = str(err)
    assert err.endpoint_name == name
    assert f"endpoint {name!r}" in text
    assert err.request_id == request_id
    assert request_id in text
    assert err.hint
    assert err.hint in text  # what to do
    if fault.code is not None:
        assert err.error_code == fault.code
        assert f"error code {fault.code}" in text
    for fragment in fault.says:
        assert fragment in text, (fragment, text)
    if err.partial_text:
        assert f"{len(err.partial_text)} characters were delivered" in text
    # A clean end without a final record has no network error to chain; others do.
    if isinstance(err, errors.StreamInterruptedError | errors.StreamTimeoutError) and (
        "final record" not in text
    ):
        assert err.__cause__ is not None  # the network error is chained, not lost


MAX_LINE = 256 * 1024
ENDLESS = 32 * 1024 * 1024


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_endless_line_memory_stays_near_max_line_bytes(emulator: Emulator, llm, mode: str) -> None:
    """A 32 MiB line without a newline costs the client about max_line_bytes, not 32 MiB.

    tracemalloc sees every Python allocation in the process (the emulator's too), so
    the bound below covers the client's line buffer, one network read and the
    emulator's 8 KiB frames, and is still far below the line's length.
    """
    warm, endless = next(_names), next(_names)
    emulator.add_endpoint(warm, EndpointConfig(stream_format="jsonlines"))
    emulator.add_endpoint(
        endless, EndpointConfig(stream_format="jsonlines", endless_line_bytes=ENDLESS)
    )
    client = llm(warm).get_client()
    # One-time costs (botocore's lazy loading, importing the HTTP client) stay outside
    # the window: warm up the same way the measured call runs.
    warm_model = llm(warm, client=client)
    if mode == "sync":
        warm_model.invoke(QUESTION)
    else:
        asyncio.run(warm_model.ainvoke(QUESTION))
    model = llm(endless, client=client, max_line_bytes=MAX_LINE)
    handler = Chunks()

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        if mode == "sync":
            out = consume_sync(model, handler)
        else:
            out = asyncio.run(consume_async(model, handler))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert isinstance(out.error, errors.LineTooLongError)
    assert f"max_line_bytes={MAX_LINE}" in str(out.error)
    growth = peak - base
    assert growth < 4 * MAX_LINE, f"peak grew by {growth} bytes for max_line_bytes={MAX_LINE}"
    (request,) = [r for r in emulator.requests if r.endpoint == endless]
    assert request.done.wait(10)
    assert request.client_disconnected  # the client hung up instead of reading 32 MiB
