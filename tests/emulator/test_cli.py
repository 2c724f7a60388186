"""``python -m langchain_jumpstart_stream.emulator`` serves until terminated."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from langchain_jumpstart_stream.emulator import Emulator, client_for
from langchain_jumpstart_stream.emulator.__main__ import main

from . import body_for, payloads


def _wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        if process.poll() is not None:
            raise AssertionError(
                f"the emulator exited early: {process.stderr.read() if process.stderr else ''}"
            )
        time.sleep(0.05)
    raise AssertionError("the emulator never became ready")


def test_module_serves_any_endpoint_name(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "langchain_jumpstart_stream.emulator",
            "--port",
            "0",
            "--format",
            "jsonlines",
            "--ready-file",
            str(ready),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _wait_for(ready, process)
        assert url.startswith("http://127.0.0.1:")
        client = client_for(url)
        response = client.invoke_endpoint_with_response_stream(
            EndpointName="any-name", Body=json.dumps(body_for("jsonlines")).encode()
        )
        lines = [json.loads(p) for p in payloads(response)]
        assert lines[-1]["token"]["special_token"] is True
    finally:
        process.terminate()
        stdout, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert f"listening on {url}" in stdout


def test_bad_endpoint_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "0", "--endpoint", "x=nope"]) == 2
    assert "stream_format must be one of" in capsys.readouterr().err


def test_busy_port_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    with Emulator() as emu:
        port = emu.url.rsplit(":", 1)[1]
        assert main(["--port", port]) == 1
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


def test_routing_and_session_options() -> None:
    from langchain_jumpstart_stream.emulator.__main__ import _config, _parser

    args = _parser().parse_args(
        ["--instances", "2", "--session-ttl", "30", "--prefill-seconds-per-char", "0.001"]
    )
    config = _config(args, "tgi")
    assert config.routing.instances == 2
    assert config.routing.prefill_seconds_per_char == 0.001
    assert config.session_ttl == 30
    assert _config(_parser().parse_args(["--session-ttl", "0"]), "tgi").session_ttl is None


def test_bad_routing_options_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "0", "--instances", "0"]) == 2
    assert "instances must be >= 1" in capsys.readouterr().err
