"""A small HTTP/1.1 client on asyncio transports, for one signed request at a time.

Async streams send their requests here instead of through urllib3 in a thread.
Threads doing CPU work next to an event loop make every socket call of the loop
wait for the GIL (up to the 5 ms switch interval each); with hundreds of streams
the loop then stalls for hundreds of milliseconds. On asyncio's own transports
the loop does all the work itself, in small slices, and TLS comes from asyncio.

It covers exactly what SageMaker Runtime needs: one request with a body, a
response head, then a body framed by ``Transfer-Encoding: chunked``,
``Content-Length`` or the end of the connection. Idle connections are kept per
event loop for the next request. Proxies and client certificates are not
handled; callers fall back to botocore's own sending for those.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import weakref
from collections import deque
from collections.abc import AsyncIterator, Iterable
from http.client import HTTPException
from typing import Any
from urllib.parse import SplitResult, urlsplit

from ._chunked import ChunkedDecoder

__all__ = ["HTTPResponse", "request"]

_MAX_HEAD = 65536  # a response head longer than this is not SageMaker talking
_PAUSE_ABOVE = 1 << 20  # stop reading the socket while this much is unconsumed
_READ_BLOCK = 65536  # the most one receive() returns
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: received bytes wait here until read."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._received: deque[bytes] = deque()
        self._size = 0
        self._closed = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False

    # -- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport

    def data_received(self, data: bytes) -> None:
        self._received.append(data)
        self._size += len(data)
        if self._size > _PAUSE_ABOVE and not self._paused and self.transport is not None:
            self._paused = True  # the reader is slow: let TCP flow control push back
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._closed = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if exc is not None and self._error is None:
            self._error = exc
        self._wake()

    # -- used by the client -----------------------------------------------------------

    @property
    def reusable(self) -> bool:
        """Open, idle and with nothing unread: fit for another request."""
        return (
            not self._closed
            and not self._received
            and self.transport is not None
            and not self.transport.is_closing()
        )

    async def receive(self, timeout: float | None) -> bytes:
        """What was received so far (64 KiB at most); waits if nothing. ``b""`` at EOF.

        Raises:
            TimeoutError: Nothing arrived for ``timeout`` seconds.
            OSError: The connection failed.
        """
        waited = False
        while not self._received:
            if self._closed:
                if self._error is not None:
                    raise self._error
                return b""
            await self._wait(timeout)
            waited = True
        if not waited:
            # Data was already here: let other tasks run first, or a fast stream
            # would hold the event loop until it ended.
            await asyncio.sleep(0)
        # At most one read's worth at a time: what the caller does with it between
        # two awaits is what holds the event loop.
        data = self._received.popleft()
        if self._received and len(data) < _READ_BLOCK:
            parts = [data]
            size = len(data)
            while self._received and size < _READ_BLOCK:
                parts.append(self._received.popleft())
                size += len(parts[-1])
            data = b"".join(parts)
        if len(data) > _READ_BLOCK:
            self._received.appendleft(data[_READ_BLOCK:])
            data = data[:_READ_BLOCK]
        self._size -= len(data)
        if self._paused and self._size <= _PAUSE_ABOVE // 2 and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    def unread(self, data: bytes) -> None:
        """Put back bytes that belong to the next read."""
        if data:
            self._received.appendleft(data)
            self._size += len(data)

    def close(self) -> None:
        """Close at once, without flushing: the server sees the disconnect now."""
        self._closed = True
        if self.transport is not None:
            self.transport.abort()

    async def _wait(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("timed out"))


class _Pool:
    """Idle connections of one event loop, by (scheme, host, port, TLS context).

    Connections belong to the loop that made them, and must be closed while it
    still runs. ``asyncio.run()`` (and any runner) closes every live async
    generator before it closes the loop; the pool keeps one such generator
    whose ``finally`` closes the idle connections, so nothing outlives the loop.
    """

    def __init__(self) -> None:
        self.idle: dict[tuple[str, str, int, int], list[_Connection]] = {}
        self._keeper: AsyncIterator[None] | None = self._close_at_shutdown()
        # Run it to its first yield now, which registers it with the running loop.
        first_step: Any = self._keeper.__anext__()
        with contextlib.suppress(StopIteration):
            first_step.send(None)

    async def _close_at_shutdown(self) -> AsyncIterator[None]:
        try:
            while True:
                yield
        finally:
            self.close_all()
            # Even closed, this generator refers to its loop (through the loop's
            # finalizer hook): let go of the pool, or the pair would keep the loop.
            self._keeper = None
            with contextlib.suppress(RuntimeError):  # collected outside any loop
                _pools.pop(asyncio.get_running_loop(), None)

    def take(self, key: tuple[str, str, int, int]) -> _Connection | None:
        conns = self.idle.get(key)
        while conns:
            conn = conns.pop()
            if conn.reusable:
                return conn
            conn.close()
        return None

    def give_back(self, key: tuple[str, str, int, int], conn: _Connection, limit: int) -> None:
        conns = self.idle.setdefault(key, [])
        if conn.reusable and len(conns) < limit:
            conns.append(conn)
        else:
            conn.close()

    def close_all(self) -> None:
        """Close every idle connection."""
        for conns in self.idle.values():
            for conn in conns:
                conn.close()
        self.idle.clear()


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = weakref.WeakKeyDictionary()


class HTTPResponse:
    """A response whose head was read; :meth:`read` returns its body as it arrives.

    Attributes:
        status: The HTTP status code.
        headers: Header names lower-cased; repeated headers joined with ``", "``.
        done: The whole body was read.
    """

    def __init__(
        self,
        conn: _Connection,
        status: int,
        headers: dict[str, str],
        keep_alive: bool,
        pool: weakref.ref[_Pool],
        key: tuple[str, str, int, int],
        read_timeout: float | None,
        max_idle: int,
    ) -> None:
        self.status = status
        self.headers = headers
        self.done = False
        self._conn = conn
        self._keep_alive = keep_alive
        self._pool = pool  # weak: the pool belongs to the loop, not to responses
        self._key = key
        self._timeout = read_timeout
        self._max_idle = max_idle
        self._chunked: ChunkedDecoder | None = None
        self._left: int | None = None  # bytes of a Content-Length body still to come
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._chunked = ChunkedDecoder()
        elif "content-length" in headers:
            try:
                self._left = int(headers["content-length"])
            except ValueError:
                raise HTTPException("invalid Content-Length") from None
            if self._left < 0:
                raise HTTPException("invalid Content-Length")
            if not self._left:
                self._finish()
        else:
            self._keep_alive = False  # the body runs to the end of the connection

    async def read(self) -> bytes:
        """The next body bytes, framing removed; ``b""`` once the body is complete.

        Raises:
            TimeoutError: No data within the read timeout.
            OSError: The connection broke (``ConnectionError`` for an early close).
            HTTPException: The body's framing is invalid.
        """
        while not self.done:
            data = await self._conn.receive(self._timeout)
            if not data:
                if self._chunked is None and self._left is None:
                    self._finish()  # read-until-close bodies end like this
                    return b""
                raise ConnectionError("the connection closed before the response ended")
            if self._chunked is not None:
                body = self._chunked.feed(data)
                if self._chunked.done:
                    if self._chunked.overrun:
                        self._keep_alive = False  # bytes after the body: do not trust it
                    self._finish()
            elif self._left is not None:
                body = data[: self._left]
                self._left -= len(body)
                if len(data) > len(body):
                    self._keep_alive = False  # bytes after the body: do not trust it
                if not self._left:
                    self._finish()
            else:
                body = data
            if body:
                return body
        return b""

    async def read_all(self, limit: int = 1 << 20) -> bytes:
        """The rest of the body (an error document), at most ``limit`` bytes."""
        parts: list[bytes] = []
        size = 0
        while data := await self.read():
            size += len(data)
            if size > limit:
                self.close()
                raise HTTPException(f"the response body is larger than {limit} bytes")
            parts.append(data)
        return b"".join(parts)

    def close(self) -> None:
        """Stop reading: a finished response's connection is reused, others closed."""
        if not self.done:
            self.done = True
            self._conn.close()

    def _finish(self) -> None:
        self.done = True
        pool = self._pool()
        if self._keep_alive and pool is not None:
            pool.give_back(self._key, self._conn, self._max_idle)
        else:
            self._conn.close()


async def request(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str | bytes]],
    body: bytes,
    *,
    ssl_context: ssl.SSLContext | None,
    connect_timeout: float | None,
    read_timeout: float | None,
    max_idle: int = 10,
    socket_options: Iterable[tuple[int, int, int]] = (),
) -> HTTPResponse:
    """Send one request; return once the response head has arrived.

    Args:
        method: ``POST`` for SageMaker Runtime.
        url: Absolute ``http`` or ``https`` URL.
        headers: Request headers, already signed; ``Host`` and ``Content-Length``
            are added when missing.
        body: The request body.
        ssl_context: For ``https`` URLs.
        connect_timeout: Seconds to connect (and finish the TLS handshake).
        read_timeout: Seconds to wait for each read.
        max_idle: Idle connections kept per host for reuse.
        socket_options: ``setsockopt`` arguments for new connections.

    Raises:
        TimeoutError: Connecting or reading took too long.
        OSError: The connection failed.
        HTTPException: The response is not HTTP/1.x.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or _DEFAULT_PORTS.get(scheme, 80)
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    context = ssl_context if scheme == "https" else None
    key = (scheme, host, port, id(context))
    head = _request_head(method, parts, headers, body)
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = _Pool()
    conn = pool.take(key)
    if conn is not None:
        try:
            return await _exchange(conn, head, body, key, pool, read_timeout, max_idle)
        except _NoResponseError:
            # The server closed this idle connection as we reused it; the request
            # never reached it, so sending it again on a new one is safe.
            conn.close()
        except BaseException:
            conn.close()
            raise
    conn = await _connect(host, port, context, connect_timeout, socket_options)
    try:
        return await _exchange(conn, head, body, key, pool, read_timeout, max_idle)
    except _NoResponseError as exc:
        conn.close()
        raise ConnectionError("the server closed the connection without answering") from exc
    except BaseException:
        conn.close()
        raise


class _NoResponseError(Exception):
    """The connection ended before a single byte of response arrived."""


def _request_head(
    method: str, url: SplitResult, headers: Iterable[tuple[str, str | bytes]], body: bytes
) -> bytes:
    target = url.path or "/"
    if url.query:
        target = f"{target}?{url.query}"
    lines = [f"{method} {target} HTTP/1.1".encode("latin-1")]
    names = set()
    for name, value in headers:
        # botocore gives some values as bytes, and they go on the wire as they are.
        raw = value if isinstance(value, bytes) else str(value).encode("latin-1")
        if "\r" in name or "\n" in name or b"\r" in raw or b"\n" in raw:
            raise ValueError(f"invalid header {name!r}")  # no header injection
        names.add(name.lower())
        lines.append(name.encode("latin-1") + b": " + raw)
    if "host" not in names:
        lines.append(b"Host: " + _host_header(url).encode("idna"))
    if "content-length" not in names and "transfer-encoding" not in names:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _host_header(url: SplitResult) -> str:
    """What botocore signs when a request has no Host header: no default port."""
    host = url.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    if url.port is not None and url.port != _DEFAULT_PORTS.get(url.scheme.lower()):
        host = f"{host}:{url.port}"
    return host


async def _connect(
    host: str,
    port: int,
    context: ssl.SSLContext | None,
    timeout: float | None,
    socket_options: Iterable[tuple[int, int, int]],
) -> _Connection:
    loop = asyncio.get_running_loop()
    connect = loop.create_connection(
        _Connection, host, port, ssl=context, server_hostname=host if context else None
    )
    try:
        _, conn = await asyncio.wait_for(connect, timeout)
    except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
        raise TimeoutError(f"connecting to {host}:{port} timed out") from None
    sock = conn.transport.get_extra_info("socket") if conn.transport is not None else None
    if sock is not None:
        for level, option, value in socket_options:
            # An option this platform lacks costs the option, not the request.
            with contextlib.suppress(OSError):
                sock.setsockopt(level, option, value)
    return conn


async def _exchange(
    conn: _Connection,
    head: bytes,
    body: bytes,
    key: tuple[str, str, int, int],
    pool: _Pool,
    read_timeout: float | None,
    max_idle: int,
) -> HTTPResponse:
    if conn.transport is None:
        raise ConnectionError("not connected")
    conn.transport.writelines((head, body))  # one send when the socket takes it all
    while True:
        status, headers, keep_alive = await _read_head(conn, read_timeout)
        if status >= 200:
            break  # 1xx answers (100 Continue) come before the real one
    return HTTPResponse(
        conn, status, headers, keep_alive, weakref.ref(pool), key, read_timeout, max_idle
    )


async def _read_head(conn: _Connection, timeout: float | None) -> tuple[int, dict[str, str], bool]:
    buffer = b""
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end != -1:
            break
        if len(buffer) > _MAX_HEAD:
            raise HTTPException("the response head is too long")
        try:
            data = await conn.receive(timeout)
        except OSError as exc:
            if buffer or isinstance(exc, TimeoutError):
                raise
            raise _NoResponseError from exc  # reset before answering: the request was not read
        if not data:
            if buffer:
                raise ConnectionError("the connection closed inside the response head")
            raise _NoResponseError
        buffer += data
    if end > _MAX_HEAD:
        raise HTTPException("the response head is too long")
    conn.unread(buffer[end + 4 :])
    lines = buffer[:end].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest.partition(" ")[0]
    if not version.startswith("HTTP/1.") or not code.isdigit() or len(code) != 3:
        raise HTTPException(f"not an HTTP/1.x response: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise HTTPException(f"invalid response header line {line[:80]!r}")
        name = name.strip().lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    connection = headers.get("connection", "").lower()
    keep_alive = version != "HTTP/1.0" and "close" not in connection
    return int(code), headers, keep_alive
