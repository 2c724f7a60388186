"""A Gradio chat whose answers grow token by token, with a Stop button that really stops.

    python examples/gradio_app.py                  # local emulator, http://127.0.0.1:7860
    python examples/gradio_app.py --endpoint-name my-mistral \\
        --model-id huggingface-llm-mistral-7b-instruct --region us-east-1

The reply function is an async generator over `ChatJumpStart.astream()`, which lays
the conversation out in the model's chat format. Stop makes Gradio cancel it while
it waits for the next token; the cancellation closes the SageMaker stream (the
endpoint stops generating) and the partial answer stays in the chat.

A reasoning model's thinking (`additional_kwargs["reasoning_content"]`) is shown
apart, in a collapsible "Thinking" message above the answer, and is never sent
back with the history.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr
from _connect import add_connection_args, connect

from langchain_jumpstart_stream import ChatJumpStart


def _text(content: Any) -> str:
    """Text of a Gradio message's content (a string, or a list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_text(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return ""


def build_app(chat: ChatJumpStart) -> gr.ChatInterface:
    """The chat UI, streaming from `chat`."""

    async def reply(
        message: str, history: list[dict[str, Any]]
    ) -> AsyncIterator[str | list[gr.ChatMessage]]:
        messages = [
            (m["role"], _text(m["content"]))
            for m in history
            if not (m.get("metadata") or {}).get("title")  # earlier thinking stays out
        ]
        messages.append(("user", message))
        answer = thinking = ""
        async for chunk in chat.astream(messages):
            answer += chunk.text
            thinking += chunk.additional_kwargs.get("reasoning_content", "")
            if not thinking:
                yield answer  # Gradio redraws the growing answer
                continue
            status = "done" if answer else "pending"
            box = gr.ChatMessage(thinking, metadata={"title": "Thinking", "status": status})
            yield [box, gr.ChatMessage(answer)] if answer else [box]

    return gr.ChatInterface(
        reply,
        title="SageMaker JumpStart chat",
        description=f"Streaming from `{chat.endpoint_name}` ({chat.model_id}).",
        textbox=gr.Textbox(
            placeholder="Ask something, e.g. How do I build a website?",
            submit_btn="Send",
            stop_btn="Stop",  # shown while an answer streams; cancels `reply`
        ),
        analytics_enabled=False,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = add_connection_args(parser, tokens_per_second=15.0).parse_args()

    with connect(args) as connection:
        chat = ChatJumpStart(**connection, model_kwargs={"max_new_tokens": 400})
        build_app(chat).launch(server_name=args.host, server_port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
