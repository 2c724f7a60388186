"""Container classification from hosting_ecr_specs.framework and image URIs."""

from __future__ import annotations

import pytest

from langchain_jumpstart_stream.registry._classify import (
    classify,
    container_from_framework,
    container_from_image_uri,
)

ECR = "763104351884.dkr.ecr.us-west-2.amazonaws.com/"


@pytest.mark.parametrize(
    ("framework", "container"),
    [
        ("huggingface-llm", "tgi"),
        ("huggingface-llm-neuronx", "tgi"),
        ("HuggingFace-LLM", "tgi"),
        ("djl-lmi", "djl-lmi"),
        ("djl-deepspeed", "djl-lmi"),
        ("djl-neuronx", "djl-lmi"),
        ("vllm", "vllm"),
        ("huggingface", "mms"),
        ("pytorch", "mms"),
        ("huggingface-llmx", "mms"),
        ("", None),
        (None, None),
    ],
)
def test_framework(framework: str | None, container: str | None) -> None:
    assert container_from_framework(framework) == container


@pytest.mark.parametrize(
    ("image_uri", "container"),
    [
        (
            ECR + "huggingface-pytorch-tgi-inference:2.4.0-tgi2.3.1-gpu-py311-cu124-ubuntu22.04",
            "tgi",
        ),
        (
            ECR + "huggingface-pytorch-tgi-inference:2.1.1-tgi2.0.0-gpu-py310-cu121-ubuntu22.04",
            "tgi",
        ),
        (ECR + "djl-inference:0.29.0-lmi11.0.0-cu124", "djl-lmi"),
        (ECR + "djl-inference:0.21.0-deepspeed0.8.3-cu117", "djl-lmi"),
        (
            "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/djl-inference:0.34.0-lmi16.0.0-cu128",
            "djl-lmi",
        ),
        (ECR + "vllm:0.11.0-gpu-py312", "vllm"),
        (
            ECR
            + "huggingface-pytorch-inference:1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04",
            "mms",
        ),
        (ECR + "huggingface-pytorch-inference@sha256:abc", "mms"),
        ("ghcr.io/huggingface/text-generation-inference:2.0", "tgi"),
        ("", None),
        (None, None),
    ],
)
def test_image_uri(image_uri: str | None, container: str | None) -> None:
    assert container_from_image_uri(image_uri) == container


def test_framework_wins_over_image_and_nothing_means_mms() -> None:
    assert classify("djl-lmi", ECR + "huggingface-pytorch-tgi-inference:2.4.0") == "djl-lmi"
    assert classify(None, ECR + "vllm:0.11.0") == "vllm"
    assert classify() == "mms"
