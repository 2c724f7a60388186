"""The offline snapshot: seed ids, filters, lookups, data integrity."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from importlib import resources
from types import MappingProxyType

import pytest

from langchain_jumpstart_stream import registry
from langchain_jumpstart_stream.errors import ConfigurationError
from langchain_jumpstart_stream.registry import (
    ModelSpec,
    UnknownModelError,
    get_model,
    list_models,
    render_chat,
)
from langchain_jumpstart_stream.registry._snapshot import load_snapshot

SEED_IDS = [
    "huggingface-llm-bilingual-rinna-4b-instruction-ppo-bf16",
    "huggingface-llm-falcon-180b-bf16",
    "huggingface-llm-falcon-180b-chat-bf16",
    "huggingface-llm-falcon-40b-bf16",
    "huggingface-llm-falcon-40b-instruct-bf16",
    "huggingface-llm-falcon-7b-bf16",
    "huggingface-llm-falcon-7b-instruct-bf16",
    "huggingface-llm-mistral-7b",
    "huggingface-llm-mistral-7b-instruct",
    "huggingface-llm-rinna-3-6b-instruction-ppo-bf16",
]

# (model id, chat template name or None for base models, special tokens)
SEED_FACTS = [
    ("huggingface-llm-bilingual-rinna-4b-instruction-ppo-bf16", "rinna-bilingual", None),
    ("huggingface-llm-falcon-180b-bf16", None, ("<|endoftext|>",)),
    ("huggingface-llm-falcon-180b-chat-bf16", "falcon-180b-chat", ("<|endoftext|>",)),
    ("huggingface-llm-falcon-40b-bf16", None, ("<|endoftext|>",)),
    ("huggingface-llm-falcon-40b-instruct-bf16", "falcon-instruct", ("<|endoftext|>",)),
    ("huggingface-llm-falcon-7b-bf16", None, ("<|endoftext|>",)),
    ("huggingface-llm-falcon-7b-instruct-bf16", "falcon-instruct", ("<|endoftext|>",)),
    ("huggingface-llm-mistral-7b", None, ("<s>", "</s>")),
    ("huggingface-llm-mistral-7b-instruct", "mistral", ("<s>", "</s>")),
    ("huggingface-llm-rinna-3-6b-instruction-ppo-bf16", "rinna", ("<s>", "</s>")),
]


def test_public_api_is_explicit() -> None:
    assert sorted(registry.__all__) == [
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
    for name in registry.__all__:
        assert getattr(registry, name) is not None


def test_seed_query_returns_the_ten_seed_ids() -> None:
    assert list_models(task="llm", framework="huggingface", streaming=True) == SEED_IDS
    assert list_models() == SEED_IDS


def test_the_whole_catalog_answers_the_same_query_with_newer_ids_too() -> None:
    everything = list_models(catalog="all")
    assert set(SEED_IDS) < set(everything)
    assert "huggingface-llm-gemma-7b-instruct" in everything
    assert "meta-textgeneration-llama-3-8b-instruct" not in everything  # framework "meta"


@pytest.mark.parametrize(("model_id", "template", "special"), SEED_FACTS)
def test_seed_ids_resolve_offline_to_tgi_specs(
    model_id: str, template: str | None, special: tuple[str, ...] | None
) -> None:
    spec = get_model(model_id)
    assert spec.seed
    assert (spec.container, spec.stream_format, spec.request_schema) == ("tgi", "tgi", "tgi")
    assert (spec.max_tokens_parameter, spec.stop_parameter) == ("max_new_tokens", "stop")
    assert (spec.task, spec.framework) == ("llm", "huggingface")
    assert (spec.chat_template.name if spec.chat_template else None) == template
    if special is not None:
        assert spec.special_tokens == special
    assert spec.spec_version
    assert not spec.gated


def test_falcon_instruct_stops_before_writing_the_next_user_turn() -> None:
    spec = get_model("huggingface-llm-falcon-7b-instruct-bf16")
    assert spec.stop_sequences == ("\nUser:",)
    assert spec.chat_template is not None
    prompt = render_chat(spec.chat_template, [("user", "What is JumpStart?")])
    assert prompt == "User: What is JumpStart?\nAssistant:"


def test_llama3_is_gated_lmi_with_its_stop_token() -> None:
    spec = get_model("meta-textgeneration-llama-3-1-70b-instruct")
    assert spec.gated
    assert (spec.container, spec.stream_format, spec.request_schema) == (
        "djl-lmi",
        "jsonlines",
        "lmi",
    )
    assert spec.stop_parameter == "stop_sequences"
    assert spec.stop_sequences == ("<|eot_id|>",)
    assert "<|eot_id|>" in spec.special_tokens
    assert (spec.task, spec.framework) == ("textgeneration", "meta")
    assert spec.default_instance_type == "ml.p4d.24xlarge"


def test_gpt_oss_speaks_the_openai_schema() -> None:
    spec = get_model("openai-reasoning-gpt-oss-20b")
    assert (spec.container, spec.stream_format, spec.request_schema) == (
        "vllm",
        "openai",
        "openai-chat",
    )
    assert spec.max_tokens_parameter == "max_tokens"
    assert spec.supports_messages_api
    assert spec.default_instance_type == "ml.g7e.2xlarge"


@pytest.mark.parametrize(
    ("filters", "expected_member", "excluded_member"),
    [
        (
            {"framework": "meta", "task": "textgeneration"},
            "meta-textgeneration-llama-3-8b-instruct",
            None,
        ),
        (
            {"container": "djl-lmi", "framework": None, "task": None},
            "deepseek-llm-r1-distill-qwen-7b",
            "huggingface-llm-mistral-7b",
        ),
        (
            {"gated": True, "framework": None, "task": None},
            "meta-textgeneration-llama-3-3-70b-instruct",
            "huggingface-llm-mistral-7b",
        ),
        (
            {"gated": False},
            "huggingface-llm-qwen2-5-7b-instruct",
            "huggingface-llm-gemma-7b-instruct",
        ),
        ({"framework": "openai", "task": "reasoning"}, "openai-reasoning-gpt-oss-120b", None),
    ],
)
def test_filters_on_the_whole_catalog(
    filters: dict[str, object], expected_member: str, excluded_member: str | None
) -> None:
    found = list_models(catalog="all", **filters)  # type: ignore[arg-type]
    assert expected_member in found
    assert found == sorted(found)
    if excluded_member is not None:
        assert excluded_member not in found


def test_no_model_in_the_snapshot_is_non_streaming_yet() -> None:
    assert list_models(catalog="all", streaming=False, task=None, framework=None) == []


def test_catalog_must_be_known() -> None:
    with pytest.raises(ValueError, match="catalog"):
        list_models(catalog="recent")  # type: ignore[arg-type]


def test_a_typo_names_the_closest_ids() -> None:
    with pytest.raises(UnknownModelError) as caught:
        get_model("huggingface-llm-falcon-7b-instruct")
    error = caught.value
    assert error.suggestions[0] == "huggingface-llm-falcon-7b-instruct-bf16"
    assert "Did you mean 'huggingface-llm-falcon-7b-instruct-bf16'" in str(error)
    assert "resolve_model" in str(error)
    assert isinstance(error, KeyError)
    assert isinstance(error, ConfigurationError)


def test_an_unrelated_id_has_no_suggestions_but_still_says_what_to_do() -> None:
    with pytest.raises(UnknownModelError, match="resolve_model") as caught:
        get_model("zzz")
    assert caught.value.suggestions == ()


def test_unknown_model_error_survives_pickling() -> None:
    error = UnknownModelError("x", ("y",), live=True)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.model_id, copy.suggestions, copy.live, str(copy)) == (
        "x",
        ("y",),
        True,
        str(error),
    )


def test_specs_are_immutable() -> None:
    spec = get_model("huggingface-llm-mistral-7b-instruct")
    assert isinstance(spec.default_parameters, MappingProxyType)
    with pytest.raises(TypeError):
        spec.default_parameters["max_new_tokens"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        spec.gated = True  # type: ignore[misc]


def test_default_parameters_use_the_containers_own_names() -> None:
    for spec in load_snapshot().models.values():
        assert spec.max_tokens_parameter in spec.default_parameters, spec.model_id


def test_every_spec_is_consistent_with_its_container() -> None:
    expected = {
        "tgi": ("tgi", "tgi", "stop"),
        "djl-lmi": ("jsonlines", "lmi", "stop_sequences"),
        "vllm": ("openai", "openai-chat", "stop"),
    }
    for spec in load_snapshot().models.values():
        assert isinstance(spec, ModelSpec)
        assert expected[spec.container] == (
            spec.stream_format,
            spec.request_schema,
            spec.stop_parameter,
        )
        assert spec.notes, spec.model_id  # unverified facts must say what is unverified
        if spec.chat_template is not None:
            for stop in spec.chat_template.stop_sequences:
                assert stop in spec.stop_sequences, spec.model_id


def test_the_data_file_names_its_source_and_date() -> None:
    date, source = registry.snapshot_info()
    assert len(date) == 10
    assert date[4] == date[7] == "-"
    assert "sagemaker-python-sdk" in source
    raw = json.loads(
        resources.files("langchain_jumpstart_stream.registry")
        .joinpath("models.json")
        .read_text("utf-8")
    )
    assert raw["snapshot_date"] == date
    assert sum(1 for entry in raw["models"].values() if entry.get("seed")) == 10


def test_the_snapshot_is_read_once() -> None:
    assert load_snapshot() is load_snapshot()


def test_importing_the_registry_does_not_import_the_sagemaker_sdk() -> None:
    code = (
        "import sys\n"
        "import langchain_jumpstart_stream\n"
        "from langchain_jumpstart_stream import registry\n"
        "registry.get_model('huggingface-llm-mistral-7b')\n"
        "registry.list_models()\n"
        "loaded = sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith('sagemaker.'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
