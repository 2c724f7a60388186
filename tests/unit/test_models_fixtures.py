"""Today's servers' streams (reasoning, refusals, errors, n>1), cut at every byte.

The fixtures in ``tests/fixtures/wire`` follow what the servers' own sources write:
vLLM's ``DeltaMessage`` (``reasoning``, mirrored into the deprecated
``reasoning_content``), SGLang's delta (``reasoning_content``, nulls elsewhere),
TGI's ``StreamResponse`` with Qwen3's ``<think>`` tokens, djl-serving's jsonlines
formatter and its rolling-batch error token, vLLM's ``ErrorResponse``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.exceptions import ContextOverflowError

from langchain_jumpstart_stream._decoder import Piece, StreamDecoder
from langchain_jumpstart_stream.errors import (
    ContainerError,
    MalformedStreamError,
    PromptTooLongError,
)

WIRE = Path(__file__).parent.parent / "fixtures" / "wire"


def run(chunks: list[bytes], **kwargs: object) -> list[Piece]:
    decoder = StreamDecoder(**kwargs)  # type: ignore[arg-type]
    pieces: list[Piece] = []
    for chunk in chunks:
        pieces.extend(decoder.feed(chunk))
    pieces.extend(decoder.finish())
    return pieces


def splits(data: bytes) -> list[list[bytes]]:
    """The whole body, one byte at a time, and every two-way cut."""
    cases = [[data], [data[i : i + 1] for i in range(len(data))]]
    cases += [[data[:i], data[i:]] for i in range(1, len(data))]
    return cases


# fixture -> (decoder kwargs, answer, reasoning, closing info subset)
REASONING = {
    "vllm_reasoning.sse": (
        {},
        "Hello! How can I help today?",
        "Okay, the user says hi. Be brief — ☕.",
        {"finish_reason": "stop", "input_tokens": 12, "output_tokens": 28},
    ),
    "sglang_reasoning.sse": (
        {},
        "Hello! How can I help today?",
        "Okay, the user says hi. Be brief — ☕.",
        {"finish_reason": "stop", "output_tokens": 28, "reasoning_tokens": 20},
    ),
    "tgi_think_inline.sse": (
        {},
        "Hello!",
        "Okay, the user says hi.",
        {"finish_reason": "eos_token", "input_tokens": 14},
    ),
    "lmi_r1_starts_inside.jsonl": (
        {"starts_in_thinking": True},
        "2+2 = 4.",
        "Okay, 2+2 is 4.\n",
        {"finish_reason": "length", "output_tokens": 9},
    ),
    # vLLM started with a reasoning parser on a model whose template opens <think>:
    # the server's own split wins over starts_in_thinking.
    "vllm_reasoning.sse+inside": (
        {"starts_in_thinking": True},
        "Hello! How can I help today?",
        "Okay, the user says hi. Be brief — ☕.",
        {"finish_reason": "stop"},
    ),
}


@pytest.mark.parametrize("case", sorted(REASONING))
def test_reasoning_every_cut(case: str) -> None:
    kwargs, answer, reasoning, closing = REASONING[case]
    data = (WIRE / case.partition("+")[0]).read_bytes()
    for chunks in splits(data):
        pieces = run(chunks, **kwargs)
        assert "".join(p.text for p in pieces) == answer
        assert "".join(p.reasoning for p in pieces) == reasoning
        info = pieces[-1].info
        assert info is not None
        assert {k: info.get(k) for k in closing} == closing
        # Reasoning always comes before the answer, never interleaved with it.
        first_answer = next(i for i, p in enumerate(pieces) if p.text)
        assert not any(p.reasoning for p in pieces[first_answer + 1 :])


def test_reasoning_never_reaches_stop_filter_or_delivered_text() -> None:
    data = (WIRE / "tgi_think_inline.sse").read_bytes()
    decoder = StreamDecoder(stop=["user"])  # "user" appears only in the reasoning
    pieces = decoder.feed(data) + decoder.finish()
    assert "".join(p.text for p in pieces) == "Hello!"
    assert decoder.delivered_text == "Hello!"
    assert pieces[-1].info is not None and pieces[-1].info["finish_reason"] == "eos_token"


def test_answer_that_mentions_think_later_is_left_alone() -> None:
    body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"Use "}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"<think> tags."}}]}\n\n'
    )
    pieces = run([body])
    assert "".join(p.text for p in pieces) == "Use <think> tags."
    assert not any(p.reasoning for p in pieces)


def test_refusal_every_cut() -> None:
    data = (WIRE / "openai_refusal.sse").read_bytes()
    for chunks in splits(data):
        pieces = run(chunks)
        assert "".join(p.text for p in pieces) == ""
        assert "".join(p.refusal for p in pieces) == "I'm sorry, I can't help with that."
        assert pieces[-1].info is not None and pieces[-1].info["finish_reason"] == "refusal"


def test_done_glued_to_a_record_every_cut() -> None:
    data = (WIRE / "vllm_done_glued.sse").read_bytes()
    for chunks in splits(data):
        pieces = run(chunks)
        assert "".join(p.text for p in pieces) == "Hi there"
        assert pieces[-1].info is not None and pieces[-1].info["finish_reason"] == "stop"


def test_glued_done_marks_the_record_done() -> None:
    from langchain_jumpstart_stream._records import RecordParser

    parser = RecordParser()
    assert (
        parser.feed_line(b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}[DONE]') is None
    )
    record = parser.feed_line(b"")
    assert record is not None and record.done and record.text == "a"
    bare = parser.feed_line(b'{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]} [DONE]')
    assert bare is not None and bare.done and bare.finish_reason == "stop"


def test_several_choices_are_never_mixed() -> None:
    data = (WIRE / "vllm_n2.sse").read_bytes()
    for chunks in splits(data):
        decoder = StreamDecoder()
        delivered: list[str] = []
        with pytest.raises(MalformedStreamError, match="several choices") as info:
            for chunk in chunks:
                delivered.extend(p.text for p in decoder.feed(chunk))
            decoder.finish()
        assert "".join(delivered) == ""  # choice 1's role chunk comes before any text
        assert "n=1" in str(info.value)


# fixture -> (error class, text in the message, text delivered before it)
ERRORS = {
    "lmi_error_msg.jsonl": (
        ContainerError,
        "exception occurred during rolling batch inference",
        "Deep",
    ),
    "lmi_error_msg_nodetails.jsonl": (
        ContainerError,
        "exception occurred during rolling batch inference",
        "Deep",
    ),
    "vllm_error_chunk.sse": (ContainerError, "The engine core died unexpectedly.", "Hello"),
    "vllm_object_error_overflow.sse": (
        PromptTooLongError,
        "maximum context length is 4096 tokens",
        "",
    ),
    "tgi_validation_overflow.sse": (PromptTooLongError, "must be <= 4096", ""),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_in_band_error_shapes_keep_their_text(name: str) -> None:
    cls, text, before = ERRORS[name]
    data = (WIRE / name).read_bytes()
    for chunks in splits(data):
        decoder = StreamDecoder()
        delivered: list[str] = []
        with pytest.raises(cls) as info:
            for chunk in chunks:
                delivered.extend(p.text for p in decoder.feed(chunk))
            decoder.finish()
        assert "".join(delivered) == before
        assert text in str(info.value)
    if cls is PromptTooLongError:
        assert isinstance(info.value, ContextOverflowError)
    else:
        assert not isinstance(info.value, ContextOverflowError)


def test_error_object_on_an_ordinary_chunk_is_not_ignored() -> None:
    body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"x"}}],'
        b'"error":{"message":"aborted","type":"abort","code":499}}\n\n'
    )
    with pytest.raises(ContainerError, match="aborted"):
        run([body])


def test_djl_3p_error_shape() -> None:
    line = (
        b'{"body": {"generation": "", "prompt_token_count": null, "generation_token_count": 4,'
        b' "stop_reason": "error"}, "metering": {"outputTokenCount": 4},'
        b' "content_type": "application/jsonlines",'
        b' "error": {"error_code": 400, "error_msg": "some error"}}\n'
    )
    with pytest.raises(ContainerError, match="some error") as info:
        run([line])
    assert info.value.error_code == "400"


def test_frame_with_a_duplicate_header_is_a_frame_error() -> None:
    import struct
    from zlib import crc32

    from langchain_jumpstart_stream._eventstream import FrameDecoder
    from langchain_jumpstart_stream.errors import FrameError

    def header(name: bytes, value: bytes) -> bytes:
        return bytes([len(name)]) + name + b"\x07" + struct.pack(">H", len(value)) + value

    headers = (
        header(b":message-type", b"event")
        + header(b":event-type", b"PayloadPart")
        + header(b":event-type", b"PayloadPart")
    )
    payload = b'{"token": {"text": "x"}}\n'
    total = 16 + len(headers) + len(payload)
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", crc32(prelude))
    body = prelude + headers + payload
    frame = body + struct.pack(">I", crc32(body))
    with pytest.raises(FrameError, match="appears twice"):
        FrameDecoder().feed(frame)
