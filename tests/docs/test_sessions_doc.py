"""Every Python snippet in docs/sessions.md runs as written, in order, as one session."""

from __future__ import annotations

import contextlib
import io
import re
import sys
import types
from pathlib import Path

import pytest

from langchain_jumpstart_stream.emulator import Emulator

DOC = Path(__file__).resolve().parents[2] / "docs" / "sessions.md"


def test_every_sessions_doc_snippet_runs() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = list(re.finditer(r"^```python\n(.*?)^```", text, flags=re.M | re.S))
    assert len(blocks) >= 5
    # A real module: LangGraph resolves the TypedDict state's annotations through it.
    module = types.ModuleType("__sessions_doc__")
    sys.modules[module.__name__] = module
    namespace = module.__dict__
    output = io.StringIO()
    try:
        for match in blocks:
            name = f"sessions.md:{text.count(chr(10), 0, match.start()) + 2}"
            with contextlib.redirect_stdout(output):
                try:
                    exec(compile(match.group(1), name, "exec"), namespace)
                except Exception as exc:
                    pytest.fail(f"the snippet at {name} raised {exc!r}")
    finally:
        emu = namespace.get("emu")
        if isinstance(emu, Emulator):
            emu.stop()
        del sys.modules[module.__name__]
    printed = output.getvalue()
    assert "True True" in printed  # the session was closed with its id confirmed
    assert "SessionExpiredError ModelError Open a new session" in printed
    assert re.search(
        r"alice alice instance (\d)\nbob bob instance (?!\1)\d\nalice alice instance \1", printed
    )
    first, second = map(int, re.findall(r"cached characters on its instance: (\d+)", printed))
    assert second > first  # the second turn found the first turn's prompt
