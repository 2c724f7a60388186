"""The transport against hostile servers and processes: every finding of the transport issue.

Real boto3 signs; the package's HTTP clients (urllib3 sync, aiohttp async) talk to
scripted loopback servers that misbehave on purpose. Each case runs sync and async
where both apply, and checks the error class, that nothing is passed off as a
whole answer, and how many requests the server saw.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import os
import socket
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from langchain_jumpstart_stream import JumpStartLLM, errors
from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig

from ._scripted import (
    FINAL,
    STREAM_HEAD,
    TOKEN,
    Server,
    chunk,
    reset,
    scripted,
    stream_body,
)

QUESTION = "How do I build a website?"
MODES = ["sync", "async"]


def _llm(url: str, **kwargs: Any) -> JumpStartLLM:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("retry_base_delay", 0.01)
    kwargs.setdefault("read_timeout", 5)
    kwargs.setdefault("connect_timeout", 5)
    return JumpStartLLM(
        endpoint_name="hostile", endpoint_url=url, region_name="us-east-1", **kwargs
    )


def _stream(mode: str, model: JumpStartLLM, got: list[str] | None = None) -> str:
    """Stream an answer sync or async; tokens go to ``got`` as they arrive."""
    got = [] if got is None else got

    async def astream() -> None:
        async for token in model.astream(QUESTION):
            got.append(token)

    if mode == "sync":
        for token in model.stream(QUESTION):
            got.append(token)
    else:
        asyncio.run(astream())
    return "".join(got)


def _invoke(mode: str, model: JumpStartLLM) -> str:
    if mode == "sync":
        return model.invoke(QUESTION)
    return asyncio.run(model.ainvoke(QUESTION))


# -- answers cut short are never whole ----------------------------------------------


def _short_content_length(conn: socket.socket, server: Server) -> None:
    if server.read_request(conn) is None:
        return
    from langchain_jumpstart_stream.emulator._frames import payload_part

    body = payload_part(TOKEN) + payload_part(FINAL)
    conn.sendall(STREAM_HEAD + b"Content-Length: %d\r\n\r\n" % (len(body) + 40) + body)


@pytest.mark.parametrize("mode", MODES)
def test_a_body_shorter_than_its_content_length_is_an_error(mode: str) -> None:
    got: list[str] = []
    with (
        scripted(_short_content_length) as server,
        pytest.raises(errors.StreamInterruptedError) as info,
    ):
        _stream(mode, _llm(server.url), got)
    assert "".join(got) == "Hello"  # delivered, but never as a whole answer
    assert info.value.partial_text == "Hello"


def _cut_in_head(conn: socket.socket, server: Server) -> None:
    if server.read_request(conn) is not None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Ty")


@pytest.mark.parametrize("mode", MODES)
def test_a_connection_closed_inside_the_head_is_an_error(mode: str) -> None:
    with scripted(_cut_in_head) as server:
        # http.client takes the end of the connection for the end of the head; then
        # the empty body has no final record. Either way: an error, never an answer.
        with pytest.raises((errors.EndpointConnectionError, errors.StreamInterruptedError)):
            _stream(mode, _llm(server.url, max_retries=1))
        assert server.requests == 2  # nothing was delivered: retried once, as asked


def _chunked_without_end(conn: socket.socket, server: Server) -> None:
    if server.read_request(conn) is None:
        return
    from langchain_jumpstart_stream.emulator._frames import payload_part

    conn.sendall(STREAM_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunk(payload_part(TOKEN)))


@pytest.mark.parametrize("mode", MODES)
def test_a_chunked_body_cut_between_chunks_is_an_error(mode: str) -> None:
    with (
        scripted(_chunked_without_end) as server,
        pytest.raises(errors.StreamInterruptedError) as info,
    ):
        _stream(mode, _llm(server.url))
    assert info.value.partial_text == "Hello"


def _empty_answer(final: bool) -> Callable[[socket.socket, Server], None]:
    def script(conn: socket.socket, server: Server) -> None:
        while server.read_request(conn) is not None:
            parts = [
                b'data:{"token":{"id":2,"text":"</s>","special":true},"generated_text":""}\n\n'
            ]
            body = stream_body(*parts) if final else b"0\r\n\r\n"
            conn.sendall(STREAM_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body)

    return script


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_answer_is_valid_only_with_a_final_record(mode: str) -> None:
    with scripted(_empty_answer(final=True)) as server:
        assert _stream(mode, _llm(server.url)) == ""
    with (
        scripted(_empty_answer(final=False)) as server,
        pytest.raises(errors.StreamInterruptedError, match="final record"),
    ):
        _stream(mode, _llm(server.url))


# -- nothing is sent twice behind the policy's back ----------------------------------


def _reset_on_second_request(conn: socket.socket, server: Server) -> None:
    """Answer the first request; reset the connection after reading the second."""
    if server.read_request(conn) is None:
        return
    conn.sendall(STREAM_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + stream_body(TOKEN, FINAL))
    if server.read_request(conn) is None:
        return
    reset(conn)


@pytest.mark.parametrize("mode", MODES)
def test_a_post_on_a_reset_connection_is_not_sent_again(mode: str) -> None:
    with scripted(_reset_on_second_request) as server:
        model = _llm(server.url, max_retries=0)
        if mode == "sync":
            assert _stream(mode, model) == "Hello"
            with pytest.raises(errors.JumpStartStreamError):
                _stream(mode, model)
        else:

            async def twice() -> None:
                assert "".join([t async for t in model.astream(QUESTION)]) == "Hello"
                with pytest.raises(errors.JumpStartStreamError):
                    async for _ in model.astream(QUESTION):
                        pass

            asyncio.run(twice())
        time.sleep(0.2)
        assert server.requests == 2  # the first answer, and the reset one: never a third


# -- deadlines -----------------------------------------------------------------------


def _dribble(conn: socket.socket, server: Server) -> None:
    """One byte of an endless stream every 0.2 s: never idle past the read timeout."""
    if server.read_request(conn) is None:
        return
    from langchain_jumpstart_stream.emulator._frames import payload_part

    conn.sendall(STREAM_HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
    frame = payload_part(TOKEN)
    deadline = time.monotonic() + 30
    while not server.stop.is_set() and time.monotonic() < deadline:
        for byte in frame:
            conn.sendall(chunk(bytes([byte])))
            time.sleep(0.2)


@pytest.mark.parametrize("mode", MODES)
def test_a_dribbling_server_ends_at_the_call_deadline(mode: str) -> None:
    with scripted(_dribble) as server:
        start = time.monotonic()
        with pytest.raises(errors.StreamTimeoutError, match=r"timeout of 1\.5 s"):
            _stream(mode, _llm(server.url, read_timeout=2, timeout=1.5))
        waited = time.monotonic() - start
    assert 1.4 <= waited < 4, waited


# -- what libraries own: DNS, encodings, odd heads -----------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_host_name_with_several_addresses_finds_the_one_that_listens(mode: str) -> None:
    """``localhost`` may resolve to ::1 first; the server listens on 127.0.0.1 only."""
    with scripted(_empty_answer(final=True)) as server:
        port = server.sock.getsockname()[1]
        assert _stream(mode, _llm(f"http://localhost:{port}")) == ""


def _whole(head: bytes, body: bytes) -> Callable[[socket.socket, Server], None]:
    def script(conn: socket.socket, server: Server) -> None:
        if server.read_request(conn) is not None:
            conn.sendall(head + body)

    return script


ANSWER = b'[{"generated_text": "Hello there"}]'


@pytest.mark.parametrize("mode", MODES)
def test_a_gzip_encoded_whole_answer_is_decoded(mode: str) -> None:
    packed = gzip.compress(ANSWER)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    head += b"Content-Length: %d\r\n\r\n" % len(packed)
    with scripted(_whole(head, packed)) as server:
        assert _invoke(mode, _llm(server.url, streaming=False)) == "Hello there"


@pytest.mark.parametrize("mode", MODES)
def test_a_204_without_length_is_an_error_at_once(mode: str) -> None:
    with scripted(_whole(b"HTTP/1.1 204 No Content\r\n\r\n", b"")) as server:
        start = time.monotonic()
        with pytest.raises(errors.MalformedStreamError):
            _invoke(mode, _llm(server.url, streaming=False, read_timeout=10))
    assert time.monotonic() - start < 5  # no wait for a body that never comes


@pytest.mark.parametrize("mode", MODES)
def test_a_folded_header_never_becomes_a_header(mode: str) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"X-Amzn-Invoked-Production-Variant: a\r\n x-amzn-requestid: forged\r\n"
        b"Content-Length: %d\r\n\r\n" % len(ANSWER)
    )
    with scripted(_whole(head, ANSWER)) as server:
        model = _llm(server.url, streaming=False)
        if mode == "sync":
            result = model.generate([QUESTION])
        else:
            result = asyncio.run(model.agenerate([QUESTION]))
    # urllib3 and aiohttp both fold the continuation into the header before it.
    assert result.generations[0][0].text == "Hello there"
    info = result.generations[0][0].generation_info or {}
    assert info.get("request_id") != "forged"


@pytest.mark.parametrize("mode", MODES)
def test_a_head_with_bare_line_feeds_is_read(mode: str) -> None:
    head = b"HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: %d\n\n" % len(ANSWER)
    with scripted(_whole(head, ANSWER)) as server:
        assert _invoke(mode, _llm(server.url, streaming=False)) == "Hello there"


# -- nothing left open ----------------------------------------------------------------


def _stalled_error(conn: socket.socket, server: Server) -> None:
    """An error head, then a body that never comes."""
    if server.read_request(conn) is None:
        return
    conn.sendall(
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
        b'x-amzn-RequestId: e-1\r\nContent-Length: 100\r\n\r\n{"message":'
    )
    server.stop.wait(10)


@pytest.mark.parametrize("streaming", [True, False])
def test_a_timeout_inside_an_error_body_leaves_nothing_open(streaming: bool) -> None:
    with scripted(_stalled_error) as server:
        model = _llm(server.url, streaming=streaming, read_timeout=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            with pytest.raises(errors.EndpointRequestError):
                _invoke("async", model)
            gc.collect()


def test_a_cancelled_whole_answer_leaves_nothing_open() -> None:
    def slow(conn: socket.socket, server: Server) -> None:
        if server.read_request(conn) is not None:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n[{")
            server.stop.wait(10)

    with scripted(slow) as server:
        model = _llm(server.url, streaming=False)

        async def cancel() -> None:
            task = asyncio.create_task(model.ainvoke(QUESTION))
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            asyncio.run(cancel())
            gc.collect()


# -- credentials and headers -----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_session_token_with_a_newline_never_appears(
    mode: str, emulator: Emulator, endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "FwoGZXIvYXdzEXAMPLESESSIONTOKENabc123"
    monkeypatch.setenv("AWS_SESSION_TOKEN", secret + "\n")
    model = _llm(emulator.url)
    model.endpoint_name = endpoint(stream_format="tgi")
    with pytest.raises(errors.ConfigurationError) as info:
        _stream(mode, model)
    text = str(info.value) + repr(info.value) + str(info.value.__cause__ or "")
    assert secret not in text
    assert "X-Amz-Security-Token" in text and "line break" in text
    assert not [r for r in emulator.requests if r.endpoint == model.endpoint_name]


def _failing_credentials_client(url: str) -> Any:
    import boto3
    import botocore.session
    from botocore.credentials import CredentialProvider, DeferredRefreshableCredentials
    from botocore.exceptions import CredentialRetrievalError

    def fetch() -> Any:
        raise CredentialRetrievalError(provider="test-broken", error_msg="STS said no")

    class Broken(CredentialProvider):
        """Found at client creation, fetched (and failing) at the first signature."""

        METHOD = "test-broken"

        def load(self) -> Any:
            return DeferredRefreshableCredentials(refresh_using=fetch, method=self.METHOD)

    core = botocore.session.Session()
    core.get_component("credential_provider").insert_before("env", Broken())
    return boto3.Session(botocore_session=core, region_name="us-east-1").client(
        "sagemaker-runtime", endpoint_url=url
    )


@pytest.mark.parametrize("mode", MODES)
def test_a_credential_failure_is_a_configuration_error_and_not_retried(
    mode: str, emulator: Emulator, endpoint
) -> None:
    name = endpoint(stream_format="tgi")
    model = JumpStartLLM(
        endpoint_name=name, client=_failing_credentials_client(emulator.url), max_retries=3
    )
    with pytest.raises(errors.ConfigurationError, match="CredentialRetrievalError") as info:
        _stream(mode, model)
    assert "STS said no" in str(info.value)
    assert "attempts" not in str(info.value)
    assert not [r for r in emulator.requests if r.endpoint == name]


# -- TLS -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_certificate_for_another_host_is_refused_and_not_retried(mode: str) -> None:
    trustme = pytest.importorskip("trustme")
    import ssl

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("example.com").configure_cert(context)
    with (
        scripted(_empty_answer(final=True), tls=context) as server,
        ca.cert_pem.tempfile() as ca_file,
    ):
        with pytest.raises(errors.EndpointConnectionError) as info:
            _stream(mode, _llm(server.url, verify=ca_file, max_retries=2, retry_base_delay=2))
        assert not info.value.retryable
        assert "certificate" in str(info.value)
        assert server.requests == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_rotated_ca_bundle_is_honoured_by_new_models(mode: str, tmp_path: Any) -> None:
    trustme = pytest.importorskip("trustme")
    import ssl

    old, new = trustme.CA(), trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    old.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path / "bundle.pem"
    with scripted(_empty_answer(final=True), tls=context) as server:
        bundle.write_bytes(old.cert_pem.bytes())
        assert _stream(mode, _llm(server.url, verify=str(bundle))) == ""
        bundle.write_bytes(new.cert_pem.bytes())  # the old CA is removed
        with pytest.raises(errors.EndpointConnectionError, match="certificate"):
            _stream(mode, _llm(server.url, verify=str(bundle)))
        bundle.write_bytes(new.cert_pem.bytes() + old.cert_pem.bytes())  # and added back
        assert _stream(mode, _llm(server.url, verify=str(bundle))) == ""


# -- processes that fork ----------------------------------------------------------------

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _in_child(work: Callable[[], bool], timeout: float = 30) -> int:
    """Fork; run ``work`` in the child; return its exit code (99 when it hung)."""
    with warnings.catch_warnings():
        # Forking a process with threads is what these tests are about.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            code = 0 if work() else 2
        except BaseException:  # reported through the exit code
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return 99


@needs_fork
def test_a_fork_while_another_thread_sends_does_not_hang(emulator: Emulator, endpoint) -> None:
    import threading

    slow = endpoint(stream_format="tgi", tokens_per_second=40)
    fast = endpoint(stream_format="tgi")
    model = _llm(emulator.url)
    model.get_client()
    background = threading.Thread(
        target=lambda: JumpStartLLM(
            endpoint_name=slow, client=model.get_client(), max_retries=0
        ).invoke(QUESTION),
        daemon=True,
    )
    background.start()
    time.sleep(0.3)  # the thread is mid-stream, holding whatever it holds
    model.endpoint_name = fast
    assert _in_child(lambda: model.invoke(QUESTION) == model.invoke(QUESTION)) == 0
    background.join(30)


@needs_fork
def test_forked_children_never_share_the_parents_connections(emulator: Emulator) -> None:
    """Each child gets its own answer whole, though all fork with a pooled connection."""
    names = [f"fork-{i}" for i in range(6)]
    for name in names:
        emulator.add_endpoint(name, EndpointConfig(stream_format="tgi", tokens_per_second=300))
    model = _llm(emulator.url)
    budgets = [20 + 7 * i for i in range(len(names))]  # each child its own answer length
    expected = {}
    for name, budget in zip(names, budgets, strict=True):
        model.endpoint_name = name
        expected[name] = model.invoke(QUESTION, max_new_tokens=budget)
    assert len(set(expected.values())) == len(names)
    pids = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, on purpose
        for name, budget in zip(names, budgets, strict=True):
            pid = os.fork()
            if pid == 0:  # the child: never return into pytest
                ok = False
                try:
                    model.endpoint_name = name
                    ok = model.invoke(QUESTION, max_new_tokens=budget) == expected[name]
                finally:
                    os._exit(0 if ok else 3)
            pids.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    assert codes == [0] * len(names)
    model.endpoint_name = names[0]
    assert model.invoke(QUESTION, max_new_tokens=budgets[0]) == expected[names[0]]


@needs_fork
def test_an_async_child_after_fork_streams(emulator: Emulator, endpoint) -> None:
    """With a client passed in, async calls sign in a worker thread: fork after that."""
    model = JumpStartLLM(
        endpoint_name=endpoint(stream_format="tgi"), client=emulator.client(), max_retries=0
    )

    async def astream() -> str:
        return "".join([t async for t in model.astream(QUESTION)])

    first = asyncio.run(astream())
    assert first
    assert _in_child(lambda: asyncio.run(astream()) == first) == 0
