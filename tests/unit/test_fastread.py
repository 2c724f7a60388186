"""The one adapter that reads urllib3 internals: taken on the installed versions, or loud.

If urllib3 or http.client move the attributes it reads, the public path still
works, but this test fails, so the loss of speed never goes unnoticed.
"""

from __future__ import annotations

from typing import Any

from langchain_jumpstart_stream import JumpStartLLM
from langchain_jumpstart_stream._attempt import Policy
from langchain_jumpstart_stream._fastread import body_reads, socket_file
from langchain_jumpstart_stream._signing import STREAM
from langchain_jumpstart_stream.emulator import Emulator


def _open(emulator: Emulator, name: str) -> Any:
    model = JumpStartLLM(endpoint_name=name, client=emulator.client(), max_retries=0)
    request = model._new_call(prompt="hi", stop=None, call_kwargs={}, stream=True).request
    connection = model._connection()
    policy = Policy(0, 0.0, None, name)
    return connection, connection.open(STREAM, request, name, policy)


def test_the_fast_path_is_taken_on_the_installed_versions(emulator: Emulator, endpoint) -> None:
    name = endpoint(stream_format="tgi")
    connection, answer = _open(emulator, name)
    raw = answer._response
    assert socket_file(raw) is not None, "urllib3/http.client internals moved: fast path lost"
    data = b"".join(body_reads(raw))
    assert data  # the whole body, chunk framing removed
    assert raw.isclosed()  # finished as http.client would have: the connection is reusable
    answer.close()
    managers = connection.http._managers.values()
    pools = [m.pools.get(k) for m in managers for k in m.pools.keys()]  # noqa: SIM118
    assert sum(p.num_connections for p in pools) == 1
    _, again = _open(emulator, name)  # reuses the pooled connection
    assert b"".join(again.reads()) == data
    again.close()


def test_a_body_already_read_from_takes_the_public_path(emulator: Emulator, endpoint) -> None:
    name = endpoint(stream_format="tgi")
    _, answer = _open(emulator, name)
    raw = answer._response
    first = raw.read1(5)  # someone read through urllib3: its state is no longer fresh
    assert socket_file(raw) is None
    rest = b"".join(body_reads(raw))
    _, fresh = _open(emulator, name)
    assert first + rest == b"".join(fresh.reads())
    answer.close()
    fresh.close()
