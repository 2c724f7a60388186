"""Live resolution, without AWS: boto3 against the loopback stand-in, the SDK in local-metadata mode."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from langchain_jumpstart_stream.errors import ConfigurationError, MissingDependencyError
from langchain_jumpstart_stream.registry import UnknownModelError, get_model, resolve_model
from langchain_jumpstart_stream.registry._live import hub_document_facts, sdk_available

from ._standin import FIXTURES, StandIn, aws_error


def _hub_reply(model_id: str, document: dict[str, Any], version: str = "3.0.1") -> dict[str, Any]:
    return {
        "HubContentName": model_id,
        "HubContentArn": f"arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/{model_id}/{version}",
        "HubContentVersion": version,
        "HubContentType": "Model",
        "DocumentSchemaVersion": "2.3.0",
        "HubContentDisplayName": model_id.replace("-", " ").title(),
        "HubContentDocument": json.dumps(document),
        "HubName": "SageMakerPublicHub",
        "HubArn": "arn:aws:sagemaker:us-east-1:aws:hub/SageMakerPublicHub",
        "HubContentStatus": "Available",
        "CreationTime": 1_700_000_000,
    }


def _serve_hub(standin: StandIn, documents: dict[str, dict[str, Any]]) -> None:
    def describe(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        name = body["HubContentName"]
        if name not in documents:
            return aws_error("ResourceNotFound", f"Hub content {name} not found")
        return 200, _hub_reply(name, documents[name])

    standin.on("DescribeHubContent", describe)


def _document(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "hub" / f"{name}.json").read_text(encoding="utf-8"))


# --- the hub, through plain boto3 ---------------------------------------------------


def test_hub_lookup_sends_describe_hub_content_on_the_public_hub(
    standin: StandIn, sagemaker_client: Any
) -> None:
    _serve_hub(
        standin,
        {"huggingface-llm-example-tgi-instruct": _document("huggingface-llm-example-tgi-instruct")},
    )
    spec = resolve_model(
        "huggingface-llm-example-tgi-instruct", source="hub", client=sagemaker_client
    )
    assert standin.calls == [
        (
            "DescribeHubContent",
            {
                "HubName": "SageMakerPublicHub",
                "HubContentType": "Model",
                "HubContentName": "huggingface-llm-example-tgi-instruct",
            },
        )
    ]
    assert (spec.container, spec.stream_format, spec.request_schema) == ("tgi", "tgi", "tgi")
    assert spec.spec_version == "3.0.1"
    assert spec.default_instance_type == "ml.g5.2xlarge"
    assert dict(spec.default_parameters) == {"max_new_tokens": 64, "top_p": 0.9}
    assert spec.display_name == "Huggingface Llm Example Tgi Instruct"
    assert (spec.task, spec.framework, spec.source) == ("llm", "huggingface", "hub")
    assert not spec.verified
    assert "guessed" in spec.notes


def test_a_given_client_means_the_hub_even_when_the_sdk_is_installed(
    standin: StandIn, sagemaker_client: Any
) -> None:
    _serve_hub(
        standin,
        {"huggingface-llm-example-tgi-instruct": _document("huggingface-llm-example-tgi-instruct")},
    )
    spec = resolve_model("huggingface-llm-example-tgi-instruct", client=sagemaker_client)
    assert spec.source == "hub"
    assert standin.operations() == ["DescribeHubContent"]


def test_hub_lookups_are_cached_until_refreshed(standin: StandIn, sagemaker_client: Any) -> None:
    _serve_hub(
        standin,
        {"huggingface-llm-example-tgi-instruct": _document("huggingface-llm-example-tgi-instruct")},
    )
    first = resolve_model(
        "huggingface-llm-example-tgi-instruct", source="hub", client=sagemaker_client
    )
    again = resolve_model(
        "huggingface-llm-example-tgi-instruct", source="hub", client=sagemaker_client
    )
    assert again is first
    assert len(standin.calls) == 1
    resolve_model(
        "huggingface-llm-example-tgi-instruct", source="hub", client=sagemaker_client, refresh=True
    )
    assert len(standin.calls) == 2


def test_snapshot_ids_are_answered_offline_unless_refreshed(
    standin: StandIn, sagemaker_client: Any
) -> None:
    spec = resolve_model(
        "huggingface-llm-falcon-7b-instruct-bf16", source="hub", client=sagemaker_client
    )
    assert spec is get_model("huggingface-llm-falcon-7b-instruct-bf16")
    assert standin.calls == []


def test_refreshing_a_snapshot_id_keeps_its_template_and_takes_live_facts(
    standin: StandIn, sagemaker_client: Any
) -> None:
    document = _document("meta-textgeneration-example-lmi")
    _serve_hub(standin, {"huggingface-llm-falcon-7b-instruct-bf16": document})
    spec = resolve_model(
        "huggingface-llm-falcon-7b-instruct-bf16",
        source="hub",
        client=sagemaker_client,
        refresh=True,
    )
    snapshot = get_model("huggingface-llm-falcon-7b-instruct-bf16")
    assert spec.chat_template == snapshot.chat_template
    assert spec.special_tokens == snapshot.special_tokens
    assert spec.seed
    # the live document moved it to LMI: everything that follows from the container follows
    assert (spec.container, spec.stream_format, spec.request_schema) == (
        "djl-lmi",
        "jsonlines",
        "lmi",
    )
    assert spec.stop_parameter == "stop_sequences"
    assert spec.gated
    assert spec.supports_inference_components
    assert spec.default_instance_type == "ml.p4d.24xlarge"
    assert "container now djl-lmi (snapshot: tgi)" in spec.notes


def test_gated_lmi_document(standin: StandIn, sagemaker_client: Any) -> None:
    _serve_hub(
        standin,
        {"meta-textgeneration-llama-3-9b-instruct": _document("meta-textgeneration-example-lmi")},
    )
    spec = resolve_model(
        "meta-textgeneration-llama-3-9b-instruct", source="hub", client=sagemaker_client
    )
    assert (spec.container, spec.stream_format) == ("djl-lmi", "jsonlines")
    assert spec.gated
    assert spec.family == "llama-3"
    assert spec.chat_template is not None
    assert spec.chat_template.name == "llama3"
    assert "<|eot_id|>" in spec.stop_sequences


def test_inference_configs_pick_the_top_ranked_component(
    standin: StandIn, sagemaker_client: Any
) -> None:
    _serve_hub(
        standin, {"openai-reasoning-gpt-oss-7b": _document("openai-reasoning-example-configs")}
    )
    spec = resolve_model("openai-reasoning-gpt-oss-7b", source="hub", client=sagemaker_client)
    assert (spec.container, spec.stream_format, spec.request_schema) == (
        "vllm",
        "openai",
        "openai-chat",
    )
    assert spec.supports_inference_components
    assert dict(spec.default_parameters) == {"max_tokens": 200, "temperature": 0.7}
    assert spec.chat_template is not None
    assert spec.chat_template.name == "harmony"


def test_mms_models_do_not_stream(standin: StandIn, sagemaker_client: Any) -> None:
    _serve_hub(
        standin,
        {"huggingface-textgeneration-gpt2": _document("huggingface-textgeneration-example-mms")},
    )
    spec = resolve_model("huggingface-textgeneration-gpt2", source="hub", client=sagemaker_client)
    assert spec.container == "mms"
    assert spec.stream_format is None
    assert not spec.streams
    assert spec.chat_template is None


def test_an_id_jumpstart_does_not_know(standin: StandIn, sagemaker_client: Any) -> None:
    _serve_hub(standin, {})
    with pytest.raises(UnknownModelError) as caught:
        resolve_model(
            "huggingface-llm-mistral-7b-instruct-v9", source="hub", client=sagemaker_client
        )
    assert caught.value.live
    assert "huggingface-llm-mistral-7b-instruct-v3" in caught.value.suggestions
    assert "not a model id in JumpStart" in str(caught.value)


def test_other_aws_errors_pass_through(standin: StandIn, sagemaker_client: Any) -> None:
    from botocore.exceptions import ClientError

    standin.on("DescribeHubContent", lambda _body: aws_error("AccessDeniedException", "no", 400))
    with pytest.raises(ClientError, match="AccessDenied"):
        resolve_model("huggingface-llm-x", source="hub", client=sagemaker_client)


def test_no_region_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ConfigurationError, match="no AWS region"):
        resolve_model("huggingface-llm-x", source="hub", session=boto3.Session())


def test_unknown_source_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="unknown source"):
        resolve_model("huggingface-llm-x", source="s3", region_name="us-east-1")  # type: ignore[arg-type]


def test_hub_document_without_any_container_hint_is_mms() -> None:
    facts = hub_document_facts({})
    assert facts["container"] == "mms"
    assert not facts["gated"]


# --- the SageMaker SDK -------------------------------------------------------------


@pytest.fixture
def local_jumpstart_metadata(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    pytest.importorskip("sagemaker.core.jumpstart.accessors")
    from sagemaker.core.jumpstart.accessors import JumpStartModelsAccessor

    root = FIXTURES / "sdk"
    monkeypatch.setenv("AWS_JUMPSTART_MANIFEST_LOCAL_ROOT_DIR_OVERRIDE", str(root / "manifest"))
    monkeypatch.setenv("AWS_JUMPSTART_SPECS_LOCAL_ROOT_DIR_OVERRIDE", str(root / "specs"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    JumpStartModelsAccessor.reset_cache()
    return root


@pytest.mark.usefixtures("local_jumpstart_metadata")
def test_sdk_local_metadata_tgi_model() -> None:
    spec = resolve_model(
        "huggingface-llm-example-7b-instruct", source="sdk", region_name="us-west-2"
    )
    assert (spec.container, spec.stream_format, spec.source) == ("tgi", "tgi", "sdk")
    assert spec.spec_version == "1.2.0"
    assert dict(spec.default_parameters) == {"max_new_tokens": 128, "temperature": 0.5}


@pytest.mark.usefixtures("local_jumpstart_metadata")
def test_sdk_local_metadata_gated_lmi_model() -> None:
    spec = resolve_model(
        "meta-textgeneration-example-3-8b-instruct", source="sdk", region_name="us-west-2"
    )
    assert (spec.container, spec.stream_format) == ("djl-lmi", "jsonlines")
    assert spec.gated
    assert spec.supports_inference_components
    assert spec.default_instance_type == "ml.g6.12xlarge"


@pytest.mark.usefixtures("local_jumpstart_metadata")
def test_sdk_local_metadata_mms_model_does_not_stream() -> None:
    spec = resolve_model(
        "huggingface-textgeneration-example-gpt2", source="sdk", region_name="us-west-2"
    )
    assert spec.container == "mms"
    assert spec.stream_format is None


@pytest.mark.usefixtures("local_jumpstart_metadata")
def test_sdk_refresh_of_a_snapshot_id() -> None:
    spec = resolve_model(
        "huggingface-llm-mistral-7b-instruct", source="sdk", region_name="us-west-2", refresh=True
    )
    assert (spec.container, spec.stream_format, spec.spec_version) == (
        "djl-lmi",
        "jsonlines",
        "9.9.9",
    )
    assert spec.chat_template == get_model("huggingface-llm-mistral-7b-instruct").chat_template


@pytest.mark.usefixtures("local_jumpstart_metadata")
def test_sdk_unknown_id() -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolve_model("huggingface-llm-nope", source="sdk", region_name="us-west-2")
    assert caught.value.live


@pytest.mark.usefixtures("local_jumpstart_metadata")
def test_auto_prefers_the_sdk_when_installed() -> None:
    assert sdk_available()
    spec = resolve_model("huggingface-llm-example-7b-instruct", region_name="us-west-2")
    assert spec.source == "sdk"


def test_sdk_source_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name == "sagemaker" or name.startswith("sagemaker."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sagemaker", None)
    with pytest.raises(MissingDependencyError, match=r"langchain-jumpstart-stream\[jumpstart\]"):
        resolve_model("huggingface-llm-x", source="sdk", region_name="us-east-1")
