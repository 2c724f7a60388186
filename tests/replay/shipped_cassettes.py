"""Build the cassettes shipped in ``langchain_jumpstart_stream/cassettes/data``.

Each is made from a wire fixture in ``tests/fixtures/wire`` (written from the server's
own documentation and sources, not by the emulator), wrapped in event-stream frames
as SageMaker sends them: one ``PayloadPart`` per server-sent event or JSON line, one
frame per network read, 40 ms apart. The timing is synthetic; the bytes are not.

Regenerate after changing a fixture or the format::

    .venv/bin/python -m tests.replay.shipped_cassettes
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from langchain_jumpstart_stream.cassettes import SHIPPED, shipped
from langchain_jumpstart_stream.emulator._cassette import (
    STREAM,
    Cassette,
    CassetteRequest,
    Interaction,
)
from langchain_jumpstart_stream.emulator._frames import payload_part

WIRE = Path(__file__).parent.parent / "fixtures" / "wire"
_FIRST_BYTE = 0.25  # seconds to the answer's head (time to first token)
_INTERVAL = 0.04  # seconds between frames: 25 tokens per second

_CHAT = {
    "messages": [{"role": "user", "content": "Hi"}],
    "stream": True,
    "stream_options": {"include_usage": True},
}
# name -> (fixture, container content type, example request body, where it comes from)
SOURCES: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "tgi-sse": (
        "tgi_falcon.sse",
        "text/event-stream",
        {
            "inputs": "How do I build a website?",
            "parameters": {"details": True, "max_new_tokens": 256},
            "stream": True,
        },
        "TGI's /generate_stream server-sent events (StreamResponse, with details)",
    ),
    "lmi-jsonlines": (
        "lmi.jsonl",
        "application/jsonlines",
        {"inputs": "What is Deep Learning?", "parameters": {"max_new_tokens": 4}, "stream": True},
        "DJL Serving / LMI JSON lines (rolling batch jsonlines formatter)",
    ),
    "vllm-chat": (
        "openai_chat.sse",
        "text/event-stream",
        _CHAT,
        "vLLM's OpenAI chat.completion.chunk stream (as LMI and vLLM containers send it)",
    ),
    "sglang-reasoning": (
        "sglang_reasoning.sse",
        "text/event-stream",
        _CHAT,
        "SGLang's chat chunks with reasoning_content (a DeepSeek-R1 distill)",
    ),
}


def _events(data: bytes) -> list[bytes]:
    """The fixture cut where the server flushed: after each SSE event or JSON line."""
    separator = rb"(?<=\n\n)" if b"data:" in data[:8] else rb"(?<=\n)"
    return [part for part in re.split(separator, data) if part]


def build(name: str) -> Cassette:
    """The shipped cassette ``name``, from its fixture."""
    fixture, content_type, body, origin = SOURCES[name]
    import json

    request = CassetteRequest(
        operation=STREAM,
        endpoint=name,
        headers={"accept": "application/json", "content-type": "application/json"},
        body=json.dumps(body).encode(),
    )
    item = Interaction(
        request,
        status=200,
        headers={
            "content-type": "application/vnd.amazon.eventstream",
            "x-amzn-invoked-production-variant": "AllTraffic",
            "x-amzn-requestid": f"00000000-0000-4000-8000-{sum(name.encode()):012d}",
            "x-amzn-sagemaker-content-type": content_type,
        },
        head_t=_FIRST_BYTE,
    )
    events = _events((WIRE / fixture).read_bytes())
    for n, event in enumerate(events):
        item.reads.append((round(_FIRST_BYTE + n * _INTERVAL, 4), payload_part(event)))
    item.end_t = round(_FIRST_BYTE + len(events) * _INTERVAL, 4)
    note = (
        f"{origin}; from tests/fixtures/wire/{fixture}, one frame per event, "
        "synthetic timing. Matches any request of its operation."
    )
    return Cassette([item], match=("operation",), note=note)


def main() -> None:
    for name in SHIPPED:
        build(name).save(shipped(name))
        print(f"wrote {shipped(name)}")


if __name__ == "__main__":
    main()
