"""The package's public surface: explicit exports, lazy loading, version."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import langchain_jumpstart_stream as pkg

ROOT = Path(__file__).resolve().parents[2]


def test_all_names_resolve() -> None:
    assert sorted(pkg.__all__) == [
        "ChatJumpStart",
        "JumpStartLLM",
        "JumpStartStreamError",
        "Target",
        "__version__",
    ]
    for name in pkg.__all__:
        assert getattr(pkg, name) is not None


def test_version_matches_pyproject() -> None:
    match = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert match is not None
    assert pkg.__version__ == match.group(1)


def test_import_is_lazy_and_pulls_no_heavy_extras() -> None:
    code = (
        "import sys, langchain_jumpstart_stream as p;"
        "assert 'langchain_jumpstart_stream.chat_models' not in sys.modules;"
        "p.JumpStartLLM;"
        "assert 'langchain_jumpstart_stream.chat_models' not in sys.modules;"
        "assert not any(m.split('.')[0] in ('sagemaker', 'aiobotocore') for m in sys.modules);"
        "assert 'langchain_jumpstart_stream._otel' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
