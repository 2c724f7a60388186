"""On the wire: each recorded read is one HTTP chunk, or the same bytes re-cut at random.

Read with a bare socket, so that no HTTP client merges or splits what the emulator sent.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from langchain_jumpstart_stream.cassettes import CassettePlayer, load, shipped


def _chunks(url: str, operation: str = "invocations-response-stream") -> tuple[bytes, list[bytes]]:
    """The status line and the HTTP chunks of one response, as sent."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        body = b"{}"
        sock.sendall(
            f"POST /endpoints/any/{operation} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    chunks = []
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return head.split(b"\r\n")[0], chunks
        chunks.append(rest[:size])
        assert rest[size : size + 2] == b"\r\n"
        rest = rest[size + 2 :]


@pytest.mark.parametrize("name", ["tgi-sse", "sglang-reasoning"])
def test_each_recorded_read_is_one_chunk(name: str) -> None:
    reads = [data for _, data in load(shipped(name)).interactions[0].reads]
    with CassettePlayer(shipped(name), speed=None) as player:
        status, chunks = _chunks(player.url)
    assert status == b"HTTP/1.1 200 OK"
    assert chunks == reads


def test_random_cuts_are_small_seeded_and_lose_nothing() -> None:
    reads = [data for _, data in load(shipped("sglang-reasoning")).interactions[0].reads]
    cuts = []
    for seed in (1, 1, 2):
        with CassettePlayer(shipped("sglang-reasoning"), speed=None, cut="random", seed=seed) as p:
            cuts.append(_chunks(p.url)[1])
    for chunks in cuts:
        assert b"".join(chunks) == b"".join(reads)
        assert all(1 <= len(c) <= 64 for c in chunks)
        assert len(chunks) > len(reads)
    assert cuts[0] == cuts[1] != cuts[2]  # the seed decides the cuts
