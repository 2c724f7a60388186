"""Every Python snippet of docs/cassettes.md runs as written (``# Needs AWS`` ones compile)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "cassettes.md"


def _snippets() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return [m.group(1) for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.M | re.S)]


def test_the_page_has_runnable_snippets() -> None:
    assert len([s for s in _snippets() if not s.startswith("# Needs AWS")]) >= 2


@pytest.mark.parametrize("index", range(len(_snippets())))
def test_snippet_runs(index: int, tmp_path, monkeypatch) -> None:
    code = _snippets()[index]
    compiled = compile(code, f"{DOC.name} snippet {index}", "exec")
    if code.startswith("# Needs AWS"):
        return
    monkeypatch.chdir(tmp_path)  # the snippets write cassettes/ in the current folder
    exec(compiled, {"__name__": "__snippet__"})
