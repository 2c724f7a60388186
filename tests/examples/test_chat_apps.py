"""The two chat UIs without a browser: Streamlit's AppTest, and Gradio's reply function.

The browser tests (test_browser.py) click the real Stop buttons; these check the
answers and the conversation memory, and what Gradio's Stop does underneath.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import AsyncIterator, Callable

import pytest
from streamlit.testing.v1 import AppTest

from langchain_jumpstart_stream import ChatJumpStart
from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER, Emulator, RecordedRequest

from .conftest import EXAMPLES, FALCON, endpoint_args


def test_streamlit_chat_answers_and_remembers_the_conversation(
    emulator: Emulator,
    endpoint: Callable[..., str],
    requests_to: Callable[[str], list[RecordedRequest]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = endpoint(stream_format="tgi", model_id=FALCON)
    # `streamlit run examples/streamlit_app.py -- <these options>`
    monkeypatch.setattr(sys, "argv", ["streamlit_app.py", *endpoint_args(emulator, name)])
    app = AppTest.from_file(str(EXAMPLES / "streamlit_app.py"), default_timeout=30)
    app.run()
    assert not app.exception
    assert app.title[0].value == "SageMaker JumpStart chat"

    app.chat_input[0].set_value("How do I build a website?").run()
    assert not app.exception
    assert [m.name for m in app.chat_message] == ["user", "assistant"]
    assert app.chat_message[1].markdown[0].value == WEBSITE_ANSWER
    assert not app.button  # the Stop button is gone once the answer is complete

    app.chat_input[0].set_value("Thanks!").run()
    assert [m.name for m in app.chat_message] == ["user", "assistant"] * 2
    prompt = requests_to(name)[-1].json["inputs"]  # Falcon's chat format, whole history
    assert prompt.startswith("User: How do I build a website?\nAssistant: Building a website")
    assert prompt.endswith("\nUser: Thanks!\nAssistant:")


async def test_gradio_reply_streams_and_stop_closes_the_sagemaker_stream(
    emulator: Emulator,
    endpoint: Callable[..., str],
    requests_to: Callable[[str], list[RecordedRequest]],
) -> None:
    import gradio_app

    def reply_for(name: str) -> Callable[..., AsyncIterator[str]]:
        chat = ChatJumpStart(endpoint_name=name, model_id=FALCON, client=emulator.client())
        return gradio_app.build_app(chat).fn

    reply = reply_for(endpoint(stream_format="tgi", model_id=FALCON))
    states = [state async for state in reply("How do I build a website?", [])]
    assert states[-1] == WEBSITE_ANSWER
    assert len(states) > 100 and all(b.startswith(a) for a, b in itertools.pairwise(states))

    # Gradio's Stop cancels the task that iterates `reply`.
    name = endpoint(stream_format="tgi", model_id=FALCON, tokens_per_second=20)
    reply = reply_for(name)
    history = [
        {"role": "user", "content": "How do I build a website?"},
        {"role": "assistant", "content": [{"type": "text", "text": WEBSITE_ANSWER}]},
    ]
    seen: list[str] = []

    async def consume() -> None:
        async for state in reply("And then?", history):
            seen.append(state)

    task = asyncio.create_task(consume())
    while len(seen) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    request = requests_to(name)[-1]
    assert "User: And then?" in request.json["inputs"]
    assert await asyncio.to_thread(request.done.wait, 10)
    assert request.client_disconnected


async def test_gradio_shows_thinking_apart_and_collapsed(
    emulator: Emulator, endpoint: Callable[..., str]
) -> None:
    import gradio_app

    from langchain_jumpstart_stream.emulator._thinking import DEFAULT_THINKING

    name = endpoint(stream_format="openai-chat", reasoning="vllm")
    chat = ChatJumpStart(endpoint_name=name, stream_format="openai", client=emulator.client())
    reply = gradio_app.build_app(chat).fn
    states = [state async for state in reply("How do I build a website?", [])]
    thinking, answer = states[-1]
    assert thinking.metadata == {"title": "Thinking", "status": "done"}
    assert thinking.content.strip() == DEFAULT_THINKING
    assert answer.content == WEBSITE_ANSWER
    assert any(len(s) == 1 and s[0].metadata["status"] == "pending" for s in states)
    # Earlier thinking is left out of what the next turn sends.
    history = [
        {"role": "user", "content": "How do I build a website?"},
        {"role": "assistant", "content": DEFAULT_THINKING, "metadata": {"title": "Thinking"}},
        {"role": "assistant", "content": WEBSITE_ANSWER},
    ]
    again = [state async for state in reply("And then?", history)]
    assert again[-1][-1].content
    sent = emulator.requests[-1].json["messages"]
    assert all(DEFAULT_THINKING not in str(m["content"]) for m in sent)
