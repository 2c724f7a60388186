"""Deterministic stand-in for a language model (pure, no I/O).

The same prompt always gives the same answer, cut into the same word-piece-like tokens
(``" web"``, ``"site"``, ``","``, a newline) with stable ids and log-probabilities.
Stop sequences and token budgets follow each container's rules: TGI keeps the stop
text in its output, LMI (vLLM) and OpenAI-style servers cut it out.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

FinishReason = Literal["length", "eos_token", "stop_sequence"]

WEBSITE_ANSWER = (
    "Building a website can be a fun and rewarding project. Here are the basic steps:\n"
    "\n"
    "1. Choose a domain name and register it with a domain registrar.\n"
    "2. Pick a web hosting provider that fits your budget and expected traffic.\n"
    "3. Plan the pages you need, such as a home page, an about page and a contact page.\n"
    "4. Design the layout with HTML and CSS, or use a site builder such as WordPress, "
    "Wix or Squarespace if you prefer not to write code.\n"
    "5. Add your content, images and contact details.\n"
    "6. Test the site on different browsers and devices.\n"
    "7. Publish it and share the link with your audience.\n"
    "\n"
    "Once the website is live, keep it updated and secure, and back it up regularly."
)

_OPENERS = (
    "Here is a short answer about {topic}.",
    "Good question! Let me explain {topic} briefly.",
    "Sure. {Topic} is easier to understand with an example.",
    "In short, {topic} depends on a few simple ideas.",
)
_MIDDLES = (
    "The first thing to know is that small, clear steps work better than one big leap.",
    "Most people start with the basics, then learn the details as they need them.",
    "It helps to write down what you already know and what you still need to find out.",
    "A good habit is to test each idea on a small case before relying on it.",
)
_FLAVOURS = (
    "Think of it like ordering a coffee at a café: ask clearly and you get what you want.",
    "Even a naïve first attempt teaches you something useful 🙂",
    "Curious fact: the word for it in Japanese is written in 日本語 characters.",
    "Engineers in Zürich and São Paulo would give the same advice 🚀",
)
_CLOSERS = (
    "I hope this helps!",
    "Let me know if you would like more detail.",
    "Feel free to ask a follow-up question.",
)
_JAPANESE = (
    "ご質問ありがとうございます。",
    "日本語でお答えします。",
    "まず、基本的な考え方を理解することが大切です。",
    "次に、小さな例で試してみると分かりやすくなります。",
    "最後に、結果を確認して必要に応じて調整してください。",
    "何か他に質問があれば、お気軽にどうぞ。",
)
_ROLE_WORDS = frozenset({"user", "assistant", "system", "human", "ai", "question", "answer"})

# Byte-level tokenizers keep the leading space with the word, split digits, and give
# punctuation, emoji and newlines their own tokens.
_PIECES = re.compile(r"\n|[ \t]*[^\W\d_]+|[ \t]*\d|[ \t]*[^\w\s]|[ \t]+|[\s\S]")
_WORD_PIECE = 6
_CJK_PIECE = 2
_KNOWN_EOS_IDS = {"<|endoftext|>": 11, "</s>": 2, "<|eot_id|>": 128009, "<|im_end|>": 151645}


@dataclass(frozen=True)
class Token:
    """One generated token."""

    id: int
    text: str
    logprob: float
    special: bool = False


@dataclass(frozen=True)
class ParsedRequest:
    """The parts of a request body that steer generation.

    ``chat`` is true for a ``messages`` body; ``tools``, ``tool_choice`` and
    ``response_format`` are its OpenAI-style fields as sent (see ``_tools``).
    """

    prompt: str
    stream: bool
    max_tokens: int | None
    stop: tuple[str, ...]
    details: bool | None
    seed: int | None
    include_usage: bool
    model: str | None
    digest: str
    chat: bool = False
    tools: tuple[Any, ...] = field(default=(), hash=False)
    tool_choice: Any = field(default=None, hash=False)
    response_format: Any = field(default=None, hash=False)


@dataclass(frozen=True)
class Generation:
    """What the model produced for one request, after budget and stop rules.

    ``tokens`` includes the EOS token when the answer ended naturally; ``text`` is the
    answer without special tokens, exactly as a correct client should assemble it.
    """

    tokens: tuple[Token, ...]
    finish_reason: FinishReason
    text: str
    prompt_tokens: int
    tool_call: str | None = None
    """The function called, when ``text`` is the arguments of a forced tool call."""
    reasoning: tuple[Token, ...] = ()
    """Thinking streamed apart from the answer (``delta.reasoning``), before it."""
    refusal: str | None = None
    """The model declined; chat routes stream this as ``delta.refusal``."""


class RequestError(ValueError):
    """The container would reject this body (TGI and vLLM answer 422)."""


def parse_request(body: bytes, *, chat: bool) -> ParsedRequest:
    """Parse a request body the way the containers read it.

    Args:
        body: Raw request bytes.
        chat: Whether the endpoint speaks the OpenAI chat API (``messages``).

    Returns:
        The parsed request.

    Raises:
        RequestError: The body is not a JSON object or has no prompt.
    """
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RequestError(f"Failed to deserialize the JSON body: {exc}") from exc
    if not isinstance(data, dict):
        raise RequestError("Failed to deserialize the JSON body: expected an object")
    prompt = _prompt_of(data, chat=chat)
    params = data.get("parameters")
    params = params if isinstance(params, dict) else {}
    stream_options = data.get("stream_options")
    include_usage = isinstance(stream_options, dict) and bool(stream_options.get("include_usage"))
    details = params.get("details")
    seed = params.get("seed", data.get("seed"))
    model = data.get("model")
    messages = data.get("messages")
    tools = data.get("tools")
    return ParsedRequest(
        prompt=prompt,
        stream=data.get("stream") is True,
        max_tokens=_max_tokens(data, params),
        stop=_stops(data, params),
        details=details if isinstance(details, bool) else None,
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        include_usage=include_usage,
        model=model if isinstance(model, str) else None,
        digest=f"{zlib.crc32(body):08x}{zlib.adler32(body):08x}",
        chat=isinstance(messages, list) and bool(messages),
        tools=tuple(tools) if isinstance(tools, list) else (),
        tool_choice=data.get("tool_choice"),
        response_format=data.get("response_format"),
    )


def _prompt_of(data: Mapping[str, Any], *, chat: bool) -> str:
    messages = data.get("messages")
    if isinstance(messages, list) and messages:
        return _last_user_message(messages)
    if chat:
        raise RequestError("Failed to deserialize the JSON body: missing field `messages`")
    for key in ("inputs", "prompt"):
        value = data.get(key)
        if isinstance(value, list) and value and isinstance(value[0], str):
            value = value[0]
        if isinstance(value, str):
            return value
    raise RequestError("Failed to deserialize the JSON body: missing field `inputs`")


def _last_user_message(messages: Sequence[Any]) -> str:
    chosen: Any = messages[-1]
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            chosen = message
            break
    content = chosen.get("content") if isinstance(chosen, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        for part in content:  # image parts are accepted (vision containers), if well formed
            if isinstance(part, dict) and part.get("type") == "image_url":
                url = (part.get("image_url") or {}).get("url")
                if not isinstance(url, str) or not url.startswith(("data:image/", "http")):
                    raise RequestError("image_url.url must be an http(s) or data:image URL")
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return "\n".join(p for p in parts if isinstance(p, str))
    raise RequestError("Failed to deserialize the JSON body: a message has no text content")


def _max_tokens(data: Mapping[str, Any], params: Mapping[str, Any]) -> int | None:
    for value in (
        params.get("max_new_tokens"),
        data.get("max_completion_tokens"),
        data.get("max_tokens"),
        data.get("max_new_tokens"),
    ):
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise RequestError("`max_new_tokens` must be strictly positive")
            return value
    return None


def _stops(data: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[str, ...]:
    for value in (params.get("stop"), params.get("stop_sequences"), data.get("stop")):
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return tuple(s for s in value if isinstance(s, str) and s)
    return ()


def answer_text(prompt: str, override: str | None = None) -> str:
    """The full natural answer to ``prompt`` (before any budget or stop rule)."""
    if override is not None:
        return override
    if "build a website" in prompt.lower():
        return WEBSITE_ANSWER
    if _is_japanese(prompt):
        return _japanese_answer(prompt)
    return _generic_answer(prompt)


def _pick(options: Sequence[str], prompt: str, salt: str) -> str:
    return options[zlib.crc32(f"{salt}:{prompt}".encode()) % len(options)]


def _is_japanese(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


def _japanese_answer(prompt: str) -> str:
    first, rest = _JAPANESE[0], _JAPANESE[1:]
    start = zlib.crc32(prompt.encode()) % 2
    return first + "".join(rest[start : start + 4])


_MARKUP = re.compile(r"<[^<>\n]{1,40}>|\[/?INST\]|<<SYS>>|<</SYS>>|>>[A-Z]+<<")
_ASKING = re.compile(
    r"^(?:please\s+)?(?:how (?:do|can|should) (?:i|we|you)|how to|what (?:is|are)|"
    r"why (?:is|are|do)|can you|could you|explain(?: to [^,]+,)?|tell me about|describe)\s+",
    re.IGNORECASE,
)
_FILLER = frozenset(
    {"and", "then", "so", "ok", "okay", "thanks", "thank", "you", "yes", "no", "it"}
    | {"hi", "hello", "hey", "more", "go", "on", "why", "what", "how"}
)


_SENTENCE_STARTS = frozenset({"a", "an", "the", "which", "my", "our", "your", "this", "that"})


def _topic(prompt: str) -> str:
    """The subject of the user's last line, as a noun phrase for the canned answer."""
    text = _MARKUP.sub("\n", prompt)
    lines = [
        line.strip()
        for line in text.splitlines()
        if re.search(r"[^\W\d_]", line)
        and line.strip().rstrip(":").strip().lower() not in _ROLE_WORDS
        and not (line.strip().endswith(":") and len(line.split()) <= 2)  # "Falcon:"
    ]
    if not lines:
        return "your question"
    line = lines[-1]
    head, colon, tail = line.rpartition(":")
    if colon and (re.search(r"[^\W\d_]", tail) or head.strip().lower() in _ROLE_WORDS):
        line = tail  # "...in a few sentences: TOPIC", or "User: TOPIC"
    line = _ASKING.sub("", line.strip()).strip(" ?!.,;")
    words = line.split()
    if not words or all(w.lower().strip("?!.,") in _FILLER for w in words):
        return "your question"
    topic = " ".join(words[:8])
    if words[0].lower() in _SENTENCE_STARTS:  # "Which errors" -> "which errors"; not "Paris"
        topic = topic[0].lower() + topic[1:]
    return topic


def _generic_answer(prompt: str) -> str:
    topic = _topic(prompt)
    opener = _pick(_OPENERS, prompt, "open").format(
        topic=topic, Topic=topic[:1].upper() + topic[1:]
    )
    sentences = [
        opener,
        _pick(_MIDDLES, prompt, "middle"),
        _pick(_FLAVOURS, prompt, "flavour"),
        _pick(_CLOSERS, prompt, "close"),
    ]
    return " ".join(sentences)


def tokenize(text: str) -> list[str]:
    """Cut text into word-piece-like tokens; ``"".join(tokenize(t)) == t``."""
    pieces: list[str] = []
    for piece in _PIECES.findall(text):
        core = piece.lstrip(" \t")
        size = _CJK_PIECE if _is_japanese(core) else _WORD_PIECE
        if len(core) <= size or not core[:1].isalpha():
            pieces.append(piece)
            continue
        lead = piece[: len(piece) - len(core)]
        chunks = [core[i : i + size] for i in range(0, len(core), size)]
        pieces.append(lead + chunks[0])
        pieces.extend(chunks[1:])
    return pieces


def token_id(text: str) -> int:
    """A stable vocabulary id for a token text."""
    if text in _KNOWN_EOS_IDS:
        return _KNOWN_EOS_IDS[text]
    return 100 + zlib.crc32(text.encode("utf-8")) % 60000


def _logprob(index: int, text: str) -> float:
    return -(1 + zlib.crc32(f"{index}:{text}".encode()) % 2500) / 1000


def generate(
    request: ParsedRequest,
    *,
    eos_token: str,
    keep_stop_text: bool,
    answer: str | None = None,
    default_max_tokens: int | None = None,
) -> Generation:
    """Generate the answer for a request, applying the budget and stop sequences.

    Args:
        request: The parsed request.
        eos_token: Text of the EOS special token emitted at a natural end.
        keep_stop_text: TGI semantics (the token completing a stop sequence is sent
            whole and the text keeps it) when true; vLLM/OpenAI semantics (the text
            is cut just before the stop sequence) when false.
        answer: Canned answer that replaces the generated one.
        default_max_tokens: Budget when the request sets none.

    Returns:
        The generation.
    """
    pieces = tokenize(answer_text(request.prompt, answer))
    budget = request.max_tokens if request.max_tokens is not None else default_max_tokens
    prompt_tokens = len(tokenize(request.prompt))
    tokens: list[Token] = []
    text = ""
    for index, piece in enumerate(pieces):
        if budget is not None and len(tokens) >= budget:
            return Generation(tuple(tokens), "length", text, prompt_tokens)
        tokens.append(Token(token_id(piece), piece, _logprob(index, piece)))
        cut = _stop_position(text, piece, request.stop)
        text += piece
        if cut is not None:
            if not keep_stop_text:
                tokens, text = _clip(tokens, cut)
            return Generation(tuple(tokens), "stop_sequence", text, prompt_tokens)
    if budget is not None and len(tokens) >= budget:
        return Generation(tuple(tokens), "length", text, prompt_tokens)
    eos = Token(token_id(eos_token), eos_token, _logprob(len(tokens), eos_token), special=True)
    tokens.append(eos)
    return Generation(tuple(tokens), "eos_token", text, prompt_tokens)


def _stop_position(before: str, piece: str, stops: Sequence[str]) -> int | None:
    """Where the earliest stop sequence completed by ``piece`` starts, if any."""
    combined = before + piece
    found: list[int] = []
    for stop in stops:
        start = max(0, len(before) - len(stop) + 1)
        position = combined.find(stop, start)
        if position != -1:
            found.append(position)
    return min(found) if found else None


def _clip(tokens: list[Token], cut: int) -> tuple[list[Token], str]:
    """Cut token texts at character ``cut``; drop emptied tokens except the last one."""
    clipped: list[Token] = []
    offset = 0
    for token in tokens:
        keep = max(0, min(len(token.text), cut - offset))
        offset += len(token.text)
        clipped.append(Token(token.id, token.text[:keep], token.logprob, token.special))
    last = clipped[-1]
    kept = [t for t in clipped[:-1] if t.text]
    kept.append(last)
    return kept, "".join(t.text for t in kept)
