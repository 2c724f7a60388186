"""A tool-using agent whose model tokens stream to the terminal while it works.

    python examples/agent.py                             # local emulator
    python examples/agent.py --question "What time is it in UTC?" \\
        --endpoint-name my-vllm-endpoint --region us-east-1
    python examples/agent.py --endpoint-name my-llama --region us-east-1 --supports-tools \\
        --model-id meta-textgeneration-llama-3-1-8b-instruct

The agent is LangChain's `create_agent` (a LangGraph graph) around `ChatJumpStart`,
with two tools: a search over the documents in examples/data/ and a UTC clock.
`stream_mode="messages"` yields each model token as it arrives, the tool calls as
the model writes them, and each tool's result.

Choosing a tool is the model's judgement. Tool calling needs a container with an
OpenAI-style tools API: vLLM, or DJL/LMI with tool calling switched on. Name the
endpoint; with --model-id, add --supports-tools to say that its container has it.
The local emulator is deterministic and does not understand questions, so it never
calls a tool: against it the agent answers at once, and you watch that answer stream.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from _connect import add_connection_args, connect
from langchain.agents import create_agent
from langchain_core.messages import AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.tools import tool

from langchain_jumpstart_stream import ChatJumpStart
from langchain_jumpstart_stream.errors import ConfigurationError

DATA = Path(__file__).parent / "data"


@tool
def search_docs(query: str) -> str:
    """Search the langchain-jumpstart-stream documentation; returns the best page."""
    words = set(re.findall(r"[a-z]+", query.lower()))
    pages = {path.name: path.read_text(encoding="utf-8") for path in DATA.glob("*.md")}
    best = max(pages, key=lambda name: len(words & set(re.findall(r"[a-z]+", pages[name].lower()))))
    return f"{best}:\n{pages[best]}"


@tool
def utc_time() -> str:
    """The current date and time in UTC (ISO 8601)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


TOOLS = [search_docs, utc_time]
SYSTEM = (
    "You answer questions about the langchain-jumpstart-stream library. Use search_docs "
    "to look things up and utc_time for the time; otherwise answer directly and briefly."
)


def show(stream: Iterable[tuple[BaseMessage, dict]]) -> None:
    """Print an agent's `stream_mode="messages"` stream as it arrives."""
    for message, _metadata in stream:
        if isinstance(message, AIMessageChunk):
            print(message.text, end="", flush=True)  # the answer, token by token
            for call in message.tool_call_chunks:  # a tool call, as the model writes it
                if call.get("name"):
                    print(f"\n[calling {call['name']}] ", end="")
                print(call.get("args") or "", end="", flush=True)
        elif isinstance(message, ToolMessage):
            print(f"\n[{message.name} returned {len(message.text)} characters]\n", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default="How do I stop an answer early?")
    # No default model id: an OpenAI-compatible container (the emulator imitates vLLM).
    add_connection_args(parser, model_id=None)
    parser.add_argument(
        "--supports-tools",
        action="store_true",
        help="the container of --model-id has tool calling on (the registry cannot know)",
    )
    args = parser.parse_args()

    with connect(args) as connection:
        model = ChatJumpStart(
            **connection,
            stream_format=None if args.model_id else "openai",  # Messages API, with tools
            supports_tools=True if args.supports_tools else None,
            model_kwargs={"max_new_tokens": 400},
        )
        tools = TOOLS
        try:
            model.bind_tools(tools)  # fails early for a container without a tools API
        except ConfigurationError as exc:
            print(f"(running without tools: {exc})", file=sys.stderr)
            tools = []
        agent = create_agent(model, tools=tools, system_prompt=SYSTEM)

        print(f"> {args.question}\n")
        show(
            agent.stream(
                {"messages": [{"role": "user", "content": args.question}]},
                stream_mode="messages",
            )
        )
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
