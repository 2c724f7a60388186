"""A steady workload to profile: ``py-spy record -- python -m benchmarks.profile sync``.

Streams through ``JumpStartLLM`` (``sync``: ``stream()`` of 2,000-token answers;
``async``: many concurrent ``astream()`` calls on the paced endpoint; ``raw``: the
raw boto3 loop, for comparison) for a number of seconds, against the emulator in a
child process, so a sampling profiler attached to this process sees only the client.
With ``--pyinstrument`` it profiles itself and prints pyinstrument's report.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from . import _clients
from ._emulator import FAST, PACED, EmulatorProcess


def _sync(url: str, seconds: float, raw: bool) -> int:
    tokens = 2000
    client = _clients.boto3_client(url)
    llm = _clients.jumpstart_llm(client, FAST, tokens)
    deadline = time.monotonic() + seconds
    streams = 0
    while time.monotonic() < deadline:
        iterator = (
            _clients.raw_boto3_stream(client, FAST, tokens) if raw else llm.stream(_clients.PROMPT)
        )
        for _text in iterator:
            pass
        streams += 1
    return streams * tokens


async def _async(url: str, seconds: float, streams: int) -> int:
    tokens = 100
    llm = _clients.jumpstart_llm(_clients.boto3_client(url, pool=streams * 2), PACED, tokens)
    llm.get_client()

    async def one() -> int:
        return len([text async for text in llm.astream(_clients.PROMPT) if text])

    deadline = time.monotonic() + seconds
    total = 0
    while time.monotonic() < deadline:
        total += sum(await asyncio.gather(*(one() for _ in range(streams))))
    return total


def main(argv: list[str] | None = None) -> None:
    """Run one workload for ``--seconds``; print the tokens streamed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("path", choices=("sync", "async", "raw"))
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--streams", type=int, default=256, help="concurrent streams (async)")
    parser.add_argument("--pyinstrument", action="store_true", help="profile with pyinstrument")
    args = parser.parse_args(argv)
    profiler: Any = None
    with EmulatorProcess(long_tokens=1000) as emu:
        if args.pyinstrument:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
        start = time.process_time()
        if args.path == "async":
            tokens = asyncio.run(_async(emu.url, args.seconds, args.streams))
        else:
            tokens = _sync(emu.url, args.seconds, raw=args.path == "raw")
        cpu = time.process_time() - start
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
    print(f"{tokens} tokens, {cpu / tokens * 1e6:.1f} us of CPU per token")


if __name__ == "__main__":
    main()
