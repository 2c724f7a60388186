"""Replay recorded wire streams through the pure decoder, cut at every byte offset."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_jumpstart_stream._decoder import Piece, StreamDecoder
from langchain_jumpstart_stream.errors import ContainerError

WIRE = Path(__file__).parent.parent / "fixtures" / "wire"

# fixture -> (text, finish_reason, output_tokens, input_tokens)
EXPECTED = {
    "tgi_falcon.sse": (" Building a website café ☕.", "eos_token", 6, 9),
    "lmi.jsonl": ("Deep  Learning is 日本語.", "length", 4, None),
    "lmi_tgi_compat.jsonl": ("Deep Learning", "eos_token", 3, None),
    "openai_chat.sse": ("Hi there 👋", "stop", 3, 12),
    "openai_chat.jsonl": ("Hi there 👋", "length", 2, None),
    "openai_completion.sse": ("Hi there 👋", "length", 2, None),
}


def run(chunks: list[bytes], **kwargs: object) -> list[Piece]:
    decoder = StreamDecoder(**kwargs)  # type: ignore[arg-type]
    pieces: list[Piece] = []
    for chunk in chunks:
        pieces.extend(decoder.feed(chunk))
    pieces.extend(decoder.finish())
    return pieces


def splits(data: bytes) -> list[list[bytes]]:
    """The whole body, every two-way cut, and one byte at a time."""
    cases = [[data], [data[i : i + 1] for i in range(len(data))]]
    cases += [[data[:i], data[i:]] for i in range(1, len(data))]
    return cases


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_every_cut(name: str) -> None:
    data = (WIRE / name).read_bytes()
    text, finish, output_tokens, input_tokens = EXPECTED[name]
    for chunks in splits(data):
        pieces = run(chunks)
        assert "".join(p.text for p in pieces) == text
        closing = pieces[-1].info
        assert closing is not None
        assert closing["finish_reason"] == finish
        assert closing["output_tokens"] == output_tokens
        assert closing.get("input_tokens") == input_tokens
        # Special tokens never leak into the text.
        assert all("<|endoftext|>" not in p.text and "</s>" not in p.text for p in pieces)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_crlf_and_no_final_newline(name: str) -> None:
    data = (WIRE / name).read_bytes()
    variants = [data.replace(b"\n", b"\r\n"), data.rstrip(b"\n"), data.replace(b"\n", b"\r")]
    for variant in variants:
        for chunks in splits(variant)[:3] + [
            [variant[:i], variant[i:]] for i in range(0, len(variant), 7)
        ]:
            pieces = run(chunks)
            assert "".join(p.text for p in pieces) == EXPECTED[name][0]


@pytest.mark.parametrize("name", ["tgi_error.sse", "lmi_error.jsonl"])
def test_in_band_errors_every_cut(name: str) -> None:
    data = (WIRE / name).read_bytes()
    for chunks in splits(data):
        decoder = StreamDecoder()
        delivered: list[str] = []
        with pytest.raises(ContainerError) as info:
            for chunk in chunks:
                delivered.extend(p.text for p in decoder.feed(chunk))
            decoder.finish()
        # What was delivered before the error is intact and recorded.
        assert "".join(delivered) in (" Hello", "Deep")
        assert decoder.delivered_text == "".join(delivered)
    assert "CUDA out of memory" in str(info.value) or "finish_reason" in str(info.value)


def test_token_details_are_attached_once_per_token() -> None:
    data = (WIRE / "tgi_falcon.sse").read_bytes()
    pieces = run([data], token_details=True)
    ids = [i for p in pieces if p.info and "token_ids" in p.info for i in p.info["token_ids"]]
    assert ids == [5894, 241, 4708, 30, 11, 11]
    logprobs = [
        x for p in pieces if p.info and "token_logprobs" in p.info for x in p.info["token_logprobs"]
    ]
    assert logprobs[0] == -0.61


def test_model_id_on_closing_piece_only() -> None:
    pieces = run([(WIRE / "lmi.jsonl").read_bytes()], model_id="huggingface-llm-x")
    assert pieces[-1].info is not None
    assert pieces[-1].info["model_id"] == "huggingface-llm-x"
    assert all(p.info is None for p in pieces[:-1])
