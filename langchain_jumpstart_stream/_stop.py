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
        The result does not depend on how the text was cut into tokens: a stop
        that completes first still loses to one that started earlier and may yet
        complete, exactly as if the whole text had been searched at once.
        """
        if self.matched is not None:
            return ""
        window = self._held + text
        cut, stop = self._earliest_complete(window)
        limit = len(window) if cut == -1 else cut
        pending = self._earliest_partial(window, limit)
        if pending == -1 and cut != -1:
            self.matched = stop
            self._held = ""
            return window[:cut]
        keep_from = limit if pending == -1 else pending
        self._held = window[keep_from:]
        return window[:keep_from]

    def _earliest_complete(self, window: str) -> tuple[int, str | None]:
        cut, found = -1, None
        for stop in self._stops:
            at = window.find(stop)
            if at != -1 and (cut == -1 or at < cut):
                cut, found = at, stop
        return cut, found

    def _earliest_partial(self, window: str, limit: int) -> int:
        """First position before ``limit`` where a stop has begun but not yet ended."""
        size = len(window)
        for start in range(max(0, size - self._longest + 1), limit):
            tail = window[start:]
            if any(len(stop) > len(tail) and stop.startswith(tail) for stop in self._stops):
                return start
        return -1

    def flush(self) -> str:
        """End of stream: release whatever was held back, up to a stop in it."""
        held, self._held = self._held, ""
        if self.matched is not None:
            return ""
        cut, stop = self._earliest_complete(held)
        if cut != -1:
            self.matched = stop
            return held[:cut]
        return held
