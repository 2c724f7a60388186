"""Send signed requests and read their answers with aiohttp, on the event loop.

aiohttp (the HTTP client aiobotocore uses) owns connections, keep-alive expiry,
TLS, proxies, DNS with happy eyeballs, chunked framing (in its C parser) and
content encodings. Its buffer per connection is bounded and it stops reading the
socket when the buffer is full, so a slow consumer costs memory of a few read
sizes, not of the whole answer.

One ``ClientSession`` serves each event loop: connections belong to the loop that
opened them. The session is closed when the loop shuts down its async
generators (``asyncio.run`` and pytest-asyncio do), and nothing here keeps a
finished loop alive. A forked child starts with no sessions at all.

Signing takes turns. botocore builds and signs a request in about a millisecond of
CPU, all of it on the loop; 64 calls started together (``asyncio.gather``) would all
sign in the same loop iteration and freeze every other coroutine for that long
(measured: the loop's longest stall was 97 ms, all of it this, against about 50 ms
once streams run; ``python -m benchmarks --only fast``). :func:`signing_turn` lets
at most :data:`_SIGNING_PER_TURN` calls sign per loop iteration, with an asyncio
semaphore and one ``sleep(0)``.

``read_timeout`` (the longest wait for the next bytes) is ours, not aiohttp's
``sock_read``: aiohttp sets a new timer on every socket read (a ``call_later`` and
a ``TimerHandle.cancel``: 1.01 timers per token with 32 paced streams, now 0.01),
about 10 µs of some 110 µs of CPU per token. The wait for the head is one
``timeout_at`` per request; the body has a lazy watchdog (:class:`AsyncResponse`):
a read costs one ``loop.time()``, and one timer per answer fires at most once per
``read_timeout``.

aiohttp is imported on the first async call only.
"""

from __future__ import annotations

import asyncio
import os
import sys
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ._route import Route
from ._signing import Signed

if sys.version_info >= (3, 11):
    from asyncio import timeout_at
else:  # aiohttp depends on it before 3.11
    from async_timeout import timeout_at

__all__ = ["AsyncResponse", "asend", "signing_turn"]

# Bytes decoded per step of a stream (about ten tokens). A read that returns this much found more
# waiting: the stream then yields to the loop before the next, so 64 busy streams
# take turns instead of one of them decoding its whole buffer at once.
_STEP = 2048
_MAX_DOCUMENT = 64 << 20
# Calls that may sign in one loop iteration (about a millisecond of CPU each).
_SIGNING_PER_TURN = 4
# What aiohttp's own read timeout says; translated as a read timeout by the caller.
_READ_TIMEOUT_MESSAGE = "Timeout on reading data from socket"


def _read_timeout_error() -> Exception:
    """What aiohttp's ``sock_read`` raises (``SocketTimeoutError`` from 3.10 on)."""
    import aiohttp

    kind: type[Exception] = getattr(aiohttp, "SocketTimeoutError", aiohttp.ServerTimeoutError)
    return kind(_READ_TIMEOUT_MESSAGE)


class AsyncResponse:
    """An answer whose head has arrived; read its body once, then close it.

    Args:
        response: aiohttp's response.
        read_timeout: Longest wait for the next bytes of the body (``None``: no limit).

    A read waiting longer than ``read_timeout`` fails as aiohttp's ``sock_read``
    would (``ServerTimeoutError``). Rather than a timer per read, each read stamps
    ``loop.time()`` as it starts waiting, and one timer per answer (the watchdog)
    checks the stamp when it fires: a read waiting for ``read_timeout`` is
    interrupted by closing the response (aiohttp's public ``close()``); otherwise
    the watchdog is set again for when the current wait would time out.
    """

    def __init__(self, response: Any, read_timeout: float | None = None) -> None:
        self._response = response
        self.status: int = response.status
        self.headers: dict[str, str] = {k.lower(): v for k, v in response.headers.items()}
        self.request_id: str | None = self.headers.get("x-amzn-requestid")
        self._read_timeout = read_timeout
        self._waiting_since: float | None = None  # loop time the pending read began
        self.watchdog: asyncio.TimerHandle | None = None
        self.timed_out = False

    async def areads(self) -> AsyncIterator[bytes]:
        """The body as it arrives (HTTP framing and content encoding removed).

        Raises:
            aiohttp.ServerTimeoutError: No bytes arrived within ``read_timeout``.
        """
        content = self._response.content
        loop = asyncio.get_running_loop()
        if self._read_timeout and self.watchdog is None and not self._response.closed:
            self.watchdog = loop.call_at(loop.time() + self._read_timeout, self._watch)
        try:
            while True:
                self._waiting_since = loop.time()
                try:
                    data = await content.read(_STEP)
                except Exception:
                    if self.timed_out:  # the watchdog closed the response
                        raise _read_timeout_error() from None
                    raise
                self._waiting_since = None
                if not data:
                    if self.timed_out:
                        raise _read_timeout_error()
                    return
                yield data
                if len(data) == _STEP:
                    await asyncio.sleep(0)  # more is waiting: let other tasks run first
        finally:
            self._waiting_since = None
            self._stop_watchdog()

    def _watch(self) -> None:
        """The watchdog fired: time out a read waiting for too long, else watch on."""
        self.watchdog = None
        timeout = self._read_timeout
        assert timeout is not None  # only set with a timeout
        if self._response.closed:
            return
        loop = asyncio.get_running_loop()
        since = self._waiting_since
        now = loop.time()
        if since is not None and now >= since + timeout:
            self.timed_out = True
            self._response.close()  # wakes the pending read with an error: see areads
            return
        # A read waiting for less than the timeout, or none (the consumer is busy):
        # the earliest the current or next wait can time out.
        self.watchdog = loop.call_at((now if since is None else since) + timeout, self._watch)

    def _stop_watchdog(self) -> None:
        watchdog = self.watchdog
        if watchdog is not None:
            self.watchdog = None
            watchdog.cancel()  # drops its reference to self

    async def read_all(self, limit: int = _MAX_DOCUMENT) -> bytes:
        """The whole body; a body larger than ``limit`` is cut there."""
        parts: list[bytes] = []
        size = 0
        async for data in self.areads():
            parts.append(data)
            size += len(data)
            if size >= limit:
                break
        return b"".join(parts)

    def close(self) -> None:
        """Free the connection: back to the pool when the body was read, else closed."""
        self._stop_watchdog()
        response = self._response
        if response.content.at_eof():
            response.release()
        else:
            response.close()


class _LoopSession:
    """The session of one event loop, closed when the loop shuts down."""

    def __init__(self) -> None:
        import aiohttp

        self.signing = asyncio.Semaphore(_SIGNING_PER_TURN)

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=0,  # concurrency is the application's to bound, not a pool's
                ttl_dns_cache=10,
                happy_eyeballs_delay=0.25,
            ),
            auto_decompress=True,
            trust_env=False,  # the route already chose the proxy as botocore would
            timeout=aiohttp.ClientTimeout(total=None),
            raise_for_status=False,
            read_bufsize=16384,
        )
        self._closer = self._close_at_shutdown()

    async def start(self) -> None:
        # Running it to its first yield registers it with the loop's async-generator
        # hooks: the loop closes it, and so the session, when it shuts down.
        await self._closer.__anext__()

    async def _close_at_shutdown(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await self.session.close()
            # Even closed, this generator refers to its loop; let go of the pair.
            loop = asyncio.get_running_loop()
            if _sessions.get(loop) is self:
                del _sessions[loop]


_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession] = (
    weakref.WeakKeyDictionary()
)


async def _loop_session() -> _LoopSession:
    loop = asyncio.get_running_loop()
    found = _sessions.get(loop)
    if found is None or found.session.closed:
        found = _sessions[loop] = _LoopSession()
        await found.start()
    return found


@asynccontextmanager
async def signing_turn() -> AsyncIterator[None]:
    """Wait for a turn to sign on this loop; the next turn starts an iteration later."""
    slots = (await _loop_session()).signing
    async with slots:
        yield
        await asyncio.sleep(0)  # hold the slot until the loop has run everything else


async def asend(
    signed: Signed, route: Route, *, read_timeout: float, total: float | None
) -> AsyncResponse:
    """Send ``signed`` on the running loop; return once the answer's head has arrived.

    Args:
        signed: The signed request.
        route: Where and how to connect.
        read_timeout: Longest wait for the next bytes.
        total: Seconds left of the call's deadline, if it has one.

    Raises:
        aiohttp.ClientError, OSError, TimeoutError: Mapped by the caller; no head
            within ``read_timeout`` is ``aiohttp.ServerTimeoutError``, as aiohttp's
            ``sock_read`` says it.
    """
    import aiohttp

    session = (await _loop_session()).session
    proxy = route.proxy_for(signed.url)
    proxy_auth = None
    if proxy is not None:
        from yarl import URL  # aiohttp's own URL type

        url = URL(proxy)
        if url.user:
            proxy_auth = aiohttp.BasicAuth(url.user, url.password or "")
            proxy = str(url.with_user(None))
    # One timer for the head. aiohttp's sock_read started once the request was
    # written; this one also spans connecting (on a new connection) and writing.
    deadline = asyncio.get_running_loop().time() + read_timeout if read_timeout else None
    try:
        async with timeout_at(deadline):
            response = await session.request(
                signed.method,
                signed.url,
                data=signed.body,
                headers=signed.headers,
                ssl=route.ssl_context() if signed.url.startswith("https:") else True,
                proxy=proxy,
                proxy_auth=proxy_auth,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=total, sock_connect=route.connect_timeout, sock_read=None
                ),
            )
    except asyncio.TimeoutError as exc:  # TimeoutError itself from 3.11 on
        if isinstance(exc, aiohttp.ClientError):  # aiohttp's own: connect, total
            raise
        if deadline is not None and asyncio.get_running_loop().time() >= deadline:
            raise _read_timeout_error() from None
        raise
    return AsyncResponse(response, read_timeout)


def _after_fork_in_child() -> None:
    _sessions.clear()  # the parent's loops and sockets are not the child's


os.register_at_fork(after_in_child=_after_fork_in_child)
