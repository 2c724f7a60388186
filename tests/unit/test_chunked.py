"""The HTTP chunked-transfer decoder, cut at every byte."""

from __future__ import annotations

from http.client import HTTPException

import pytest

from langchain_jumpstart_stream._chunked import ChunkedDecoder

BODY = b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nw\xc3\xb6rld\r\n0\r\nX-Trailer: 1\r\n\r\n"
PAYLOAD = "hello wörld".encode()


def decode(chunks: list[bytes]) -> tuple[bytes, bool]:
    d = ChunkedDecoder()
    return b"".join(d.feed(c) for c in chunks), d.done


def test_whole_body_and_every_cut() -> None:
    assert decode([BODY]) == (PAYLOAD, True)
    for i in range(len(BODY) + 1):
        assert decode([BODY[:i], BODY[i:]]) == (PAYLOAD, True)
    assert decode([BODY[i : i + 1] for i in range(len(BODY))]) == (PAYLOAD, True)


def test_not_done_until_the_blank_line_after_trailers() -> None:
    assert decode([BODY[:-2]]) == (PAYLOAD, False)
    assert decode([b"3\nabc\n0\n\n"]) == (b"abc", True)  # bare LF is tolerated


@pytest.mark.parametrize(
    "body", [b"zz\r\n", b"-1\r\n", b"0x5\r\nhello\r\n", b"\r\n", b"3\r\nabcX\r\n", b"9" * 5000]
)
def test_malformed_framing_is_an_http_error(body: bytes) -> None:
    with pytest.raises(HTTPException):
        ChunkedDecoder().feed(body)


def test_bytes_after_the_end_are_not_payload_but_are_noticed() -> None:
    d = ChunkedDecoder()
    assert d.feed(b"2\r\nok\r\n0\r\n\r\nGARBAGE") == b"ok"
    assert d.done
    assert d.overrun  # the connection must not be reused
    for i in range(len(BODY) + 1):  # an exact body never overruns, however it is cut
        d = ChunkedDecoder()
        d.feed(BODY[:i])
        d.feed(BODY[i:])
        assert d.done and not d.overrun
    d = ChunkedDecoder()
    d.feed(BODY)
    d.feed(b"X")  # a later read, after the end
    assert d.overrun
