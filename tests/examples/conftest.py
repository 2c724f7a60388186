"""Helpers for the examples' tests: run a script as a user does, find its output, wait for apps.

The scripts run in subprocesses with no AWS credentials of any kind. Apps that must be
watched (did the upstream stream close?) are pointed at the session's emulator with
``--endpoint-name NAME --endpoint-url URL``, the same options a user would give to
reach an emulator started by ``jumpstart-stream serve``.
"""

from __future__ import annotations

import atexit
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from langchain_jumpstart_stream.emulator import Emulator, RecordedRequest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FALCON = "huggingface-llm-falcon-7b-instruct-bf16"

# The examples import their shared helper as a top-level module, as `python examples/x.py` does.
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))


_HOME = tempfile.mkdtemp(prefix="examples-home-")  # caches (matplotlib...) go here, not in ROOT
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)


def example_env() -> dict[str, str]:
    """A user's environment with dummy AWS credentials and no telemetry."""
    return {
        "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin",
        "HOME": _HOME,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
    }


def run_example(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python examples/<script> <args>``, to completion."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=example_env(),
        check=False,
        cwd=ROOT,
    )


@dataclass
class TimedOutput:
    """A script's stdout as it arrived: (seconds since start, bytes) per read."""

    returncode: int
    reads: list[tuple[float, bytes]]
    stderr: str

    @property
    def stdout(self) -> str:
        return b"".join(data for _, data in self.reads).decode("utf-8")


def run_example_timed(script: str, *args: str, timeout: float = 60) -> TimedOutput:
    """Run a script and record when each piece of its stdout arrived."""
    start = time.monotonic()
    reads: list[tuple[float, bytes]] = []
    errors: list[bytes] = []
    with (
        subprocess.Popen(
            [sys.executable, str(EXAMPLES / script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=example_env(),
            cwd=ROOT,
        ) as proc,
        selectors.DefaultSelector() as selector,
    ):
        assert proc.stdout is not None and proc.stderr is not None
        selector.register(proc.stdout, selectors.EVENT_READ, reads)
        selector.register(proc.stderr, selectors.EVENT_READ, errors)
        open_streams = 2
        while open_streams:
            if time.monotonic() - start > timeout:
                proc.kill()
                pytest.fail(f"{script} took more than {timeout} s")
            for key, _ in selector.select(timeout=1):
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fileobj)
                    open_streams -= 1
                elif key.data is reads:
                    reads.append((time.monotonic() - start, data))
                else:
                    errors.append(data)
        returncode = proc.wait(timeout=10)
    return TimedOutput(returncode, reads, b"".join(errors).decode("utf-8"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until something listens on 127.0.0.1:port, or fail with the app's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"the app exited with {proc.returncode}:\n{output}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"nothing listened on port {port} after {timeout} s")


@dataclass
class App:
    """An example app started as a user starts it, listening on 127.0.0.1."""

    url: str
    proc: subprocess.Popen[bytes]
    output: list[str] = field(default_factory=list)


@pytest.fixture
def start_app() -> Iterator[Callable[..., App]]:
    """Start ``argv`` (with ``{port}`` filled in) and wait for its port; stop it after."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(*argv: str, path: str = "/") -> App:
        port = free_port()
        proc = subprocess.Popen(
            [arg.format(port=port) for arg in argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=example_env(),
            cwd=ROOT,
        )
        procs.append(proc)
        wait_for_port(port, proc)
        return App(f"http://127.0.0.1:{port}{path}", proc)

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def endpoint_args(emulator: Emulator, name: str, model_id: str = FALCON) -> list[str]:
    """The options that point an example at one endpoint of the session's emulator."""
    return [
        "--endpoint-name",
        name,
        "--model-id",
        model_id,
        "--endpoint-url",
        emulator.url,
        "--region",
        "us-east-1",
    ]


def wait_for_request(requests: Callable[[], list[RecordedRequest]], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not requests() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert requests(), "the endpoint received no request"
