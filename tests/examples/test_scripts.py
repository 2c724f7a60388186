"""The command-line examples, run as a user runs them (in-process emulator, no AWS)."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessageChunk, ToolMessage

from langchain_jumpstart_stream.emulator import EndpointConfig, expected_text

from .conftest import FALCON, run_example, run_example_timed


def test_chain_streaming_streams_the_same_answer_three_ways() -> None:
    import chain_streaming
    from _connect import instruct_prompt

    topic = "server-sent events"
    out = run_example_timed(
        "chain_streaming.py", "--topic", topic, "--tokens-per-second", "100", timeout=60
    )
    assert out.returncode == 0, out.stderr

    prompt = instruct_prompt(FALCON, chain_streaming.QUESTION).format(topic=topic)
    answer = expected_text(EndpointConfig(stream_format="tgi"), {"inputs": prompt})
    sections = out.stdout.split("\n\n== ")[1:]
    assert [s.split(" ==\n", 1)[0] for s in sections] == [
        "chain.stream()",
        "chain.astream()",
        'chain.astream_events(version="v2")',
    ]
    for section in sections:
        assert section.split(" ==\n", 1)[1].strip() == answer.strip()
    # astream_events saw one on_llm_stream per token, and the parser passed each on.
    assert "on_llm_stream=" in out.stderr and "on_parser_stream=" in out.stderr

    # Printed as it streamed: many separate writes over the ~2 s the three answers take.
    answer_reads = [t for t, data in out.reads if b"==" not in data]
    assert len(answer_reads) > 30
    assert answer_reads[-1] - answer_reads[0] > 1.0


def test_rag_pipeline_retrieves_the_right_documents_and_streams_an_answer() -> None:
    proc = run_example(
        "rag_pipeline.py", "--question", "Which errors are retried?", "--tokens-per-second", "2000"
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "> Which errors are retried?"
    assert lines[2] == "  [1] errors.md: Errors and retries"
    assert lines[3].startswith("  [2] ")
    answer = proc.stdout.split("\n\n")[2]
    assert len(answer.split()) > 10  # a streamed answer between the sources and the list
    # The emulator cites nothing, and the script says so rather than inventing citations.
    assert "The answer cited no source. Retrieved:\n  [1] errors.md\n  [2] " in proc.stdout


@pytest.mark.parametrize(
    ("question", "document"),
    [
        ("How do I stop generation early?", "stopping.md"),
        ("Which errors are retried, and when?", "errors.md"),
        ("Can I test without AWS, with a local emulator?", "emulator.md"),
        ("Which model should I deploy for Llama 3?", "models.md"),
        ("How fast do tokens arrive when streaming?", "streaming.md"),
    ],
)
def test_hashed_bag_of_words_finds_the_page_that_answers(question: str, document: str) -> None:
    from langchain_core.vectorstores import InMemoryVectorStore
    from rag_pipeline import DATA, HashedBagOfWords, load_documents

    store = InMemoryVectorStore.from_documents(load_documents(DATA), HashedBagOfWords())
    assert store.similarity_search(question, k=1)[0].metadata["source"] == document


def test_agent_streams_its_answer_against_the_emulator() -> None:
    proc = run_example("agent.py", "--tokens-per-second", "2000")
    assert proc.returncode == 0, proc.stderr
    question, answer = proc.stdout.split("\n\n", 1)
    assert question == "> How do I stop an answer early?"
    assert len(answer.split()) > 10
    # The emulator answers directly: no tool call is faked, and tools were offered.
    assert "[calling" not in proc.stdout
    assert "running without tools" not in proc.stderr


def test_agent_shows_tool_calls_and_results_as_they_stream(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from agent import show

    call = AIMessageChunk(
        content="",
        tool_call_chunks=[{"name": "utc_time", "args": "", "id": "c1", "index": 0}],
    )
    args = AIMessageChunk(
        content="", tool_call_chunks=[{"name": None, "args": "{}", "id": None, "index": 0}]
    )
    result = ToolMessage("2026-01-01T00:00:00+00:00", name="utc_time", tool_call_id="c1")
    answer = [AIMessageChunk(content=text) for text in ("It is", " midnight", ".")]
    show((message, {}) for message in [call, args, result, *answer])
    assert capsys.readouterr().out == (
        "\n[calling utc_time] {}\n[utc_time returned 25 characters]\n\nIt is midnight."
    )


@pytest.mark.parametrize(
    "model_id", ["deepseek-llm-r1-distill-qwen-7b", "openai-reasoning-gpt-oss-20b"]
)
def test_reasoning_example_shows_thinking_then_answer(model_id: str) -> None:
    from langchain_jumpstart_stream.emulator._thinking import DEFAULT_THINKING

    proc = run_example(
        "reasoning.py", "--no-color", "--model-id", model_id, "--tokens-per-second", "2000"
    )
    assert proc.returncode == 0, proc.stderr
    thinking, _, answer = proc.stdout.partition("── answer ──")
    assert thinking.startswith("── thinking ──")
    assert DEFAULT_THINKING in thinking and DEFAULT_THINKING not in answer
    assert "<think>" not in proc.stdout and "</think>" not in proc.stdout
    assert answer.strip().startswith("Building a website")


@pytest.mark.parametrize("fault", ["throttled", "cold"])
def test_failover_example_answers_from_the_second_endpoint_and_draws_the_gaps(
    fault: str, tmp_path
) -> None:
    chart = tmp_path / "gaps.png"
    proc = run_example(
        "failover.py", "--fault", fault, "--tokens-per-second", "200", "--plot", str(chart)
    )
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.split("\n> ")[1:]
    # The first question fails over; the second skips the primary while it cools down.
    assert "served by chat-secondary (variant Blue, us-east-1), attempts: 2" in first
    assert "served by chat-secondary (variant Blue, us-east-1), attempts: 1" in second
    assert "time to first token" in first and "tokens/s" in first
    # Nothing was lost on the way: the whole answer, as the secondary generated it.
    from langchain_jumpstart_stream.registry import get_model, render_chat

    template = get_model(FALCON).chat_template
    assert template is not None
    prompt = render_chat(template, [("user", "How do I build a website?")])
    answer = expected_text(EndpointConfig.for_model(FALCON), {"inputs": prompt})
    assert first.split("\n", 1)[1].startswith(answer.strip() + "\n  served by")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"inter-token latency chart: {chart}" in proc.stdout
