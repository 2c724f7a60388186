"""Property-based tests of the decode pipeline (pure, no I/O).

Complements tests/unit/test_{lines,records,stop}.py, which check each stage alone:
here whole streams, rendered by the emulator for every container format, go through
the whole pipeline cut in every way; the event-stream decoder is checked against
botocore's own; and arbitrary bytes must end in the package's own errors only.
"""

from __future__ import annotations

import os
import re

import pytest
from botocore.eventstream import EventStreamBuffer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from langchain_jumpstart_stream._decoder import StreamDecoder
from langchain_jumpstart_stream._eventstream import FrameDecoder
from langchain_jumpstart_stream._lines import LineDecoder
from langchain_jumpstart_stream.emulator import expected_text, rendered_stream
from langchain_jumpstart_stream.emulator._frames import encode_message, payload_part
from langchain_jumpstart_stream.errors import (
    FrameError,
    JumpStartStreamError,
    LineTooLongError,
    MalformedStreamError,
)

from ._strategies import (
    CRC_VALID_GARBAGE,
    VALID_FRAMES,
    container_garbage,
    container_streams,
    cut_at_first_stop,
    cuts,
    encode_frame,
)

# Bounded so the suite stays fast; raise it locally (RELIABILITY_EXAMPLES=5000) to dig.
EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "60"))
bounded = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
pytestmark = pytest.mark.timeout(60)  # "never hangs": each test, all its examples included


def decode(chunks: list[bytes], *, stops: list[str] = (), token_details: bool = False) -> list:
    """Every piece the decoder produces, flattened, as comparable tuples."""
    decoder = StreamDecoder(stop=stops, token_details=token_details, max_line_bytes=1 << 20)
    pieces = []
    for chunk in chunks:
        pieces.extend(decoder.feed(chunk))
        if decoder.stopped:
            break
    pieces.extend(decoder.finish())
    return [(p.text, p.info, p.tool_calls) for p in pieces]


# -- any re-chunking of any valid stream, in every format ------------------------------


@bounded
@given(stream=container_streams(), data=st.data(), token_details=st.booleans())
def test_any_rechunking_gives_the_same_text_and_metadata(stream, data, token_details) -> None:
    cfg, body, stops = stream
    raw = rendered_stream(cfg, body)
    whole = decode([raw], stops=stops, token_details=token_details)
    text = "".join(t for t, _, _ in whole)
    assert text == cut_at_first_stop(expected_text(cfg, body), stops)

    closing = whole[-1][1]
    assert isinstance(closing["output_tokens"], int)
    if cut_at_first_stop(expected_text(cfg, body), stops) != expected_text(cfg, body):
        assert closing["finish_reason"] == "stop_sequence"
        assert closing["stop_sequence"] in stops

    pieces = data.draw(cuts(raw), label="chunks")
    assert decode(pieces, stops=stops, token_details=token_details) == whole
    one_byte = [raw[i : i + 1] for i in range(len(raw))]
    assert decode(one_byte, stops=stops, token_details=token_details) == whole


@bounded
@given(stream=container_streams(), data=st.data())
def test_through_the_event_stream_layer(stream, data) -> None:
    """Container bytes -> PayloadParts of any size (plus unknown events) -> cut anywhere."""
    cfg, body, stops = stream
    raw = rendered_stream(cfg, body)
    parts = data.draw(cuts(raw), label="payload parts")
    wire = b""
    for part in parts:
        if data.draw(st.booleans(), label="unknown event before"):
            # Forward compatibility: an event type the client does not know is skipped.
            wire += encode_message(
                [(":event-type", "FutureEvent"), (":message-type", "event")], b"{}"
            )
        wire += payload_part(part)
    reads = data.draw(cuts(wire), label="network reads")

    frames = FrameDecoder()
    payloads = [
        f.payload
        for read in reads
        for f in frames.feed(read)
        if f.message_type == "event" and f.event_type == "PayloadPart"
    ]
    frames.finish()
    assert payloads == parts

    reference = EventStreamBuffer()
    reference.add_data(wire)
    assert [m.payload for m in reference if m.headers.get(":event-type") == "PayloadPart"] == parts
    assert decode(payloads, stops=stops) == decode([raw], stops=stops)


# -- the event-stream decoder against botocore's ------------------------------------------


def frame_decode(chunks: list[bytes]) -> list[tuple[bytes, dict[str, str], str, str]]:
    decoder = FrameDecoder()
    out = [
        (f.payload, f.headers, f.message_type, f.event_type)
        for chunk in chunks
        for f in decoder.feed(chunk)
    ]
    decoder.finish()
    return out


def botocore_decode(data: bytes) -> list[tuple[bytes, dict[str, str]]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(m.payload, {k: v for k, v in m.headers.items() if isinstance(v, str)}) for m in buffer]


@bounded
@given(frames=st.lists(VALID_FRAMES, max_size=6), data=st.data())
def test_frames_match_botocore_however_cut(frames: list[bytes], data) -> None:
    wire = b"".join(frames)
    ours = frame_decode(data.draw(cuts(wire), label="reads"))
    assert [(p, h) for p, h, _, _ in ours] == botocore_decode(wire)
    for _, headers, message_type, event_type in ours:
        assert message_type == headers.get(":message-type", "event")
        if message_type == "event":
            assert event_type == headers.get(":event-type", "")


@bounded
@given(frames=st.lists(VALID_FRAMES, min_size=1, max_size=4), data=st.data())
def test_any_corrupted_byte_is_a_frame_error(frames: list[bytes], data) -> None:
    """CRC32 catches every single-byte change; a changed length never waits forever."""
    wire = bytearray(b"".join(frames))
    at = data.draw(st.integers(0, len(wire) - 1), label="offset")
    wire[at] ^= data.draw(st.integers(1, 255), label="xor")
    with pytest.raises(FrameError):
        frame_decode(data.draw(cuts(bytes(wire)), label="reads"))


@bounded
@given(frames=st.lists(VALID_FRAMES, min_size=1, max_size=4), data=st.data())
def test_a_body_cut_short_is_a_frame_error(frames: list[bytes], data) -> None:
    wire = b"".join(frames)
    end = data.draw(st.integers(1, len(wire) - 1), label="end")
    complete = sum(len(f) for f in _whole_frames_before(frames, end))
    if complete == end:
        return  # cut at a frame boundary: a shorter, valid stream
    with pytest.raises(FrameError, match="ended inside an event-stream frame"):
        frame_decode(data.draw(cuts(wire[:end]), label="reads"))


def _whole_frames_before(frames: list[bytes], end: int) -> list[bytes]:
    done, size = [], 0
    for frame in frames:
        if size + len(frame) > end:
            break
        done.append(frame)
        size += len(frame)
    return done


@bounded
@given(
    wire=st.one_of(
        st.binary(max_size=600),
        st.lists(CRC_VALID_GARBAGE | VALID_FRAMES | st.binary(max_size=20), max_size=5).map(
            b"".join
        ),
    ),
    data=st.data(),
)
@example(wire=encode_frame(bytes([3]) + b"abc" + bytes([99]), b""), data=None)  # unknown type
@example(wire=encode_frame(bytes([200]) + b"ab", b"x"), data=None)  # name past the block
@example(wire=encode_frame(b"\x01a\x07\x00\x09abc", b""), data=None)  # value past the block
@example(wire=encode_frame(b"", b"")[:8] + b"\x00" * 8, data=None)  # prelude CRC
def test_arbitrary_bytes_only_ever_raise_frame_error(wire: bytes, data) -> None:
    chunks = data.draw(cuts(wire), label="reads") if data is not None else [wire]
    try:
        ours = frame_decode(chunks)
    except FrameError:
        return
    # Whatever we accept, botocore accepts the same way (it is only stricter about
    # duplicate header names and invalid UTF-8, which we decode leniently).
    stricter: Exception | None = None
    try:
        theirs = botocore_decode(wire)
    except Exception as exc:  # botocore's own parser errors vary
        stricter = exc
    if stricter is not None:
        assert type(stricter).__name__ in ("DuplicateHeader", "UnicodeDecodeError"), stricter
    else:
        assert [(p, h) for p, h, _, _ in ours] == theirs


# -- arbitrary bytes through the whole pipeline -----------------------------------------


@bounded
@given(payload=st.binary(max_size=400) | container_garbage(), data=st.data())
@example(payload=b"[" * 100_000, data=None)
@example(payload=b'{"token": {"text": "x", "id": ' + b"9" * 5000 + b"}}\n", data=None)
@example(payload=b"data: " + b"\xff\xfe" * 10 + b"\n\n", data=None)
@example(payload=b'{"choices": "abc"}\n{"choices": 5}\n', data=None)
def test_arbitrary_bytes_only_raise_package_errors(payload: bytes, data) -> None:
    chunks = data.draw(cuts(payload), label="chunks") if data is not None else [payload]
    pieces, failure = run_decoder(chunks)
    assert failure is None or str(failure)  # every error explains itself
    # However the bytes are cut: the same pieces, then the same kind of error.
    whole, whole_failure = run_decoder([payload])
    assert pieces == whole
    assert type(failure) is type(whole_failure)


def run_decoder(chunks: list[bytes]) -> tuple[list, JumpStartStreamError | None]:
    """Decode; return the pieces and the error (only the package's own may escape)."""
    decoder = StreamDecoder(stop=["\n\n", "END"], token_details=True, max_line_bytes=1 << 18)
    pieces: list = []
    try:
        for chunk in chunks:
            try:
                batch = decoder.feed(chunk)
            except JumpStartStreamError:
                # A failed decoder stays failed: the same error again, never another.
                with pytest.raises(JumpStartStreamError) as again:
                    decoder.feed(b"more")
                assert again.value is decoder.error
                raise
            assert all(isinstance(p.text, str) for p in batch)
            pieces += [(p.text, p.info, p.tool_calls) for p in batch]
            if decoder.stopped:
                break
        for piece in decoder.finish():
            assert piece.info is None or isinstance(piece.info, dict)
            pieces.append((piece.text, piece.info, piece.tool_calls))
    except JumpStartStreamError as exc:
        return pieces, exc
    return pieces, None


# -- the line decoder under mixed line endings ------------------------------------------

_LINE = st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b""))


@bounded
@given(
    lines=st.lists(st.tuples(_LINE, st.sampled_from([b"\n", b"\r\n", b"\r"])), max_size=12),
    data=st.data(),
)
def test_mixed_line_endings_any_chunking(lines: list[tuple[bytes, bytes]], data) -> None:
    wire = b"".join(line + end for line, end in lines)
    decoder = LineDecoder(1 << 16)
    got = [
        line for chunk in data.draw(cuts(wire, allow_empty=False)) for line in decoder.feed(chunk)
    ]
    got += decoder.finish()
    assert got == _reference_lines(wire)  # "\r" then "\n" is one CRLF, whatever the cut


def _reference_lines(data: bytes) -> list[bytes]:
    parts = re.split(rb"\r\n|\r|\n", data)
    return parts[:-1] if parts and parts[-1] == b"" else parts


@bounded
@given(size=st.integers(1, 4096), data=st.data())
def test_line_limit_holds_for_any_chunking(size: int, data) -> None:
    """At the limit a line passes, one byte over it is refused, however it arrives."""
    decoder = LineDecoder(size)
    at_limit = b"x" * size + b"\n"
    lines = [line for c in data.draw(cuts(at_limit), label="ok") for line in decoder.feed(c)]
    assert lines == [b"x" * size]
    decoder = LineDecoder(size)
    with pytest.raises(LineTooLongError):
        for chunk in data.draw(cuts(b"y" * (size + 1) + b"\n"), label="too long"):
            decoder.feed(chunk)


# -- regressions: bugs this suite found (fixed in 9c55ca6) --------------------------------


def test_empty_chunk_between_cr_and_lf() -> None:
    decoder = LineDecoder(100)
    lines = decoder.feed(b"a\r") + decoder.feed(b"") + decoder.feed(b"\nb\n") + decoder.finish()
    assert lines == [b"a", b"b"]


def test_sse_event_without_blank_line_is_bounded() -> None:
    """Many ``data:`` lines and no blank line: one event, bounded like one line."""
    decoder = StreamDecoder(max_line_bytes=1024)
    line = b"data: " + b"x" * 500 + b"\n"
    fed = 0
    with pytest.raises(MalformedStreamError):
        for _ in range(1000):  # would be 0.5 MB in one event, 500x max_line_bytes
            decoder.feed(line)
            fed += 1
    assert fed <= 3


def test_frame_decoder_fails_cleanly_after_a_header_error() -> None:
    bad_type = encode_frame(bytes([3]) + b"abc" + bytes([99]), b"")  # header type 99
    decoder = FrameDecoder()
    with pytest.raises(FrameError) as info:
        decoder.feed(bad_type)
    assert info.value  # the error is still referenced, as a caller logging it would
    with pytest.raises(FrameError):
        decoder.finish()  # was a BufferError: a memoryview kept the buffer exported


def test_frames_before_a_corrupt_one_are_not_lost() -> None:
    """Good frames before a bad one in the same read come out; the error comes next."""
    good = payload_part(b"tok1")
    bad = payload_part(b"tok2", corrupt_crc=True)
    decoder = FrameDecoder()
    assert [f.payload for f in decoder.feed(good + bad)] == [b"tok1"]
    with pytest.raises(FrameError, match="CRC"):
        decoder.feed(b"")
    with pytest.raises(FrameError, match="CRC"):
        decoder.finish()


def test_lines_before_an_overlong_one_are_not_lost() -> None:
    """Lines before an over-long one in the same chunk come out; the error comes next."""
    token = b'data:{"token":{"id":1,"text":"Hello","special":false}}\n\n'
    decoder = StreamDecoder(max_line_bytes=100)
    assert [p.text for p in decoder.feed(token + b"x" * 200)] == ["Hello"]
    with pytest.raises(LineTooLongError):
        decoder.finish()


# -- regressions: bugs these tests found, now fixed ------------------------------------


def test_error_code_is_always_a_string() -> None:
    decoder = StreamDecoder()
    with pytest.raises(JumpStartStreamError) as info:
        decoder.feed(b'{"error": "out of memory", "error_type": ["oom", 1]}\n')
    assert isinstance(info.value.error_code, str | None)
