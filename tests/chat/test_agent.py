"""Agents on ChatJumpStart against the emulator, streaming tokens with stream_mode="messages"."""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER

from . import QUESTION


@tool
def search_docs(query: str) -> str:
    """Search the documentation."""
    return f"No page mentions {query!r}."


def _agent_inputs() -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": QUESTION}]}


def test_create_agent_streams_the_answer_token_by_token(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="openai-chat", tokens_per_second=400)
    agent = create_agent(
        chat(name, stream_format="openai"), tools=[search_docs], system_prompt="Be helpful."
    )
    sent_when_seen: list[int] = []
    chunks: list[AIMessageChunk] = []
    for message, metadata in agent.stream(_agent_inputs(), stream_mode="messages"):
        if isinstance(message, AIMessageChunk):
            chunks.append(message)
            sent_when_seen.append(requests_to(name)[0].tokens_sent)
            assert metadata["langgraph_node"] == "model"
    # tool_choice "auto": calling a tool would be the model's judgement, so the
    # emulator answers in text and the agent ends after one model call.
    assert "".join(c.text for c in chunks) == WEBSITE_ANSWER
    assert len(chunks) > 20
    (req,) = requests_to(name)
    assert [t["function"]["name"] for t in req.json["tools"]] == ["search_docs"]
    assert req.json["messages"][0] == {"role": "system", "content": "Be helpful."}
    # Streamed, not replayed: the first chunks arrived while the endpoint was writing.
    assert sent_when_seen[5] < req.tokens_sent / 2


async def test_create_agent_streams_async(endpoint, chat) -> None:
    name = endpoint(stream_format="tgi")
    model = chat(name, stream_format="tgi", use_messages_api=True)
    agent = create_agent(model, tools=[search_docs])
    texts = [
        message.text
        async for message, _ in agent.astream(_agent_inputs(), stream_mode="messages")
        if isinstance(message, AIMessageChunk)
    ]
    assert len(texts) > 20
    assert "".join(texts) == WEBSITE_ANSWER


def test_langgraph_tool_loop_streams_the_call_and_the_answer(endpoint, chat, requests_to) -> None:
    # The graph, not the emulator, decides to call the tool: the first model turn
    # forces search_docs; after its result, tool choice is the model's (text).
    name = endpoint(stream_format="jsonlines")
    model = chat(name, stream_format="jsonlines", supports_tools=True)
    forced = model.bind_tools([search_docs], tool_choice="search_docs")
    free = model.bind_tools([search_docs])

    def call_model(state: MessagesState) -> dict[str, list[BaseMessage]]:
        answered = any(isinstance(m, ToolMessage) for m in state["messages"])
        return {"messages": [(free if answered else forced).invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", call_model)
    graph.add_node("tools", ToolNode([search_docs]))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)
    graph.add_edge("tools", "model")
    app = graph.compile()

    seen: list[BaseMessage] = []
    for message, _ in app.stream(_agent_inputs(), stream_mode="messages"):
        seen.append(message)
    call_chunks = [m for m in seen if isinstance(m, AIMessageChunk) and m.tool_call_chunks]
    results = [m for m in seen if isinstance(m, ToolMessage)]
    answer = [m for m in seen if isinstance(m, AIMessageChunk) and m.text]
    assert len(call_chunks) > 3  # the call's arguments streamed in pieces
    assert [r.text for r in results] == ["No page mentions 'string'."]
    assert "".join(m.text for m in answer) == WEBSITE_ANSWER
    first, second = requests_to(name)
    assert first.json["tool_choice"] == {"type": "function", "function": {"name": "search_docs"}}
    assert "tool_choice" not in second.json
    assert second.json["messages"][-1]["role"] == "tool"
    assert second.json["messages"][-1]["tool_call_id"] == results[0].tool_call_id
