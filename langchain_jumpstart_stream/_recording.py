"""The hook through which a cassette recorder sees the package's own calls.

:func:`tap` is all the transport asks: ``None`` unless a recorder is active in
this context (``langchain_jumpstart_stream.cassettes.record``), so calls that are
not recorded pay one context-variable lookup. The recorder itself, and what it
keeps, live in :mod:`langchain_jumpstart_stream.cassettes`.

A context variable, not a global: it follows the call into threads LangChain
starts with the caller's context (``batch``), into tasks, and never into another
test's or another event loop's calls.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._async_http import AsyncResponse
    from ._signing import Signed
    from ._sync_http import SyncResponse

__all__ = ["Tap", "TapFactory", "active", "tap"]


class Tap(Protocol):
    """One request being recorded, from just before it is sent."""

    def answer(self, response: SyncResponse) -> SyncResponse:
        """Wrap a blocking answer so that its reads are recorded as they arrive."""
        ...

    def aanswer(self, response: AsyncResponse) -> AsyncResponse:
        """Wrap an async answer so that its reads are recorded as they arrive."""
        ...

    def error(self, status: int, headers: Mapping[str, str], document: bytes) -> None:
        """Record an error answer and its document."""
        ...


class TapFactory(Protocol):
    """An active recorder."""

    def tap(self, operation: str, signed: Signed, endpoint_name: str) -> Tap:
        """Start recording one request."""
        ...


active: contextvars.ContextVar[TapFactory | None] = contextvars.ContextVar(
    "langchain_jumpstart_stream_recorder", default=None
)


def tap(operation: str, signed: Signed, endpoint_name: str) -> Tap | None:
    """A tap on this request when a recorder is active here, else ``None``."""
    recorder = active.get()
    return None if recorder is None else recorder.tap(operation, signed, endpoint_name)
