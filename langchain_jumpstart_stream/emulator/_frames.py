"""Encoder for ``application/vnd.amazon.eventstream`` messages (pure, no I/O).

A message is, all integers big-endian::

    total length (u32) | headers length (u32) | prelude CRC32 (u32, of the first 8 bytes)
    headers | payload | message CRC32 (u32, of everything before it)

Each header is ``name length (u8) | name | type (u8, 7 = string) | value length (u16) | value``.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Sequence

_STRING_TYPE = 7
_PRELUDE = struct.Struct(">II")
_U32 = struct.Struct(">I")


def encode_headers(headers: Sequence[tuple[str, str]]) -> bytes:
    """Encode string headers in the event-stream header format."""
    out = bytearray()
    for name, value in headers:
        raw_name = name.encode("utf-8")
        raw_value = value.encode("utf-8")
        if len(raw_name) > 0xFF or len(raw_value) > 0xFFFF:
            raise ValueError(f"header {name!r} is too long for an event-stream message")
        out += bytes([len(raw_name)]) + raw_name
        out += bytes([_STRING_TYPE]) + struct.pack(">H", len(raw_value)) + raw_value
    return bytes(out)


def encode_message(
    headers: Sequence[tuple[str, str]], payload: bytes, *, corrupt_crc: bool = False
) -> bytes:
    """Encode one event-stream message.

    Args:
        headers: ``(name, value)`` string headers, in order.
        payload: The message payload.
        corrupt_crc: Flip the bits of the message CRC, to test a client's checks.

    Returns:
        The complete message bytes.
    """
    return encode_raw_message(encode_headers(headers), payload, corrupt_crc=corrupt_crc)


def encode_raw_message(raw_headers: bytes, payload: bytes, *, corrupt_crc: bool = False) -> bytes:
    """Encode one message around header bytes taken as they are, well-formed or not.

    Tests and fuzzers use it to build frames whose CRCs are right but whose headers
    are hostile; :func:`encode_message` uses it for everything else.
    """
    total = _PRELUDE.size + 4 + len(raw_headers) + len(payload) + 4
    prelude = _PRELUDE.pack(total, len(raw_headers))
    prelude += _U32.pack(zlib.crc32(prelude))
    body = prelude + raw_headers + payload
    crc = zlib.crc32(body)
    if corrupt_crc:
        crc ^= 0xFFFFFFFF
    return body + _U32.pack(crc)


def payload_part(data: bytes, *, corrupt_crc: bool = False) -> bytes:
    """A ``PayloadPart`` event carrying raw model bytes."""
    headers = (
        (":event-type", "PayloadPart"),
        (":content-type", "application/octet-stream"),
        (":message-type", "event"),
    )
    return encode_message(headers, data, corrupt_crc=corrupt_crc)


def model_stream_error(message: str, error_code: str = "StreamBroken") -> bytes:
    """A ``ModelStreamError`` exception event (``ErrorCode`` as in the service model)."""
    return _exception("ModelStreamError", {"Message": message, "ErrorCode": error_code})


def internal_stream_failure(message: str) -> bytes:
    """An ``InternalStreamFailure`` exception event."""
    return _exception("InternalStreamFailure", {"Message": message})


def _exception(exception_type: str, body: dict[str, str]) -> bytes:
    headers = (
        (":exception-type", exception_type),
        (":content-type", "application/json"),
        (":message-type", "exception"),
    )
    return encode_message(headers, json.dumps(body).encode("utf-8"))
