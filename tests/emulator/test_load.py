"""Concurrency, early client close and pacing."""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor

from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig, rendered_stream

from . import body_for, payloads, stream


def test_fifty_concurrent_boto3_streams() -> None:
    cfg = EndpointConfig(stream_format="openai-chat", tokens_per_second=200)
    with Emulator(endpoints={"chat": cfg}) as emu:
        client = emu.client()
        bodies = [body_for("openai-chat", f"question {i}", max_tokens=10) for i in range(50)]

        def run(body: dict[str, object]) -> bytes:
            return b"".join(payloads(stream(client, "chat", body)))

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(run, bodies))
        assert results == [rendered_stream(cfg, body) for body in bodies]
        assert emu.wait_idle(5)
        assert len(emu.requests) == 50
        assert all(r.done.is_set() and not r.client_disconnected for r in emu.requests)


def test_256_concurrent_raw_streams() -> None:
    """Many slow streams at once, over plain HTTP connections (no signing needed)."""
    cfg = EndpointConfig(tokens_per_second=20, answer="one two three four five")
    with Emulator(endpoints={"falcon": cfg}) as emu:
        port = int(emu.url.rsplit(":", 1)[1])
        body = json.dumps(body_for("tgi")).encode()
        started = time.monotonic()

        def run(_: int) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            try:
                conn.request("POST", "/endpoints/falcon/invocations-response-stream", body)
                response = conn.getresponse()
                return len(response.read()) if response.status == 200 else -1
            finally:
                conn.close()

        with ThreadPoolExecutor(max_workers=256) as pool:
            sizes = list(pool.map(run, range(256)))
        elapsed = time.monotonic() - started
        assert min(sizes) > 0
        assert len(set(sizes)) == 1
        assert elapsed < 5  # 6 tokens at 20/s each: they ran side by side
        assert emu.wait_idle(5)


def test_client_early_close_is_noticed() -> None:
    cfg = EndpointConfig(tokens_per_second=100, answer="word " * 300)
    with Emulator(endpoints={"falcon": cfg}) as emu:
        client = emu.client()
        response = stream(client, "falcon", body_for("tgi"))
        events = iter(response["Body"])
        for _ in range(5):
            next(events)
        response["Body"].close()
        recorded = emu.requests[-1]
        assert recorded.done.wait(3)
        assert recorded.client_disconnected
        sent = recorded.tokens_sent
        assert 5 <= sent < 50
        time.sleep(0.1)
        assert recorded.tokens_sent == sent
        assert emu.wait_idle(2)


def test_tokens_per_second_paces_each_token() -> None:
    cfg = EndpointConfig(tokens_per_second=25)
    with Emulator(endpoints={"falcon": cfg}) as emu:
        client = emu.client()
        started = time.monotonic()
        response = stream(client, "falcon", body_for("tgi", parameters={"max_new_tokens": 10}))
        arrivals = [time.monotonic() - started for _ in response["Body"]]
    assert len(arrivals) == 10
    assert arrivals[0] < 0.2  # the first token is not held back
    assert arrivals[-1] >= 9 / 25 * 0.9  # tokens 2..10 each waited 40 ms
    assert arrivals[-1] < 1.5


def test_stop_with_idle_keep_alive_connections_is_quick() -> None:
    emu = Emulator(endpoints={"falcon": EndpointConfig()}).start()
    client = emu.client()
    payloads(stream(client, "falcon", body_for("tgi", parameters={"max_new_tokens": 2})))
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 1.5
    emu.stop()  # idempotent
