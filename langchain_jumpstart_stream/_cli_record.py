"""``jumpstart-stream record``: stream one answer and keep it in a cassette."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["add_record_command", "record_command"]


def add_record_command(sub: Any, connection_args: Any) -> None:
    """Add ``record`` to the ``jumpstart-stream`` subcommands."""
    parser = sub.add_parser(
        "record",
        help="stream one answer and record the call into a cassette (docs/cassettes.md)",
    )
    parser.add_argument("prompt")
    connection_args(parser)
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="another SageMaker Runtime URL (an emulator, a VPC one)",
    )
    parser.add_argument(
        "-o",
        "--cassette",
        default=None,
        help="the cassette file to write (default: ENDPOINT-NAME.jsonl, or local.jsonl)",
    )
    parser.add_argument("--chat", action="store_true", help="send the prompt as a chat message")
    parser.add_argument(
        "--redact-prompts", action="store_true", help="keep only a hash of the prompt"
    )


@contextlib.contextmanager
def _target(args: argparse.Namespace, cls: Any) -> Iterator[Any]:
    """The model on ``--endpoint-url``, else as the other commands build it."""
    if not args.endpoint_url:
        from .cli import _model

        with _model(args, cls) as model:
            yield model
        return
    yield cls(
        endpoint_name=args.endpoint_name or "local",
        model_id=args.model_id,
        region_name=args.region,
        endpoint_url=args.endpoint_url,
        model_kwargs={"max_new_tokens": args.max_new_tokens},
    )


def record_command(args: argparse.Namespace) -> int:
    """Run ``record``: the answer is printed as it streams, the call saved on exit."""
    from .cassettes import record
    from .chat_models import ChatJumpStart
    from .cli import _answer_text, stream_answer
    from .llms import JumpStartLLM

    path = args.cassette or f"{args.endpoint_name or 'local'}.jsonl"
    cls = ChatJumpStart if args.chat else JumpStartLLM
    with record(path, redact_prompts=args.redact_prompts) as recorder, _target(args, cls) as model:
        stream = model.stream(args.prompt)
        tokens = _answer_text(stream, sys.stderr) if args.chat else stream
        stream_answer(tokens, sys.stdout, sys.stderr)
    count = len(recorder.cassette.interactions)
    print(f"recorded {count} call(s) into {path}", file=sys.stderr)
    return 0
