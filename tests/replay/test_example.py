"""examples/cassette_replay.py, run as a user runs it: record once, then replay without AWS."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from langchain_jumpstart_stream.cassettes import load

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cassette_replay.py"


def _run(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "AWS_CONFIG_FILE": "/dev/null"}
    env["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"  # no AWS credentials at all
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--max-tokens", "20"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_example_records_once_then_replays(tmp_path: Path) -> None:
    first = _run(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "[cassette written to cassettes/quickstart.jsonl; commit it]" in first.stderr
    recorded, replayed = first.stdout.split("\n", 1)[0], first.stdout
    cassette = tmp_path / "cassettes" / "quickstart.jsonl"
    item = load(cassette).interactions[0]
    assert item.request.redacted and "website" not in item.request.body.decode()
    second = _run(tmp_path)  # CI: the cassette is there, nothing is recorded
    assert second.returncode == 0, second.stderr
    assert "cassette written" not in second.stderr
    counts = re.findall(r"\[(?:recorded|replayed): (\d+) tokens", first.stderr + second.stderr)
    assert len(counts) == 3 and len(set(counts)) == 1  # recorded, replayed, replayed again
    assert second.stdout.strip() and second.stdout.strip() in replayed
    assert recorded
