"""Hypothesis strategies shared by the property suites (and a reference for the fuzz targets)."""

from __future__ import annotations

import itertools
import json
import struct
from typing import Any

from hypothesis import strategies as st

from langchain_jumpstart_stream.emulator import STREAM_FORMATS, WEBSITE_ANSWER, EndpointConfig

# Frames with these exact header bytes (valid CRCs, any content).
from langchain_jumpstart_stream.emulator._frames import encode_raw_message as encode_frame

# -- cutting a byte string --------------------------------------------------------------


@st.composite
def cuts(draw: st.DrawFn, data: bytes, *, allow_empty: bool = True) -> list[bytes]:
    """``data`` cut at arbitrary offsets; empty pieces (empty PayloadParts) when allowed."""
    offsets = draw(st.lists(st.integers(0, len(data)), max_size=12))
    if not allow_empty:
        offsets = list(set(offsets))
    bounds = [0, *sorted(offsets), len(data)]
    pieces = [data[a:b] for a, b in itertools.pairwise(bounds)]
    return pieces if allow_empty else [p for p in pieces if p]


# -- valid container streams, rendered by the emulator ------------------------------------

ANSWERS = st.one_of(
    st.text(max_size=60),  # any Unicode, control characters and U+2028 included
    st.sampled_from(
        [
            WEBSITE_ANSWER[:240],
            "日本語でお答えします。まず、基本的な考え方を理解することが大切です。",
            "Emoji 🚀🙂 and naïve café text, with a\nnewline and a \ttab.",
            "",
        ]
    ),
)


def request_body(
    fmt: str, prompt: str, *, max_tokens: int | None, stops: list[str], details: bool, usage: bool
) -> dict[str, Any]:
    """The body JumpStartLLM / ChatJumpStart would send to a container of this format."""
    if fmt.startswith("openai"):
        body: dict[str, Any] = {"stream": True}
        if fmt == "openai-chat":
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if stops:
            body["stop"] = stops
        if usage:
            body["stream_options"] = {"include_usage": True}
        return body
    params: dict[str, Any] = {"details": details}
    if max_tokens is not None:
        params["max_new_tokens"] = max_tokens
    if stops:
        params["stop" if fmt in ("tgi", "jsonlines-tgi") else "stop_sequences"] = stops
    return {"inputs": prompt, "parameters": params, "stream": True}


@st.composite
def container_streams(draw: st.DrawFn) -> tuple[EndpointConfig, dict[str, Any], list[str]]:
    """A fault-free endpoint configuration, a request body, and the stops in it."""
    fmt = draw(st.sampled_from(STREAM_FORMATS))
    answer = draw(ANSWERS)
    cfg = EndpointConfig(
        stream_format=fmt,  # type: ignore[arg-type]
        openai_framing=draw(st.sampled_from(["sse", "jsonlines"])),
        answer=answer,
        crlf=draw(st.booleans()),
        final_newline=draw(st.booleans()),
        sse_comments=draw(st.booleans()),
        eos_token=draw(st.sampled_from([None, "</s>", "<|eot_id|>"])),
    )
    stops: list[str] = []
    if answer and draw(st.booleans()):
        # Stops taken from the answer itself, so they do match.
        for _ in range(draw(st.integers(1, 2))):
            start = draw(st.integers(0, len(answer) - 1))
            stop = answer[start : start + draw(st.integers(1, 4))]
            if stop.strip():
                stops.append(stop)
    body = request_body(
        fmt,
        "Tell me something",
        max_tokens=draw(st.none() | st.integers(1, 40)),
        stops=stops,
        details=draw(st.booleans()),
        usage=draw(st.booleans()),
    )
    return cfg, body, stops


def cut_at_first_stop(text: str, stops: list[str]) -> str:
    """Reference semantics of client-side stops: cut before the earliest occurrence."""
    found = [text.find(s) for s in stops if s and s in text]
    return text[: min(found)] if found else text


# -- event-stream frames with every header type -----------------------------------------

_HEADER_VALUES = st.one_of(
    st.tuples(st.just(0), st.just(b"")),  # boolean true
    st.tuples(st.just(1), st.just(b"")),  # boolean false
    st.tuples(st.just(2), st.integers(-128, 127).map(lambda v: struct.pack(">b", v))),
    st.tuples(st.just(3), st.integers(-(2**15), 2**15 - 1).map(lambda v: struct.pack(">h", v))),
    st.tuples(st.just(4), st.integers(-(2**31), 2**31 - 1).map(lambda v: struct.pack(">i", v))),
    st.tuples(st.just(5), st.integers(-(2**63), 2**63 - 1).map(lambda v: struct.pack(">q", v))),
    st.tuples(st.just(6), st.binary(max_size=40).map(lambda b: struct.pack(">H", len(b)) + b)),
    st.tuples(
        st.just(7),
        st.text(max_size=40).map(lambda s: struct.pack(">H", len(s.encode())) + s.encode()),
    ),
    st.tuples(st.just(8), st.integers(0, 2**63 - 1).map(lambda v: struct.pack(">q", v))),
    st.tuples(st.just(9), st.binary(min_size=16, max_size=16)),
)


@st.composite
def header_blocks(draw: st.DrawFn) -> bytes:
    """Well-formed headers of every type, unique names, valid UTF-8."""
    names = draw(
        st.lists(
            st.text(min_size=1, max_size=20).filter(lambda n: len(n.encode()) < 256),
            unique=True,
            max_size=5,
        )
    )
    block = b""
    for name in names:
        kind, value = draw(_HEADER_VALUES)
        raw_name = name.encode()
        block += bytes([len(raw_name)]) + raw_name + bytes([kind]) + value
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["event", "exception", "error"]))
        for name, value in ((":message-type", kind), (":event-type", "PayloadPart")):
            if name.encode() not in block:
                raw = value.encode()
                block += bytes([len(name)]) + name.encode() + b"\x07"
                block += struct.pack(">H", len(raw)) + raw
    return block


VALID_FRAMES = st.builds(encode_frame, header_blocks(), st.binary(max_size=200))
# Frames whose CRCs are right but whose header block is arbitrary bytes.
CRC_VALID_GARBAGE = st.builds(encode_frame, st.binary(max_size=48), st.binary(max_size=48))


# -- garbage that looks like container output ---------------------------------------------

_KEYS = [
    "token", "text", "id", "special", "special_token", "logprob", "log_prob", "details",
    "finish_reason", "generated_tokens", "input_length", "prompt_tokens", "generated_text",
    "choices", "delta", "content", "message", "usage", "completion_tokens", "error",
    "error_type", "error_msg", "object", "outputs", "type", "code", "index", "role",
]  # fmt: skip
_TOOL_KEYS = ["tool_calls", "function", "name", "arguments"]


def json_values(keys: list[str]) -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(keys) | st.text(max_size=5), inner, max_size=4)
        ),
        max_leaves=12,
    )


def container_garbage(*, tool_calls: bool = True) -> st.SearchStrategy[bytes]:
    """Bytes made of SSE fields, JSON records of container-like shapes, and noise."""
    keys = _KEYS + (_TOOL_KEYS if tool_calls else [])
    fragment = st.one_of(
        st.sampled_from(
            [
                b"data:",
                b"data: ",
                b"event: error\n",
                b": keep-alive\n",
                b"\n",
                b"\r",
                b"\r\n",
                b"\n\n",
                b"data: [DONE]\n\n",
                b"id: 1\n",
                b"retry: 5\n",
                b"[",
                b"{",
            ]
        ),
        json_values(keys).map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=12),
    )
    return st.lists(fragment, max_size=16).map(b"".join)
