"""The line decoder: any chunking, any line ending, bounded memory."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_jumpstart_stream._lines import LineDecoder
from langchain_jumpstart_stream.errors import LineTooLongError, MalformedStreamError


def decode(chunks: list[bytes], limit: int = 1 << 20) -> list[bytes]:
    d = LineDecoder(limit)
    out: list[bytes] = []
    for c in chunks:
        out.extend(d.feed(c))
    return out + d.finish()


@pytest.mark.parametrize("sep", [b"\n", b"\r\n", b"\r"])
def test_line_endings_at_every_cut(sep: bytes) -> None:
    data = sep.join([b"alpha", "caf\u00e9 \u2615".encode(), b"", b"omega"])
    for i in range(len(data) + 1):
        assert decode([data[:i], data[i:]]) == [b"alpha", "café ☕".encode(), b"", b"omega"]


def test_cr_then_lf_in_next_chunk_is_one_line_end() -> None:
    assert decode([b"a\r", b"\nb\r", b"\n"]) == [b"a", b"b"]


def test_last_line_without_newline_is_returned() -> None:
    assert decode([b"one\ntwo"]) == [b"one", b"two"]


def test_utf8_split_across_chunks_decodes_whole() -> None:
    data = "日本語\n".encode()
    lines = decode([data[i : i + 1] for i in range(len(data))])
    assert [x.decode() for x in lines] == ["日本語"]


def test_line_too_long_is_an_error_and_bounded() -> None:
    d = LineDecoder(64)
    d.feed(b"x" * 60)
    with pytest.raises(LineTooLongError) as info:
        d.feed(b"x" * 10)
    assert isinstance(info.value, MalformedStreamError)
    assert "max_line_bytes=64" in str(info.value)
    assert not d._buf  # the partial line was dropped, not kept
    with pytest.raises(LineTooLongError):  # and the stream stays failed
        d.finish()


def test_long_complete_line_in_one_chunk_is_an_error() -> None:
    with pytest.raises(LineTooLongError):
        decode([b"y" * 100 + b"\nshort\n"], limit=50)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")), max_size=10
    ),
    sep=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=10),
)
def test_any_chunking_gives_the_same_lines(lines: list[bytes], sep: bytes, cuts: list[int]) -> None:
    data = b"".join(line + sep for line in lines)
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    assert decode(chunks) == lines
