"""The README's quickstart and the CLI run as a user runs them, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(ROOT),
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }  # no AWS credentials at all
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
        cwd=ROOT,
    )


def test_quickstart_streams_the_answer_without_aws() -> None:
    proc = run("examples/quickstart.py", "--tokens-per-second", "2000")
    assert proc.returncode == 0, proc.stderr
    assert WEBSITE_ANSWER in proc.stdout
    assert "tokens, first after" in proc.stderr


def test_cli_complete_and_chat() -> None:
    proc = run(
        "-m",
        "langchain_jumpstart_stream.cli",
        "complete",
        "How do I build a website?",
        "--tokens-per-second",
        "2000",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == WEBSITE_ANSWER.strip()
    assert "tokens/s" in proc.stderr and "first token" in proc.stderr
    proc = run(
        "-m",
        "langchain_jumpstart_stream.cli",
        "chat",
        "--tokens-per-second",
        "2000",
        stdin="How do I build a website?\nthanks\n\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("bot> ") == 2
    assert "domain" in proc.stdout


def test_cli_reports_errors_clearly() -> None:
    proc = run(
        "-m",
        "langchain_jumpstart_stream.cli",
        "complete",
        "hi",
        "--endpoint-name",
        "x",
        "--region",
        "us-east-1",
    )
    assert proc.returncode == 1
    assert "error:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_models_lists_the_seed_ids_and_more_with_all() -> None:
    proc = run("-m", "langchain_jumpstart_stream.cli", "models")
    assert proc.returncode == 0, proc.stderr
    ids = [line.split()[0] for line in proc.stdout.splitlines()]
    assert len(ids) == 10
    assert "huggingface-llm-falcon-7b-instruct-bf16" in ids
    proc = run("-m", "langchain_jumpstart_stream.cli", "models", "--framework", "meta")
    assert "meta-textgeneration-llama-3-8b-instruct" in proc.stdout
    assert "gated" in proc.stdout


def test_cli_serve_speaks_to_boto3(tmp_path: Path) -> None:
    from langchain_jumpstart_stream import JumpStartLLM
    from langchain_jumpstart_stream.emulator import client_for

    ready = tmp_path / "url"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "langchain_jumpstart_stream.cli",
            "serve",
            "--port",
            "0",
            "--ready-file",
            str(ready),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        import time

        deadline = time.monotonic() + 30
        while not (ready.exists() and ready.read_text().strip()):
            assert proc.poll() is None, "the emulator exited"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        url = ready.read_text().strip()
        assert url.startswith("http://127.0.0.1:")  # loopback by default
        llm = JumpStartLLM(endpoint_name="any-name", client=client_for(url))
        assert llm.invoke("How do I build a website?") == WEBSITE_ANSWER
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_chat_on_a_messages_api_reasoning_model() -> None:
    """Built on ChatJumpStart: messages go as messages; thinking is shown apart."""
    proc = run(
        "-m",
        "langchain_jumpstart_stream.cli",
        "chat",
        "--model-id",
        "openai-reasoning-gpt-oss-20b",
        "--tokens-per-second",
        "2000",
        stdin="How do I build a website?\n\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert "(thinking) The user wants" in proc.stderr
    assert "The user wants" not in proc.stdout
    assert "domain" in proc.stdout
    assert "<|start|>" not in proc.stdout
