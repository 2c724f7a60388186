"""JumpStart model registry: what each model id needs to stream.

Every JumpStart id maps to a :class:`ModelSpec`: its serving container, the
stream format that container speaks, the request schema and default generation
parameters, special and stop tokens, chat template, EULA gating and default
instance type.

* :func:`get_model` and :func:`list_models` answer from an offline snapshot
  (``models.json``, shipped with the package, read on first use).
* :func:`resolve_model` looks ids up live (boto3 ``describe_hub_content`` on
  the JumpStart public hub, or the SageMaker SDK when installed), on request only.
* :func:`deploy` and :func:`delete_endpoint` create and remove endpoints; deploying
  needs the ``[jumpstart]`` extra.
* :func:`render_chat` lays a conversation out with a model's :class:`ChatTemplate`.

Nothing here imports the SageMaker SDK until a function that needs it is called.
"""

from __future__ import annotations

from typing import Literal

from ._deploy import DeployedEndpoint, delete_endpoint, deploy
from ._live import resolve_model
from ._snapshot import load_snapshot, snapshot_spec
from ._spec import ModelSpec, UnknownModelError
from ._templates import ChatTemplate, render_chat

__all__ = [
    "ChatTemplate",
    "DeployedEndpoint",
    "ModelSpec",
    "UnknownModelError",
    "delete_endpoint",
    "deploy",
    "get_model",
    "list_models",
    "render_chat",
    "resolve_model",
    "snapshot_info",
]


def get_model(model_id: str) -> ModelSpec:
    """The offline spec of a JumpStart model.

    Args:
        model_id: JumpStart model id, e.g. ``"huggingface-llm-falcon-7b-instruct-bf16"``.

    Returns:
        The model's spec from the snapshot.

    Raises:
        UnknownModelError: The id is not in the snapshot; the message names the
            closest known ids. (``resolve_model`` can look it up live.)
    """
    return snapshot_spec(model_id)


def list_models(
    *,
    task: str | None = "llm",
    framework: str | None = "huggingface",
    streaming: bool | None = True,
    container: str | None = None,
    gated: bool | None = None,
    catalog: Literal["seed", "all"] = "seed",
) -> list[str]:
    """Model ids in the snapshot that match every filter given, sorted.

    The defaults are the seed project's query,
    ``list_jumpstart_models(filter=And("task == llm", "framework == huggingface"))``
    restricted to models that stream, and they return the ten ids the seed
    documented and checked as streaming-capable (Falcon, Mistral and Rinna on
    TGI). JumpStart's hub answers that query with many more ``huggingface-llm-*``
    ids today (Gemma, Qwen, Mixtral, ...), and so does this snapshot with
    ``catalog="all"``: the ``catalog`` filter is what keeps the seed's answer
    stable while the snapshot grows. Pass ``None`` to drop any other filter.

    Args:
        task: JumpStart task, the id's second part (``"llm"``, ``"textgeneration"``).
        framework: JumpStart framework, the id's first part (``"huggingface"``, ``"meta"``).
        streaming: ``True`` for models whose container streams, ``False`` for
            those that answer in one piece.
        container: Serving container (``"tgi"``, ``"djl-lmi"``, ``"vllm"``, ``"mms"``).
        gated: ``True`` for models behind an EULA, ``False`` for open ones.
        catalog: ``"seed"`` for the seed's ten ids only, ``"all"`` for the whole snapshot.

    Returns:
        Matching model ids, sorted.

    Raises:
        ValueError: ``catalog`` is not ``"seed"`` or ``"all"``.
    """
    if catalog not in ("seed", "all"):
        raise ValueError(f"catalog must be 'seed' or 'all', not {catalog!r}")
    found = []
    for spec in load_snapshot().models.values():
        if catalog == "seed" and not spec.seed:
            continue
        if task is not None and spec.task != task:
            continue
        if framework is not None and spec.framework != framework:
            continue
        if streaming is not None and spec.streams != streaming:
            continue
        if container is not None and spec.container != container:
            continue
        if gated is not None and spec.gated != gated:
            continue
        found.append(spec.model_id)
    return sorted(found)


def snapshot_info() -> tuple[str, str]:
    """When the offline snapshot was compiled and from what.

    Returns:
        ``(snapshot_date, source)``.
    """
    snapshot = load_snapshot()
    return snapshot.snapshot_date, snapshot.source
