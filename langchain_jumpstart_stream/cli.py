"""The ``jumpstart-stream`` command: ``serve``, ``complete``, ``chat``, ``record``, ``models``.

Without ``--endpoint-name`` the commands start the local emulator in-process, so
they work with no AWS account.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal, TextIO, TypeVar

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage, BaseMessageChunk

    from .chat_models import ChatJumpStart
    from .llms import JumpStartLLM

__all__ = ["main"]

_DEFAULT_MODEL = "huggingface-llm-falcon-7b-instruct-bf16"


def _connection_args(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--endpoint-name",
        default=env("JUMPSTART_ENDPOINT_NAME"),
        help="SageMaker endpoint (default: $JUMPSTART_ENDPOINT_NAME, else the local emulator)",
    )
    parser.add_argument(
        "--model-id",
        default=env("JUMPSTART_MODEL_ID", _DEFAULT_MODEL),
        help="JumpStart model id (default: %(default)s)",
    )
    parser.add_argument("--region", default=env("AWS_REGION"), help="AWS region")
    parser.add_argument("--max-new-tokens", type=int, default=400)
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=30.0,
        help="pace of the local emulator (ignored for real endpoints)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jumpstart-stream",
        description="Stream tokens from SageMaker JumpStart endpoints, or serve a local emulator.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "serve",
        help="run the local SageMaker Runtime emulator (see `serve --help`)",
        add_help=False,
    )
    complete = sub.add_parser("complete", help="stream one answer to a prompt")
    complete.add_argument("prompt")
    _connection_args(complete)
    chat = sub.add_parser("chat", help="interactive streaming chat in the terminal")
    _connection_args(chat)
    from ._cli_record import add_record_command

    add_record_command(sub, _connection_args)
    models = sub.add_parser("models", help="list the JumpStart models this package knows")
    models.add_argument("--all", action="store_true", help="every family, not only the seed's ten")
    models.add_argument("--framework", default=None, help="e.g. huggingface, meta")
    models.add_argument("--container", default=None, help="tgi, djl-lmi or vllm")
    return parser


M = TypeVar("M", "JumpStartLLM", "ChatJumpStart")


@contextlib.contextmanager
def _model(args: argparse.Namespace, cls: type[M]) -> Iterator[M]:
    """``cls`` on the endpoint named by ``args``, or on an embedded emulator."""
    # The generic name: each model translates it into its container's own.
    kwargs: dict[str, Any] = {"model_kwargs": {"max_new_tokens": args.max_new_tokens}}
    if args.endpoint_name:
        yield cls(
            endpoint_name=args.endpoint_name,
            model_id=args.model_id,
            region_name=args.region,
            **kwargs,
        )
        return
    from .emulator import Emulator, EndpointConfig

    config = EndpointConfig.for_model(args.model_id, tokens_per_second=args.tokens_per_second)
    with Emulator(endpoints={"local": config}) as emulator:
        print(f"(local emulator at {emulator.url}; no AWS account used)", file=sys.stderr)
        yield cls(endpoint_name="local", model_id=args.model_id, client=emulator.client(), **kwargs)


def _answer_text(chunks: Iterable[BaseMessageChunk], err: TextIO) -> Iterator[str]:
    """The answer's text; the model's thinking goes to ``err``, apart from it."""
    thinking = False
    for chunk in chunks:
        reasoning = chunk.additional_kwargs.get("reasoning_content")
        if reasoning:
            if not thinking:
                err.write("(thinking) ")
                thinking = True
            err.write(str(reasoning))
            err.flush()
        refusal = chunk.additional_kwargs.get("refusal")
        if refusal:
            err.write(str(refusal))
        if chunk.text:
            if thinking:
                err.write("\n")
                thinking = False
            yield chunk.text


def stream_answer(tokens: Iterable[str], out: TextIO, err: TextIO) -> str:
    """Print tokens as they arrive; end with time to first token and tokens per second."""
    start = time.perf_counter()
    first: float | None = None
    parts: list[str] = []
    for token in tokens:
        if first is None:
            first = time.perf_counter() - start
        parts.append(token)
        out.write(token)
        out.flush()
    elapsed = time.perf_counter() - start
    rate = len(parts) / elapsed if elapsed > 0 else 0.0
    ttft = f"{1000 * first:.0f} ms" if first is not None else "n/a"
    err.write(f"\n[{len(parts)} tokens · first token {ttft} · {rate:.1f} tokens/s]\n")
    err.flush()
    return "".join(parts)


def _complete(args: argparse.Namespace) -> int:
    from .llms import JumpStartLLM

    with _model(args, JumpStartLLM) as llm:
        stream_answer(llm.stream(args.prompt), sys.stdout, sys.stderr)
    return 0


def _chat(args: argparse.Namespace) -> int:
    """A terminal chat on ``ChatJumpStart``, which lays out the conversation itself.

    It renders the model's chat template, or sends the messages to containers that
    apply their own: the template is never applied twice.
    """
    from langchain_core.messages import AIMessage, HumanMessage

    from .chat_models import ChatJumpStart

    history: list[BaseMessage] = []
    with _model(args, ChatJumpStart) as chat:
        print("Type a message; an empty line or Ctrl-D quits.", file=sys.stderr)
        while True:
            try:
                line = input("you> ").strip()
            except EOFError:
                break
            if not line:
                break
            history.append(HumanMessage(line))
            sys.stdout.write("bot> ")
            try:
                tokens = _answer_text(chat.stream(history), sys.stderr)
                answer = stream_answer(tokens, sys.stdout, sys.stderr)
            except KeyboardInterrupt:  # Ctrl-C stops this answer, not the chat
                sys.stderr.write("\n[stopped]\n")
                history.pop()
                continue
            history.append(AIMessage(answer.strip()))
    return 0


def _models(args: argparse.Namespace) -> int:
    from .registry import get_model, list_models

    catalog: Literal["seed", "all"] = (
        "all" if args.all or args.framework or args.container else "seed"
    )
    ids = list_models(
        task=None,
        framework=args.framework,
        streaming=None,
        container=args.container,
        catalog=catalog,
    )
    for model_id in ids:
        spec = get_model(model_id)
        flags = ",".join(
            flag
            for flag, on in (("gated", spec.gated), ("messages-api", spec.supports_messages_api))
            if on
        )
        print(f"{model_id:58} {spec.container:8} {spec.stream_format or '-':9} {flags}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jumpstart-stream`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        from .emulator.__main__ import main as serve

        return serve(argv[1:])
    args = _parser().parse_args(argv)
    from .errors import JumpStartStreamError

    try:
        from ._cli_record import record_command

        commands = {
            "complete": _complete,
            "chat": _chat,
            "models": _models,
            "record": record_command,
        }
        return commands[args.command](args)
    except JumpStartStreamError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
