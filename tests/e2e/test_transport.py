"""botocore signs, urllib3 (sync) or aiohttp (async) sends: TLS, threads, stubs, retries.

Everything goes through real boto3 and the emulator (over HTTPS where it matters),
so the request botocore signed is the one the emulator checks and answers.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.credentials import CredentialProvider, RefreshableCredentials

from langchain_jumpstart_stream import JumpStartLLM, errors
from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER, Emulator, EndpointConfig

trustme = pytest.importorskip("trustme")

QUESTION = "How do I build a website?"


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_emulator(ca: Any) -> Iterator[Emulator]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with Emulator(
        endpoints={"tgi": EndpointConfig(stream_format="tgi", frame_bytes=7)},
        ssl_context=context,
    ) as emu:
        yield emu


@pytest.fixture(scope="module")
def ca_file(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _llm(emu: Emulator, *, verify: bool | str | None, **kwargs: Any) -> JumpStartLLM:
    # A boto3 client's own verify= is not visible through botocore's public API: the
    # model's field says how the package's HTTP clients verify.
    return JumpStartLLM(
        endpoint_name="tgi",
        client=emu.client(verify=verify),
        verify=verify,
        max_retries=0,
        **kwargs,
    )


async def _astream(llm: JumpStartLLM) -> list[str]:
    return [t async for t in llm.astream(QUESTION)]


def _stream_in(mode: str, llm: JumpStartLLM) -> list[str]:
    """Stream the answer with ``stream()`` (``mode="sync"``) or ``astream()``."""
    return list(llm.stream(QUESTION)) if mode == "sync" else asyncio.run(_astream(llm))


def test_streams_over_tls(tls_emulator: Emulator, ca_file: str) -> None:
    assert tls_emulator.url.startswith("https://")
    llm = _llm(tls_emulator, verify=ca_file)
    tokens = asyncio.run(_astream(llm))
    assert "".join(tokens) == WEBSITE_ANSWER
    assert len(tokens) > 20
    assert "".join(llm.stream(QUESTION)) == WEBSITE_ANSWER


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_untrusted_certificate_is_refused_at_once(tls_emulator: Emulator, mode: str) -> None:
    llm = JumpStartLLM(
        endpoint_name="tgi",
        client=tls_emulator.client(verify=True),  # the system CAs do not know our test CA
        max_retries=2,
        retry_base_delay=5.0,  # a retry would show as a long wait and in the message
    )
    with pytest.raises(errors.EndpointConnectionError) as info:
        _stream_in(mode, llm)
    text = str(info.value)
    assert "certificate" in text.lower() and "verify=" in text
    assert "attempts" not in text  # never retried: the same certificate fails again
    assert info.value.endpoint_name == "tgi"
    assert not info.value.retryable


def test_async_streams_start_no_threads(endpoint, llm) -> None:
    name = endpoint(stream_format="tgi", frame_bytes=5)
    model = llm(name)
    model.get_client()  # created beforehand: creating it is the one step done in a thread
    seen: set[threading.Thread] = set()

    async def run() -> list[str]:
        texts = await asyncio.gather(*(_collect(model, seen) for _ in range(8)))
        return list(texts)

    before = set(threading.enumerate())
    texts = asyncio.run(run())
    assert texts == [WEBSITE_ANSWER] * 8
    started = {t.name for t in seen - before if "process_request" not in t.name}  # emulator
    assert not started, started


async def _collect(model: JumpStartLLM, seen: set[threading.Thread]) -> str:
    out = []
    async for token in model.astream(QUESTION):
        seen.update(threading.enumerate())
        out.append(token)
    return "".join(out)


def test_a_fast_stream_lets_other_tasks_run(endpoint, llm) -> None:
    """Data that is already waiting is read 64 KiB at a time, with a yield between."""
    name = endpoint(stream_format="tgi", answer="word " * 8000)
    model = llm(name, model_kwargs={"max_new_tokens": 8000})
    model.get_client()

    async def run() -> tuple[int, int]:
        count = 0
        at_last_tick = 0
        longest = 0  # the most tokens delivered while the ticker could not run
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal at_last_tick
            while not done.is_set():
                at_last_tick = count
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        async for _ in model.astream(QUESTION):
            if not count:
                # A consumer that falls behind: the rest of the answer piles up unread.
                time.sleep(0.5)  # noqa: ASYNC251 - blocking on purpose
            count += 1
            longest = max(longest, count - at_last_tick)
        done.set()
        await task
        return count, longest

    count, longest = asyncio.run(run())
    assert count >= 8000
    # 64 KiB holds about 280 of these tokens; a reader that drained everything
    # received before yielding delivers over a thousand in one go (measured).
    assert longest <= 600, longest


def test_expiring_credentials_refresh_off_the_loop(emulator: Emulator, endpoint) -> None:
    name = endpoint(stream_format="tgi")
    refreshed_in: list[str] = []

    def refresh() -> dict[str, str]:
        refreshed_in.append(threading.current_thread().name)
        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        return {
            "access_key": "refreshed",
            "secret_key": "refreshed",  # a dummy, like every credential here
            "token": "refreshed",
            "expiry_time": expiry.isoformat(),
        }

    class Expired(CredentialProvider):
        METHOD = "test-expired"

        def load(self) -> RefreshableCredentials:
            past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
            return RefreshableCredentials.create_from_metadata(
                {
                    "access_key": "old",
                    "secret_key": "old",
                    "token": "old",
                    "expiry_time": past.isoformat(),
                },
                refresh_using=refresh,
                method=self.METHOD,
            )

    core = botocore.session.Session()
    core.get_component("credential_provider").insert_before("env", Expired())
    client = boto3.Session(botocore_session=core, region_name="us-east-1").client(
        "sagemaker-runtime",
        endpoint_url=emulator.url,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    model = JumpStartLLM(endpoint_name=name, client=client, max_retries=0)

    async def run() -> tuple[str, str]:
        loop_thread = threading.current_thread().name
        return "".join([t async for t in model.astream(QUESTION)]), loop_thread

    text, loop_thread = asyncio.run(run())
    assert text == WEBSITE_ANSWER
    assert refreshed_in, "the expired credentials were not refreshed"
    assert loop_thread not in refreshed_in


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_configured_proxy_is_honoured(emulator: Emulator, endpoint, mode: str) -> None:
    """The client's Config(proxies=...) is where the package's HTTP clients send."""
    name = endpoint(stream_format="tgi")
    client = boto3.Session(region_name="us-east-1").client(
        "sagemaker-runtime",
        endpoint_url=emulator.url,
        # Nothing listens on port 9 (discard): going through it must fail.
        config=Config(proxies={"http": "http://127.0.0.1:9"}, connect_timeout=2),
    )
    model = JumpStartLLM(endpoint_name=name, client=client, max_retries=0)
    with pytest.raises(errors.EndpointConnectionError):
        _stream_in(mode, model)
    assert not [r for r in emulator.requests if r.endpoint == name]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_environment_proxy_is_honoured_and_no_proxy_bypasses_it(
    emulator: Emulator, endpoint, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = endpoint(stream_format="tgi")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    model = JumpStartLLM(
        endpoint_name=name, endpoint_url=emulator.url, region_name="us-east-1", max_retries=0
    )
    with pytest.raises(errors.EndpointConnectionError):
        _stream_in(mode, model)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    fresh = JumpStartLLM(
        endpoint_name=name, endpoint_url=emulator.url, region_name="us-east-1", max_retries=0
    )
    assert "".join(_stream_in(mode, fresh)) == WEBSITE_ANSWER


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_missing_credentials_say_so(
    endpoint, llm, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    model = llm(endpoint(stream_format="tgi"))
    with pytest.raises(errors.ConfigurationError) as info:
        _stream_in(mode, model)
    assert "credentials" in str(info.value)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_before_send_hook_that_answers_is_used(emulator: Emulator, endpoint, mode: str) -> None:
    """A user's hook (or a stub's) that answers in ``before-send`` wins over ours."""
    from botocore.httpsession import URLLib3Session

    name = endpoint(stream_format="tgi")
    client = emulator.client()
    sender = URLLib3Session()  # a second HTTP stack, standing in for a stub's
    answered: list[str] = []

    def answer(request: Any, **_: Any) -> Any:
        answered.append(request.url)
        return sender.send(request)

    model = JumpStartLLM(endpoint_name=name, client=client, max_retries=0)
    # A first call sets our own hook up; the user's, registered after it, still wins.
    assert "".join(_stream_in(mode, model)) == WEBSITE_ANSWER
    client.meta.events.register(
        "before-send.sagemaker-runtime.InvokeEndpointWithResponseStream", answer
    )
    try:
        text = "".join(_stream_in(mode, model))
    finally:
        sender.close()
    assert text == WEBSITE_ANSWER
    assert len(answered) == 1
    assert len([r for r in emulator.requests if r.endpoint == name]) == 2


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_moto_mock_aws_is_honoured_and_nothing_leaves(mode: str) -> None:
    """Under moto's in-process mock, no request reaches a socket: moto answers."""
    moto = pytest.importorskip("moto")
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    with moto.mock_aws():
        backend = sagemakerruntime_backends["123456789012"]["us-east-1"]
        backend.results_queue.append(
            ('[{"generated_text": "from moto"}]', "application/json", "AllTraffic", "")
        )
        model = JumpStartLLM(
            endpoint_name="mocked", region_name="us-east-1", streaming=False, max_retries=0
        )
        # pytest-socket allows loopback only: the real AWS host would be refused loudly.
        out = model.invoke(QUESTION) if mode == "sync" else asyncio.run(model.ainvoke(QUESTION))
    assert out == "from moto"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_botocore_stubber_is_honoured(mode: str) -> None:
    import io

    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    body = b'[{"generated_text": "from the stubber"}]'
    model = JumpStartLLM(endpoint_name="stubbed", client=client, streaming=False, max_retries=0)
    with Stubber(client) as stubber:
        stubber.add_response(
            "invoke_endpoint",
            {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"},
        )
        stubber.add_client_error(
            "invoke_endpoint", service_error_code="ThrottlingException", http_status_code=400
        )
        run = (
            (lambda: model.invoke(QUESTION))
            if mode == "sync"
            else (lambda: asyncio.run(model.ainvoke(QUESTION)))
        )
        assert run() == "from the stubber"
        with pytest.raises(errors.EndpointThrottledError):
            run()
        stubber.assert_no_pending_responses()


def test_a_client_certificate_is_presented(tmp_path: Path, ca: Any) -> None:
    """Config(client_cert=...) reaches both HTTP clients: a server that demands one serves."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca.configure_trust(server_context)
    server_context.verify_mode = ssl.CERT_REQUIRED
    client_pem = tmp_path / "client.pem"
    ca.issue_cert("client@example.com").private_key_and_cert_chain_pem.write_to_path(
        str(client_pem)
    )
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    with Emulator(
        endpoints={"tgi": EndpointConfig(stream_format="tgi")}, ssl_context=server_context
    ) as emu:
        client = boto3.Session(region_name="us-east-1").client(
            "sagemaker-runtime", endpoint_url=emu.url, config=Config(client_cert=str(client_pem))
        )
        model = JumpStartLLM(endpoint_name="tgi", client=client, verify=str(ca_pem), max_retries=0)
        assert "".join(model.stream(QUESTION)) == WEBSITE_ANSWER
        assert "".join(asyncio.run(_astream(model))) == WEBSITE_ANSWER
        bare = JumpStartLLM(
            endpoint_name="tgi", client=emu.client(), verify=str(ca_pem), max_retries=0
        )
        with pytest.raises(errors.JumpStartStreamError):  # no certificate: refused
            list(bare.stream(QUESTION))


def test_whole_answers_are_fetched_at_once_without_threads(
    emulator: Emulator, endpoint, llm
) -> None:
    """``streaming=False`` async calls also run on the loop: no thread pool caps them."""
    name = endpoint(stream_format="tgi", tokens_per_second=10)
    model = llm(name, streaming=False, model_kwargs={"max_new_tokens": 20})  # ~2 s each
    model.get_client()

    async def run() -> tuple[list[str], int, set[str]]:
        before = set(threading.enumerate())
        tasks = [asyncio.create_task(model.ainvoke(QUESTION)) for _ in range(24)]
        peak = 0
        while not all(task.done() for task in tasks):
            mine = [r for r in emulator.requests if r.endpoint == name]
            peak = max(peak, sum(1 for r in mine if not r.done.is_set()))
            await asyncio.sleep(0.02)
        started = {t.name for t in set(threading.enumerate()) - before}
        return [task.result() for task in tasks], peak, started

    outs, peak, started = asyncio.run(run())
    assert peak == 24  # asyncio.to_thread would allow min(32, CPUs + 4) at a time
    assert len(set(outs)) == 1
    assert outs[0] and WEBSITE_ANSWER.startswith(outs[0])
    assert not {n for n in started if n.startswith("jumpstart-stream")}


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"error_after_tokens": 3}, errors.ModelInvocationError),
        (
            {"http_errors": [(429, "ThrottlingException", "Slow down")]},
            errors.EndpointThrottledError,
        ),
    ],
)
def test_whole_answer_errors_match_the_sync_path(
    endpoint, llm, config: dict[str, Any], error: type[errors.JumpStartStreamError]
) -> None:
    """The error document is parsed by botocore's parser either way: same error, same words."""
    said = []
    for run in (lambda m: m.invoke(QUESTION), lambda m: asyncio.run(m.ainvoke(QUESTION))):
        name = endpoint(stream_format="tgi", **config)
        with pytest.raises(error) as info:
            run(llm(name, streaming=False, max_retries=0))
        err = info.value
        assert err.endpoint_name == name
        assert err.request_id
        said.append((err.error_code, str(err).replace(name, "NAME").replace(err.request_id, "ID")))
    assert said[0] == said[1]


def test_missing_endpoint_whole_answer_async(llm) -> None:
    with pytest.raises(errors.EndpointNotFoundError) as info:
        asyncio.run(llm("no-such-endpoint", streaming=False).ainvoke(QUESTION))
    assert info.value.error_code == "ValidationError"
    assert info.value.request_id


def test_verify_false_skips_certificate_checks(tls_emulator: Emulator) -> None:
    llm = _llm(tls_emulator, verify=False)
    assert "".join(asyncio.run(_astream(llm))) == WEBSITE_ANSWER


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_missing_ca_bundle_is_a_configuration_error(tls_emulator: Emulator, mode: str) -> None:
    llm = _llm(tls_emulator, verify="/nonexistent/ca.pem")
    with pytest.raises(errors.ConfigurationError) as info:
        _stream_in(mode, llm)
    text = str(info.value)
    assert "'tgi'" in text and "CA bundle" in text and "verify=" in text


def test_nothing_keeps_a_finished_event_loop_alive(endpoint, llm) -> None:
    """Pools, turns and hooks are per loop, and let go of it when it is closed."""
    import gc
    import weakref

    model = llm(endpoint(stream_format="tgi"))
    model.get_client()
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def run() -> str:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        texts = await asyncio.gather(*(_astream(model) for _ in range(4)))
        return "".join(texts[0])

    for _ in range(3):
        assert asyncio.run(run()) == WEBSITE_ANSWER
    gc.collect()
    assert [ref() for ref in loops] == [None, None, None]


def test_streams_on_uvloop(tls_emulator: Emulator, ca_file: str) -> None:
    """uvloop (uvicorn's loop when installed): TLS, concurrency, whole answers, cleanup."""
    import gc
    import weakref

    uvloop = pytest.importorskip("uvloop")
    llm = _llm(tls_emulator, verify=ca_file)
    whole = JumpStartLLM(
        endpoint_name="tgi", client=llm.get_client(), verify=ca_file, streaming=False
    )
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def run() -> list[str]:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        streamed = await asyncio.gather(*(_astream(llm) for _ in range(8)))
        return ["".join(tokens) for tokens in streamed] + [await whole.ainvoke(QUESTION)]

    loop = uvloop.new_event_loop()
    try:
        assert type(loop).__module__.startswith("uvloop")
        texts = loop.run_until_complete(run())
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
    assert texts == [WEBSITE_ANSWER] * 9
    del loop
    gc.collect()
    assert loops[0]() is None


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_retries_are_max_retries_alone_even_with_a_users_client(
    emulator: Emulator, endpoint, mode: str
) -> None:
    """botocore never sends, so its own retry settings never multiply with ours."""
    client = boto3.Session(region_name="us-east-1").client(
        "sagemaker-runtime",
        endpoint_url=emulator.url,
        config=Config(retries={"total_max_attempts": 5, "mode": "standard"}),
    )
    failing_once = {"http_errors": [(503, "ServiceUnavailable", "busy")]}

    def sent(name: str) -> int:
        return len([r for r in emulator.requests if r.endpoint == name])

    name = endpoint(stream_format="tgi", **failing_once)
    model = JumpStartLLM(endpoint_name=name, client=client, max_retries=0)
    with pytest.raises(errors.EndpointServiceError):
        _stream_in(mode, model)
    assert sent(name) == 1

    name = endpoint(stream_format="tgi", **failing_once)
    model = JumpStartLLM(endpoint_name=name, client=client, max_retries=1, retry_base_delay=0)
    assert "".join(_stream_in(mode, model)) == WEBSITE_ANSWER
    assert sent(name) == 2
