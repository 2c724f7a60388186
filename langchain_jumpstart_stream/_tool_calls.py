"""OpenAI-style tool calls for the chat model: stream deltas in, LangChain chunks out.

Pure functions and small classes; no I/O.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessageChunk, ToolCallChunk
from langchain_core.messages.tool import tool_call_chunk

__all__ = ["ToolCallDeltas", "ToolChoice", "merged_tool_calls", "openai_tool_choice"]

ToolChoice = dict[str, Any] | str | bool | None


class ToolCallDeltas:
    """Turns one stream's OpenAI ``delta.tool_calls`` into ``ToolCallChunk``s.

    langchain-core merges chunks of the same ``index`` by concatenating their
    strings, so each call's ``id`` and ``name`` must appear exactly once. Containers
    differ: vLLM sends them once, TGI repeats the id and nulls the name, DJL/LMI's
    own formatter repeats the name on every delta and sends no id. Here the first
    id and name of each call win, and a call without an id gets one, because a
    ``ToolMessage`` must point back at it.
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[int, bool] = {}  # index -> name already sent

    def chunks(self, raw: Sequence[Mapping[str, Any]] | None) -> list[ToolCallChunk]:
        out: list[ToolCallChunk] = []
        for position, call in enumerate(raw or ()):
            index = call.get("index")
            if not isinstance(index, int):
                index = position
            function = call.get("function") or {}
            arguments = function.get("arguments")
            if arguments is not None and not isinstance(arguments, str):
                arguments = json.dumps(arguments)  # some servers send parsed arguments
            name = function.get("name") or None
            call_id = None
            if index not in self._seen:
                call_id = call.get("id") or f"call_{uuid.uuid4().hex[:24]}"
                self._seen[index] = False
            if name and not self._seen[index]:
                self._seen[index] = True
            else:
                name = None
            if name is None and call_id is None and not arguments:
                continue
            out.append(tool_call_chunk(name=name, args=arguments, id=call_id, index=index))
        return out


def merged_tool_calls(
    chunks: Sequence[ToolCallChunk],
) -> tuple[list[Any], list[Any]]:
    """Join a whole answer's tool-call chunks; return ``(tool_calls, invalid_tool_calls)``."""
    calls: dict[Any, dict[str, Any]] = {}
    for chunk in chunks:
        entry = calls.setdefault(chunk["index"], {"name": None, "id": None, "args": []})
        entry["name"] = entry["name"] or chunk["name"]
        entry["id"] = entry["id"] or chunk["id"]
        if chunk["args"]:
            entry["args"].append(chunk["args"])
    joined = [
        tool_call_chunk(name=e["name"], args="".join(e["args"]), id=e["id"], index=index)
        for index, e in calls.items()
    ]
    message = AIMessageChunk(content="", tool_call_chunks=joined)
    return message.tool_calls, message.invalid_tool_calls


def openai_tool_choice(choice: ToolChoice, names: Sequence[str]) -> str | dict[str, Any] | None:
    """LangChain's ``tool_choice`` spellings in the OpenAI form servers accept.

    "Call some tool" with a single tool names it: named choice is what every
    container with tools supports (DJL/LMI constrains only that one).
    """
    if choice is None or isinstance(choice, dict):
        return choice
    if choice is False or choice == "none":
        return "none"
    if choice == "auto":
        return "auto"
    if choice is True or choice in ("any", "required"):
        if len(names) != 1:
            return "required"
        choice = names[0]
    if choice not in names:
        raise ValueError(f"tool_choice {choice!r} is not one of the bound tools: {list(names)}")
    return {"type": "function", "function": {"name": choice}}
