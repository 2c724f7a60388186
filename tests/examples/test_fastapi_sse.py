"""The SSE relay, served by a real uvicorn on 127.0.0.1 and read by a real HTTP client."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn

from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER, Emulator, RecordedRequest

from .conftest import FALCON, endpoint_args, wait_for_request


@pytest.fixture
def serve(emulator: Emulator) -> Iterator[Callable[[str], str]]:
    """Serve the example app, pointed at one emulator endpoint; return its base URL."""
    import fastapi_sse

    servers: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def start(endpoint_name: str) -> str:
        args = fastapi_sse._parser().parse_args(endpoint_args(emulator, endpoint_name))
        app = fastapi_sse.create_app(args)
        # No websockets: older uvicorns import a deprecated websockets module for them.
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none"))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append((server, thread, sock))
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, thread, sock in servers:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def read_events(response: httpx.Response) -> Iterator[tuple[float, str, str]]:
    """(arrival time, event name, data) for each SSE event, as it arrives."""
    event, data = "message", []
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
        elif line == "" and data:
            yield time.monotonic(), event, "\n".join(data)
            event, data = "message", []


def test_tokens_arrive_as_separate_events_while_the_model_generates(
    serve: Callable[[str], str],
    endpoint: Callable[..., str],
    requests_to: Callable[[str], list[RecordedRequest]],
) -> None:
    name = endpoint(stream_format="tgi", model_id=FALCON, tokens_per_second=100)
    url = serve(name)
    with httpx.Client(timeout=30) as client:
        assert "EventSource" in client.get(url + "/").text
        with client.stream("GET", url + "/stream", params={"q": "How do I build a website?"}) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            events = list(read_events(r))

    *tokens, (_, last_event, last_data) = events
    assert last_event == "done"
    assert {event for _, event, _ in tokens} == {"message"}
    assert "".join(json.loads(data) for _, _, data in tokens) == WEBSITE_ANSWER
    assert json.loads(last_data) == {"tokens": len(tokens)}
    # Relayed as generated (~2 s at 100 tokens/s), not buffered until the end.
    assert tokens[-1][0] - tokens[0][0] > 1.0
    (request,) = requests_to(name)
    assert request.done.wait(5) and not request.client_disconnected


def test_a_browser_that_goes_away_closes_the_sagemaker_stream(
    serve: Callable[[str], str],
    endpoint: Callable[..., str],
    requests_to: Callable[[str], list[RecordedRequest]],
) -> None:
    name = endpoint(stream_format="tgi", model_id=FALCON, tokens_per_second=20)
    url = serve(name)
    with (
        httpx.Client(timeout=30) as client,
        client.stream("GET", url + "/stream", params={"q": "How do I build a website?"}) as r,
    ):
        events = read_events(r)
        received = [next(events) for _ in range(5)]
    # The connection is closed: like a closed tab or EventSource.close().
    assert all(event == "message" for _, event, _ in received)
    wait_for_request(lambda: requests_to(name))
    (request,) = requests_to(name)
    assert request.done.wait(10), "the upstream stream was not closed"
    assert request.client_disconnected
    assert request.tokens_sent < 60  # of ~190: generation stopped soon after the browser left


def test_an_endpoint_error_becomes_an_error_event(
    serve: Callable[[str], str], endpoint: Callable[..., str]
) -> None:
    name = endpoint(stream_format="tgi", model_id=FALCON, error_after_tokens=3)
    url = serve(name)
    with (
        httpx.Client(timeout=30) as client,
        client.stream("GET", url + "/stream", params={"q": "hello"}) as r,
    ):
        events = [(event, json.loads(data)) for _, event, data in read_events(r)]
    assert [event for event, _ in events] == ["message"] * 3 + ["error"]
    message = events[-1][1]["message"]
    assert "ModelStreamError" in message and "delivered before it" in message
