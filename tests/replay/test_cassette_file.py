"""The cassette file: no secrets, redaction, deterministic text, clear errors on bad files."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_jumpstart_stream import ChatJumpStart, JumpStartLLM, errors
from langchain_jumpstart_stream.cassettes import CassettePlayer, load, record
from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig
from langchain_jumpstart_stream.emulator._cassette import CassetteFormatError, loads

FALCON = "huggingface-llm-falcon-7b-instruct-bf16"
ACCESS_KEY = "AKIAFAKERECOGNISABLE1"
SECRET_KEY = "fAkEsEcReT/recognisable+secret+key+0123456"
SESSION_TOKEN = "FaKeSeSsIoNtOkEn//recognisable==token"
PROMPT = "My private question about zebras"


@pytest.fixture(scope="module")
def live() -> Emulator:
    failing = EndpointConfig(http_errors=[(424, "ModelError", "bad input")] * 100)
    with Emulator(default=EndpointConfig(stream_format="tgi"), endpoints={"err": failing}) as emu:
        yield emu


def _llm(url: str, endpoint_name: str = "ep", **kwargs) -> JumpStartLLM:
    return JumpStartLLM(
        endpoint_name=endpoint_name,
        model_id=FALCON,
        endpoint_url=url,
        region_name="eu-west-1",
        max_tokens=5,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN,
        custom_attributes="trace=on",
        **kwargs,
    )


@pytest.mark.parametrize("operation", ["stream", "whole", "error"])
def test_no_credential_signature_or_token_reaches_the_cassette(live, tmp_path, operation) -> None:
    cassette = tmp_path / "c.jsonl"
    with record(cassette):
        if operation == "stream":
            _llm(live.url).invoke("hi")
        elif operation == "whole":
            _llm(live.url, streaming=False).invoke("hi")
        else:
            with pytest.raises(errors.EndpointRequestError):
                _llm(live.url, "err", max_retries=0).invoke("hi")
    raw = cassette.read_bytes()
    # Search the text, and every base64 payload decoded, for any trace of a secret.
    decoded = b"".join(
        base64.b64decode(json.loads(line)["b"]) for line in raw.splitlines() if b'"b":' in line
    )
    for haystack in (raw.lower(), decoded.lower()):
        for needle in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, "fakesecret", "recognisable"):
            assert needle.lower().encode() not in haystack
        for header in ("authorization", "x-amz-security-token", "x-amz-date", "signature"):
            assert header.encode() not in haystack
        assert b"aws4-hmac-sha256" not in haystack
    # What matters to the answer is kept.
    request = load(cassette).interactions[0].request
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-amzn-sagemaker-custom-attributes"] == "trace=on"
    assert set(request.headers) <= {"content-type", "accept", "x-amzn-sagemaker-custom-attributes"}


@pytest.mark.parametrize("cls", [JumpStartLLM, ChatJumpStart])
def test_redacted_prompts_are_not_in_the_file_and_still_match(live, tmp_path, cls) -> None:
    cassette = tmp_path / "c.jsonl"
    model = cls(endpoint_name="ep", model_id=FALCON, endpoint_url=live.url, region_name="us-east-1")
    with record(cassette, redact_prompts=True):
        result = model.invoke(PROMPT)
    answer = result.text if cls is ChatJumpStart else result
    text = cassette.read_text()
    requests = [line for line in text.splitlines() if '"request":' in line]
    assert requests
    assert all("zebras" not in line and "<redacted sha256:" in line for line in requests)
    # The answer is kept as it came (the emulator's echoes the question): only prompts
    # are redacted, as documented.
    with CassettePlayer(cassette, speed=None) as player:
        if cls is ChatJumpStart:
            assert player.chat(model_id=FALCON).invoke(PROMPT).text == answer
            again = player.chat(model_id=FALCON)
        else:
            again = player.llm(model_id=FALCON)
            assert again.invoke(PROMPT) == answer
        with pytest.raises(errors.InvalidRequestError, match="no interaction in cassette"):
            again.invoke("another question")


def test_saving_again_gives_the_same_text(live, tmp_path) -> None:
    cassette = tmp_path / "c.jsonl"
    with record(cassette, note="recorded from the emulator"):
        _llm(live.url).invoke("hi")
        _llm(live.url, streaming=False).invoke("hi")
    text = cassette.read_text()
    assert text.splitlines()[0] == (
        '{"cassette":1,"match":["operation","endpoint","body"],"note":"recorded from the emulator"}'
    )
    assert loads(text).dumps() == text
    # One event per line, each readable: the token text shows in the preview.
    events = [json.loads(line) for line in text.splitlines()[1:]]
    assert {"request", "response", "end"} <= {k for e in events for k in e}
    assert any("data:" in e.get("text", "") for e in events)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty"),
        ("not json\n", "is not JSON"),
        ('{"hello": 1}\n', "not a cassette header"),
        ('{"cassette": 99}\n', "cassette version 99"),
        ('{"cassette": 1, "match": ["colour"]}\n', "unknown matcher 'colour'"),
        ('{"cassette": 1}\n{"i": 0, "t": 0, "b": "AAAA"}\n', "no request line before it"),
        (
            '{"cassette": 1}\n{"i": 0, "request": {"operation": "Nope", "endpoint": "e"}}\n',
            "unknown operation 'Nope'",
        ),
        (
            '{"cassette": 1}\n{"i": 0, "request": {"operation": "InvokeEndpoint", '
            '"endpoint": "e", "json": {}}}\n{"i": 0, "t": 0, "b": "@@@"}\n',
            ":3: malformed event",
        ),
        (
            '{"cassette": 1}\n{"i": 0, "request": {"operation": "InvokeEndpoint", '
            '"endpoint": "e", "json": {}}}\n{"i": 0, "end": "exploded"}\n',
            '"end" must be one of',
        ),
    ],
)
def test_a_bad_cassette_is_a_cassette_error_naming_file_and_line(tmp_path, content, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(errors.CassetteError, match=r"bad\.jsonl") as info:
        load(path)
    assert expected in str(info.value)
    with pytest.raises(errors.CassetteError, match=expected.replace("(", r"\(")):
        CassettePlayer(path)


def test_missing_cassette_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(errors.CassetteError, match="no cassette at"):
        CassettePlayer(tmp_path / "absent.jsonl")
    path = tmp_path / "ok.jsonl"
    path.write_text('{"cassette": 1}\n')
    with pytest.raises(errors.CassetteError, match="speed must be a positive number"):
        CassettePlayer(path, speed=0)
    with pytest.raises(errors.CassetteError, match="cut must be"):
        CassettePlayer(path, cut="sometimes")  # type: ignore[arg-type]
    with pytest.raises(errors.CassetteError, match="match takes names among"):
        CassettePlayer(path, match=["colour"])
    with CassettePlayer(path) as player, pytest.raises(errors.CassetteError, match="0 endpoints"):
        player.llm(model_id=FALCON)


def test_replay_in_the_emulator_needs_only_the_standard_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import langchain_jumpstart_stream.emulator._replay;"
        "extra = {m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names);"
        "extra -= {'langchain_jumpstart_stream', '__main__', '_distutils_hack'};"
        "extra = {m for m in extra if not m.startswith('__editable__')};"  # pip install -e
        "assert not extra, sorted(extra)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_an_unwritable_cassette_is_a_cassette_error(live, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(errors.CassetteError, match="cannot write the cassette"):  # noqa: SIM117
        with record(blocker / "c.jsonl"):
            _llm(live.url).invoke("hi")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_event = st.fixed_dictionaries(
    {"i": st.integers(0, 2) | _json},
    optional={
        "request": st.fixed_dictionaries(
            {"operation": st.sampled_from(["InvokeEndpoint", "x"]), "endpoint": _json},
            optional={"headers": _json, "json": _json, "b64": _json},
        )
        | _json,
        "response": st.fixed_dictionaries(
            {"status": _json}, optional={"headers": _json, "t": _json}
        )
        | _json,
        "b": _json,
        "t": _json,
        "end": _json,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_event | _json, max_size=6))
def test_any_json_lines_load_or_fail_as_a_format_error(events) -> None:
    text = "\n".join(['{"cassette": 1}', *(json.dumps(e) for e in events)])
    try:
        cassette = loads(text, "fuzz.jsonl")
    except CassetteFormatError as exc:
        message = str(exc)
    else:
        assert loads(cassette.dumps()).dumps() == cassette.dumps()
        return
    assert message.startswith("fuzz.jsonl")
