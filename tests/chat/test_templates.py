"""Chat-template mode: the exact prompt each model family gets, and what streams back."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage

from langchain_jumpstart_stream import errors
from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER
from langchain_jumpstart_stream.registry import get_model

from . import QUESTION

FALCON = "huggingface-llm-falcon-7b-instruct-bf16"
MISTRAL = "huggingface-llm-mistral-7b-instruct"
LLAMA3 = "meta-textgeneration-llama-3-8b-instruct"
RINNA = "huggingface-llm-rinna-3-6b-instruction-ppo-bf16"

CONVERSATION = [
    ("system", "You are terse."),
    ("human", "Hi"),
    ("ai", "Hello!"),
    ("human", QUESTION),
]


@pytest.mark.parametrize(
    ("model_id", "stream_format", "inputs", "stops"),
    [
        (
            FALCON,
            "tgi",
            # No system role: the system prompt is a plain first line.
            f"You are terse.\nUser: Hi\nAssistant: Hello!\nUser: {QUESTION}\nAssistant:",
            {"stop": ["\nUser:"]},
        ),
        (
            MISTRAL,
            "tgi",
            # The template rejects system messages: merged into the first user turn.
            f"<s>[INST] You are terse.\n\nHi [/INST]Hello!</s>[INST] {QUESTION} [/INST]",
            {},
        ),
        (
            LLAMA3,
            "jsonlines",
            "<|begin_of_text|>"
            "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            f"<|start_header_id|>user<|end_header_id|>\n\n{QUESTION}<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            {"stop_sequences": ["<|eot_id|>"]},  # LMI's name for the parameter
        ),
    ],
    ids=["falcon", "mistral", "llama3"],
)
def test_template_request_body(
    endpoint, chat, requests_to, model_id, stream_format, inputs, stops
) -> None:
    name = endpoint(stream_format=stream_format)
    # Llama 3's LMI container also speaks the Messages API; ask for the template.
    model = chat(name, model_id=model_id, use_messages_api=False)
    answer = model.invoke(CONVERSATION)
    assert answer.content == WEBSITE_ANSWER
    (req,) = requests_to(name)
    assert req.json == {
        "inputs": inputs,
        "parameters": {"details": True, **get_model(model_id).default_parameters, **stops},
        "stream": True,
    }


def test_rinna_spells_newlines_nl_and_speaks_japanese(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    model = chat(name, model_id=RINNA, model_kwargs={"max_new_tokens": 40})
    messages = [
        ("system", "丁寧に答えてください。\n短く。"),
        ("human", "日本の首都は?"),
    ]
    answer = model.invoke(messages)
    (req,) = requests_to(name)
    assert req.json["inputs"] == (
        "丁寧に答えてください。<NL>短く。<NL>ユーザー: 日本の首都は?<NL>システム: "
    )
    assert req.json["parameters"]["stop"] == ["<NL>ユーザー:"]
    assert req.json["parameters"]["max_new_tokens"] == 40
    assert answer.content.startswith("ご質問ありがとうございます。")


def test_system_messages_anywhere_merge_for_mistral(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    model = chat(name, model_id=MISTRAL)
    model.invoke([("human", "Hi"), ("system", "Be kind."), ("system", "Be brief.")])
    assert requests_to(name)[0].json["inputs"] == ("<s>[INST] Be kind.\n\nBe brief.\n\nHi [/INST]")


def test_template_stream_token_by_token_with_metadata_last(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    chunks = list(chat(name, model_id=FALCON).stream(QUESTION))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert len(chunks) > 20
    assert "".join(c.text for c in chunks) == WEBSITE_ANSWER
    *body, last = chunks
    assert all(c.chunk_position is None and c.usage_metadata is None for c in body)
    assert all(c.response_metadata == {} for c in body)
    assert last.chunk_position == "last"
    served = last.response_metadata.pop("jumpstart")  # who served, how fast: test_telemetry
    assert served["endpoint_name"] == name
    assert last.response_metadata == {
        "finish_reason": "eos_token",
        "model_name": FALCON,
        "model_provider": "amazon_sagemaker",
    }
    usage = last.usage_metadata
    assert usage is not None
    assert usage["output_tokens"] == requests_to(name)[0].tokens_sent  # the EOS included
    assert usage["input_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_unknown_input_tokens_are_not_reported_as_zero(endpoint, chat) -> None:
    # LMI's text route reports generated tokens but not the prompt's size.
    name = endpoint(stream_format="jsonlines")
    model = chat(name, model_id=LLAMA3, use_messages_api=False)
    answer = model.invoke(QUESTION)
    assert answer.usage_metadata is None
    assert answer.response_metadata["output_tokens"] > 20
    assert answer.response_metadata["finish_reason"] == "eos_token"


def test_template_stop_sequences(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    model = chat(name, model_id=FALCON, stop=["hosting"])
    answer = model.invoke(QUESTION, stop=["registrar"])
    assert answer.content == WEBSITE_ANSWER[: WEBSITE_ANSWER.index("registrar")]
    assert answer.response_metadata["finish_reason"] == "stop_sequence"
    assert answer.response_metadata["stop_sequence"] == "registrar"
    assert requests_to(name)[0].json["parameters"]["stop"] == ["registrar", "hosting", "\nUser:"]


def test_non_streaming_template_call(endpoint, chat, requests_to) -> None:
    name = endpoint(stream_format="tgi")
    answer = chat(name, model_id=FALCON, streaming=False).invoke(QUESTION)
    assert answer.content == WEBSITE_ANSWER
    assert answer.response_metadata["finish_reason"] == "eos_token"
    (req,) = requests_to(name)
    assert not req.streaming
    assert "stream" not in req.json


def test_bind_tools_on_falcon_names_what_can(chat) -> None:
    model = chat("unused", model_id=FALCON)
    with pytest.raises(errors.ConfigurationError) as info:
        model.bind_tools([{"type": "function", "function": {"name": "f", "parameters": {}}}])
    text = str(info.value)
    assert FALCON in text
    assert "cannot call tools" in text
    assert "vLLM or DJL/LMI" in text and "supports_tools=True" in text
    with pytest.raises(errors.ConfigurationError):
        model.with_structured_output({"title": "X", "type": "object"}, method="json_schema")


def test_a_template_cannot_lay_out_tool_traffic(chat) -> None:
    model = chat("unused", model_id=FALCON)
    history = [
        ("human", "What is 1 + 2?"),
        AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}]),
        ToolMessage("3", tool_call_id="c1"),
    ]
    with pytest.raises(errors.ConfigurationError, match="Messages API"):
        model.invoke(history)


def test_no_template_and_no_messages_api_is_a_clear_error(chat) -> None:
    model = chat("unused", stream_format="tgi")
    with pytest.raises(errors.ConfigurationError, match="no chat template"):
        model.invoke("hi")
