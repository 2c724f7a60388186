"""Connection options shared by the examples: a real endpoint, or the local emulator.

Every example takes the same options (or environment variables):

    --endpoint-name  JUMPSTART_ENDPOINT_NAME  a SageMaker endpoint; without it, the emulator
    --model-id       JUMPSTART_MODEL_ID       the endpoint's JumpStart model id
    --region         AWS_REGION               the endpoint's region
    --endpoint-url   JUMPSTART_ENDPOINT_URL   another SageMaker Runtime URL, e.g. an emulator
                                              started with `jumpstart-stream serve`

`connect(args)` yields the keyword arguments for `JumpStartLLM(...)` or
`ChatJumpStart(...)`. This is the only place where the emulator and a real endpoint
differ: the rest of every example is the code you would deploy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from langchain_core.prompts import PromptTemplate

from langchain_jumpstart_stream.registry import get_model, render_chat

DEFAULT_MODEL = "huggingface-llm-falcon-7b-instruct-bf16"


def add_connection_args(
    parser: argparse.ArgumentParser,
    *,
    tokens_per_second: float = 25.0,
    model_id: str | None = DEFAULT_MODEL,
) -> argparse.ArgumentParser:
    """Add --endpoint-name, --model-id, --region, --endpoint-url, --tokens-per-second."""
    env = os.environ.get
    group = parser.add_argument_group("endpoint (default: the local emulator, no AWS account)")
    group.add_argument(
        "--endpoint-name",
        default=env("JUMPSTART_ENDPOINT_NAME"),
        help="SageMaker endpoint name (default: $JUMPSTART_ENDPOINT_NAME, else the emulator)",
    )
    group.add_argument(
        "--model-id",
        default=env("JUMPSTART_MODEL_ID", model_id),
        help="JumpStart model id of the endpoint (default: %(default)s)",
    )
    group.add_argument("--region", default=env("AWS_REGION"), help="AWS region")
    group.add_argument(
        "--endpoint-url",
        default=env("JUMPSTART_ENDPOINT_URL"),
        help="SageMaker Runtime URL, e.g. http://127.0.0.1:8080 from `jumpstart-stream serve`",
    )
    group.add_argument(
        "--tokens-per-second",
        type=float,
        default=tokens_per_second,
        help="pace of the in-process emulator, so you can watch it stream (default: %(default)s)",
    )
    return parser


@contextlib.contextmanager
def connect(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Yield JumpStartLLM/ChatJumpStart keyword arguments for the chosen endpoint.

    Without --endpoint-name, an emulator is started in-process (stopped on exit) that
    imitates the container of --model-id (without one, an OpenAI-compatible server
    such as vLLM): same wire protocol, canned answers.
    """
    if args.endpoint_name:  # a real endpoint (or an emulator at --endpoint-url)
        yield {
            "endpoint_name": args.endpoint_name,
            "model_id": args.model_id,
            "region_name": args.region,
            "endpoint_url": args.endpoint_url,
        }
        return

    from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig

    pace = {"tokens_per_second": args.tokens_per_second}
    config = (
        EndpointConfig.for_model(args.model_id, **pace)
        if args.model_id
        else EndpointConfig(stream_format="openai-chat", model_id="local-model", **pace)
    )
    with Emulator(endpoints={"local": config}) as emulator:
        print(f"(local emulator at {emulator.url}; no AWS account used)", file=sys.stderr)
        yield {"endpoint_name": "local", "model_id": args.model_id, "client": emulator.client()}


def instruct_prompt(model_id: str, user: str, *, system: str | None = None) -> PromptTemplate:
    """A PromptTemplate laid out with the model's own chat template.

    `user` (and `system`) are f-string templates, e.g. "Explain {topic}.". Instruct
    models answer much better in the format they were trained on; a base model
    without a chat template gets the text as it is.
    """
    template = get_model(model_id).chat_template
    if template is None:
        text = f"{system}\n\n{user}" if system else user
        return PromptTemplate.from_template(text)
    marks = {"system": "\x00SYSTEM\x00", "user": "\x00USER\x00"}
    turns = [("system", marks["system"])] if system else []
    rendered = render_chat(template, [*turns, ("user", marks["user"])])
    # Braces in the model's template are literal text; ours are variables.
    rendered = rendered.replace("{", "{{").replace("}", "}}")
    rendered = rendered.replace(marks["user"], user).replace(marks["system"], system or "")
    return PromptTemplate.from_template(rendered)
