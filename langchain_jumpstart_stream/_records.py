r"""Turn complete lines into typed records, for every format JumpStart containers emit.

One parser recognises all of them, so the caller's ``stream_format`` is only a
hint and a mis-set format still works:

* Hugging Face TGI server-sent events: ``data:{"token": {"id", "text", "logprob",
  "special"}, "generated_text", "details"}`` and in-band ``{"error", "error_type"}``.
* DJL/LMI JSON lines: ``{"token": {"id", "text", "log_prob"}}``, the TGI-keyed lines
  of newer LMI releases (bare, without ``data:``), the closing line with
  ``generated_text``/``details``, the error line (``finish_reason: "error"``), and
  the dynamic-batch ``{"outputs": [...]}`` lines.
* OpenAI-style ``chat.completion.chunk`` and ``text_completion`` chunks, over SSE
  (ending in ``[DONE]``) or as bare JSON lines, including the usage-only chunk.
* A whole non-streaming answer (``[{"generated_text": ...}]``), which is what a
  container that cannot stream sends through the streaming API.

SSE framing follows the WHATWG rules: ``data:`` with or without one space,
``event:``/``id:``/``retry:`` fields, ``:`` comments, multi-line ``data`` joined by
``\\n``, and an event dispatched at the blank line (or at the end of the body).
It does no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ._inband_errors import container_error, error_text
from .errors import LineTooLongError, MalformedStreamError

__all__ = ["Record", "RecordParser"]

_fast_loads: Callable[[bytes | str], Any]
try:  # orjson parses a token record ~6x faster; langchain-core already brings it (langsmith)
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - PyPy, or a trimmed environment
    _fast_loads = json.loads


# orjson's parser reserves several times the input size while it works: fine for a
# 150-byte token record, not for TGI's last event, which repeats the whole answer
# (a 360 KB line cost a 4.5 MB peak, against 0.7 MB with the stdlib).
_FAST_MAX = 16 * 1024


def _loads(payload: bytes | str) -> Any:
    """Parse JSON; what orjson refuses (NaN from Python servers...) goes to the stdlib."""
    if len(payload) > _FAST_MAX:
        return json.loads(payload)
    try:
        return _fast_loads(payload)
    except ValueError:
        return json.loads(payload)


_EXCERPT = 80


class Record:
    """What one JSON record from the container said.

    Attributes:
        text: Generated text in this record ("" if none).
        special: The token is a special token (EOS, BOS...) whose text is not shown.
        token_id: Token id, when the container sends it.
        logprob: Token log-probability, when the container sends it.
        finish_reason: Why generation ended, on the last record.
        input_tokens: Prompt tokens, when reported.
        output_tokens: Generated tokens, when reported.
        tool_calls: OpenAI ``delta.tool_calls`` entries, as sent.
        done: The OpenAI ``[DONE]`` sentinel arrived (alone, or glued to this record).
        final: The container's closing record (TGI's last event, LMI's last line,
            a whole answer); records with a ``finish_reason`` or ``done`` are final
            too. ``None`` for formats that have no closing record at all (LMI's
            dynamic-batch ``outputs`` lines), whose stream ends with the body.
        reasoning: Reasoning text the server separated from the answer (vLLM's
            ``delta.reasoning``, SGLang's and DeepSeek's ``delta.reasoning_content``).
        refusal: Refusal text (``delta.refusal``), when the model declined.
        index: The choice this record belongs to (``n>1`` streams several).
        reasoning_tokens: Reasoning tokens among the output tokens, when reported.
    """

    __slots__ = (
        "done",
        "final",
        "finish_reason",
        "index",
        "input_tokens",
        "logprob",
        "output_tokens",
        "reasoning",
        "reasoning_tokens",
        "refusal",
        "special",
        "text",
        "token_id",
        "tool_calls",
    )

    def __init__(
        self,
        text: str = "",
        *,
        special: bool = False,
        token_id: int | None = None,
        logprob: float | None = None,
        finish_reason: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        done: bool = False,
        final: bool | None = False,
        reasoning: str = "",
        refusal: str | None = None,
        index: int = 0,
        reasoning_tokens: int | None = None,
    ) -> None:
        self.text = text
        self.special = special
        self.token_id = token_id
        self.logprob = logprob
        self.finish_reason = finish_reason
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.tool_calls = tool_calls
        self.done = done
        self.final = final
        self.reasoning = reasoning
        self.refusal = refusal
        self.index = index
        self.reasoning_tokens = reasoning_tokens

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self.__slots__
            if getattr(self, name) not in (None, False, "", 0)
        )
        return f"Record({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]


_DONE = Record(done=True)


def _excerpt(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _from_token(obj: dict[str, Any], token: Any) -> Record:
    if not isinstance(token, dict):
        raise TypeError("token is not an object")
    details = obj.get("details")
    finish_reason = input_tokens = output_tokens = None
    if isinstance(details, dict):
        finish_reason = details.get("finish_reason")
        output_tokens = _int(details.get("generated_tokens"))
        input_tokens = _int(details.get("input_length")) or _int(details.get("prompt_tokens"))
        if finish_reason == "error":
            # LMI ends a failed generation with a dummy token whose error_msg says why.
            message = (
                token.get("error_msg")
                or obj.get("error_msg")
                or details.get("error_msg")
                or token.get("text")
            )
            raise container_error(
                str(message or "the container ended the stream with finish_reason 'error'"),
                "finish_reason=error",
            )
    elif token.get("error_msg"):  # an LMI error line without details
        raise container_error(str(token["error_msg"]), "finish_reason=error")
    text = token.get("text")
    if text is None:
        text = ""
    elif not isinstance(text, str):
        raise TypeError("token.text is not a string")
    logprob = token.get("logprob", token.get("log_prob"))
    return Record(
        text,
        special=bool(token.get("special") or token.get("special_token")),
        token_id=_int(token.get("id")),
        logprob=logprob if isinstance(logprob, float | int) else None,
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        # No choice index here: TGI's top-level "index" counts tokens, and LMI's
        # vLLM-async route reuses it for the choice. n>1 is refused before the request.
        final=obj.get("generated_text") is not None,  # TGI's and LMI's last line
    )


def _optional_text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{what} is not a string")
    return value


def _reasoning(message: dict[str, Any]) -> str:
    """Reasoning text: ``reasoning`` first (vLLM mirrors it into ``reasoning_content``)."""
    value = message.get("reasoning")
    if value is None:
        value = message.get("reasoning_content")
    return _optional_text(value, "reasoning")


def _tool_calls(value: Any) -> list[dict[str, Any]] | None:
    """OpenAI ``tool_calls`` deltas, checked: a wrong shape is a malformed stream."""
    if not value:
        return None
    if not isinstance(value, list):
        raise TypeError("tool_calls is not a list")
    for call in value:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call, dict) or not isinstance(function, dict | None):
            raise TypeError("a tool call is not an object with a function object")
        if call.get("index") is not None and _int(call["index"]) is None:
            raise TypeError("tool call index is not an integer")
        fields = (call.get("id"), (function or {}).get("name"))
        if any(v is not None and not isinstance(v, str) for v in fields):
            raise TypeError("tool call id or name is not a string")
        arguments = (function or {}).get("arguments")
        if arguments is not None and not isinstance(arguments, str | dict):
            raise TypeError("tool call arguments are neither a string nor an object")
    return value


def _reasoning_tokens(usage: dict[str, Any]) -> int | None:
    details = usage.get("completion_tokens_details")
    if isinstance(details, dict) and _int(details.get("reasoning_tokens")) is not None:
        return _int(details.get("reasoning_tokens"))
    return _int(usage.get("reasoning_tokens"))


def _from_openai(obj: dict[str, Any], choices: Any) -> Record:
    usage = obj.get("usage")
    input_tokens = output_tokens = reasoning_tokens = None
    if isinstance(usage, dict):
        input_tokens = _int(usage.get("prompt_tokens"))
        output_tokens = _int(usage.get("completion_tokens"))
        reasoning_tokens = _reasoning_tokens(usage)
    if not choices:  # the usage-only chunk that ends a stream with include_usage
        return Record(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            reasoning_tokens=reasoning_tokens,
        )
    if not isinstance(choices, list):
        raise TypeError("choices is not a list")
    choice = choices[0]
    index = _int(choice.get("index")) or 0
    if len(choices) > 1:  # several choices in one chunk: never read as one text
        index = max((_int(c.get("index")) or 0 for c in choices), default=0) or 1
    delta = choice.get("delta")
    tool_calls = None
    refusal = None
    if isinstance(delta, dict):
        message = delta
    elif "text" in choice:  # text_completion
        message = {"content": choice.get("text")}
    else:  # a whole chat.completion, sent by a container that does not stream
        message = choice.get("message") or {}
    text = _optional_text(message.get("content"), "content")
    tool_calls = _tool_calls(message.get("tool_calls"))
    refusal = message.get("refusal")
    finish_reason = choice.get("finish_reason")
    return Record(
        text,
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        tool_calls=tool_calls,
        reasoning=_reasoning(message),
        refusal=_optional_text(refusal, "refusal") or None,
        index=index,
        reasoning_tokens=reasoning_tokens,
    )


def _from_generated_text(obj: dict[str, Any]) -> Record:
    text = obj["generated_text"]
    if not isinstance(text, str):
        raise TypeError("generated_text is not a string")
    details = obj.get("details")
    finish_reason = None
    output_tokens = None
    if isinstance(details, dict):
        finish_reason = details.get("finish_reason")
        output_tokens = _int(details.get("generated_tokens"))
    return Record(
        text,
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        output_tokens=output_tokens,
        final=True,
    )


def parse_json_record(payload: bytes | str) -> Record:
    """Parse one JSON record of any supported container shape.

    Raises:
        ContainerError: The record is an in-band error from the container.
        MalformedStreamError: The record is not JSON or has an unknown shape.
    """
    try:
        obj = _loads(payload)
    except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting
        raise MalformedStreamError(f"not a JSON record: {_excerpt(payload)!r}") from exc
    if isinstance(obj, list) and len(obj) == 1:
        obj = obj[0]  # TGI's non-streaming answer: [{"generated_text": ...}]
    if not isinstance(obj, dict):
        raise MalformedStreamError(f"expected a JSON object, got {_excerpt(payload)!r}")
    try:
        error = obj.get("error")
        if error is not None or obj.get("object") == "error":
            # Before anything else: an error object may ride on an ordinary chunk.
            message, code = error_text(error if error is not None else obj)
            error_type = obj.get("error_type")
            raise container_error(message, error_type if isinstance(error_type, str) else code)
        token = obj.get("token")
        if token is not None:
            return _from_token(obj, token)
        if "choices" in obj:
            return _from_openai(obj, obj["choices"])
        if "generated_text" in obj:
            return _from_generated_text(obj)
        outputs = obj.get("outputs")
        if isinstance(outputs, list) and outputs and isinstance(outputs[0], str):
            # LMI dynamic batching: {"outputs": ["word"]}, with no closing line.
            return Record(outputs[0], final=None)
    except (TypeError, AttributeError, IndexError, KeyError) as exc:
        raise MalformedStreamError(
            f"record has an unexpected shape ({exc}): {_excerpt(payload)!r}"
        ) from exc
    raise MalformedStreamError(
        f"unrecognised record with keys {sorted(obj)[:8]}: {_excerpt(payload)!r}"
    )


class RecordParser:
    """Turns lines (bytes, without line endings) into :class:`Record` objects."""

    __slots__ = ("_data", "_event", "_max", "_size")

    def __init__(self, max_event_bytes: int = 1 << 20) -> None:
        self._data: list[bytes] = []
        self._event = b""
        # An SSE event made of many data: lines must be bounded like one long line.
        self._max = max_event_bytes
        self._size = 0

    def feed_line(self, line: bytes) -> Record | None:
        """Consume one line; return a record when it completes one.

        Raises:
            ContainerError: The container reported an error in-band.
            MalformedStreamError: The line is neither SSE nor a JSON record.
        """
        if not line:
            return self._dispatch()
        first = line[0]
        if first == 0x7B or first == 0x5B:  # "{" or "[": a bare JSON line (LMI jsonlines)
            if self._data:
                raise MalformedStreamError("a bare JSON line interrupted an unfinished SSE event")
            return _parse_maybe_done(line)
        if line.startswith(b"data:"):
            value = line[5:]
            if value[:1] == b" ":
                value = value[1:]
            self._size += len(value) + 1
            if self._size > self._max:
                self._data = []
                self._size = 0
                raise LineTooLongError(
                    f"an SSE event grew past max_line_bytes={self._max} without a blank line"
                )
            self._data.append(value)
            return None
        if first == 0x3A:  # ":" comment / keep-alive
            return None
        name, sep, value = line.partition(b":")
        if name == b"event":
            self._event = value.strip()
            return None
        if name in (b"id", b"retry") and sep:
            return None
        if not line.strip():
            return self._dispatch()
        raise MalformedStreamError(f"unexpected line in the stream: {_excerpt(line)!r}")

    def finish(self) -> Record | None:
        """Dispatch an SSE event left open when the body ended without a blank line."""
        return self._dispatch()

    def _dispatch(self) -> Record | None:
        if not self._data:
            self._event = b""
            return None
        data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
        event = self._event
        self._data = []
        self._size = 0
        self._event = b""
        if data == b"[DONE]":
            return _DONE
        if event == b"error" and not data.startswith((b"{", b"[")):
            raise container_error(data.decode("utf-8", "replace"), "sse-error")
        return _parse_maybe_done(data)


_DONE_MARK = b"[DONE]"


def _parse_maybe_done(payload: bytes) -> Record:
    """Parse a record, accepting ``[DONE]`` glued to its end (``data: {...}[DONE]``).

    Some vLLM containers write the sentinel without the blank line that should
    separate it; the record is then also the end of the stream (``done``).
    """
    if payload.endswith(_DONE_MARK) and len(payload) > len(_DONE_MARK):
        record = parse_json_record(payload[: -len(_DONE_MARK)].rstrip())
        record.done = True
        return record
    return parse_json_record(payload)
