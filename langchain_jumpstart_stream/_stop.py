"""Enforce stop sequences on streamed text, across token boundaries.

Containers differ: TGI includes the stop text in its output, OpenAI-style servers
cut before it, some ignore the parameter. So the client enforces stops itself.
Text that could still turn out to be the start of a stop sequence is held back,
at most ``len(longest stop) - 1`` characters, and released as soon as it cannot.
Plain substring search, no regular expressions: a stop of ``"."`` means a dot.
It does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["StopFilter"]


class StopFilter:
    """Cut a text stream just before the first stop sequence.

    Args:
        stops: Stop sequences; empty strings are ignored.

    Attributes:
        matched: The stop sequence found, once one is found.
    """

    __slots__ = ("_held", "_longest", "_stops", "matched")

    def __init__(self, stops: Iterable[str]) -> None:
        self._stops = tuple(dict.fromkeys(s for s in stops if s))
        self._longest = max(map(len, self._stops), default=0)
        self._held = ""
        self.matched: str | None = None

    def __bool__(self) -> bool:
        return bool(self._stops)

    def push(self, text: str) -> str:
        """Add text; return what can be shown now.

        After a match, returns the text before the stop and ignores later input.
        """
        if self.matched is not None:
            return ""
        window = self._held + text
        # Only a stop that starts in the held tail or in the new text can be new.
        cut = -1
        for stop in self._stops:
            at = window.find(stop)
            if at != -1 and (cut == -1 or at < cut):
                cut = at
                self.matched = stop
        if cut != -1:
            self._held = ""
            return window[:cut]
        keep = self._partial_suffix(window)
        if keep:
            self._held = window[-keep:]
            return window[:-keep]
        self._held = ""
        return window

    def _partial_suffix(self, window: str) -> int:
        """Length of the longest tail of ``window`` that begins some stop sequence."""
        longest = min(self._longest - 1, len(window))
        for size in range(longest, 0, -1):
            tail = window[-size:]
            if any(stop.startswith(tail) for stop in self._stops):
                return size
        return 0

    def flush(self) -> str:
        """End of stream: release whatever was held back."""
        held, self._held = self._held, ""
        return held if self.matched is None else ""
