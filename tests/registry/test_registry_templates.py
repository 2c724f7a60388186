"""Chat templates render exactly what the models' own templates render."""

# Rinna's Japanese prompts and DeepSeek's special tokens use fullwidth characters on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langchain_jumpstart_stream.errors import ConfigurationError
from langchain_jumpstart_stream.registry import ChatTemplate, render_chat
from langchain_jumpstart_stream.registry._templates import TEMPLATES

CHAT = [("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello"), ("user", "Bye")]

EXPECTED = {
    "falcon-instruct": "Be brief.\nUser: Hi\nAssistant: Hello\nUser: Bye\nAssistant:",
    "falcon-180b-chat": "System: Be brief.\nUser: Hi\nFalcon: Hello\nUser: Bye\nFalcon:",
    "falcon3": (
        "<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\nHello<|endoftext|>\n"
        "<|user|>\nBye\n<|assistant|>\n"
    ),
    "mistral": "<s>[INST] Be brief.\n\nHi [/INST]Hello</s>[INST] Bye [/INST]",
    "mistral-v3": "<s>[INST] Hi[/INST] Hello</s>[INST] Be brief.\n\nBye[/INST]",
    "llama3": (
        "<|begin_of_text|>"
        "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    ),
    "gemma": (
        "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n"
        "<start_of_turn>model\n"
    ),
    "qwen2.5": (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello<|im_end|>\n"
        "<|im_start|>user\nBye<|im_end|>\n"
        "<|im_start|>assistant\n"
    ),
    "chatml": (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello<|im_end|>\n"
        "<|im_start|>user\nBye<|im_end|>\n"
        "<|im_start|>assistant\n"
    ),
    "deepseek-r1": (
        "<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜>Hello<｜end▁of▁sentence｜>"
        "<｜User｜>Bye<｜Assistant｜><think>\n"
    ),
    "rinna": "Be brief.<NL>ユーザー: Hi<NL>システム: Hello<NL>ユーザー: Bye<NL>システム: ",
    "rinna-bilingual": "Be brief.\nユーザー: Hi\nシステム: Hello\nユーザー: Bye\nシステム: ",
    "harmony": (
        "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
        "Knowledge cutoff: 2024-06\n\nReasoning: medium\n\n# Valid channels: analysis, "
        "commentary, final. Channel must be included for every message.<|end|>"
        "<|start|>developer<|message|># Instructions\n\nBe brief.<|end|>"
        "<|start|>user<|message|>Hi<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Hello<|end|>"
        "<|start|>user<|message|>Bye<|end|>"
        "<|start|>assistant"
    ),
}


def test_every_template_has_an_exact_expectation() -> None:
    assert set(EXPECTED) == set(TEMPLATES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_renders_a_multi_turn_conversation_exactly(name: str) -> None:
    assert render_chat(TEMPLATES[name], CHAT) == EXPECTED[name]


def test_rinna_matches_the_model_card_example() -> None:
    # The conversation and the expected prompt of rinna/japanese-gpt-neox-3.6b-instruction-ppo.
    chat = [
        ("user", "コンタクトレンズを慣れるにはどうすればよいですか？"),
        ("assistant", "これについて具体的に説明していただけますか？何が難しいのでしょうか？"),
        ("user", "目が痛いのです。"),
    ]
    assert render_chat(TEMPLATES["rinna"], chat) == (
        "ユーザー: コンタクトレンズを慣れるにはどうすればよいですか？<NL>"
        "システム: これについて具体的に説明していただけますか？何が難しいのでしょうか？<NL>"
        "ユーザー: 目が痛いのです。<NL>システム: "
    )


def test_rinna_spells_newlines_inside_messages_as_nl() -> None:
    assert render_chat(TEMPLATES["rinna"], [("user", "a\nb")]) == "ユーザー: a<NL>b<NL>システム: "
    bilingual = render_chat(TEMPLATES["rinna-bilingual"], [("user", "a\nb")])
    assert bilingual == "ユーザー: a\nb\nシステム: "


def test_without_generation_prompt_the_last_turn_is_closed() -> None:
    rendered = render_chat(TEMPLATES["llama3"], [("user", "Hi")], add_generation_prompt=False)
    assert rendered == "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
    falcon = render_chat(
        TEMPLATES["falcon-instruct"], [("user", "Hi")], add_generation_prompt=False
    )
    assert falcon == "User: Hi\n"


def test_qwen_inserts_its_default_system_prompt_only_when_none_is_given() -> None:
    rendered = render_chat(TEMPLATES["qwen2.5"], [("user", "Hi")])
    assert rendered == (
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant."
        "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )
    assert render_chat(TEMPLATES["chatml"], [("user", "Hi")]) == (
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )


def test_merged_system_messages_are_joined_before_the_first_user_turn() -> None:
    chat = [("system", "A"), ("system", "B"), ("user", "x"), ("assistant", "y"), ("user", "z")]
    assert (
        render_chat(TEMPLATES["mistral"], chat)
        == "<s>[INST] A\n\nB\n\nx [/INST]y</s>[INST] z [/INST]"
    )


def test_a_system_message_alone_becomes_the_user_turn_when_there_is_no_system_role() -> None:
    assert render_chat(TEMPLATES["mistral"], [("system", "S")]) == "<s>[INST] S [/INST]"
    assert render_chat(TEMPLATES["gemma"], [("system", "S")]) == (
        "<bos><start_of_turn>user\nS<end_of_turn>\n<start_of_turn>model\n"
    )


def test_gemma_trims_messages_like_its_template() -> None:
    assert render_chat(TEMPLATES["gemma"], [("user", "  Hi \n")], add_generation_prompt=False) == (
        "<bos><start_of_turn>user\nHi<end_of_turn>\n"
    )


def test_deepseek_drops_earlier_reasoning_from_history() -> None:
    chat = [("user", "1+1?"), ("assistant", "<think>\nsum\n</think>\n\n2"), ("user", "2+2?")]
    assert render_chat(TEMPLATES["deepseek-r1"], chat) == (
        "<｜begin▁of▁sentence｜><｜User｜>1+1?<｜Assistant｜>\n\n2<｜end▁of▁sentence｜>"
        "<｜User｜>2+2?<｜Assistant｜><think>\n"
    )


def test_empty_conversation_is_just_the_prompt_opening() -> None:
    assert render_chat(TEMPLATES["llama3"], []) == (
        "<|begin_of_text|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )


@pytest.mark.parametrize("role", ["tool", "System", "", "developer"])
def test_unknown_roles_are_refused(role: str) -> None:
    with pytest.raises(ConfigurationError, match="unknown chat role"):
        render_chat(TEMPLATES["chatml"], [(role, "x")])


def test_templates_are_frozen_records() -> None:
    template = TEMPLATES["llama3"]
    with pytest.raises(AttributeError):
        template.bos = "x"  # type: ignore[misc]
    custom = ChatTemplate(name="plain", user_prefix="Q: ", user_suffix="\n", generation_prompt="A:")
    assert render_chat(custom, [("user", "why?")]) == "Q: why?\nA:"


def test_every_template_says_where_it_comes_from() -> None:
    for template in TEMPLATES.values():
        assert template.source, template.name


_plain_text = st.text(max_size=20)
_messages = st.lists(
    st.tuples(st.sampled_from(["system", "user", "assistant"]), _plain_text), max_size=6
)


@given(name=st.sampled_from(sorted(TEMPLATES)), messages=_messages)
def test_render_is_total_and_starts_with_bos(name: str, messages: list[tuple[str, str]]) -> None:
    template = TEMPLATES[name]
    rendered = render_chat(template, messages)
    assert rendered.startswith(template.bos)
    assert rendered.endswith(template.generation_prompt)
