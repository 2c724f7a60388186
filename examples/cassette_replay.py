"""Record a stream once into a cassette, then replay it offline at its recorded pace.

Against a real endpoint (needs AWS credentials once):

    python examples/cassette_replay.py --record --endpoint-name my-falcon --region us-east-1

Without ``--endpoint-name`` the local emulator stands in for the live endpoint. Every
run then replays the cassette with no AWS account, as CI would, and prints the tokens
with the time each arrived, so you can see the recorded pace come back.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from langchain_jumpstart_stream import JumpStartLLM
from langchain_jumpstart_stream.cassettes import CassettePlayer, load, record

MODEL_ID = "huggingface-llm-falcon-7b-instruct-bf16"
QUESTION = "How do I build a website?"


def stream(llm: JumpStartLLM, label: str) -> str:
    start = time.monotonic()
    parts = []
    for token in llm.stream(QUESTION):
        parts.append(token)
        print(token, end="", flush=True)
    print(f"\n[{label}: {len(parts)} tokens in {time.monotonic() - start:.2f} s]", file=sys.stderr)
    return "".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cassette", type=Path, default=Path("cassettes/quickstart.jsonl"))
    parser.add_argument("--record", action="store_true", help="record the cassette again")
    parser.add_argument("--endpoint-name", default=None, help="a real endpoint to record from")
    parser.add_argument("--region", default=None)
    parser.add_argument("--max-tokens", type=int, default=40)
    args = parser.parse_args()
    settings = {"model_id": MODEL_ID, "max_tokens": args.max_tokens}

    if args.record or not args.cassette.exists():
        with contextlib.ExitStack() as stack:
            if args.endpoint_name:
                live = JumpStartLLM(
                    endpoint_name=args.endpoint_name, region_name=args.region, **settings
                )
            else:
                from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig

                emulator = stack.enter_context(
                    Emulator(default=EndpointConfig(tokens_per_second=40))
                )
                live = JumpStartLLM(endpoint_name="my-falcon", client=emulator.client(), **settings)
            with record(args.cassette, redact_prompts=True):
                recorded = stream(live, "recorded")
        print(f"[cassette written to {args.cassette}; commit it]", file=sys.stderr)
    else:
        recorded = None

    # What CI runs: no AWS account, the same bytes at the same pace.
    with CassettePlayer(args.cassette) as player:
        replayed = stream(player.llm(**settings), "replayed")
    if recorded is not None and replayed != recorded:
        print("the replay differs from the recording", file=sys.stderr)
        return 1
    took = load(args.cassette).interactions[-1].end_t
    print(f"[the recording took {took:.2f} s]", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
