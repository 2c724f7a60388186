"""No leaked credentials, prompts or outputs; a loopback-only, bounded emulator; no eval/pickle.

A recognisable fake secret goes in three ways (environment, an explicit boto3
client, a session token) and must never come out through ``repr``/``str``,
serialised LangChain objects, tracing parameters, callbacks, error messages or
our own logs.

What is botocore's and what is ours: with DEBUG logging on, botocore logs each
request's headers and body (``botocore.endpoint``/``botocore.auth``), so the access
key id, the session token and the prompt appear there; that is botocore's opt-in
diagnostic, and the secret access key itself never appears (it only signs). Our
responsibility, tested here: our own loggers never log credentials, prompts or
outputs at any level; no logger at all does at INFO or above (so nothing with the
default WARNING level); and the model's output never reaches any log, because the
package reads the stream itself.
"""

from __future__ import annotations

import ast
import asyncio
import http.client
import logging
import socket
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps
from pydantic import ValidationError

import langchain_jumpstart_stream
from langchain_jumpstart_stream import ChatJumpStart, JumpStartLLM, errors
from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig
from langchain_jumpstart_stream.emulator.__main__ import _parser

ACCESS_KEY = "AKIAFAKEFAKEFAKE1234"
SECRET_KEY = "fakeSecret/DoNotLeak+0123456789abcdefghijk"
SESSION_TOKEN = "fakeSessionToken/DoNotLeak//IQoJb3JpZ2luX2VjEFAKE"
CREDENTIALS = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)
PROMPT = "PROMPT-MARKER: my bank password is hunter2"
OUTPUT = "OUTPUT-MARKER: the generated answer"
ALL_MARKERS = (*CREDENTIALS, "PROMPT-MARKER", "hunter2", "OUTPUT-MARKER")


def assert_clean(text: str, markers: tuple[str, ...] = CREDENTIALS) -> None:
    leaked = [m for m in markers if m in text]
    assert not leaked, f"leaked {leaked} in: {text[:300]!r}"


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)


def secret_client(url: str) -> Any:
    session = boto3.Session(
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN,
        region_name="us-east-1",
    )
    no_retries = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    return session.client("sagemaker-runtime", endpoint_url=url, config=no_retries)


SECRET_FIELDS = {
    "aws_access_key_id": ACCESS_KEY,
    "aws_secret_access_key": SECRET_KEY,
    "aws_session_token": SESSION_TOKEN,
}


@pytest.fixture(params=["environment", "explicit-client", "secret-fields"])
def models(request, secret_env, emulator: Emulator, endpoint) -> tuple[Any, Any]:
    """(LLM, chat model) on the emulator; credentials from the environment, a client,
    or the aws_* SecretStr fields."""
    llm_name = endpoint(stream_format="tgi", answer=OUTPUT)
    chat_name = endpoint(stream_format="openai-chat", answer=OUTPUT)
    common: dict[str, Any] = {"region_name": "us-east-1", "model_kwargs": {"temperature": 0.2}}
    if request.param == "environment":
        common["endpoint_url"] = emulator.url
    elif request.param == "secret-fields":
        common["endpoint_url"] = emulator.url
        common.update(SECRET_FIELDS)
    else:
        common["client"] = secret_client(emulator.url)
    llm = JumpStartLLM(endpoint_name=llm_name, **common)
    chat = ChatJumpStart(endpoint_name=chat_name, stream_format="openai", **common)
    return llm, chat


# -- the models themselves ------------------------------------------------------------


def test_secret_fields_serialise_as_references_and_reach_only_the_signer(
    emulator, endpoint
) -> None:
    for cls in (JumpStartLLM, ChatJumpStart):
        model = cls(
            endpoint_name=endpoint(stream_format="openai-chat"),
            stream_format="openai",
            endpoint_url=emulator.url,
            region_name="us-east-1",
            **SECRET_FIELDS,
        )
        kwargs = dumpd(model)["kwargs"]
        assert kwargs["aws_secret_access_key"] == {
            "lc": 1,
            "type": "secret",
            "id": ["AWS_SECRET_ACCESS_KEY"],
        }
        for text in (repr(model), str(model), dumps(model), repr(model.model_dump())):
            assert_clean(text)
        assert_clean(model.model_dump_json())
        assert model.invoke(PROMPT)  # the credentials are used to sign


def test_partial_secret_fields_error_holds_no_secret() -> None:
    for partial in (
        {"aws_access_key_id": ACCESS_KEY},  # without its secret access key
        {"aws_secret_access_key": SECRET_KEY},
        {"aws_session_token": SESSION_TOKEN},
    ):
        with pytest.raises((ValidationError, errors.ConfigurationError)) as info:
            JumpStartLLM(endpoint_name="x", stream_format="tgi", **partial)
        assert "aws_secret_access_key" in str(info.value)
        assert_clean("".join(traceback.format_exception(info.value)), ALL_MARKERS)


def test_repr_str_dump_and_serialisation_hold_no_secret(models) -> None:
    for model in models:
        model.get_client()  # the credentials are loaded now, inside the client
        for text in (repr(model), str(model), dumps(model), repr(dumpd(model))):
            assert_clean(text)
        assert_clean(repr(model.model_dump()))
        assert "client" not in dumpd(model)["kwargs"]


def test_tracing_and_callback_parameters_hold_no_secret(models) -> None:
    class Starts(BaseCallbackHandler):
        def __init__(self) -> None:
            self.seen: list[str] = []

        def on_llm_start(self, serialized: Any, prompts: Any, **kwargs: Any) -> None:
            self.seen.append(repr(serialized) + repr(kwargs))

        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            self.seen.append(repr(serialized) + repr(kwargs))

    for model in models:
        handler = Starts()
        model.invoke(PROMPT, config={"callbacks": [handler]})
        assert len(handler.seen) == 1
        assert "invocation_params" in handler.seen[0]
        assert_clean(handler.seen[0])
        assert_clean(repr(model._identifying_params))
        assert_clean(repr(model._get_ls_params(stop=["x"])))
        assert model._get_ls_params()["ls_provider"] == "amazon_sagemaker"


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def all_logs() -> Iterator[Everything]:
    """Every record of every logger, at DEBUG, botocore and urllib3 included."""
    handler = Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_logs_never_hold_our_secrets_prompts_or_outputs(models, all_logs, mode) -> None:
    for model in models:
        if mode == "sync":
            text = "".join(_text(c) for c in model.stream(PROMPT))
        else:

            async def collect(m: Any = model) -> str:
                return "".join([_text(c) async for c in m.astream(PROMPT)])

            text = asyncio.run(collect())
        assert text == OUTPUT
    records = all_logs.records
    assert any(r.name.startswith("botocore") for r in records)  # the capture works
    for record in records:
        message = record.getMessage()
        if record.exc_info:
            message += "".join(traceback.format_exception(*record.exc_info))
        where = f"{record.name} at {record.levelname}"
        if record.name.startswith("langchain_jumpstart_stream"):
            assert_clean(message, ALL_MARKERS)  # ours: nothing, at any level
        if record.levelno >= logging.INFO:
            assert_clean(message, ALL_MARKERS)  # anyone's, at the levels shown by default
        # At any level and from any logger: the secret key never (botocore only signs
        # with it) and the output never (the package reads the stream itself).
        assert SECRET_KEY not in message, where
        assert "OUTPUT-MARKER" not in message, where


def _text(chunk: Any) -> str:
    return chunk if isinstance(chunk, str) else chunk.content


# -- error messages -------------------------------------------------------------------

FAILING = {
    "not-found": None,  # no such endpoint
    "access-denied": {"http_errors": [(403, "AccessDeniedException", "not authorized")] * 3},
    "5xx": {"http_errors": [(500, "InternalFailure", "boom")] * 3},
    "mid-stream": {"error_after_tokens": 2},
    "reset": {"drop_after_tokens": 2},
}


@pytest.mark.parametrize("case", list(FAILING))
def test_error_messages_hold_no_secret(secret_env, emulator, endpoint, case) -> None:
    config = FAILING[case]
    name = "no-such-endpoint" if config is None else endpoint(stream_format="tgi", **config)
    for common in (
        {"endpoint_url": emulator.url},
        {"client": secret_client(emulator.url)},
        {"endpoint_url": emulator.url, **SECRET_FIELDS},
    ):
        model = JumpStartLLM(endpoint_name=name, region_name="us-east-1", max_retries=0, **common)
        with pytest.raises(errors.JumpStartStreamError) as info:
            model.invoke(PROMPT)
        err = info.value
        rendered = "".join(traceback.format_exception(err))  # the whole chain
        assert_clean(str(err) + repr(err) + rendered, ALL_MARKERS)


def test_unreachable_endpoint_error_holds_no_secret(secret_env) -> None:
    model = JumpStartLLM(
        endpoint_name="x",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        max_retries=0,
        connect_timeout=1,
    )
    with pytest.raises(errors.EndpointConnectionError) as info:
        model.invoke(PROMPT)
    assert_clean("".join(traceback.format_exception(info.value)), ALL_MARKERS)


# -- the emulator: loopback only, bounded requests --------------------------------------


def test_emulator_binds_loopback_by_default() -> None:
    with Emulator() as emu:
        assert emu.url.startswith("http://127.0.0.1:")
        host, _ = emu._server.server_address[:2]  # type: ignore[union-attr]
        assert host == "127.0.0.1"
    assert _parser().parse_args([]).host == "127.0.0.1"  # the command line too


def test_emulator_default_body_limit_is_sagemakers() -> None:
    from langchain_jumpstart_stream.emulator._state import MAX_BODY_BYTES

    assert MAX_BODY_BYTES == 6 * 1024 * 1024


def test_emulator_refuses_an_oversized_body_through_boto3() -> None:
    with Emulator({"small": EndpointConfig()}, max_body_bytes=1024) as emu:
        model = JumpStartLLM(endpoint_name="small", endpoint_url=emu.url, region_name="us-east-1")
        with pytest.raises(errors.EndpointRequestError) as info:
            model.invoke("x" * 4096)
        assert "exceeded 1024 bytes" in str(info.value)
        (request,) = emu.requests
        assert request.status == 413
        assert request.body == b""  # refused, not kept
        assert model.invoke("short") != ""  # and it still serves


def _raw_request(url: str, headers: list[str], body: bytes = b"") -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        head = "\r\n".join(["POST /endpoints/small/invocations HTTP/1.1", *headers, "", ""])
        sock.sendall(head.encode() + body)
        return sock.recv(65536)


def test_emulator_refuses_oversized_chunked_and_announced_bodies() -> None:
    with Emulator({"small": EndpointConfig()}, max_body_bytes=1024) as emu:
        chunk = b"x" * 600
        chunked = b"".join(b"%X\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
        answer = _raw_request(
            emu.url, ["Host: x", "Transfer-Encoding: chunked", "Connection: close"], chunked
        )
        assert answer.startswith(b"HTTP/1.1 413")
        # A body announced as 1 GB is refused at once, without waiting for (or reading) it.
        answer = _raw_request(emu.url, ["Host: x", "Content-Length: 1000000000"])
        assert answer.startswith(b"HTTP/1.1 413")
        conn = http.client.HTTPConnection(emu.url.removeprefix("http://"), timeout=5)
        conn.request("GET", "/ping")
        assert conn.getresponse().status == 200  # still alive
        conn.close()


# -- the source: no eval, no exec, no pickle --------------------------------------------

_BANNED_CALLS = {"eval", "exec", "compile", "__import__"}
_BANNED_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle"}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else None
            if name in _BANNED_CALLS:
                found.append(f"{where} calls {name}()")
            if isinstance(func, ast.Attribute) and func.attr in ("load", "loads"):
                owner = func.value
                if isinstance(owner, ast.Name) and owner.id in _BANNED_MODULES | {"yaml"}:
                    found.append(f"{where} calls {owner.id}.{func.attr}()")
            for keyword in node.keywords:
                if keyword.arg == "shell" and getattr(keyword.value, "value", False) is True:
                    found.append(f"{where} runs a shell")
        elif isinstance(node, ast.Import):
            found += [f"{where} imports {a.name}" for a in node.names if _banned(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and _banned(node.module):
            found.append(f"{where} imports from {node.module}")
        elif isinstance(node, ast.Constant) and node.value in _BANNED_MODULES:
            found.append(f"{where} names module {node.value!r}")  # import_module("pickle")
    return found


def _banned(module: str) -> bool:
    return module.split(".")[0] in _BANNED_MODULES


def test_package_source_has_no_eval_exec_or_pickle() -> None:
    root = Path(langchain_jumpstart_stream.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert len(files) > 20
    found = [v for path in files for v in _violations(path)]
    assert not found, "\n".join(found)


def test_the_scanner_catches_what_it_should(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import pickle\nfrom marshal import loads\nimport importlib\n"
        "eval('1')\nexec('x=1')\nimportlib.import_module('pickle')\n"
        "import subprocess\nsubprocess.run('ls', shell=True)\n"
    )
    found = " ".join(_violations(sample))
    for kind in ("imports pickle", "from marshal", "eval()", "exec()", "'pickle'", "a shell"):
        assert kind in found
