"""Which serving container a JumpStart spec deploys, and so what it streams.

JumpStart specs do not say which stream format a model speaks; the serving
container decides it. Specs name the container in two ways:

* ``hosting_ecr_specs.framework`` in the SDK's spec files: ``"huggingface-llm"``
  (TGI), ``"djl-lmi"`` / ``"djl-deepspeed"`` (DJL Serving), ``"vllm"``, or a
  classic framework such as ``"huggingface"`` / ``"pytorch"`` (served by MMS);
* the image URI (``HostingEcrUri`` in hub documents), whose repository name
  says the same: ``huggingface-pytorch-tgi-inference``, ``djl-inference``
  (LMI: vLLM async by default since v16, TensorRT-LLM in its ``tensorrtllm`` tags),
  AWS's ``vllm`` and ``sglang`` images, ``huggingface-pytorch-inference``.
"""

from __future__ import annotations

__all__ = ["classify", "container_from_framework", "container_from_image_uri"]

_FRAMEWORKS: tuple[tuple[str, str], ...] = (
    ("huggingface-llm", "tgi"),  # also huggingface-llm-neuronx (TGI on Inferentia)
    ("huggingface-tgi", "tgi"),
    ("tgi", "tgi"),
    ("djl", "djl-lmi"),  # djl-lmi, djl-deepspeed, djl-neuronx, djl-tensorrtllm
    ("lmi", "djl-lmi"),
    ("vllm", "vllm"),
    ("sglang", "sglang"),
)

# Checked in order against the image's repository name (and tag, for "lmi").
_IMAGE_MARKERS: tuple[tuple[str, str], ...] = (
    ("tgi", "tgi"),
    ("text-generation-inference", "tgi"),
    ("djl-inference", "djl-lmi"),
    ("djl-lmi", "djl-lmi"),
    ("djl-serving", "djl-lmi"),
    ("vllm", "vllm"),
    ("sglang", "sglang"),
)


def container_from_framework(framework: str | None) -> str | None:
    """Container family named by ``hosting_ecr_specs.framework``.

    Args:
        framework: The spec's framework string, e.g. ``"huggingface-llm"``.

    Returns:
        ``"tgi"``, ``"djl-lmi"``, ``"vllm"``, ``"sglang"``, ``"mms"`` for any other known
        framework, or ``None`` when ``framework`` is empty.
    """
    if not framework:
        return None
    name = framework.strip().lower()
    for prefix, container in _FRAMEWORKS:
        if name == prefix or name.startswith(prefix + "-"):
            return container
    return "mms"


def container_from_image_uri(image_uri: str | None) -> str | None:
    """Container family named by an ECR image URI.

    Args:
        image_uri: The hosting image, e.g.
            ``<account>.dkr.ecr.<region>.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124``.

    Returns:
        ``"tgi"``, ``"djl-lmi"``, ``"vllm"``, ``"sglang"``, ``"mms"`` for any other image, or
        ``None`` when ``image_uri`` is empty.
    """
    if not image_uri:
        return None
    repository = image_uri.rsplit("/", 1)[-1].lower()
    name, _, tag = repository.partition(":")
    name = name.partition("@")[0]
    for marker, container in _IMAGE_MARKERS:
        if marker in name:
            return container
    if "tgi" in tag:  # e.g. huggingface-pytorch-inference:...-tgi2.0.2-...
        return "tgi"
    return "mms"


def classify(framework: str | None = None, image_uri: str | None = None) -> str:
    """Container family from whatever the spec offers; the framework wins.

    Args:
        framework: ``hosting_ecr_specs.framework``, if known.
        image_uri: The hosting image URI, if known.

    Returns:
        ``"tgi"``, ``"djl-lmi"``, ``"vllm"`` or ``"mms"`` (also when nothing is known).
    """
    return container_from_framework(framework) or container_from_image_uri(image_uri) or "mms"
