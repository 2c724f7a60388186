"""The emulator as a fixture: a separate process, so its CPU never counts as the client's.

``EmulatorProcess`` starts ``python -m benchmarks._emulator`` and waits for it to
listen. That process serves :class:`~langchain_jumpstart_stream.emulator.Emulator`
with a few TGI endpoints whose canned answers are long enough for each benchmark;
the request's ``max_new_tokens`` then sets the exact stream length.

The emulator renders a whole answer before sending it (a 100k-token answer takes
seconds). Every benchmark repeats identical requests, so this process memoises
that pure rendering step; what goes on the wire is unchanged.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

# Endpoint name -> (answer length in tokens, tokens per second or None for unpaced).
FAST = "fast"  # CPU per token: as fast as the emulator can send
LONG = "long"  # memory: a 100k-token answer
TTFT = "ttft"  # time to first token: paced, so the first token arrives alone
PACED = "paced"  # async concurrency: 20 tokens/s per stream
PACED_100 = "paced100"  # async CPU per token: 100 tokens/s per stream

_WEBSITE_TOKENS = 185  # tokens in WEBSITE_ANSWER (checked in _answer)


def _answer(tokens: int) -> str:
    """A canned answer of at least ``tokens`` tokens (the website answer, repeated)."""
    from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER
    from langchain_jumpstart_stream.emulator._generator import tokenize

    per_copy = len(tokenize(WEBSITE_ANSWER + "\n"))
    assert per_copy >= _WEBSITE_TOKENS
    return (WEBSITE_ANSWER + "\n") * (math.ceil(tokens / per_copy) + 1)


def _memoise_rendering() -> None:
    """Cache the emulator's pure ``plan``/``stream_payload`` steps per request body.

    They are deterministic functions of (config, body); if the private names move,
    the emulator simply renders every request again.
    """
    from langchain_jumpstart_stream.emulator import _server, _streamer

    for module, name in (
        (_server, "plan"),
        (_server, "stream_payload"),
        (_streamer, "stream_payload"),
    ):
        original = getattr(module, name, None)
        if callable(original):
            setattr(module, name, functools.lru_cache(maxsize=32)(original))


def serve(ready_file: Path, long_tokens: int, paced_rate: float, ttft_rate: float) -> None:
    """Serve the benchmark endpoints until SIGTERM (runs in the emulator process)."""
    from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig

    endpoints = {
        FAST: EndpointConfig(answer=_answer(20_000)),
        LONG: EndpointConfig(answer=_answer(long_tokens)),
        TTFT: EndpointConfig(answer=_answer(50), tokens_per_second=ttft_rate),
        PACED: EndpointConfig(answer=_answer(1_000), tokens_per_second=paced_rate),
        PACED_100: EndpointConfig(answer=_answer(1_000), tokens_per_second=100.0),
    }
    _memoise_rendering()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with Emulator(endpoints) as emu:
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(emu.url, encoding="utf-8")
        tmp.replace(ready_file)  # atomic: the reader never sees half a URL
        stopped.wait()


class EmulatorProcess:
    """Run the benchmark emulator in a child process for the duration of a ``with``.

    Args:
        long_tokens: Length of the ``long`` endpoint's answer.
        paced_rate: Tokens per second of the ``paced`` endpoint.
        ttft_rate: Tokens per second of the ``ttft`` endpoint.
    """

    def __init__(
        self, *, long_tokens: int = 100_000, paced_rate: float = 20.0, ttft_rate: float = 100.0
    ) -> None:
        self._args = [str(long_tokens), str(paced_rate), str(ttft_rate)]
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="jumpstart-bench-")
        self.url = ""

    @property
    def pid(self) -> int:
        """The emulator's process id."""
        assert self._proc is not None
        return self._proc.pid

    def __enter__(self) -> EmulatorProcess:
        ready = Path(self._dir.name) / "ready"
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._emulator", str(ready), *self._args],
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 30
        while not ready.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("the benchmark emulator did not start")
            time.sleep(0.02)
        self.url = ready.read_text(encoding="utf-8").strip()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._dir.cleanup()


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks._emulator READY_FILE LONG_TOKENS PACED_RATE TTFT_RATE``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._emulator")
    parser.add_argument("ready_file", type=Path)
    parser.add_argument("long_tokens", type=int)
    parser.add_argument("paced_rate", type=float)
    parser.add_argument("ttft_rate", type=float)
    args = parser.parse_args(argv)
    serve(args.ready_file, args.long_tokens, args.paced_rate, args.ttft_rate)


if __name__ == "__main__":
    main()
