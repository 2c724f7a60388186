"""Figures, the printed table, and the saved results (JSON, markdown, PNG chart)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Figure", "Section", "draw_chart", "markdown_table", "print_table", "save"]


@dataclass
class Figure:
    """One reported number.

    Attributes:
        key: Stable identifier, e.g. ``cpu.ratio_raw``.
        label: What it is, for people.
        value: The number (``None`` when it could not be measured).
        unit: ``x`` (ratio), ``us/token``, ``MB``, ``ms``, ``tokens/s``, ``count``...
        target: The target as text (``<= 0.70x``), or "" for context figures.
        ok: Whether the target holds; ``None`` for context figures or skipped ones.
        note: Why it was skipped, or how it was measured.
    """

    key: str
    label: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None
    note: str = ""

    @property
    def status(self) -> str:
        """PASS, FAIL, SKIP (no value) or "" (context figure)."""
        if self.value is None:
            return "SKIP"
        if self.ok is None:
            return ""
        return "PASS" if self.ok else "FAIL"

    def shown(self) -> str:
        """The value with its unit, rounded for reading."""
        value = self.value
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        if self.unit == "x":
            return f"{value:.2f}x"
        if self.unit == "count":
            return f"{value:.0f}"
        if abs(value) >= 100:
            return f"{value:.0f} {self.unit}"
        return f"{value:.2f} {self.unit}" if abs(value) < 10 else f"{value:.1f} {self.unit}"


@dataclass
class Section:
    """The figures of one benchmark and its raw measurements."""

    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def _rows(sections: list[Section]) -> list[tuple[str, str, str, str, str]]:
    return [
        (section.name, fig.label, fig.shown(), fig.target, fig.status)
        for section in sections
        for fig in section.figures
    ]


def print_table(sections: list[Section]) -> None:
    """Print every figure with its target and PASS/FAIL, then the notes."""
    header = ("", "figure", "value", "target", "")
    rows = [header, *_rows(sections)]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    rule = "  ".join("-" * w for w in widths)
    print(rule)
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print(rule)
    print(rule)
    for section in sections:
        for fig in section.figures:
            if fig.note:
                print(f"  {section.name}: {fig.label}: {fig.note}")


def markdown_table(sections: list[Section]) -> str:
    """The same table in markdown, for the README."""
    lines = ["| | figure | value | target | |", "|---|---|---|---|---|"]
    for name, label, value, target, status in _rows(sections):
        mark = {"PASS": "✅ PASS", "FAIL": "❌ FAIL"}.get(status, status)
        lines.append(f"| {name} | {label} | {value} | {target} | {mark} |")
    return "\n".join(lines) + "\n"


def save(sections: list[Section], meta: dict[str, Any], json_paths: list[Path]) -> None:
    """Write the results as JSON (to every path) and the markdown table next to the first."""
    data = {
        "meta": meta,
        "sections": [
            {
                "name": s.name,
                "title": s.title,
                "figures": [{**asdict(f), "status": f.status} for f in s.figures],
                "details": s.details,
            }
            for s in sections
        ],
    }
    text = json.dumps(data, indent=2, default=_jsonable) + "\n"
    for path in json_paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    md = json_paths[0].with_suffix(".md")
    header = f"Benchmarks ({meta.get('mode', 'full')} run, {meta.get('date', '')}, "
    header += f"commit {meta.get('commit', '?')}, {meta.get('machine', '')})\n\n"
    md.write_text(header + markdown_table(sections), encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def _find(sections: list[Section], key: str) -> Figure | None:
    for section in sections:
        for fig in section.figures:
            if fig.key == key:
                return fig
    return None


def _bars(ax: Any, sections: list[Section], title: str, unit: str, items: list[Any]) -> None:
    """One horizontal bar per (label, figure key, colour) that has a value."""
    names, values, colours = [], [], []
    for label, key, colour in items:
        figure = _find(sections, key)
        if figure is None or figure.value is None or math.isnan(figure.value):
            continue
        names.append(label)
        values.append(figure.value)
        colours.append(colour)
    ax.set_title(title, fontsize=10)
    if not values:
        ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    drawn = ax.barh(names, values, color=colours)
    ax.invert_yaxis()
    ax.set_xlabel(unit, fontsize=8)
    shown = [f"{v:.0f}" if v >= 100 else f"{v:.3g}" for v in values]
    ax.bar_label(drawn, labels=shown, padding=3, fontsize=8)
    ax.tick_params(labelsize=8)
    if max(values) > 50 * max(min(values), 1e-9):
        ax.set_xscale("log")
        ax.set_xlim(min(values) / 2, max(values) * 4)
    else:
        ax.set_xlim(0, max(values) * 1.3 or 1)


def _targets(ax: Any, sections: list[Section]) -> None:
    """Each target figure as a fraction of its limit: under 1.0 holds."""
    keys = [
        ("a. LLM vs raw boto3, 2k", "cpu.ratio_raw", 0.70),
        ("a. LLM vs raw boto3, 20k", "cpu.ratio_raw_20k", 0.70),
        ("a. LLM vs raw boto3, 100k", "cpu.ratio_raw_100k", 0.70),
        ("a. LLM 100k / 2k", "cpu.flat", 1.15),
        ("a. chat vs lc-core floor, 2k", "cpu.chat_floor", 1.3),
        ("a. chat 100k / 2k", "cpu.chat_flat", 1.15),
        ("a2. async vs raw, bulk", "acpu.ratio_bulk", 1.0),
        ("a2. async vs raw, 20 tok/s", "acpu.ratio_paced20", 1.0),
        ("a2. async vs raw, 100 tok/s", "acpu.ratio_paced100", 1.0),
        ("b. memory growth", "memory.ours", 5.0),
        ("c. added first-token time", "latency.added", 2.0),
        ("d. loop lag p99", "async.lag_p99", 20.0),
        ("e. import time", "imports.ratio", 1.2),
    ]
    names, values, colours = [], [], []
    for label, key, limit in keys:
        figure = _find(sections, key)
        if figure is None or figure.value is None:
            continue
        names.append(label)
        values.append(max(figure.value, 0.0) / limit)
        colours.append("#38a169" if figure.ok else "#e53e3e")
    ax.set_title("targets: value / limit (green holds)", fontsize=10)
    drawn = ax.barh(names, values, color=colours)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", linewidth=1)
    ax.bar_label(drawn, fmt="%.2f", padding=3, fontsize=8)
    if max(values, default=1.0) > 4:
        ax.set_xscale("log")
        ax.set_xlim(min([*values, 1.0]) / 2, max(values) * 4)
    else:
        ax.set_xlim(0, max([*values, 1.0]) * 1.3)
    ax.tick_params(labelsize=8)


def draw_chart(sections: list[Section], path: Path, subtitle: str) -> bool:
    """Draw the summary chart (six panels) as a PNG; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False

    ours, peer, base, floor = "#2b6cb0", "#c05621", "#718096", "#a0aec0"
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    fig.suptitle(f"langchain-jumpstart-stream benchmarks\n{subtitle}", fontsize=11)
    panels = [
        (
            "a. client CPU per token, sync stream(), 2k / 100k tokens",
            "µs per token (median of rounds)",
            [
                ("JumpStartLLM 2k", "cpu.ours_us", ours),
                ("JumpStartLLM 100k", "cpu.ours_us_100k", ours),
                ("raw boto3 loop 2k", "cpu.raw_us", base),
                ("raw boto3 loop 100k", "cpu.raw_us_100k", base),
                ("ChatJumpStart 2k", "cpu.chat_us", ours),
                ("ChatJumpStart 100k", "cpu.chat_us_100k", ours),
                ("lc-core LLM floor 2k", "cpu.floor_us", floor),
                ("lc-core chat floor 2k", "cpu.chat_floor_us", floor),
                ("langchain-aws 2k", "cpu.aws_us", peer),
            ],
        ),
        (
            "b. memory growth, 100k-token stream",
            "MB",
            [
                ("JumpStartLLM RSS", "memory.ours_rss", ours),
                ("JumpStartLLM tracemalloc", "memory.ours_traced", ours),
                ("langchain-aws RSS", "memory.aws_rss", peer),
            ],
        ),
        (
            "c. time to first token (paced, median)",
            "ms",
            [
                ("JumpStartLLM", "latency.ours_ms", ours),
                ("raw boto3 loop", "latency.raw_ms", base),
                ("langchain-aws", "latency.aws_ms", peer),
            ],
        ),
        (
            "a2/d. astream(): CPU per token vs a raw async loop; loop lag",
            "µs per token / ms",
            [
                ("astream bulk µs", "acpu.ours_us_bulk", ours),
                ("raw async bulk µs", "acpu.raw_us_bulk", base),
                ("astream 20 tok/s µs", "acpu.ours_us_paced20", ours),
                ("raw async 20 tok/s µs", "acpu.raw_us_paced20", base),
                ("256 streams lag p99 ms", "async.lag_p99", peer),
            ],
        ),
        (
            "e. import time (fresh interpreter, median CPU)",
            "ms",
            [
                ("langchain_jumpstart_stream", "imports.ours_ms", ours),
                ("boto3 + lc_core.language_models", "imports.base_ms", base),
                ("JumpStartLLM", "imports.ours_llm_ms", ours),
                ("boto3 + BaseLLM", "imports.base_llm_ms", base),
            ],
        ),
    ]
    flat = [ax for row in axes for ax in row]
    for ax, (title, unit, items) in zip(flat, panels, strict=False):
        _bars(ax, sections, title, unit, items)
    _targets(flat[5], sections)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
