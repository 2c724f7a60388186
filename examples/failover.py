"""A chat served by two endpoints: the first is throttled (or cold), the second answers.

By default two SageMaker endpoints are emulated in-process (no AWS account): the
primary answers its first requests with a ThrottlingException (or, with
``--fault cold``, a ModelNotReadyException, as a scale-to-zero endpoint does while
it wakes up). The chat moves to the secondary before the first token, streams the
answer from there, and prints who served it and how fast: time to first token,
inter-token latency (p50, p99, max), tokens/s. A second question shows the circuit
breaker: the primary is skipped while it cools down. With matplotlib installed,
the gaps between tokens are drawn into a PNG.

Real endpoints work the same way:

    python examples/failover.py --endpoint-name llama-a --fallback llama-b \\
        --model-id meta-textgeneration-llama-3-8b-instruct --region us-east-1
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_jumpstart_stream import ChatJumpStart

MODEL_ID = "huggingface-llm-falcon-7b-instruct-bf16"
QUESTIONS = ("How do I build a website?", "And how do I keep it fast?")
FAULTS = {
    "throttled": (400, "ThrottlingException", "Rate exceeded"),
    "cold": (429, "ModelNotReadyException", "Model is not ready: scaling up from zero"),
}


@contextlib.contextmanager
def endpoints(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Keyword arguments for ChatJumpStart: real endpoints, or two emulated ones."""
    if args.endpoint_name:
        yield {
            "endpoint_name": args.endpoint_name,
            "fallback_targets": args.fallback,
            "model_id": args.model_id,
            "region_name": args.region,
        }
        return
    from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig

    fault = FAULTS[args.fault]
    primary = EndpointConfig.for_model(MODEL_ID, http_errors=[fault] * 3)
    secondary = EndpointConfig.for_model(
        MODEL_ID, tokens_per_second=args.tokens_per_second, variant_name="Blue"
    )
    configs = {"chat-primary": primary, "chat-secondary": secondary}
    with Emulator(endpoints=configs) as emulator:
        print(f"(two emulated endpoints at {emulator.url}; no AWS account used)", file=sys.stderr)
        yield {
            "endpoint_name": "chat-primary",
            "fallback_targets": ["chat-secondary"],
            "model_id": MODEL_ID,
            "region_name": "us-east-1",
            "endpoint_url": emulator.url,
            # The emulator checks no signature; real endpoints use your credentials.
            "aws_access_key_id": "emulator",
            "aws_secret_access_key": "emulator",
        }


def ask(chat: ChatJumpStart, question: str) -> tuple[dict[str, Any], list[float]]:
    """Stream one answer to stdout; return its telemetry and the gaps we saw between chunks."""
    print(f"\n> {question}")
    arrivals: list[float] = []
    last = None
    for chunk in chat.stream(question):
        if chunk.content:
            arrivals.append(time.perf_counter())
            print(chunk.content, end="", flush=True)
        last = chunk
    print()
    if last is None or last.chunk_position != "last":
        raise RuntimeError("the stream ended without its last chunk")
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    return dict(last.response_metadata["jumpstart"]), gaps


def report(info: dict[str, Any]) -> None:
    """Print who served the answer, and how fast."""
    latency = info.get("inter_token_latency_s") or {}

    def ms(seconds: float | None) -> str:
        return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"

    print(
        f"  served by {info['endpoint_name']} (variant {info['invoked_production_variant']}, "
        f"{info['region_name']}), attempts: {info['attempts']}"
    )
    gaps = ", ".join(f"{name} {ms(latency.get(name))}" for name in ("p50", "p99", "max"))
    print(
        f"  time to first token {ms(info.get('time_to_first_token_s'))}; "
        f"inter-token latency {gaps}; {info.get('tokens_per_second') or 0:.0f} tokens/s"
    )


def plot(gaps: list[float], info: dict[str, Any], path: Path) -> bool:
    """Draw the gaps between chunks, with the package's p50 and p99; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(range(1, len(gaps) + 1), [g * 1000 for g in gaps], lw=1, color="#2b6cb0")
    latency = info["inter_token_latency_s"]
    for name, color in (("p50", "#2f855a"), ("p99", "#c05621")):
        if latency.get(name) is not None:
            value = latency[name] * 1000
            ax.axhline(value, ls="--", lw=1, color=color, label=f"{name} {value:.1f} ms")
    ax.set_xlabel("chunk")
    ax.set_ylabel("ms since the previous chunk")
    ax.set_title(
        f"Inter-token latency, served by {info['endpoint_name']} after {info['attempts']} "
        f"attempts (first token after {info['time_to_first_token_s'] * 1000:.0f} ms)",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-name", default=os.environ.get("JUMPSTART_ENDPOINT_NAME"))
    parser.add_argument("--fallback", action="append", default=[], help="a fallback endpoint")
    parser.add_argument("--model-id", default=os.environ.get("JUMPSTART_MODEL_ID", MODEL_ID))
    parser.add_argument("--region", default=os.environ.get("AWS_REGION"))
    parser.add_argument("--fault", choices=sorted(FAULTS), default="throttled")
    parser.add_argument("--tokens-per-second", type=float, default=40.0)
    parser.add_argument("--plot", type=Path, default=Path("failover-latency.png"))
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args()

    with endpoints(args) as settings:
        chat = ChatJumpStart(**settings, failover_cooldown=60)
        info, gaps = ask(chat, QUESTIONS[0])
        report(info)
        # The primary failed a moment ago: this model skips it while it cools down.
        again, _ = ask(chat, QUESTIONS[1])
        report(again)
    if not args.no_plot:
        if plot(gaps, info, args.plot):
            print(f"\ninter-token latency chart: {args.plot}")
        else:
            print("\nchart skipped: matplotlib is not installed (pip install matplotlib)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
