"""``jumpstart-stream record``: one call recorded from a "live" endpoint, then replayed."""

from __future__ import annotations

import pytest

from langchain_jumpstart_stream import cli
from langchain_jumpstart_stream.cassettes import CassettePlayer, load
from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig, expected_text

FALCON = "huggingface-llm-falcon-7b-instruct-bf16"


@pytest.mark.parametrize("chat", [False, True])
def test_record_command_writes_a_cassette_that_replays(tmp_path, capsys, chat) -> None:
    cassette = tmp_path / "out.jsonl"
    args = ["record", "--endpoint-name", "prod", "--region", "eu-west-1", "--model-id", FALCON]
    args += ["--max-new-tokens", "8", "-o", str(cassette), "--redact-prompts"]
    args += ["--chat"] if chat else []
    with Emulator(default=EndpointConfig(stream_format="tgi")) as live:
        assert cli.main([*args, "--endpoint-url", live.url, "Why is the sky blue?"]) == 0
    out, err = capsys.readouterr()
    assert f"recorded 1 call(s) into {cassette}" in err
    item = load(cassette).interactions[0]
    assert item.request.endpoint == "prod"
    assert item.request.redacted
    assert "sky" not in item.request.body.decode()
    with CassettePlayer(cassette, speed=None) as player:
        model = player.chat(model_id=FALCON, max_tokens=8) if chat else None
        if model is None:
            replayed = player.llm(model_id=FALCON, max_tokens=8).invoke("Why is the sky blue?")
        else:
            replayed = model.invoke("Why is the sky blue?").text
    assert out.strip() == replayed.strip() != ""


def test_record_command_on_the_local_emulator(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = [
        "record",
        "--model-id",
        FALCON,
        "--tokens-per-second",
        "1000",
        "How do I build a website?",
    ]
    assert cli.main(args) == 0
    out, _ = capsys.readouterr()
    item = load(tmp_path / "local.jsonl").interactions[0]
    assert item.status == 200
    body = item.request.json()
    assert out == expected_text(EndpointConfig.for_model(FALCON), body)


def test_record_command_reports_errors_in_the_tree(tmp_path, capsys) -> None:
    cassette = tmp_path / "err.jsonl"
    failing = EndpointConfig(http_errors=[(400, "ValidationError", "Endpoint prod not found.")])
    with Emulator(default=failing) as live:
        code = cli.main(
            [
                "record",
                "--endpoint-name",
                "prod",
                "--region",
                "us-east-1",
                "--endpoint-url",
                live.url,
                "-o",
                str(cassette),
                "hi",
            ]
        )
    assert code == 1
    assert "error:" in capsys.readouterr().err
    # The error answer is recorded too: replaying it gives the same failure.
    assert load(cassette).interactions[0].status == 400
