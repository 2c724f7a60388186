"""The 2026 catalogue: each entry says whether it reasons, sees and calls tools, and its context."""

from __future__ import annotations

import pytest

from langchain_jumpstart_stream.registry import get_model
from langchain_jumpstart_stream.registry._classify import classify

# id -> (reasoning, opens_thinking, vision, context_length)
CATALOGUE = {
    "huggingface-reasoning-qwen3-8b": (True, False, False, 32768),
    "huggingface-reasoning-qwen3-32b": (True, False, False, 32768),
    "meta-vlm-llama-4-scout-17b-16e-instruct": (False, False, True, None),
    "openai-reasoning-gpt-oss-20b": (True, False, False, 131072),
    "openai-reasoning-gpt-oss-120b": (True, False, False, 131072),
    "deepseek-llm-r1-distill-qwen-7b": (True, True, False, 131072),
    "deepseek-llm-r1-distill-llama-70b": (True, True, False, 131072),
    "huggingface-llm-mistral-small-24b-instruct-2501": (False, False, False, 32768),
    "huggingface-vlm-mistral-small-3-1-24b-instruct-2503": (False, False, True, 131072),
    "huggingface-vlm-gemma-3-27b-instruct": (False, False, True, 131072),
    "huggingface-llm-gemma-3-1b-instruct": (False, False, False, 32768),
}


@pytest.mark.parametrize("model_id", sorted(CATALOGUE))
def test_entry_says_what_the_model_does(model_id: str) -> None:
    spec = get_model(model_id)
    assert (spec.reasoning, spec.opens_thinking, spec.vision, spec.context_length) == (
        CATALOGUE[model_id]
    )
    assert isinstance(spec.supports_tools, bool)
    if not spec.verified:
        assert spec.notes  # what could not be checked is said


def test_new_entries_are_marked_unverified() -> None:
    spec = get_model("huggingface-reasoning-qwen3-8b")
    assert spec.verified is False
    assert "Not checked against a JumpStart spec" in spec.notes
    assert spec.supports_messages_api and spec.stream_format == "openai"


@pytest.mark.parametrize(
    ("image", "container"),
    [
        (
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.33.0-lmi16.0.0-cu128",
            "djl-lmi",
        ),
        (
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.31.0-tensorrtllm0.12.0-cu125",
            "djl-lmi",
        ),
        (
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/vllm:0.11-gpu-py312-cu128-ubuntu22.04-ec2",
            "vllm",
        ),
        ("763104351884.dkr.ecr.us-east-1.amazonaws.com/sglang:0.5-gpu-py312-cu128", "sglang"),
        (
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
            "huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04",
            "tgi",
        ),
    ],
)
def test_serving_families_from_image_uris(image: str, container: str) -> None:
    assert classify(image_uri=image) == container
