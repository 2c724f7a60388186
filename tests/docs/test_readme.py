"""Every Python snippet in the README runs as written, in order, as one session.

Snippets whose first line is ``# Needs AWS`` are only compiled. The README's
``jumpstart-stream serve --port 8080`` is stood in for by an emulator on a free port:
its URL replaces ``http://127.0.0.1:8080`` in the snippets, the only change made.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig

README = Path(__file__).resolve().parents[2] / "README.md"
SERVE_URL = "http://127.0.0.1:8080"
AWS_MARKER = "# Needs AWS"


def snippets() -> list[tuple[int, str]]:
    """``(line number, code)`` of every ```python block."""
    text = README.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.M | re.S):
        line = text.count("\n", 0, match.start()) + 2
        found.append((line, match.group(1)))
    return found


def test_the_readme_has_runnable_and_aws_snippets() -> None:
    blocks = snippets()
    aws = [code for _, code in blocks if code.startswith(AWS_MARKER)]
    assert len(blocks) >= 8 and 1 <= len(aws) < len(blocks)
    # About 250 lines for a newcomer (issue 13), with room for failover, sessions and
    # cassettes; internals go in docs/.
    assert 200 <= README.read_text(encoding="utf-8").count("\n") <= 320


def test_every_readme_snippet_runs() -> None:
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    output = io.StringIO()
    with Emulator(default=EndpointConfig(stream_format="tgi")) as served:
        try:
            for line, code in snippets():
                name = f"README.md:{line}"
                if code.startswith(AWS_MARKER):
                    compile(code, name, "exec")
                    continue
                code = code.replace(SERVE_URL, served.url)
                with contextlib.redirect_stdout(output):
                    try:
                        exec(compile(code, name, "exec"), namespace)
                    except Exception as exc:
                        pytest.fail(f"the snippet at {name} raised {exc!r}")
        finally:
            emu = namespace.get("emu")
            if isinstance(emu, Emulator):
                emu.stop()
    printed = output.getvalue()
    assert "Did you mean 'huggingface-llm-falcon-7b-instruct-bf16'" in printed
    assert "get_weather" in printed and "ModelStreamError" in printed
    assert served.requests, "the serve snippet reached the stand-in server"
