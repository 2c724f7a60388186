"""Stream a LangChain chain (prompt | llm | parser) three ways: stream, astream, events.

    python examples/chain_streaming.py                       # local emulator
    python examples/chain_streaming.py --topic "vector databases"
    python examples/chain_streaming.py --endpoint-name my-falcon --region us-east-1

Every token the endpoint sends flows through the whole chain as it arrives: the
output parser passes each piece on at once, so `.stream()` and `.astream()` yield
the answer word by word, and `astream_events` shows each model chunk as an event.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from _connect import add_connection_args, connect, instruct_prompt
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable

from langchain_jumpstart_stream import JumpStartLLM

QUESTION = "Explain to a new engineer, in a few sentences: {topic}"


def section(title: str) -> None:
    print(f"\n\n== {title} ==", flush=True)


def with_sync_stream(chain: Runnable, inputs: dict) -> None:
    section("chain.stream()")
    for text in chain.stream(inputs):  # a plain generator of strings
        print(text, end="", flush=True)


async def with_async_stream(chain: Runnable, inputs: dict) -> None:
    section("chain.astream()")
    async for text in chain.astream(inputs):  # the same, without blocking the event loop
        print(text, end="", flush=True)


async def with_events(chain: Runnable, inputs: dict) -> None:
    section('chain.astream_events(version="v2")')
    counts: dict[str, int] = {}
    async for event in chain.astream_events(inputs, version="v2"):
        kind = event["event"]
        counts[kind] = counts.get(kind, 0) + 1
        # An LLM emits on_llm_stream (GenerationChunk); a chat model emits
        # on_chat_model_stream (AIMessageChunk). Both chunks have `.text`.
        if kind in ("on_llm_stream", "on_chat_model_stream"):
            print(event["data"]["chunk"].text, end="", flush=True)
    print(f"\n[events: {', '.join(f'{k}={v}' for k, v in counts.items())}]", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topic", default="server-sent events")
    add_connection_args(parser)
    args = parser.parse_args()

    with connect(args) as connection:
        llm = JumpStartLLM(**connection, model_kwargs={"max_new_tokens": 200})
        prompt = instruct_prompt(args.model_id, QUESTION)  # in the model's chat format
        chain = prompt | llm | StrOutputParser()
        inputs = {"topic": args.topic}

        with_sync_stream(chain, inputs)
        asyncio.run(with_async_stream(chain, inputs))
        asyncio.run(with_events(chain, inputs))
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
