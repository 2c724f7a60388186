"""Stream a Falcon-7B-Instruct answer token by token, with no AWS account.

By default this starts the local SageMaker Runtime emulator in-process and points
an unmodified boto3 client at it. Give a real endpoint to use SageMaker instead:

    python examples/quickstart.py --endpoint-name my-falcon --region us-east-1
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

from langchain_jumpstart_stream import JumpStartLLM

MODEL_ID = "huggingface-llm-falcon-7b-instruct-bf16"
QUESTION = "How do I build a website?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-name", default=os.environ.get("JUMPSTART_ENDPOINT_NAME"))
    parser.add_argument("--model-id", default=os.environ.get("JUMPSTART_MODEL_ID", MODEL_ID))
    parser.add_argument("--region", default=os.environ.get("AWS_REGION"))
    parser.add_argument("--prompt", default=QUESTION)
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=25.0,
        help="emulator pace, so you can watch it stream",
    )
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if args.endpoint_name:  # a real SageMaker endpoint
            llm = JumpStartLLM(
                endpoint_name=args.endpoint_name,
                model_id=args.model_id,
                region_name=args.region,
                model_kwargs={"max_new_tokens": 400},
            )
        else:  # the embedded emulator: same wire protocol, no account needed
            from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig

            emulator = stack.enter_context(
                Emulator(
                    endpoints={
                        "falcon-7b-instruct": EndpointConfig(
                            stream_format="tgi",
                            model_id=MODEL_ID,
                            tokens_per_second=args.tokens_per_second,
                        ),
                    }
                )
            )
            llm = JumpStartLLM(
                endpoint_name="falcon-7b-instruct",
                model_id=args.model_id,
                client=emulator.client(),  # boto3, with dummy credentials
                model_kwargs={"max_new_tokens": 400},
            )
            print(f"(local emulator at {emulator.url}; no AWS account used)\n", file=sys.stderr)

        print(f"> {args.prompt}\n")
        start = time.perf_counter()
        first = None
        count = 0
        for token in llm.stream(args.prompt):
            if first is None:
                first = time.perf_counter() - start
            count += 1
            print(token, end="", flush=True)
        elapsed = time.perf_counter() - start
        print(
            f"\n\n[{count} tokens, first after {1000 * (first or 0):.0f} ms, "
            f"{count / elapsed:.1f} tokens/s]",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
