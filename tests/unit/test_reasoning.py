"""``ThinkSplitter``: inline ``<think>`` reasoning split from the answer however it is cut."""

from __future__ import annotations

import pytest

from langchain_jumpstart_stream._reasoning import ThinkSplitter

CASES = [
    # text, starts_inside, reasoning, answer
    ("<think>\nI ponder.\n</think>\n\nHello!", False, "I ponder.\n", "Hello!"),
    ("  <think>x</think>y", False, "x", "y"),
    ("I ponder.</think>\n\nHello!", True, "I ponder.", "Hello!"),
    ("<think>\nI ponder.</think>Hi", True, "I ponder.", "Hi"),  # the tag repeated
    ("Hello <think> world", False, "", "Hello <think> world"),
    (" Building a website", False, "", " Building a website"),
    ("<thinking about it", False, "", "<thinking about it"),
    ("<think>never closed", False, "never closed", ""),
    ("a </th", True, "a </th", ""),  # a tag cut by the end of the stream
    ("", False, "", ""),
    ("   ", False, "", "   "),
]


def _run(pieces: list[str], starts_inside: bool) -> tuple[str, str]:
    splitter = ThinkSplitter(starts_inside=starts_inside)
    reasoning = answer = ""
    for piece in pieces:
        r, a = splitter.push(piece)
        reasoning += r
        answer += a
    r, a = splitter.flush()
    return reasoning + r, answer + a


@pytest.mark.parametrize(("text", "inside", "reasoning", "answer"), CASES)
def test_every_cut(text: str, inside: bool, reasoning: str, answer: str) -> None:
    cuts = [[text], list(text)] + [[text[:i], text[i:]] for i in range(1, len(text))]
    for pieces in cuts:
        assert _run(pieces, inside) == (reasoning, answer), pieces


def test_holds_at_most_a_tag() -> None:
    splitter = ThinkSplitter(starts_inside=True)
    assert splitter.push("long reasoning </thi") == ("long reasoning ", "")
    assert splitter.push("s is not a tag") == ("</this is not a tag", "")
    assert splitter.tagged is False
