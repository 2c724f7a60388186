"""The offline snapshot: ``models.json`` read once, on first use, into ``ModelSpec`` records.

The data file has four parts: ``containers`` (what each serving container
expects and streams), ``families`` (special tokens and defaults shared by a
model family), ``models`` (one entry per JumpStart id) and the snapshot's
``snapshot_date`` and ``source``. A model entry overrides its family, which
overrides its container.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, cast

from ..errors import ConfigurationError
from ._spec import ModelSpec, RequestSchema, StreamFormat, UnknownModelError
from ._templates import TEMPLATES, ChatTemplate

__all__ = [
    "CONTAINER_DEFAULTS",
    "Snapshot",
    "build_spec",
    "closest_ids",
    "load_snapshot",
    "snapshot_spec",
]

_DATA_FILE = "models.json"

MODEL_KEYS = frozenset(
    {
        "display_name",
        "family",
        "container",
        "template",
        "hf_model_id",
        "spec_version",
        "default_instance_type",
        "gated",
        "supports_inference_components",
        "seed",
        "verified",
        "notes",
        "default_parameters",
        "special_tokens",
        "stop_sequences",
        "stream_format",
        "request_schema",
        "max_tokens_parameter",
        "stop_parameter",
        "supports_messages_api",
        "supports_tools",
        "task",
        "framework",
        "reasoning",
        "opens_thinking",
        "vision",
        "context_length",
    }
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The parsed snapshot.

    Attributes:
        snapshot_date: When the facts were compiled (ISO date).
        source: Where the facts come from.
        models: Every model in the snapshot by id.
        containers: Per-container defaults, as in the data file.
        families: Per-family defaults, as in the data file.
    """

    snapshot_date: str
    source: str
    models: Mapping[str, ModelSpec]
    containers: Mapping[str, Mapping[str, Any]]
    families: Mapping[str, Mapping[str, Any]]


def _read_data() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return cast(dict[str, Any], json.loads(text))


@lru_cache(maxsize=1)
def load_snapshot() -> Snapshot:
    """Read and check ``models.json``; the result is cached for the process.

    Returns:
        The snapshot.

    Raises:
        ConfigurationError: The data file is malformed (a packaging bug).
    """
    data = _read_data()
    if data.get("format") != 1:
        raise ConfigurationError(f"{_DATA_FILE}: unsupported format {data.get('format')!r}")
    containers = data["containers"]
    families = data["families"]
    models: dict[str, ModelSpec] = {}
    for model_id, entry in data["models"].items():
        unknown = set(entry) - MODEL_KEYS
        if unknown:
            raise ConfigurationError(f"{_DATA_FILE}: {model_id}: unknown keys {sorted(unknown)}")
        family = families.get(entry.get("family", ""), {})
        models[model_id] = build_spec(model_id, {**family, **entry}, containers=containers)
    return Snapshot(
        snapshot_date=data["snapshot_date"],
        source=data["source"],
        models=MappingProxyType(models),
        containers=MappingProxyType(containers),
        families=MappingProxyType(families),
    )


class _LazyContainers(Mapping[str, Mapping[str, Any]]):
    """Container defaults from the snapshot, read on first access."""

    def __getitem__(self, key: str) -> Mapping[str, Any]:
        return load_snapshot().containers[key]

    def __iter__(self) -> Iterator[str]:
        return iter(load_snapshot().containers)

    def __len__(self) -> int:
        return len(load_snapshot().containers)


#: Per-container defaults (stream format, request schema, parameter names).
CONTAINER_DEFAULTS: Mapping[str, Mapping[str, Any]] = _LazyContainers()


def build_spec(
    model_id: str,
    entry: Mapping[str, Any],
    *,
    containers: Mapping[str, Mapping[str, Any]] | None = None,
) -> ModelSpec:
    """Build a ``ModelSpec`` from a flat entry on top of its container's defaults.

    Args:
        model_id: The JumpStart model id.
        entry: Model facts; anything missing comes from the container defaults.
        containers: Container defaults (the snapshot's when omitted).

    Returns:
        The spec.

    Raises:
        ConfigurationError: The entry names an unknown container or template.
    """
    containers = CONTAINER_DEFAULTS if containers is None else containers
    container = str(entry.get("container", "mms"))
    if container not in containers:
        raise ConfigurationError(f"{model_id}: unknown container {container!r}")
    merged: dict[str, Any] = {**containers[container], **entry}
    template = _template(model_id, merged.get("template"))
    framework, _, rest = model_id.partition("-")
    task = rest.partition("-")[0]
    stop_sequences = merged.get("stop_sequences")
    if stop_sequences is None:
        stop_sequences = template.stop_sequences if template is not None else ()
    return ModelSpec(
        model_id=model_id,
        display_name=str(merged.get("display_name") or model_id),
        task=str(merged.get("task") or task),
        framework=str(merged.get("framework") or framework),
        container=container,
        stream_format=cast("StreamFormat | None", merged.get("stream_format")),
        request_schema=cast(RequestSchema, merged["request_schema"]),
        default_parameters=MappingProxyType(dict(merged.get("default_parameters") or {})),
        max_tokens_parameter=str(merged["max_tokens_parameter"]),
        stop_parameter=str(merged["stop_parameter"]),
        special_tokens=tuple(merged.get("special_tokens") or ()),
        stop_sequences=tuple(stop_sequences),
        chat_template=template,
        supports_messages_api=bool(merged.get("supports_messages_api", False)),
        supports_tools=bool(merged.get("supports_tools", False)),
        gated=bool(merged.get("gated", False)),
        default_instance_type=str(merged.get("default_instance_type") or ""),
        supports_inference_components=bool(merged.get("supports_inference_components", False)),
        spec_version=str(merged.get("spec_version") or ""),
        verified=bool(merged.get("verified", False)),
        notes=str(merged.get("notes") or ""),
        family=str(merged.get("family") or ""),
        seed=bool(merged.get("seed", False)),
        hf_model_id=str(merged.get("hf_model_id") or ""),
        source=str(merged.get("source") or "snapshot"),
        reasoning=bool(merged.get("reasoning", False)),
        opens_thinking=bool(merged.get("opens_thinking", False)),
        vision=bool(merged.get("vision", False)),
        context_length=_optional_int(merged.get("context_length")),
    )


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _template(model_id: str, name: object) -> ChatTemplate | None:
    if name is None:
        return None
    if isinstance(name, ChatTemplate):
        return name
    try:
        return TEMPLATES[str(name)]
    except KeyError:
        raise ConfigurationError(f"{model_id}: unknown chat template {name!r}") from None


def closest_ids(model_id: str, candidates: list[str]) -> tuple[str, ...]:
    """Up to three ids that look like ``model_id`` (for "did you mean" messages)."""
    return tuple(difflib.get_close_matches(model_id, candidates, n=3, cutoff=0.6))


def snapshot_spec(model_id: str) -> ModelSpec:
    """The snapshot's spec for ``model_id``.

    Raises:
        UnknownModelError: The id is not in the snapshot; names the closest ids.
    """
    models = load_snapshot().models
    try:
        return models[model_id]
    except KeyError:
        raise UnknownModelError(model_id, closest_ids(model_id, list(models))) from None
