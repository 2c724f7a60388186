r"""Split inline ``<think>…</think>`` reasoning from the answer, across token boundaries.

Reasoning models served without a server-side reasoning parser (TGI, LMI's text
route, vLLM started without ``--reasoning-parser``) write their thinking into the
text itself::

    <think>The user greets me...</think>\n\nHello!

Where the chat template opens the block itself (DeepSeek-R1 distills, Qwen3
thinking variants), the stream starts *inside* it and only ``</think>`` arrives.

A tag may be cut anywhere between tokens, so text that could still be the start
of a tag is held back (at most the tag's length minus one) and released as soon
as it cannot. ``<think>`` counts only at the very start of the answer (after
whitespace), so an answer that merely mentions the tag is left alone. It does no
I/O.
"""

from __future__ import annotations

__all__ = ["ThinkSplitter"]

OPEN = "<think>"
CLOSE = "</think>"

# Whitespace a model may write before its opening tag; past this, it is an answer.
_MAX_LEADING = 64

_BEFORE, _INSIDE, _AFTER_CLOSE, _ANSWER = range(4)


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class ThinkSplitter:
    """Route streamed text to reasoning or answer.

    Args:
        starts_inside: The prompt already opened the thinking block, so text is
            reasoning until ``</think>``.

    Attributes:
        tagged: A ``<think>`` or ``</think>`` tag was found in the text.
    """

    __slots__ = ("_fallback", "_held", "_state", "_strip", "tagged")

    def __init__(self, *, starts_inside: bool = False) -> None:
        self._held = ""
        self._state = _BEFORE
        # What text that does not open with "<think>" is: with starts_inside, the
        # model may still repeat the tag the template wrote, and it is dropped.
        self._fallback = _INSIDE if starts_inside else _ANSWER
        self._strip = True  # leading whitespace of the reasoning is not shown
        self.tagged = False

    @property
    def inside(self) -> bool:
        """Text pushed now would be reasoning."""
        return self._state == _INSIDE or (self._state == _BEFORE and self._fallback == _INSIDE)

    def push(self, text: str) -> tuple[str, str]:
        """Add text; return ``(reasoning, answer)`` that can be released now."""
        if self._state == _ANSWER:
            return "", text
        window = self._held + text
        self._held = ""
        reasoning = answer = ""
        while window:
            state = self._state
            if state == _BEFORE:
                stripped = window.lstrip()
                if stripped.startswith(OPEN):
                    self._state = _INSIDE
                    self.tagged = True
                    window = stripped[len(OPEN) :]
                    continue
                if (not stripped or OPEN.startswith(stripped)) and len(window) <= _MAX_LEADING:
                    self._held = window  # whitespace, or the start of "<think>"
                    break
                self._state = self._fallback
                continue
            if state == _INSIDE:
                if self._strip:
                    window = window.lstrip()
                    if not window:
                        break
                    self._strip = False
                at = window.find(CLOSE)
                if at != -1:
                    reasoning += window[:at]
                    window = window[at + len(CLOSE) :]
                    self._state = _AFTER_CLOSE
                    self.tagged = True
                    continue
                keep = _partial_suffix(window, CLOSE)
                reasoning += window[: len(window) - keep]
                self._held = window[len(window) - keep :]
                break
            if state == _AFTER_CLOSE:  # the blank lines between thinking and answer
                window = window.lstrip()
                if window:
                    self._state = _ANSWER
                    answer += window
                break
            answer += window
            break
        return reasoning, answer

    def flush(self) -> tuple[str, str]:
        """End of stream: release held text as what it would have been."""
        held, self._held = self._held, ""
        if self.inside:
            return held.strip() if self._state == _BEFORE else held, ""
        if self._state == _BEFORE:
            return "", held
        return "", ""
