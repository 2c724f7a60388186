"""Stream a reasoning model's thinking, then its answer, in the terminal.

    python examples/reasoning.py                                   # local emulator
    python examples/reasoning.py --question "Why is the sky blue?"
    python examples/reasoning.py --endpoint-name my-qwen3 --model-id huggingface-reasoning-qwen3-8b

Reasoning models (DeepSeek-R1 distills, Qwen3, gpt-oss) think before they answer.
Whatever their container sends (vLLM's `delta.reasoning`, SGLang's
`reasoning_content`, or `<think>` tags in the text), `ChatJumpStart` streams the
thinking in each chunk's `additional_kwargs["reasoning_content"]` and the answer in
its content, so the two can be shown apart as they arrive.
"""

from __future__ import annotations

import argparse
import sys

from _connect import add_connection_args, connect

from langchain_jumpstart_stream import ChatJumpStart

DIM, RESET = "\x1b[2m", "\x1b[0m"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default="How do I build a website?")
    parser.add_argument("--no-color", action="store_true", help="no terminal colours")
    add_connection_args(parser, model_id="deepseek-llm-r1-distill-qwen-7b")
    args = parser.parse_args()
    dim, reset = ("", "") if args.no_color else (DIM, RESET)

    with connect(args) as connection:
        chat = ChatJumpStart(**connection)
        phase = None
        for chunk in chat.stream([("human", args.question)]):
            thinking = chunk.additional_kwargs.get("reasoning_content", "")
            if thinking:
                if phase != "thinking":
                    print(f"{dim}── thinking ──{reset}", flush=True)
                    phase = "thinking"
                print(f"{dim}{thinking}{reset}", end="", flush=True)
            if chunk.text:
                if phase != "answer":
                    print("\n── answer ──", flush=True)
                    phase = "answer"
                print(chunk.text, end="", flush=True)
        print()
        usage = chunk.usage_metadata or {}
        reasoning = usage.get("output_token_details", {}).get("reasoning")
        if reasoning is not None:
            print(
                f"[{reasoning} of {usage['output_tokens']} tokens were thinking]", file=sys.stderr
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
