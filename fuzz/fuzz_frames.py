"""Fuzz the event-stream frame decoder against botocore's own.

Run: ``python fuzz/fuzz_frames.py -max_total_time=60 fuzz/corpus/frames`` (see README.md).

Each input picks a mode from its first byte:

0. raw bytes, cut into network reads at fuzzer-chosen offsets;
1. one frame built from fuzzer-chosen header bytes and payload, with correct CRCs,
   so the header parser is reached (random bytes almost never pass a CRC);
2. several such frames in a row, cut anywhere.

Checks: only ``FrameError`` ever escapes; the frames, and the error that ends them,
are the same however the bytes are cut (good frames before a bad one in the same
read come out first; this target found that they were dropped); whatever
``FrameDecoder`` accepts,
botocore's ``EventStreamBuffer`` accepts with the same payload and string headers
(botocore is stricter only about duplicate header names and invalid UTF-8, which
we decode leniently).
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
    from langchain_jumpstart_stream._eventstream import FrameDecoder
    from langchain_jumpstart_stream.errors import FrameError

from botocore.eventstream import EventStreamBuffer

from langchain_jumpstart_stream.emulator._frames import encode_raw_message

_BOTOCORE_STRICTER = ("DuplicateHeader", "UnicodeDecodeError")


def decode(chunks: list[bytes]) -> tuple[list[tuple[bytes, dict[str, str]]], str | None]:
    """Our frames (payload, string headers) and the error's name, if any."""
    decoder = FrameDecoder()
    frames: list[tuple[bytes, dict[str, str]]] = []
    try:
        for chunk in chunks:
            frames.extend((f.payload, dict(f.headers)) for f in decoder.feed(chunk))
        decoder.finish()
    except FrameError as exc:
        return frames, type(exc).__name__
    return frames, None


def botocore(data: bytes) -> list[tuple[bytes, dict[str, str]]] | None:
    """The frames botocore decodes, or None where it is knowingly stricter than we are."""
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    try:
        return [
            (m.payload, {k: v for k, v in m.headers.items() if isinstance(v, str)}) for m in buffer
        ]
    except Exception as exc:  # botocore's parser raises many kinds
        if type(exc).__name__ in _BOTOCORE_STRICTER:
            return None
        raise AssertionError(f"we accepted what botocore rejects: {exc!r}") from exc


def cut(data: bytes, offsets: list[int]) -> list[bytes]:
    """``data`` cut at the offsets (taken modulo its length)."""
    bounds = [0, *sorted(o % (len(data) + 1) for o in offsets), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def TestOneInput(raw: bytes) -> None:  # noqa: N802 - atheris' name
    """One fuzz input: see the module docstring."""
    fdp = atheris.FuzzedDataProvider(raw)
    mode = fdp.ConsumeIntInRange(0, 2)
    offsets = [fdp.ConsumeIntInRange(0, 1 << 16) for _ in range(fdp.ConsumeIntInRange(0, 6))]
    if mode == 0:
        data = fdp.ConsumeBytes(fdp.remaining_bytes())
    else:
        data = b""
        for _ in range(1 if mode == 1 else fdp.ConsumeIntInRange(1, 4)):
            headers = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 96))
            payload = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 96))
            data += encode_raw_message(headers, payload)
    whole, whole_error = decode([data])
    pieces, pieces_error = decode(cut(data, offsets))
    assert (whole, whole_error) == (pieces, pieces_error), "depends on how the bytes are cut"
    if whole_error is None:
        theirs = botocore(data)
        if theirs is not None:
            assert whole == theirs, (whole, theirs)


def main() -> None:
    """Hand over to libFuzzer; its options come from the command line."""
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
