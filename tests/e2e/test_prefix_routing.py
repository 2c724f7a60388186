"""PrefixAwareId per conversation, end to end: LangChain run config → boto3 → emulator."""

from __future__ import annotations

import hashlib
import operator
import time
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph

from langchain_jumpstart_stream import errors
from langchain_jumpstart_stream.emulator import Routing

QUESTION = "How do I build a website?"
PREFIX = "x-amzn-sagemaker-prefix-aware-id"
FALCON = "huggingface-llm-falcon-7b-instruct-bf16"


def _thread(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def _ids(requests: list[Any]) -> list[str | None]:
    return [r.headers.get(PREFIX) for r in requests]


def test_direct_calls_take_the_thread_id(endpoint, chat, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    model = chat(name, model_id=FALCON, prefix_aware_id_from="thread_id")
    model.invoke(QUESTION, config=_thread("t1"))
    list(model.stream(QUESTION, config=_thread("t2")))
    model.invoke(QUESTION)  # no conversation: no routing key
    text = llm(name, prefix_aware_id_from="thread_id")
    text.invoke(QUESTION, config=_thread("t3"))
    assert _ids(requests_to(name)) == ["t1", "t2", None, "t3"]
    text.batch([QUESTION, QUESTION], config=[_thread("b1"), _thread("b2")])
    assert sorted(_ids(requests_to(name))[4:]) == ["b1", "b2"]
    assert all("prefix_aware_id" not in r.body.decode() for r in requests_to(name))


async def test_direct_async_calls_take_the_thread_id(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    model = chat(name, model_id=FALCON, prefix_aware_id_from="thread_id")
    await model.ainvoke(QUESTION, config=_thread("a1"))
    [c async for c in model.astream(QUESTION, config=_thread("a2"))]
    await model.abatch([QUESTION, QUESTION], config=[_thread("b1"), _thread("b2")])
    assert sorted(_ids(requests_to(name))) == ["a1", "a2", "b1", "b2"]


def test_a_chain_passes_the_thread_to_the_model(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    model = chat(name, model_id=FALCON, prefix_aware_id_from="thread_id")
    inner = RunnableLambda(lambda text: model.invoke(text))  # the model sees no config
    chain = RunnableLambda(lambda text: text.upper()) | model
    inner.invoke(QUESTION, config=_thread("inner"))
    chain.invoke(QUESTION, config=_thread("chain"))
    assert _ids(requests_to(name)) == ["inner", "chain"]


async def test_an_async_chain_passes_the_thread_to_the_model(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    model = chat(name, model_id=FALCON, prefix_aware_id_from="thread_id")

    async def node(text: str) -> Any:
        return await model.ainvoke(text)

    await RunnableLambda(node).ainvoke(QUESTION, config=_thread("async-inner"))
    assert _ids(requests_to(name)) == ["async-inner"]


class _State(TypedDict):
    messages: Annotated[list[AnyMessage], operator.add]


def _graph(model: Any, *, run_async: bool) -> Any:
    def call(state: _State) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    async def acall(state: _State) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(_State)
    builder.add_node("model", acall if run_async else call)
    builder.add_edge(START, "model")
    return builder.compile(checkpointer=InMemorySaver())


def test_a_langgraph_conversation_keeps_one_routing_key(
    endpoint, chat, requests_to, emulator
) -> None:
    name = endpoint(stream_format="tgi", routing=Routing(instances=4))
    model = chat(name, model_id=FALCON, prefix_aware_id_from="thread_id")
    graph = _graph(model, run_async=False)
    for thread in ("alice", "bob", "alice", "bob", "alice"):
        graph.invoke({"messages": [HumanMessage(QUESTION)]}, config=_thread(thread))
    seen = requests_to(name)
    assert _ids(seen) == ["alice", "bob", "alice", "bob", "alice"]
    alice = {r.instance for r in seen if r.headers[PREFIX] == "alice"}
    assert len(alice) == 1  # one instance for the whole conversation
    # The checkpointer grew the conversation: later turns reuse the cached prefix.
    assert [r.cached_chars > 0 for r in seen if r.headers[PREFIX] == "alice"] == [False, True, True]


async def test_an_async_langgraph_conversation_keeps_one_routing_key(
    endpoint, chat, requests_to
) -> None:
    name = endpoint(stream_format="tgi", routing=Routing(instances=4))
    model = chat(name, model_id=FALCON, prefix_aware_id_from="thread_id")
    graph = _graph(model, run_async=True)
    for thread in ("carol", "carol"):
        await graph.ainvoke({"messages": [HumanMessage(QUESTION)]}, config=_thread(thread))
    seen = requests_to(name)
    assert _ids(seen) == ["carol", "carol"]
    assert len({r.instance for r in seen}) == 1 and seen[1].cached_chars > 0


def test_precedence_per_call_then_thread_then_field(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    model = llm(name, prefix_aware_id="app", prefix_aware_id_from="thread_id")
    model.invoke(QUESTION)
    model.invoke(QUESTION, config=_thread("t"))
    model.invoke(QUESTION, config=_thread("t"), prefix_aware_id="call")
    assert _ids(requests_to(name)) == ["app", "t", "call"]


def test_a_function_can_pick_the_key(endpoint, llm, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    model = llm(name, prefix_aware_id_from=lambda config: config["metadata"].get("user"))
    model.invoke(QUESTION, config={"metadata": {"user": "u-42"}})
    assert _ids(requests_to(name)) == ["u-42"]


@pytest.mark.parametrize("thread", ["x" * 65, "conversation with ünïcode", " leading space"])
def test_thread_ids_sagemaker_would_refuse_are_hashed(endpoint, llm, requests_to, thread) -> None:
    name = endpoint(stream_format="tgi")
    model = llm(name, prefix_aware_id_from="thread_id")
    model.invoke(QUESTION, config=_thread(thread))
    model.invoke(QUESTION, config=_thread(thread))
    expected = hashlib.sha256(thread.encode()).hexdigest()
    assert _ids(requests_to(name)) == [expected, expected]


@pytest.mark.parametrize("bad", ["", " x", "a" * 65, "tab\there", "é"])
def test_an_invalid_explicit_key_is_refused_before_sending(endpoint, llm, requests_to, bad) -> None:
    name = endpoint(stream_format="tgi")
    with pytest.raises(errors.ConfigurationError, match="PrefixAwareId constraint"):
        llm(name).invoke(QUESTION, prefix_aware_id=bad)
    assert requests_to(name) == []


def test_an_unknown_source_is_a_configuration_error(endpoint, llm) -> None:
    model = llm(endpoint(stream_format="tgi"), prefix_aware_id_from="thread_id")
    object.__setattr__(model, "prefix_aware_id_from", "session")  # bypass validation
    with pytest.raises(errors.ConfigurationError, match="not a known source"):
        model.invoke(QUESTION, config=_thread("t"))


def test_prefix_routing_inside_a_session(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="tgi", routing=Routing(instances=2))
    model = chat(name, model_id=FALCON, prefix_aware_id_from="thread_id")
    with model.session() as session:
        session.model.invoke(QUESTION, config=_thread("t9"))
    inside = [r for r in requests_to(name) if r.streaming]
    assert inside[0].headers[PREFIX] == "t9"
    assert inside[0].headers["x-amzn-sagemaker-session-id"] == session.id


def _ttft(chunks: Any) -> float:
    started = time.perf_counter()
    for chunk in chunks:
        if chunk:
            return time.perf_counter() - started
    raise AssertionError("no token")


async def _attft(chunks: Any) -> float:
    started = time.perf_counter()
    async for chunk in chunks:
        if chunk:
            return time.perf_counter() - started
    raise AssertionError("no token")


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_same_conversation_gets_its_first_token_sooner(endpoint, llm, mode) -> None:
    # 1 ms per uncached character: the first turn waits >= 0.8 s before its first token,
    # the follow-up only for its 40 new characters. The margin is wide on purpose.
    name = endpoint(
        stream_format="tgi", routing=Routing(instances=2, prefill_seconds_per_char=0.001)
    )
    model = llm(name, prefix_aware_id_from="thread_id", max_tokens=5)
    history = "Document: " + "the tide rises and falls; " * 31  # 816 characters
    follow_up = history + "Question: when is high tide?"
    config = _thread("tides")
    if mode == "sync":
        first = _ttft(model.stream(history, config=config))
        second = _ttft(model.stream(follow_up, config=config))
    else:
        first = await _attft(model.astream(history, config=config))
        second = await _attft(model.astream(follow_up, config=config))
    assert first >= 0.8
    assert second < first / 2
