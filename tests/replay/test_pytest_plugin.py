"""The pytest plugin, run by pytester in users' shoes: record once, then replay offline.

The "live" endpoint is an emulator started here; the inner test suites reach it only
through the URL in ``LIVE_URL``, as a user's suite would reach SageMaker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from langchain_jumpstart_stream.cassettes import shipped
from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig

pytest_plugins = ["pytester"]

FALCON = "huggingface-llm-falcon-7b-instruct-bf16"

SUITE = f"""
import os
import pytest

def live_kwargs():
    return dict(
        endpoint_name="greeter",
        model_id="{FALCON}",
        endpoint_url=os.environ.get("LIVE_URL", "http://127.0.0.1:9"),
        region_name="us-east-1",
        max_tokens=5,
        max_retries=0,
    )

@pytest.mark.jumpstart_cassette("greeting")
def test_sync(jumpstart_cassette):
    text = jumpstart_cassette.llm(**live_kwargs()).invoke("Say hello")
    assert text.strip()
    print("RECORDING" if jumpstart_cassette.recording else "REPLAYING", repr(text))

@pytest.mark.jumpstart_cassette("greeting-async")
async def test_async(jumpstart_cassette):
    message = await jumpstart_cassette.chat(**live_kwargs()).ainvoke("Say hello")
    assert message.text.strip()
"""


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(default=EndpointConfig(stream_format="tgi")) as emu:
        monkeypatch.setenv("LIVE_URL", emu.url)
        monkeypatch.delenv("JUMPSTART_RECORD", raising=False)
        yield emu


INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.makepyfile(test_app=SUITE)
    return pytester


def test_records_missing_cassettes_then_replays_them_offline(suite, live) -> None:
    result = suite.runpytest("--jumpstart-record", "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*RECORDING*"])
    recorded = len(live.requests)
    assert recorded == 2
    cassettes = suite.path / "cassettes"
    assert sorted(p.name for p in cassettes.iterdir()) == [
        "greeting-async.jsonl",
        "greeting.jsonl",
    ]
    header = json.loads((cassettes / "greeting.jsonl").read_text().splitlines()[0])
    assert header["note"] == "recorded by test_app.py::test_sync"

    # Replay: the live endpoint is not asked again, even if it is unreachable.
    live.stop()
    result = suite.runpytest("-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*REPLAYING*"])
    # The flag records only what is missing: everything is there, so it replays.
    result = suite.runpytest("--jumpstart-record", "-s")
    result.assert_outcomes(passed=2)
    assert len(live.requests) == recorded


def test_environment_variable_records_and_all_records_again(suite, live, monkeypatch) -> None:
    monkeypatch.setenv("JUMPSTART_RECORD", "1")
    suite.runpytest().assert_outcomes(passed=2)
    assert len(live.requests) == 2
    monkeypatch.delenv("JUMPSTART_RECORD")
    suite.runpytest("--jumpstart-record=all").assert_outcomes(passed=2)
    assert len(live.requests) == 4


def test_a_missing_cassette_fails_and_says_how_to_record(suite, live) -> None:
    result = suite.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*no cassette at *greeting.jsonl: record it once with*"])
    assert live.requests == []


def test_a_bad_record_mode_is_a_usage_error(suite, live, monkeypatch) -> None:
    monkeypatch.setenv("JUMPSTART_RECORD", "sometimes")
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*JUMPSTART_RECORD='sometimes' is not one of*"])


def test_a_swallowed_miss_still_fails_the_test(suite, live) -> None:
    suite.runpytest("--jumpstart-record").assert_outcomes(passed=2)
    suite.makepyfile(
        test_other="""
import pytest
from test_app import live_kwargs

@pytest.mark.jumpstart_cassette("greeting", speed=None)
def test_fallback(jumpstart_cassette):
    try:
        jumpstart_cassette.llm(**live_kwargs()).invoke("Something never recorded")
    except Exception as exc:
        assert "no interaction in cassette" in str(exc)
"""
    )
    result = suite.runpytest("test_other.py")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*1 request(s) found no answer in the cassette:",
            "no interaction in cassette *greeting.jsonl*",
        ]
    )


def test_default_name_cassette_dir_shipped_cassettes_and_plain_clients(pytester, live) -> None:
    folder = pytester.path / "elsewhere"
    pytester.makeini(INI)
    pytester.makepyfile(
        test_more=f"""
import pytest
from test_app_kwargs import live_kwargs

def test_default(jumpstart_cassette):
    assert jumpstart_cassette.path.name == "test_more.test_default.jsonl"
    if jumpstart_cassette.recording:
        with pytest.raises(Exception, match="plain boto3 calls are not recorded"):
            jumpstart_cassette.client()
    assert jumpstart_cassette.llm(**live_kwargs()).invoke("Hi")

@pytest.mark.jumpstart_cassette({str(shipped("tgi-sse"))!r}, speed=None)
def test_shipped(jumpstart_cassette):
    client = jumpstart_cassette.client()
    response = client.invoke_endpoint_with_response_stream(EndpointName="any", Body=b"{{}}")
    parts = [e["PayloadPart"]["Bytes"] for e in response["Body"] if "PayloadPart" in e]
    assert b"caf" in b"".join(parts)
""",
        test_app_kwargs=SUITE.split("@pytest.mark")[0],
    )
    args = ("--jumpstart-cassette-dir", str(folder))
    pytester.runpytest("--jumpstart-record", *args).assert_outcomes(passed=2)
    assert (folder / "test_more.test_default.jsonl").exists()
    pytester.runpytest(*args).assert_outcomes(passed=2)
