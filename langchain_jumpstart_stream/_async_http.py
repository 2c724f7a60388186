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
semaphore and one ``sleep(0)``: nothing else is scheduled by hand.

aiohttp is imported on the first async call only.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ._route import Route
from ._signing import Signed

__all__ = ["AsyncResponse", "asend", "signing_turn"]

# Bytes decoded per step of a stream (about ten tokens). A read that returns this much found more
# waiting: the stream then yields to the loop before the next, so 64 busy streams
# take turns instead of one of them decoding its whole buffer at once.
_STEP = 2048
_MAX_DOCUMENT = 64 << 20
# Calls that may sign in one loop iteration (about a millisecond of CPU each).
_SIGNING_PER_TURN = 4


class AsyncResponse:
    """An answer whose head has arrived; read its body once, then close it."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.status: int = response.status
        self.headers: dict[str, str] = {k.lower(): v for k, v in response.headers.items()}
        self.request_id: str | None = self.headers.get("x-amzn-requestid")

    async def areads(self) -> AsyncIterator[bytes]:
        """The body as it arrives (HTTP framing and content encoding removed)."""
        content = self._response.content
        while True:
            data = await content.read(_STEP)
            if not data:
                return
            yield data
            if len(data) == _STEP:
                await asyncio.sleep(0)  # more is waiting: let other tasks run first

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
        aiohttp.ClientError, OSError, TimeoutError: Mapped by the caller.
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
            total=total, sock_connect=route.connect_timeout, sock_read=read_timeout
        ),
    )
    return AsyncResponse(response)


def _after_fork_in_child() -> None:
    _sessions.clear()  # the parent's loops and sockets are not the child's


os.register_at_fork(after_in_child=_after_fork_in_child)
