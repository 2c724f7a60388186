"""``python -m langchain_jumpstart_stream.emulator --cassette``: a plain boto3 client replays."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from langchain_jumpstart_stream.cassettes import load, shipped
from langchain_jumpstart_stream.emulator import client_for
from langchain_jumpstart_stream.emulator.__main__ import main


@contextlib.contextmanager
def _serve(*args: str, ready: Path) -> Iterator[str]:
    command = [sys.executable, "-m", "langchain_jumpstart_stream.emulator", "--port", "0"]
    command += ["--ready-file", str(ready), *args]
    with subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL) as process:
        try:
            deadline = time.monotonic() + 30
            while not (ready.exists() and ready.read_text().strip()):
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the emulator never became ready"
                time.sleep(0.05)
            yield ready.read_text().strip()
        finally:
            process.terminate()
            process.wait(10)


def test_command_serves_a_cassette_byte_exact(tmp_path: Path) -> None:
    cassette = shipped("vllm-chat")
    recorded = load(cassette).interactions[0]
    options = ("--cassette", str(cassette), "--replay-speed", "0", "--replay-cut", "random")
    with _serve(*options, ready=tmp_path / "ready") as url:
        client = client_for(url)
        response = client.invoke_endpoint_with_response_stream(EndpointName="x", Body=b"{}")
        parts = b"".join(e["PayloadPart"]["Bytes"] for e in response["Body"])
        assert response["ContentType"] == "text/event-stream"
        assert response["InvokedProductionVariant"] == "AllTraffic"
        # botocore decoded the frames: the payloads are the fixture's bytes exactly.
        fixture = Path(__file__).parent.parent / "fixtures" / "wire" / "openai_chat.sse"
        assert parts == fixture.read_bytes()
        assert recorded.body.count(b"PayloadPart") == len(recorded.reads)
        # The cassette matches streaming calls only: a whole-answer call is a miss.
        with pytest.raises(ClientError, match=r"no interaction in cassette .*vllm-chat"):
            client.invoke_endpoint(EndpointName="x", Body=b"{}")


def test_command_refuses_a_bad_cassette(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("nope\n")
    assert main(["--port", "0", "--cassette", str(bad)]) == 2
    assert "bad.jsonl:1 is not JSON" in capsys.readouterr().err
    assert main(["--port", "0", "--cassette", str(bad), "--match", "colour"]) == 2
