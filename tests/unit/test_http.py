"""The asyncio HTTP/1.1 client in ``_http``, against scripted loopback servers.

Covered: response heads and chunked bodies cut at every byte; Content-Length and
read-until-close bodies; ``100 Continue``; the request as it reaches the server
(request line, added ``Host`` and ``Content-Length``, raw bytes values, no header
injection); connection reuse and when it must not happen; stale pooled
connections retried on a new one; early closes, resets, malformed and oversized
heads; read timeouts; ``close()`` of an unfinished response; idle connections
closed when ``asyncio.run()`` shuts its loop down; a large body read slowly (flow
control).

Each server reads a request head and its Content-Length body, records them, and
answers with the next scripted reply, written in the given pieces with the event
loop given a few turns between them, so the client receives each piece on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http.client import HTTPException

import pytest

from langchain_jumpstart_stream._http import HTTPResponse, request

PROMPTLY = 2.0  # generous bound for events that take microseconds on loopback

CHUNKED_RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/vnd.amazon.eventstream\r\n"
    b"X-Amzn-RequestId: req-1\r\n"
    b"x-multi: a\r\n"
    b"X-Multi: b\r\n"
    b"X-Padded:   spaced value  \r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"\r\n"
    b"5\r\nhello\r\n"
    b"1;ext=1\r\n \r\n"
    b"6\r\nw\xc3\xb6rld\r\n"
    b"0\r\nX-Trailer: 1\r\n\r\n"
)
CHUNKED_BODY = "hello wörld".encode()
CHUNKED_HEADERS = {
    "content-type": "application/vnd.amazon.eventstream",
    "x-amzn-requestid": "req-1",
    "x-multi": "a, b",
    "x-padded": "spaced value",
    "transfer-encoding": "chunked",
}


def ok(body: bytes = b"ok", *extra: bytes) -> bytes:
    """A keep-alive 200 with a Content-Length body."""
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(h + b"\r\n" for h in extra)
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def chunked(payload: bytes, sizes: Sequence[int]) -> bytes:
    """``payload`` in chunks of the given sizes (cycled), then the last chunk."""
    out = []
    pos = 0
    i = 0
    while pos < len(payload):
        piece = payload[pos : pos + sizes[i % len(sizes)]]
        out.append(b"%x\r\n%s\r\n" % (len(piece), piece))
        pos += len(piece)
        i += 1
    return b"".join(out) + b"0\r\n\r\n"


async def turns() -> None:
    """Let the loop run a few times, so the client handles what was just written."""
    for _ in range(3):
        await asyncio.sleep(0)


# -- the scripted server ------------------------------------------------------------


@dataclass
class Reply:
    """What the server writes for one request, and what it does afterwards.

    ``then``: ``"keep"`` waits for the next request on the connection, ``"close"``
    closes it (FIN), ``"reset"`` aborts it with a RST.
    """

    pieces: Sequence[bytes] = ()
    then: str = "keep"


@dataclass
class Received:
    conn: int  # index of the accepted connection it came on
    head: bytes
    body: bytes

    @property
    def lines(self) -> list[bytes]:
        return self.head[:-4].split(b"\r\n")

    def header(self, name: bytes) -> list[bytes]:
        found = []
        for line in self.lines[1:]:
            key, _, value = line.partition(b": ")
            if key.lower() == name.lower():
                found.append(value)
        return found


@dataclass
class ConnState:
    index: int
    client_gone: asyncio.Event = field(default_factory=asyncio.Event)  # EOF or reset seen
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # the server side is closed


class Server:
    def __init__(self, replies: Sequence[Reply]) -> None:
        self.replies = deque(replies)
        self.requests: list[Received] = []
        self.conns: list[ConnState] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def accepts(self) -> int:
        return len(self.conns)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/path?q=1"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        await self._server.wait_closed()
        await turns()  # let clients see the close of connections they still hold

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state = ConnState(len(self.conns))
        self.conns.append(state)
        self._writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer, state)
        except (ConnectionError, asyncio.IncompleteReadError):
            state.client_gone.set()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            state.ended.set()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: ConnState
    ) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            self.requests.append(Received(state.index, head, body))
            if not self.replies:
                return  # unscripted: the client sees the connection close
            reply = self.replies.popleft()
            for piece in reply.pieces:
                writer.write(piece)
                await writer.drain()
                await turns()
            if reply.then == "close":
                return
            if reply.then == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return


Serve = Callable[..., Awaitable[Server]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[Server] = []

    async def start(*replies: Reply) -> Server:
        server = Server(replies)
        servers.append(server)
        await server.start()
        return server

    yield start
    for server in servers:
        await server.aclose()


async def send(
    server: Server,
    body: bytes = b"",
    headers: Sequence[tuple[str, str | bytes]] = (),
    read_timeout: float | None = 5.0,
) -> HTTPResponse:
    return await request(
        "POST",
        server.url,
        headers,
        body,
        ssl_context=None,
        connect_timeout=5.0,
        read_timeout=read_timeout,
    )


async def gone(server: Server, conn: int, within: float = PROMPTLY) -> None:
    """Wait until the server saw the client close connection ``conn``."""
    await asyncio.wait_for(server.conns[conn].client_gone.wait(), within)


async def read_pieces(response: HTTPResponse) -> list[bytes]:
    pieces = []
    while data := await response.read():
        pieces.append(data)
    return pieces


# -- framing -------------------------------------------------------------------------


@pytest.mark.parametrize("cut", range(1, len(CHUNKED_RESPONSE)))
async def test_chunked_response_cut_at_every_byte(serve: Serve, cut: int) -> None:
    server = await serve(Reply([CHUNKED_RESPONSE[:cut], CHUNKED_RESPONSE[cut:]]))
    response = await send(server)
    assert response.status == 200
    assert response.headers == CHUNKED_HEADERS
    pieces = await read_pieces(response)
    assert b"".join(pieces) == CHUNKED_BODY
    assert all(pieces)
    assert response.done
    assert await response.read() == b""


async def test_chunked_response_one_byte_at_a_time(serve: Serve) -> None:
    pieces = [CHUNKED_RESPONSE[i : i + 1] for i in range(len(CHUNKED_RESPONSE))]
    server = await serve(Reply(pieces))
    response = await send(server)
    assert (response.status, response.headers) == (200, CHUNKED_HEADERS)
    assert b"".join(await read_pieces(response)) == CHUNKED_BODY
    assert response.done


@pytest.mark.parametrize(
    "pieces",
    [
        [ok(b"hello world")],
        [b"HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\nhel", b"lo", b" world"],
        [b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", b"hello world"],
    ],
)
async def test_content_length_body(serve: Serve, pieces: list[bytes]) -> None:
    server = await serve(Reply(pieces))
    response = await send(server)
    assert response.headers["content-length"] == "11"
    assert await response.read_all() == b"hello world"
    assert response.done
    assert await response.read() == b""


async def test_empty_content_length_body_is_done_at_once(serve: Serve) -> None:
    server = await serve(Reply([b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"]))
    response = await send(server)
    assert response.status == 204
    assert response.done
    assert await response.read() == b""


@pytest.mark.parametrize("version", [b"HTTP/1.1", b"HTTP/1.0"])
async def test_body_read_until_the_connection_closes(serve: Serve, version: bytes) -> None:
    head = version + b" 200 OK\r\nContent-Type: text/plain\r\n\r\n"
    server = await serve(Reply([head, b"first ", b"second"], then="close"))
    response = await send(server)
    assert response.status == 200
    assert await response.read_all() == b"first second"
    assert response.done


@pytest.mark.parametrize(
    "pieces",
    [
        [b"HTTP/1.1 100 Continue\r\n\r\n", ok(b"real")],
        [b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"real")],
        [b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 2", ok(b"real")[10:]],
    ],
)
async def test_interim_100_continue_is_skipped(serve: Serve, pieces: list[bytes]) -> None:
    server = await serve(Reply(pieces))
    response = await send(server)
    assert response.status == 200
    assert "x-interim" not in response.headers
    assert await response.read_all() == b"real"


async def test_read_all_over_the_limit_closes_the_connection(serve: Serve) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
    server = await serve(Reply([head + b"x" * 20, b"x" * 80]))
    response = await send(server)
    with pytest.raises(HTTPException, match="larger than"):
        await response.read_all(limit=10)
    await gone(server, 0)


# -- the request on the wire ---------------------------------------------------------


@pytest.mark.parametrize("size", [0, 7, 200_000])
async def test_request_as_the_server_receives_it(serve: Serve, size: int) -> None:
    server = await serve(Reply([ok()]))
    body = bytes(i % 251 for i in range(size))
    headers: list[tuple[str, str | bytes]] = [
        ("X-Amz-Date", b"20240101T000000Z"),
        ("X-Raw", b"v\xe9\xff"),
        ("X-Text", "caf\xe9"),
        ("Content-Type", "application/json"),
    ]
    response = await send(server, body, headers)
    assert await response.read_all() == b"ok"
    [got] = server.requests
    assert got.lines[0] == b"POST /path?q=1 HTTP/1.1"
    assert got.header(b"x-amz-date") == [b"20240101T000000Z"]
    assert got.header(b"x-raw") == [b"v\xe9\xff"]
    assert got.header(b"x-text") == [b"caf\xe9"]
    assert got.header(b"host") == [b"127.0.0.1:%d" % server.port]
    assert got.header(b"content-length") == [b"%d" % size]
    assert got.body == body


async def test_given_host_and_content_length_are_not_added_again(serve: Serve) -> None:
    server = await serve(Reply([ok()]))
    headers = [("host", "example.test"), ("content-length", "3")]
    response = await send(server, b"abc", headers)
    await response.read_all()
    [got] = server.requests
    assert got.header(b"host") == [b"example.test"]
    assert got.header(b"content-length") == [b"3"]
    assert got.body == b"abc"


async def test_request_to_the_root_has_target_slash(serve: Serve) -> None:
    server = await serve(Reply([ok()]))
    response = await request(
        "POST",
        f"http://127.0.0.1:{server.port}",
        [],
        b"",
        ssl_context=None,
        connect_timeout=5.0,
        read_timeout=5.0,
    )
    await response.read_all()
    assert server.requests[0].lines[0] == b"POST / HTTP/1.1"


@pytest.mark.parametrize(
    "header",
    [
        ("X-Evil", "a\r\nX-Injected: 1"),
        ("X-Evil", "a\nX-Injected: 1"),
        ("X-Evil", "a\rb"),
        ("X-Evil", b"a\r\nX-Injected: 1"),
        ("X-Evil\r\nX-Injected", "1"),
    ],
)
async def test_header_injection_is_refused_before_sending(
    serve: Serve, header: tuple[str, str | bytes]
) -> None:
    server = await serve(Reply([ok()]))
    with pytest.raises(ValueError, match="invalid header"):
        await send(server, b"", [("X-Fine", "1"), header])
    await turns()
    assert server.accepts == 0
    assert server.requests == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "http:///nohost", "/relative"])
async def test_non_http_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        await request("POST", url, [], b"", ssl_context=None, connect_timeout=1.0, read_timeout=1.0)


# -- connection reuse ----------------------------------------------------------------


async def test_sequential_requests_share_one_connection(serve: Serve) -> None:
    server = await serve(Reply([ok(b"one")]), Reply([CHUNKED_RESPONSE]), Reply([ok(b"three")]))
    assert await (await send(server)).read_all() == b"one"
    assert await (await send(server)).read_all() == CHUNKED_BODY
    assert await (await send(server)).read_all() == b"three"
    assert server.accepts == 1
    assert [r.conn for r in server.requests] == [0, 0, 0]


@pytest.mark.parametrize(
    "first",
    [
        Reply([ok(b"one", b"Connection: close")]),
        Reply([ok(b"one", b"Connection: Keep-Alive, Close")]),
        Reply([b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\none"]),
        Reply([b"HTTP/1.1 200 OK\r\n\r\none"], then="close"),
        Reply([ok(b"one") + b"EXTRA"]),
        Reply([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n0\r\n\r\nEXTRA"]),
    ],
    ids=[
        "connection-close",
        "connection-close-listed",
        "http-1.0",
        "until-close",
        "extra-bytes",
        "extra-bytes-chunked",
    ],
)
async def test_connection_not_reused_when_the_response_says_so(serve: Serve, first: Reply) -> None:
    server = await serve(first, Reply([ok(b"two")]))
    assert await (await send(server)).read_all() == b"one"
    assert await (await send(server)).read_all() == b"two"
    assert server.accepts == 2
    assert [r.conn for r in server.requests] == [0, 1]
    if first.then == "keep":
        await gone(server, 0)  # the client closed it


async def test_connection_busy_with_an_unread_response_is_not_shared(serve: Serve) -> None:
    server = await serve(Reply([ok(b"one")]), Reply([ok(b"two")]))
    first = await send(server)
    second = await send(server)
    assert await second.read_all() == b"two"
    assert await first.read_all() == b"one"
    assert server.accepts == 2


async def test_idle_connection_closed_by_the_server_is_replaced(serve: Serve) -> None:
    server = await serve(Reply([ok(b"one")], then="close"), Reply([ok(b"two")]))
    assert await (await send(server)).read_all() == b"one"
    await asyncio.wait_for(server.conns[0].ended.wait(), PROMPTLY)
    await turns()
    assert await (await send(server)).read_all() == b"two"
    assert server.accepts == 2
    assert [r.conn for r in server.requests] == [0, 1]


@pytest.mark.parametrize("then", ["close", "reset"])
async def test_reused_connection_dropped_without_answer_is_retried(serve: Serve, then: str) -> None:
    # The race the retry is for: the server drops the idle connection just as the
    # next request arrives on it, without answering.
    server = await serve(Reply([ok(b"one")]), Reply(then=then), Reply([ok(b"two")]))
    assert await (await send(server)).read_all() == b"one"
    assert await (await send(server)).read_all() == b"two"
    assert server.accepts == 2
    assert [r.conn for r in server.requests] == [0, 0, 1]


@pytest.mark.parametrize(
    ("second", "error"),
    [
        (Reply([b"BOGUS\r\n\r\n"]), HTTPException),
        (Reply([b"HTTP/1.1 200 OK\r\nX-Partial"]), TimeoutError),
    ],
    ids=["bad-status", "timeout"],
)
async def test_error_on_a_reused_connection_closes_it(
    serve: Serve, second: Reply, error: type[Exception]
) -> None:
    server = await serve(Reply([ok(b"one")]), second)
    assert await (await send(server)).read_all() == b"one"
    with pytest.raises(error):
        await send(server, read_timeout=0.2)
    assert [r.conn for r in server.requests] == [0, 0]
    await gone(server, 0, within=0.5)  # short: this is the wait that fails today


# -- failures ------------------------------------------------------------------------


@pytest.mark.parametrize("then", ["close", "reset"])
async def test_fresh_connection_closed_without_answer(serve: Serve, then: str) -> None:
    server = await serve(Reply(then=then))
    with pytest.raises(ConnectionError):
        await send(server)
    assert server.accepts == 1  # a new connection is not retried


async def test_connection_closed_inside_the_head(serve: Serve) -> None:
    server = await serve(Reply([b"HTTP/1.1 200 OK\r\nContent-Le"], then="close"))
    with pytest.raises(ConnectionError, match="inside the response head"):
        await send(server)


@pytest.mark.parametrize(
    "pieces",
    [
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"],
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"],
        [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"],
    ],
    ids=["chunked-mid-data", "chunked-no-last-chunk", "content-length"],
)
@pytest.mark.parametrize("then", ["close", "reset"])
async def test_connection_lost_inside_the_body(
    serve: Serve, pieces: list[bytes], then: str
) -> None:
    server = await serve(Reply(pieces, then=then))
    response = await send(server)
    assert response.status == 200
    with pytest.raises(ConnectionError):
        await read_pieces(response)


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1\r\n\r\n",
        b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    ],
)
async def test_invalid_head_is_an_http_error(serve: Serve, head: bytes) -> None:
    server = await serve(Reply([head]))
    with pytest.raises(HTTPException):
        await send(server)
    await gone(server, 0)


async def test_invalid_chunked_framing_is_an_http_error(serve: Serve) -> None:
    server = await serve(Reply([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"]))
    response = await send(server)
    with pytest.raises(HTTPException):
        await response.read()
    response.close()
    await gone(server, 0)


async def test_unterminated_head_over_64_kib_is_an_http_error(serve: Serve) -> None:
    big = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000
    server = await serve(Reply([big[:30_000], big[30_000:]]))
    with pytest.raises(HTTPException, match="too long"):
        await send(server)
    await gone(server, 0)


async def test_complete_head_over_64_kib_is_an_http_error(serve: Serve) -> None:
    server = await serve(Reply([ok(b"ok", b"X-Big: " + b"a" * 70_000)]))
    with pytest.raises(HTTPException, match="too long"):
        response = await send(server)
        response.close()


async def test_read_timeout_when_the_body_stalls(serve: Serve) -> None:
    server = await serve(Reply([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]))
    response = await send(server, read_timeout=0.2)
    assert response.status == 200
    with pytest.raises(TimeoutError):
        await response.read()
    assert not response.done
    response.close()
    await gone(server, 0)


async def test_read_timeout_when_the_head_never_comes(serve: Serve) -> None:
    server = await serve(Reply())
    with pytest.raises(TimeoutError):
        await send(server, read_timeout=0.2)
    await gone(server, 0)


# -- closing -------------------------------------------------------------------------


async def test_close_of_an_unfinished_response_drops_the_connection(serve: Serve) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    server = await serve(Reply([head, b"5\r\nhello\r\n"]), Reply([ok(b"next")]))
    response = await send(server)
    assert await response.read() == b"hello"
    response.close()
    assert response.done
    assert await response.read() == b""
    await gone(server, 0)
    assert await (await send(server)).read_all() == b"next"
    assert server.accepts == 2


async def test_close_of_a_finished_response_keeps_the_connection(serve: Serve) -> None:
    server = await serve(Reply([ok(b"one")]), Reply([ok(b"two")]))
    response = await send(server)
    assert await response.read_all() == b"one"
    response.close()
    assert await (await send(server)).read_all() == b"two"
    assert server.accepts == 1


def test_idle_connection_closed_when_asyncio_run_returns() -> None:
    # A plain thread server: it must outlive the event loop that asyncio.run closes.
    after: list[bytes | OSError] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(5)
        port = listener.getsockname()[1]

        def serve_one() -> None:
            try:
                conn, _ = listener.accept()
            except OSError as exc:
                after.append(exc)
                return
            with conn:
                conn.settimeout(PROMPTLY)
                try:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(65536)
                    conn.sendall(ok(b"pooled"))
                    after.append(conn.recv(1))  # b"" once the client closed
                except OSError as exc:  # a reset also counts as closed; a timeout does not
                    after.append(exc)

        thread = threading.Thread(target=serve_one)
        thread.start()

        async def one_request() -> bytes:
            response = await request(
                "POST",
                f"http://127.0.0.1:{port}/",
                [],
                b"",
                ssl_context=None,
                connect_timeout=5.0,
                read_timeout=5.0,
            )
            return await response.read_all()

        try:
            assert asyncio.run(one_request()) == b"pooled"
        finally:
            thread.join(10)
    assert len(after) == 1
    outcome = after[0]
    assert outcome == b"" or isinstance(outcome, ConnectionResetError), outcome


# -- flow control --------------------------------------------------------------------


async def test_large_body_read_slowly_arrives_whole(serve: Serve) -> None:
    payload = (bytes(range(256)) * ((3 << 20) // 256 + 1))[: 3 << 20]
    response_bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(
        payload, [1, 4096, 300_000, 17, 65_536, 1 << 20]
    )
    server = await serve(Reply([response_bytes]), Reply([ok(b"after")]))
    response = await send(server)
    received = bytearray()

    async def read_slowly() -> None:
        while data := await response.read():
            received.extend(data)
            await asyncio.sleep(0.005)

    await asyncio.wait_for(read_slowly(), 30)
    assert len(received) == len(payload)
    assert received == payload
    assert response.done
    # The connection is still in order afterwards.
    assert await (await send(server)).read_all() == b"after"
    assert server.accepts == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://example.test/x",
        "http://example.test:80/x",
        "https://example.test:443/x",
        "https://example.test:8443/x",
        "http://[::1]:8080/x",
        "https://[::1]/x",
        "http://user:pw@Example.TEST:81/x",
    ],
)
def test_added_host_is_what_botocore_signs(url: str) -> None:
    from urllib.parse import urlsplit

    from botocore.auth import _host_from_url

    from langchain_jumpstart_stream._http import _host_header

    assert _host_header(urlsplit(url)) == _host_from_url(url)
