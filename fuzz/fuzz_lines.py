"""Fuzz the line decoder, the record parser and the whole StreamDecoder.

Run: ``python fuzz/fuzz_lines.py -max_total_time=60 fuzz/corpus/lines`` (see README.md).

The fuzzer chooses ``max_line_bytes``, stop sequences, chunk boundaries and the
container bytes. Checks:

* only the package's own errors (``JumpStartStreamError`` subclasses) escape;
* the line buffer never holds more than ``max_line_bytes``;
* lines and decoded pieces are the same however the bytes are cut, empty chunks
  included, and an error is the same error. (This target found that lines before
  an over-long one in the same chunk were dropped.)
"""

from __future__ import annotations

import itertools
import sys

import atheris

# The package's __init__ pulls in langchain-core, pydantic and boto3: import those
# first, uninstrumented, so that coverage feedback comes from our decoders only.
import boto3  # noqa: F401
import langchain_core.language_models  # noqa: F401

with atheris.instrument_imports(include=["langchain_jumpstart_stream"]):
    from langchain_jumpstart_stream._decoder import StreamDecoder
    from langchain_jumpstart_stream._lines import LineDecoder
    from langchain_jumpstart_stream.errors import JumpStartStreamError, LineTooLongError

_STOPS = ["\n\n", "User:", ".", "END", "</s>", "日本"]


def cut(data: bytes, offsets: list[int]) -> list[bytes]:
    """``data`` cut at the offsets (taken modulo its length); repeated ones give empty chunks."""
    bounds = [0, *sorted(o % (len(data) + 1) for o in offsets), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def lines(chunks: list[bytes], limit: int) -> tuple[list[bytes], str | None]:
    """The lines and the error's name, if any; checks the buffer bound as it goes."""
    decoder = LineDecoder(limit)
    out: list[bytes] = []
    try:
        for chunk in chunks:
            out.extend(decoder.feed(chunk))
            assert len(decoder._buf) <= limit, "the line buffer outgrew max_line_bytes"
        out.extend(decoder.finish())
    except LineTooLongError as exc:
        return out, type(exc).__name__
    return out, None


def pieces(chunks: list[bytes], limit: int, stops: list[str]) -> tuple[list, str | None]:
    """The decoded pieces and the error's name, if any."""
    decoder = StreamDecoder(stop=stops, max_line_bytes=limit, token_details=True)
    out: list = []
    try:
        for chunk in chunks:
            out.extend((p.text, p.info, p.tool_calls) for p in decoder.feed(chunk))
            if decoder.stopped:
                break
        out.extend((p.text, p.info, p.tool_calls) for p in decoder.finish())
    except JumpStartStreamError as exc:
        return out, type(exc).__name__
    return out, None


def TestOneInput(raw: bytes) -> None:  # noqa: N802 - atheris' name
    """One fuzz input: see the module docstring."""
    fdp = atheris.FuzzedDataProvider(raw)
    limit = fdp.ConsumeIntInRange(1, 4096)
    stops = [s for s in _STOPS if fdp.ConsumeBool()]
    offsets = [fdp.ConsumeIntInRange(0, 1 << 16) for _ in range(fdp.ConsumeIntInRange(0, 8))]
    data = fdp.ConsumeBytes(fdp.remaining_bytes())
    chunks = cut(data, offsets)

    assert lines([data], limit) == lines(chunks, limit), "lines depend on the cuts"
    assert pieces([data], limit, stops) == pieces(chunks, limit, stops), "pieces depend on the cuts"


def main() -> None:
    """Hand over to libFuzzer; its options come from the command line."""
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
