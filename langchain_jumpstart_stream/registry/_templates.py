"""Chat templates: how a model expects a conversation to be laid out as one prompt.

A :class:`ChatTemplate` is plain data (role markers, where the system prompt
goes, what opens the assistant's turn); :func:`render_chat` is the one pure
function that lays a conversation out with it. Each template below says where
its layout comes from and whether that source was checked; the snapshot
(``models.json``) refers to templates by :attr:`ChatTemplate.name`.

Only raw-prompt requests (``request_schema`` ``"tgi"`` or ``"lmi"``) need these:
containers that take an OpenAI-style ``messages`` body apply the model's own
template on the server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from ..errors import ConfigurationError

__all__ = ["TEMPLATES", "ChatTemplate", "Role", "render_chat"]

Role = Literal["system", "user", "assistant"]
SystemMode = Literal["turn", "merge_first_user", "merge_last_user"]

_ROLES: frozenset[str] = frozenset({"system", "user", "assistant"})


@dataclass(frozen=True, slots=True)
class ChatTemplate:
    r"""How one model family lays out a conversation as a single prompt string.

    Every turn is rendered as ``<role prefix><content><role suffix>``.

    Attributes:
        name: Short identifier, referenced by the snapshot (``"llama3"``, ...).
        bos: Text placed once at the very start of the prompt.
        system_prefix: Opens a system turn (only used when ``system_mode="turn"``).
        system_suffix: Closes a system turn.
        user_prefix: Opens a user turn.
        user_suffix: Closes a user turn.
        assistant_prefix: Opens an assistant turn taken from the history.
        assistant_suffix: Closes an assistant turn taken from the history.
        generation_prompt: Appended when the model should answer next.
        system_mode: ``"turn"`` renders system messages as their own turns;
            ``"merge_first_user"`` / ``"merge_last_user"`` prepend them to the
            first / last user message (for models without a system role).
        system_separator: Joins merged system text and the user message.
        default_system: System prompt the official template inserts when the
            conversation has none (``None``: insert nothing).
        newline: Replacement for ``"\n"`` inside message contents (Rinna's
            tokenizer spells a newline ``<NL>``); ``None`` keeps newlines.
        strip_content: Strip surrounding whitespace from every message (Gemma).
        strip_reasoning: Drop everything up to the last ``</think>`` from
            assistant history messages (DeepSeek-R1 style reasoning models).
        stop_sequences: Strings that mark the end of the assistant's turn when
            the server does not stop on its own.
        verified: Whether the layout was checked against the model's own
            chat template or model card.
        source: Where the layout comes from.
    """

    name: str
    bos: str = ""
    system_prefix: str = ""
    system_suffix: str = ""
    user_prefix: str = ""
    user_suffix: str = ""
    assistant_prefix: str = ""
    assistant_suffix: str = ""
    generation_prompt: str = ""
    system_mode: SystemMode = "turn"
    system_separator: str = "\n\n"
    default_system: str | None = None
    newline: str | None = None
    strip_content: bool = False
    strip_reasoning: bool = False
    stop_sequences: tuple[str, ...] = ()
    verified: bool = False
    source: str = ""


def render_chat(
    template: ChatTemplate,
    messages: Sequence[tuple[str, str]],
    *,
    add_generation_prompt: bool = True,
) -> str:
    """Lay a conversation out as one prompt string, the way the model was trained.

    Args:
        template: The model's chat template (``get_model(id).chat_template``).
        messages: ``(role, content)`` pairs in order; roles are ``"system"``,
            ``"user"`` and ``"assistant"``.
        add_generation_prompt: Append the text that opens the assistant's turn,
            so that the model answers next.

    Returns:
        The prompt, to be sent as the request's ``inputs``.

    Raises:
        ConfigurationError: A role is not one of the three above.
    """
    turns = [_checked(role, content, template) for role, content in messages]
    turns = _place_system(template, turns)
    parts = [template.bos]
    for role, content in turns:
        if role == "system":
            parts.append(template.system_prefix + content + template.system_suffix)
        elif role == "user":
            parts.append(template.user_prefix + content + template.user_suffix)
        else:
            parts.append(template.assistant_prefix + content + template.assistant_suffix)
    if add_generation_prompt:
        parts.append(template.generation_prompt)
    return "".join(parts)


def _checked(role: str, content: str, template: ChatTemplate) -> tuple[str, str]:
    if role not in _ROLES:
        raise ConfigurationError(
            f"unknown chat role {role!r}",
            hint="Use 'system', 'user' or 'assistant'",
        )
    if template.strip_reasoning and role == "assistant" and "</think>" in content:
        content = content.rsplit("</think>", 1)[1]
    if template.strip_content:
        content = content.strip()
    if template.newline is not None:
        content = content.replace("\n", template.newline)
    return role, content


def _place_system(template: ChatTemplate, turns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    has_system = any(role == "system" for role, _ in turns)
    if not has_system and template.default_system is not None:
        turns = [("system", template.default_system), *turns]
    if template.system_mode == "turn":
        return turns
    system_text = template.system_separator.join(c for r, c in turns if r == "system")
    rest = [(r, c) for r, c in turns if r != "system"]
    if not system_text:
        return rest
    user_positions = [i for i, (role, _) in enumerate(rest) if role == "user"]
    if not user_positions:
        return [("user", system_text), *rest]
    at = user_positions[0] if template.system_mode == "merge_first_user" else user_positions[-1]
    rest[at] = ("user", system_text + template.system_separator + rest[at][1])
    return rest


# --- the templates ----------------------------------------------------------------

_HF = "tokenizer_config.json chat_template of "

FALCON_INSTRUCT = ChatTemplate(
    name="falcon-instruct",
    system_suffix="\n",
    user_prefix="User: ",
    user_suffix="\n",
    assistant_prefix="Assistant: ",
    assistant_suffix="\n",
    generation_prompt="Assistant:",
    stop_sequences=("\nUser:",),
    verified=True,
    source=(
        "TII's answer in tiiuae/falcon-7b-instruct discussion #1 ('User: ...\\nAssistant:'); "
        "the model has no chat template, so a system prompt is a plain first line, and "
        "'\\nUser:' stops it from writing the user's next turn itself"
    ),
)

FALCON_180B_CHAT = ChatTemplate(
    name="falcon-180b-chat",
    system_prefix="System: ",
    system_suffix="\n",
    user_prefix="User: ",
    user_suffix="\n",
    assistant_prefix="Falcon: ",
    assistant_suffix="\n",
    generation_prompt="Falcon:",
    stop_sequences=("\nUser:",),
    verified=True,
    source="Hugging Face 'Falcon 180B' blog post, prompt format section (System:/User:/Falcon:)",
)

MISTRAL = ChatTemplate(
    name="mistral",
    bos="<s>",
    user_prefix="[INST] ",
    user_suffix=" [/INST]",
    assistant_suffix="</s>",
    system_mode="merge_first_user",
    verified=True,
    source=(
        _HF + "mistralai/Mistral-7B-Instruct-v0.2 and Mixtral-8x7B-Instruct-v0.1; that template "
        "rejects system messages, so they are merged into the first user turn"
    ),
)

MISTRAL_V3 = ChatTemplate(
    name="mistral-v3",
    bos="<s>",
    user_prefix="[INST] ",
    user_suffix="[/INST]",
    assistant_prefix=" ",
    assistant_suffix="</s>",
    system_mode="merge_last_user",
    verified=False,
    source=(
        "Mistral v0.3 layout as rendered by third-party tests of the v0.3 template "
        "(no space before [/INST], system prompt before the last user message); "
        "not checked against mistralai's own tokenizer_config.json"
    ),
)

LLAMA3 = ChatTemplate(
    name="llama3",
    bos="<|begin_of_text|>",
    system_prefix="<|start_header_id|>system<|end_header_id|>\n\n",
    system_suffix="<|eot_id|>",
    user_prefix="<|start_header_id|>user<|end_header_id|>\n\n",
    user_suffix="<|eot_id|>",
    assistant_prefix="<|start_header_id|>assistant<|end_header_id|>\n\n",
    assistant_suffix="<|eot_id|>",
    generation_prompt="<|start_header_id|>assistant<|end_header_id|>\n\n",
    stop_sequences=("<|eot_id|>",),
    verified=True,
    source=(
        "Meta's Llama 3 prompt-format documentation; the Llama 3.1+ templates also add a "
        "'Cutting Knowledge Date' preamble to the system turn, which is left to the caller"
    ),
)

GEMMA = ChatTemplate(
    name="gemma",
    bos="<bos>",
    user_prefix="<start_of_turn>user\n",
    user_suffix="<end_of_turn>\n",
    assistant_prefix="<start_of_turn>model\n",
    assistant_suffix="<end_of_turn>\n",
    generation_prompt="<start_of_turn>model\n",
    system_mode="merge_first_user",
    strip_content=True,
    stop_sequences=("<end_of_turn>",),
    verified=True,
    source=(
        _HF + "google/gemma-2-2b-it (Gemma 1 and 2 share it; it rejects a system role, so the "
        "system prompt leads the first user turn as Gemma 3's template does)"
    ),
)

CHATML_QWEN = ChatTemplate(
    name="qwen2.5",
    system_prefix="<|im_start|>system\n",
    system_suffix="<|im_end|>\n",
    user_prefix="<|im_start|>user\n",
    user_suffix="<|im_end|>\n",
    assistant_prefix="<|im_start|>assistant\n",
    assistant_suffix="<|im_end|>\n",
    generation_prompt="<|im_start|>assistant\n",
    default_system="You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
    stop_sequences=("<|im_end|>",),
    verified=True,
    source=_HF + "Qwen/Qwen2.5-*-Instruct (ChatML, with Qwen's default system prompt)",
)

CHATML = ChatTemplate(
    name="chatml",
    system_prefix="<|im_start|>system\n",
    system_suffix="<|im_end|>\n",
    user_prefix="<|im_start|>user\n",
    user_suffix="<|im_end|>\n",
    assistant_prefix="<|im_start|>assistant\n",
    assistant_suffix="<|im_end|>\n",
    generation_prompt="<|im_start|>assistant\n",
    stop_sequences=("<|im_end|>",),
    verified=True,
    source="ChatML as used by Qwen2 and Qwen3 chat templates, without a default system prompt",
)

DEEPSEEK_R1 = ChatTemplate(
    name="deepseek-r1",
    bos="<｜begin▁of▁sentence｜>",  # noqa: RUF001 (DeepSeek uses fullwidth bars)
    user_prefix="<｜User｜>",  # noqa: RUF001 (DeepSeek uses fullwidth bars)
    assistant_prefix="<｜Assistant｜>",  # noqa: RUF001 (DeepSeek uses fullwidth bars)
    assistant_suffix="<｜end▁of▁sentence｜>",  # noqa: RUF001 (DeepSeek uses fullwidth bars)
    generation_prompt="<｜Assistant｜><think>\n",  # noqa: RUF001 (DeepSeek uses fullwidth bars)
    strip_reasoning=True,
    stop_sequences=("<｜end▁of▁sentence｜>",),  # noqa: RUF001 (DeepSeek uses fullwidth bars)
    verified=True,
    source=(
        _HF + "deepseek-ai/DeepSeek-R1-Distill-* (system text right after BOS, "
        "reasoning dropped from earlier answers, '<think>\\n' opens the answer)"
    ),
)

RINNA = ChatTemplate(
    name="rinna",
    system_suffix="<NL>",
    user_prefix="ユーザー: ",
    user_suffix="<NL>",
    assistant_prefix="システム: ",
    assistant_suffix="<NL>",
    generation_prompt="システム: ",
    newline="<NL>",
    stop_sequences=("<NL>ユーザー:",),
    verified=True,
    source=(
        "model card of rinna/japanese-gpt-neox-3.6b-instruction-ppo "
        "('ユーザー: ...<NL>システム: '); "
        "'システム' is the assistant's speaker name, so a system prompt is a plain first line"
    ),
)

RINNA_BILINGUAL = ChatTemplate(
    name="rinna-bilingual",
    system_suffix="\n",
    user_prefix="ユーザー: ",
    user_suffix="\n",
    assistant_prefix="システム: ",
    assistant_suffix="\n",
    generation_prompt="システム: ",
    stop_sequences=("\nユーザー:",),
    verified=True,
    source=(
        "model card of rinna/bilingual-gpt-neox-4b-instruction-sft/-ppo (same speakers as the "
        "3.6b model, joined with real newlines)"
    ),
)

FALCON3 = ChatTemplate(
    name="falcon3",
    system_prefix="<|system|>\n",
    system_suffix="\n",
    user_prefix="<|user|>\n",
    user_suffix="\n",
    assistant_prefix="<|assistant|>\n",
    assistant_suffix="<|endoftext|>\n",
    generation_prompt="<|assistant|>\n",
    stop_sequences=("<|endoftext|>", "\n<|user|>"),
    verified=False,
    source="Falcon3-*-Instruct layout recalled from its tokenizer_config.json; not checked here",
)

HARMONY = ChatTemplate(
    name="harmony",
    bos=(
        "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
        "Knowledge cutoff: 2024-06\n\nReasoning: medium\n\n"
        "# Valid channels: analysis, commentary, final. "
        "Channel must be included for every message.<|end|>"
    ),
    system_prefix="<|start|>developer<|message|># Instructions\n\n",
    system_suffix="<|end|>",
    user_prefix="<|start|>user<|message|>",
    user_suffix="<|end|>",
    assistant_prefix="<|start|>assistant<|channel|>final<|message|>",
    assistant_suffix="<|end|>",
    generation_prompt="<|start|>assistant",
    stop_sequences=("<|return|>", "<|call|>"),
    verified=False,
    source=(
        "OpenAI harmony response format (cookbook): the caller's system prompt becomes the "
        "developer message; the system preamble is a minimal version without a date, tools "
        "or a chosen reasoning effort. Prefer the container's messages API for gpt-oss"
    ),
)

#: Every known template by name.
TEMPLATES: Mapping[str, ChatTemplate] = MappingProxyType(
    {
        t.name: t
        for t in (
            FALCON_INSTRUCT,
            FALCON_180B_CHAT,
            FALCON3,
            MISTRAL,
            MISTRAL_V3,
            LLAMA3,
            GEMMA,
            CHATML_QWEN,
            CHATML,
            DEEPSEEK_R1,
            RINNA,
            RINNA_BILINGUAL,
            HARMONY,
        )
    }
)
