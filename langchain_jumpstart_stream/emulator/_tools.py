"""Forced tool calls and schema-constrained answers, the way a constrained decoder makes them.

The emulator never pretends to understand a conversation, so it calls a tool only
when the request leaves the model no choice:

* ``tool_choice`` names a function (``{"type": "function", "function": {"name": N}}``),
  or is ``"required"`` and exactly one tool is offered: the answer is a call to that
  function, with ``finish_reason`` ``"tool_calls"``.
* ``"required"`` with several tools would need the model to pick one, by meaning: the
  request is rejected (the container's validation error) rather than answered by a guess.
* ``tool_choice`` ``"auto"``, ``"none"`` or absent: the answer is text, never a call.
* ``response_format`` with a JSON schema (OpenAI's ``json_schema``, or TGI's
  ``{"type": "json", "value": schema}`` grammar): the content is JSON text that fits it;
  ``{"type": "json_object"}`` without a schema gives ``{}``.

The arguments (or content) are generated from the JSON schema alone, as a
grammar-constrained decoder guarantees them: every required property and nothing
else, each with a placeholder of its type (``"string"``, ``0``, ``true``, one array
item), or the schema's ``const``, first ``enum`` value or ``default``. Nothing is read
from the messages, so a test passes only where the protocol, not judgement, decides.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from ._generator import ParsedRequest, RequestError

__all__ = ["Constrained", "constrain", "placeholder"]

_MAX_DEPTH = 12
_FORMATS = {
    "date-time": "1970-01-01T00:00:00Z",
    "date": "1970-01-01",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


@dataclass(frozen=True)
class Constrained:
    """What the constrained decoder writes.

    Attributes:
        text: The JSON text generated (tool-call arguments, or the content).
        tool_name: The function called; ``None`` when ``text`` is the content.
    """

    text: str
    tool_name: str | None = None


def constrain(request: ParsedRequest) -> Constrained | None:
    """The constrained output a chat request forces, or ``None`` for a free text answer.

    Raises:
        RequestError: The tools or ``tool_choice`` are malformed, name an unknown
            function, or ask the model to choose among several tools.
    """
    call = _forced_function(request.tools, request.tool_choice)
    if call is not None:
        name, parameters = call
        return Constrained(_dumps(placeholder(parameters)), name)
    schema = _response_schema(request.response_format)
    if schema is not None:
        return Constrained(_dumps(placeholder(schema)))
    return None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _functions(tools: Sequence[Any]) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for tool in tools:
        function = tool.get("function") if isinstance(tool, Mapping) else None
        name = function.get("name") if isinstance(function, Mapping) else None
        if not isinstance(name, str) or not name:
            raise RequestError("every tool needs a `function` with a `name`")
        parameters = function.get("parameters") if isinstance(function, Mapping) else None
        found[name] = parameters if isinstance(parameters, Mapping) else {}
    return found


def _forced_function(tools: Sequence[Any], choice: Any) -> tuple[str, Mapping[str, Any]] | None:
    if choice is None or choice in ("auto", "none"):
        return None
    functions = _functions(tools)
    if choice == "required":
        if len(functions) == 1:
            return next(iter(functions.items()))
        if not functions:
            raise RequestError("tool_choice 'required' needs at least one tool")
        raise RequestError(
            f"tool_choice 'required' with {len(functions)} tools needs a model to choose "
            "one; the emulator only makes calls that the request forces (name the function)"
        )
    function = choice.get("function") if isinstance(choice, Mapping) else None
    name = function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(name, str):
        raise RequestError(f"unsupported tool_choice: {choice!r}")
    if name not in functions:
        raise RequestError(f"tool_choice names {name!r}, which is not in `tools`")
    return name, functions[name]


def _response_schema(response_format: Any) -> Mapping[str, Any] | None:
    if not isinstance(response_format, Mapping):
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        spec = response_format.get("json_schema", response_format.get("value"))
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        return schema if isinstance(schema, Mapping) else {"type": "object"}
    if kind in ("json", "json_object"):
        value = response_format.get("value")
        return value if isinstance(value, Mapping) else {"type": "object"}
    return None


def placeholder(schema: Any, root: Mapping[str, Any] | None = None, depth: int = 0) -> Any:
    """A deterministic value that fits a JSON schema (required properties only).

    Args:
        schema: The JSON schema.
        root: The document that ``$ref`` pointers resolve in (``schema`` by default).
        depth: Recursion depth; past a limit (recursive schemas) the value is ``None``.
    """
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return None
    root = schema if root is None else root
    if "$ref" in schema:
        return placeholder(_resolve(root, schema["$ref"]), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            typed = [o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")]
            return placeholder((typed or options)[0], root, depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(root, part["$ref"]) if "$ref" in part else part)
        return placeholder(merged, root, depth + 1)
    return _typed(schema, root, depth)


def _typed(schema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else None
    if kind == "object":
        properties = schema.get("properties") or {}
        return {
            name: placeholder(properties.get(name), root, depth + 1)
            for name in schema.get("required") or ()
        }
    if kind == "array":
        count = max(1, int(schema.get("minItems", 0)))
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        return [placeholder(schema.get("items"), root, depth + 1) for _ in range(count)]
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return True
    return None


def _string(schema: Mapping[str, Any]) -> str:
    text = _FORMATS.get(str(schema.get("format")), "string")
    low = int(schema.get("minLength", 0))
    if len(text) < low:
        text += "x" * (low - len(text))
    if "maxLength" in schema:
        text = text[: int(schema["maxLength"])]
    return text


def _number(schema: Mapping[str, Any], *, integer: bool) -> int | float:
    """Zero, moved just inside the bounds when they exclude it."""
    value: float = 0
    low, high = schema.get("minimum"), schema.get("maximum")
    above, below = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if _real(low) and value < low:
        value = low
    if _real(above) and value <= above:
        value = above + 1
    if _real(high) and value > high:
        value = high
    if _real(below) and value >= below:
        value = below - 1
    return int(value) if integer else float(value)


def _real(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _resolve(root: Mapping[str, Any], ref: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        node = (
            node.get(part.replace("~1", "/").replace("~0", "~"))
            if isinstance(node, Mapping)
            else None
        )
    return node if isinstance(node, Mapping) else {}
