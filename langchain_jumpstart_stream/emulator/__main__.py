"""Command line: ``python -m langchain_jumpstart_stream.emulator --port 8080``.

Serves until interrupted (Ctrl-C or SIGTERM). Every endpoint name works, answering in
the ``--format`` given, unless ``--strict`` is set; then only ``--endpoint`` names do.
With ``--cassette`` every request is answered from a recorded cassette instead.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path

from ._config import STREAM_FORMATS, EndpointConfig
from ._emulator import Emulator
from ._replay import add_replay_arguments, replay_from_arguments
from ._routing import Routing


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m langchain_jumpstart_stream.emulator",
        description="Serve a local SageMaker Runtime endpoint emulator.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="port; 0 picks a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--format",
        dest="stream_format",
        choices=STREAM_FORMATS,
        default="tgi",
        help="container stream format (default: %(default)s)",
    )
    parser.add_argument("--model-id", default=None, help="model id shown in OpenAI chunks")
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=None,
        help="pace the tokens (default: as fast as possible)",
    )
    parser.add_argument(
        "--frame-bytes",
        type=int,
        default=None,
        help="re-chunk the stream into PayloadParts of this many bytes",
    )
    parser.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="NAME[=FORMAT]",
        help="declare an endpoint, optionally with its own format (repeatable)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="unknown endpoint names fail with ValidationError, as on SageMaker",
    )
    parser.add_argument(
        "--instances", type=int, default=1, help="simulated instances (default: %(default)s)"
    )
    parser.add_argument(
        "--session-ttl",
        type=float,
        default=1200.0,
        help="seconds a stateful session lives; 0: no sessions (default: %(default)s)",
    )
    parser.add_argument(
        "--prefill-seconds-per-char",
        type=float,
        default=0.0,
        help="wait before the first token per prompt character not cached on the "
        "serving instance (prefix-aware routing; default: %(default)s)",
    )
    parser.add_argument(
        "--ready-file",
        type=Path,
        default=None,
        help="write the URL to this file once the server listens",
    )
    add_replay_arguments(parser)
    return parser


def _config(args: argparse.Namespace, stream_format: str) -> EndpointConfig:
    extra = {"model_id": args.model_id} if args.model_id else {}
    return EndpointConfig(
        stream_format=stream_format,  # type: ignore[arg-type]  # checked by EndpointConfig
        tokens_per_second=args.tokens_per_second,
        frame_bytes=args.frame_bytes,
        session_ttl=args.session_ttl or None,
        routing=Routing(
            instances=args.instances, prefill_seconds_per_char=args.prefill_seconds_per_char
        ),
        **extra,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until interrupted.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The process exit status.
    """
    args = _parser().parse_args(argv)
    try:
        endpoints = {}
        for spec in args.endpoint:
            name, _, stream_format = spec.partition("=")
            endpoints[name] = _config(args, stream_format or args.stream_format)
        default = None if args.strict else _config(args, args.stream_format)
        replay = replay_from_arguments(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stopped = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    emu = Emulator(endpoints, host=args.host, port=args.port, default=default, replay=replay)
    try:
        emu.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"SageMaker Runtime emulator listening on {emu.url}", flush=True)
        if args.ready_file is not None:
            args.ready_file.write_text(emu.url + "\n", encoding="utf-8")
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
