"""Live resolution: facts about a model from JumpStart itself, on request only.

Two sources, both opt-in and cached per process:

* ``"hub"``: plain boto3, ``describe_hub_content`` on the ``SageMakerPublicHub``
  hub. Its ``HubContentDocument`` (a JSON string, UpperCamelCase keys) names the
  hosting image (``HostingEcrUri``), ``DefaultInferenceInstanceType``, the EULA
  (``HostingEulaUri``), ``HostingResourceRequirements`` and ``InferenceConfigs``.
* ``"sdk"``: the SageMaker Python SDK (``sagemaker>=3``, extra ``[jumpstart]``),
  ``sagemaker.core.jumpstart.accessors.JumpStartModelsAccessor.get_model_specs``,
  which reads JumpStart's spec files (and honours the SDK's local-metadata
  override variables). Imported inside the call, never at import time.

Live facts (container, instance type, EULA, inference-component support,
version) replace the snapshot's; the snapshot keeps what JumpStart does not
publish (chat template, special tokens). For ids the snapshot does not know,
the family and template are guessed from the id and the spec is marked
unverified.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigurationError, MissingDependencyError
from ._classify import classify
from ._snapshot import MODEL_KEYS, build_spec, closest_ids, load_snapshot
from ._spec import ModelSpec, UnknownModelError

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_sagemaker import SageMakerClient

__all__ = ["PUBLIC_HUB", "clear_cache", "resolve_model", "sdk_available"]

PUBLIC_HUB = "SageMakerPublicHub"
INSTALL_HINT = 'pip install "langchain-jumpstart-stream[jumpstart]"'

Source = Literal["auto", "hub", "sdk"]

_GENERATION_KEYS = frozenset(
    {"max_new_tokens", "max_tokens", "temperature", "top_p", "top_k", "do_sample"}
)
# Facts that follow from the container: recomputed when a live lookup changes it.
_CONTAINER_KEYS = (
    "stream_format",
    "request_schema",
    "max_tokens_parameter",
    "stop_parameter",
    "default_parameters",
    "supports_messages_api",
    "supports_tools",
)

_cache: dict[tuple[str, str, str], ModelSpec] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every live lookup made so far."""
    with _lock:
        _cache.clear()


def sdk_available() -> bool:
    """Whether ``sagemaker>=3`` is installed (checked without importing it)."""
    if find_spec("sagemaker") is None:
        return False
    try:
        major = int(metadata.version("sagemaker").split(".", 1)[0])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return major >= 3


def resolve_model(
    model_id: str,
    *,
    region_name: str | None = None,
    session: boto3.Session | None = None,
    refresh: bool = False,
    source: Source = "auto",
    client: SageMakerClient | None = None,
) -> ModelSpec:
    """The spec for any JumpStart id: from the snapshot, or looked up live.

    Without ``refresh``, an id in the offline snapshot is answered from it and
    nothing is fetched. Other ids (and every id with ``refresh=True``) are looked
    up once per process and region, then served from a cache.

    Args:
        model_id: JumpStart model id.
        region_name: AWS region; defaults to the session's or client's region.
        session: boto3 session to create clients from (default: a new one).
        refresh: Look the id up live even if the snapshot knows it.
        source: ``"hub"`` (boto3 ``describe_hub_content``), ``"sdk"`` (the
            SageMaker SDK's JumpStart accessors) or ``"auto"`` (the hub when a
            ``client`` is given, else the SDK when ``sagemaker>=3`` is
            installed, else the hub).
        client: A ready ``sagemaker`` boto3 client for the hub lookup.

    Returns:
        The spec; ``spec.source`` says where it came from.

    Raises:
        UnknownModelError: JumpStart does not know the id.
        MissingDependencyError: ``source="sdk"`` without the ``[jumpstart]`` extra.
        ConfigurationError: No region could be determined.
        botocore.exceptions.ClientError: Any other AWS error, unchanged.
    """
    models = load_snapshot().models
    known = models.get(model_id)
    if known is not None and not refresh:
        return known
    chosen = "hub" if source == "auto" and client is not None else _choose(source)
    region = _region(region_name, session, client)
    key = (chosen, region, model_id)
    if not refresh:
        with _lock:
            cached = _cache.get(key)
        if cached is not None:
            return cached
    if chosen == "sdk":
        facts = _facts_from_sdk(model_id, region, session)
    else:
        facts = _facts_from_hub(model_id, region, session, client)
    spec = _merge(model_id, known, facts, chosen)
    with _lock:
        _cache[key] = spec
    return spec


def _choose(source: Source) -> Literal["hub", "sdk"]:
    if source == "auto":
        return "sdk" if sdk_available() else "hub"
    if source not in ("hub", "sdk"):
        raise ConfigurationError(f"unknown source {source!r}", hint="Use 'auto', 'hub' or 'sdk'")
    return source


def _region(
    region_name: str | None, session: boto3.Session | None, client: SageMakerClient | None
) -> str:
    if region_name:
        return region_name
    if client is not None:
        return str(client.meta.region_name)
    if session is None:
        import boto3

        session = boto3.Session()
    if session.region_name:
        return str(session.region_name)
    raise ConfigurationError(
        "no AWS region configured for the JumpStart lookup",
        hint="Pass region_name=..., or set AWS_REGION / AWS_DEFAULT_REGION",
    )


# --- the hub (plain boto3) ---------------------------------------------------------


def _facts_from_hub(
    model_id: str,
    region: str,
    session: boto3.Session | None,
    client: SageMakerClient | None,
) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    if client is None:
        import boto3

        client = (session or boto3.Session()).client("sagemaker", region_name=region)
    try:
        response = client.describe_hub_content(
            HubName=PUBLIC_HUB, HubContentType="Model", HubContentName=model_id
        )
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == "ResourceNotFound":
            candidates = list(load_snapshot().models)
            raise UnknownModelError(model_id, closest_ids(model_id, candidates), live=True) from e
        raise
    document = json.loads(response.get("HubContentDocument") or "{}")
    return hub_document_facts(document, response)


def hub_document_facts(
    document: Mapping[str, Any], response: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Model facts from a ``HubContentDocument`` (and its ``DescribeHubContent`` response).

    Args:
        document: The parsed ``HubContentDocument``.
        response: The rest of the ``DescribeHubContent`` response, if at hand.

    Returns:
        A flat entry for ``build_spec`` (container, instance type, gating, ...).
    """
    response = response or {}
    component = _default_component(document)
    merged = {**document, **component}
    ecr_specs = merged.get("HostingEcrSpecs") or {}
    container = classify(ecr_specs.get("Framework"), merged.get("HostingEcrUri"))
    facts: dict[str, Any] = {
        "container": container,
        "default_instance_type": merged.get("DefaultInferenceInstanceType") or "",
        "gated": bool(merged.get("HostingEulaUri") or merged.get("HostingEulaKey")),
        "supports_inference_components": bool(merged.get("HostingResourceRequirements")),
        "spec_version": str(response.get("HubContentVersion") or ""),
    }
    if response.get("HubContentDisplayName"):
        facts["display_name"] = response["HubContentDisplayName"]
    parameters = _payload_parameters(merged.get("DefaultPayloads"))
    if parameters:
        facts["default_parameters"] = parameters
    return facts


def _default_component(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The inference-config component JumpStart deploys by default, if any."""
    configs = document.get("InferenceConfigs") or {}
    components = document.get("InferenceConfigComponents") or {}
    if not configs or not components:
        return {}
    rankings = (document.get("InferenceConfigRankings") or {}).get("Overall") or {}
    ranked = list(rankings.get("Rankings") or []) or sorted(configs)
    config = configs.get(ranked[0]) or {}
    merged: dict[str, Any] = {}
    for name in config.get("ComponentNames") or [ranked[0]]:
        merged.update(components.get(name) or {})
    return merged


def _payload_parameters(payloads: object) -> dict[str, Any]:
    """Generation parameters of the first default payload, in the container's names."""
    if not isinstance(payloads, Mapping) or not payloads:
        return {}
    first = payloads[sorted(payloads)[0]]
    if not isinstance(first, Mapping):
        return {}
    body = first.get("Body") or first.get("body") or {}
    if not isinstance(body, Mapping):
        return {}
    if "messages" in body or "Messages" in body:
        return {k: v for k, v in body.items() if k in _GENERATION_KEYS}
    parameters = body.get("parameters") or body.get("Parameters") or {}
    if not isinstance(parameters, Mapping):
        return {}
    return {k: v for k, v in parameters.items() if k in _GENERATION_KEYS}


# --- the SageMaker SDK -------------------------------------------------------------


def _facts_from_sdk(model_id: str, region: str, session: boto3.Session | None) -> dict[str, Any]:
    try:
        from sagemaker.core.jumpstart.accessors import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
            JumpStartModelsAccessor,
        )
    except ImportError as e:
        raise MissingDependencyError(
            "looking models up through the SageMaker SDK needs sagemaker>=3",
            hint=f"Run: {INSTALL_HINT}, or use source='hub'",
        ) from e
    s3_client = session.client("s3", region_name=region) if session is not None else None
    try:
        specs = JumpStartModelsAccessor.get_model_specs(
            region=region, model_id=model_id, version="*", s3_client=s3_client
        )
    except KeyError as e:
        candidates = list(load_snapshot().models)
        raise UnknownModelError(model_id, closest_ids(model_id, candidates), live=True) from e
    return sdk_spec_facts(specs)


def sdk_spec_facts(specs: Any) -> dict[str, Any]:
    """Model facts from the SDK's ``JumpStartModelSpecs`` object.

    Args:
        specs: A ``sagemaker.core.jumpstart.types.JumpStartModelSpecs``.

    Returns:
        A flat entry for ``build_spec``.
    """
    ecr_specs = getattr(specs, "hosting_ecr_specs", None)
    framework = getattr(ecr_specs, "framework", None)
    container = classify(framework, getattr(specs, "hosting_ecr_uri", None))
    facts: dict[str, Any] = {
        "container": container,
        "default_instance_type": getattr(specs, "default_inference_instance_type", None) or "",
        "gated": bool(getattr(specs, "hosting_eula_key", None)),
        "supports_inference_components": bool(
            getattr(specs, "hosting_resource_requirements", None)
        ),
        "spec_version": str(getattr(specs, "version", "") or ""),
    }
    payloads = getattr(specs, "default_payloads", None) or {}
    bodies = {alias: {"body": getattr(p, "body", None)} for alias, p in payloads.items()}
    parameters = _payload_parameters(bodies)
    if parameters:
        facts["default_parameters"] = parameters
    return facts


# --- merging -----------------------------------------------------------------------


def _merge(
    model_id: str, known: ModelSpec | None, facts: Mapping[str, Any], source: str
) -> ModelSpec:
    today = datetime.now(timezone.utc).date().isoformat()
    if known is not None:
        entry = _entry_of(known)
        refreshed = f"Refreshed from the {source} on {today}"
        if facts["container"] != known.container:
            for key in _CONTAINER_KEYS:
                entry.pop(key, None)
            refreshed += f"; container now {facts['container']} (snapshot: {known.container})"
        entry["notes"] = f"{refreshed}. Snapshot notes: {known.notes}".strip()
    else:
        entry = _guess(model_id)
        entry["notes"] = (
            f"Resolved from the {source} on {today}; family, chat template and special "
            "tokens are guessed from the model id."
        )
        entry["verified"] = False
    entry.update(facts)
    entry["source"] = source
    families = load_snapshot().families
    family = families.get(str(entry.get("family", "")), {})
    return build_spec(model_id, {**family, **entry})


# Every entry key but the template, which is passed as a ChatTemplate, not by name.
_ENTRY_FIELDS = tuple(sorted(MODEL_KEYS - {"template"}))


def _entry_of(spec: ModelSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {name: getattr(spec, name) for name in _ENTRY_FIELDS}
    entry["template"] = spec.chat_template
    return entry


# (substring of the id, family, template if the id looks instruction-tuned)
_GUESSES: tuple[tuple[str, str, str], ...] = (
    ("gpt-oss", "gpt-oss", "harmony"),
    ("r1-distill", "deepseek-r1-distill", "deepseek-r1"),
    ("llama-3", "llama-3", "llama3"),
    ("llama3", "llama-3", "llama3"),
    ("mistral-7b-instruct-v3", "mistral", "mistral-v3"),
    ("8x22b", "mistral", "mistral-v3"),
    ("mixtral", "mistral", "mistral"),
    ("mistral", "mistral", "mistral"),
    ("gemma", "gemma", "gemma"),
    ("qwen2-5", "qwen2.5", "qwen2.5"),
    ("qwen", "qwen", "chatml"),
    ("falcon-3", "falcon3", "falcon3"),
    ("falcon3", "falcon3", "falcon3"),
    ("falcon-180b-chat", "falcon", "falcon-180b-chat"),
    ("falcon", "falcon", "falcon-instruct"),
    ("bilingual-rinna", "rinna-bilingual", "rinna-bilingual"),
    ("rinna", "rinna", "rinna"),
)


def _guess(model_id: str) -> dict[str, Any]:
    lowered = model_id.lower()
    chatty = any(word in lowered for word in ("instruct", "chat", "gpt-oss", "r1-distill"))
    for needle, family, template in _GUESSES:
        if needle in lowered:
            return {"family": family, "template": template if chatty else None}
    return {"family": "", "template": None}
