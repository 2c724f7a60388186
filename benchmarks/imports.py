"""e. Import time of the package against ``boto3`` + ``langchain_core.language_models``.

Each import runs in a fresh interpreter, timed inside it (interpreter start-up is
not counted), in rotating order; ratios are of the medians. The figures use the
child's CPU time (user + system), which other work on a busy machine inflates far
less than wall time. Wall times are kept in the details. The child also
reports whether heavy optional modules came along.

The target compares ``import langchain_jumpstart_stream`` with ``import boto3,
langchain_core.language_models``. langchain-core loads that package's classes
lazily, so the baseline does not include ``BaseLLM`` (and langsmith's tracing
that comes with it), which every LangChain LLM class must import. Two context
figures therefore compare the import of ``JumpStartLLM`` itself with ``boto3`` +
``BaseLLM``: that stays honest if the package makes its own exports lazy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ._stats import median
from .report import Figure, Section

TARGET_RATIO = 1.2
_FORBIDDEN = ("sagemaker", "aiobotocore")

_CHILD = """
import json, sys, time
start, cpu = time.perf_counter(), time.process_time()
{statement}
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
names = {forbidden!r}
print(json.dumps({{
    "seconds": seconds,
    "cpu_seconds": cpu,
    "modules": len(sys.modules),
    "present": [n for n in names if n in sys.modules],
    "boto3": "boto3" in sys.modules,
}}))
"""

SUBJECTS = {
    "ours": "import langchain_jumpstart_stream",
    "base": "import boto3, langchain_core.language_models",
    "ours_llm": "from langchain_jumpstart_stream import JumpStartLLM",
    "base_llm": "import boto3\nfrom langchain_core.language_models import BaseLLM",
}


def _time_import(statement: str) -> dict[str, Any]:
    code = _CHILD.format(statement=statement, forbidden=_FORBIDDEN)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(*, repeats: int = 7, context: bool = True) -> Section:
    """Time each import ``repeats`` times (after unmeasured runs that write bytecode).

    ``context=False`` skips the JumpStartLLM vs BaseLLM pair (for ``--quick``).
    """
    names = list(SUBJECTS) if context else ["ours", "base"]
    for name in ("ours", "base_llm" if context else "base"):  # load every module once
        _time_import(SUBJECTS[name])
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for i in range(repeats):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            runs[name].append(_time_import(SUBJECTS[name]))
    ms = {name: median([r["cpu_seconds"] * 1000 for r in rs]) for name, rs in runs.items()}
    ratio = ms["ours"] / ms["base"]
    ours_runs = runs["ours"] + runs.get("ours_llm", [])
    present = sorted({module for r in ours_runs for module in r["present"]})
    figures = [
        Figure(
            "imports.ratio",
            "Import time vs boto3 + langchain_core.language_models",
            ratio,
            "x",
            f"<= {TARGET_RATIO:.1f}x",
            ratio <= TARGET_RATIO,
        ),
        Figure(
            "imports.forbidden",
            "sagemaker / aiobotocore imported by the package",
            len(present),
            "count",
            "= 0",
            not present,
            ", ".join(present),
        ),
        Figure("imports.ours_ms", "Import time, langchain_jumpstart_stream", ms["ours"], "ms"),
        Figure(
            "imports.base_ms",
            "Import time, boto3 + langchain_core.language_models",
            ms["base"],
            "ms",
        ),
    ]
    if context:
        figures += [
            Figure(
                "imports.llm_ratio",
                "Import of JumpStartLLM vs boto3 + BaseLLM (context)",
                ms["ours_llm"] / ms["base_llm"],
                "x",
            ),
            Figure("imports.ours_llm_ms", "Import time, JumpStartLLM", ms["ours_llm"], "ms"),
            Figure("imports.base_llm_ms", "Import time, boto3 + BaseLLM", ms["base_llm"], "ms"),
        ]
    details = {
        "repeats": repeats,
        "cpu_ms_samples": {n: [r["cpu_seconds"] * 1000 for r in rs] for n, rs in runs.items()},
        "wall_ms_samples": {n: [r["seconds"] * 1000 for r in rs] for n, rs in runs.items()},
        "modules_loaded": {n: rs[-1]["modules"] for n, rs in runs.items()},
        "package_imports_boto3": runs["ours"][-1]["boto3"],
        "statements": SUBJECTS,
    }
    return Section("e. imports", "Import time", figures, details)
