"""deploy() argument handling (SDK faked in sys.modules) and delete_endpoint() against the stand-in."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from langchain_jumpstart_stream.errors import (
    ConfigurationError,
    EndpointNotFoundError,
    MissingDependencyError,
)
from langchain_jumpstart_stream.registry import DeployedEndpoint, delete_endpoint, deploy

from ._standin import StandIn, aws_error

# --- deploy ------------------------------------------------------------------------


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []


def _fake_sdk(monkeypatch: pytest.MonkeyPatch, *, component: str | None = None) -> _Recorder:
    """Install stand-ins for the four SDK classes deploy() uses; record what they get."""
    recorder = _Recorder()

    class Session:
        def __init__(self, **kwargs: Any) -> None:
            recorder.events.append(("Session", kwargs))
            self.kwargs = kwargs

    class Compute:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

    class JumpStartConfig:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

    class Endpoint:
        def __init__(self, name: str) -> None:
            self.endpoint_name = name
            self.inference_component_name = component

    class ModelBuilder:
        @classmethod
        def from_jumpstart_config(cls, **kwargs: Any) -> ModelBuilder:
            recorder.events.append(("from_jumpstart_config", kwargs))
            return cls()

        def build(self) -> None:
            recorder.events.append(("build", {}))

        def deploy(self, **kwargs: Any) -> Endpoint:
            recorder.events.append(("deploy", kwargs))
            return Endpoint(kwargs.get("endpoint_name") or "jumpstart-generated-name")

    modules: dict[str, dict[str, Any]] = {
        "sagemaker": {},
        "sagemaker.core": {},
        "sagemaker.core.helper": {},
        "sagemaker.core.helper.session_helper": {"Session": Session},
        "sagemaker.core.jumpstart": {},
        "sagemaker.core.jumpstart.configs": {"JumpStartConfig": JumpStartConfig},
        "sagemaker.core.training": {},
        "sagemaker.core.training.configs": {"Compute": Compute},
        "sagemaker.serve": {},
        "sagemaker.serve.model_builder": {"ModelBuilder": ModelBuilder},
    }
    for name, attributes in modules.items():
        module = types.ModuleType(name)
        for key, value in attributes.items():
            setattr(module, key, value)
        monkeypatch.setitem(sys.modules, name, module)
    return recorder


def _hide_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name == "sagemaker" or name.startswith("sagemaker."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sagemaker", None)


def test_deploy_passes_the_jumpstart_config_to_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _fake_sdk(monkeypatch)
    deployed = deploy(
        "huggingface-llm-mistral-7b-instruct",
        endpoint_name="my-mistral",
        role_arn="arn:aws:iam::123456789012:role/SageMakerRole",
        initial_instance_count=2,
    )
    assert deployed == DeployedEndpoint(
        endpoint_name="my-mistral",
        model_id="huggingface-llm-mistral-7b-instruct",
        region_name=None,
        inference_component_name=None,
        accept_eula=False,
    )
    names = [name for name, _ in recorder.events]
    assert names == ["from_jumpstart_config", "build", "deploy"]
    config_call = recorder.events[0][1]
    assert config_call["jumpstart_config"].kwargs == {
        "model_id": "huggingface-llm-mistral-7b-instruct",
        "model_version": None,
        "accept_eula": False,
        "inference_config_name": None,
    }
    # the snapshot's default instance type is used when none is given
    assert config_call["compute"].kwargs == {"instance_type": "ml.g5.12xlarge", "instance_count": 2}
    assert config_call["role_arn"] == "arn:aws:iam::123456789012:role/SageMakerRole"
    assert config_call["sagemaker_session"] is None
    assert recorder.events[2][1] == {
        "endpoint_name": "my-mistral",
        "initial_instance_count": 2,
        "instance_type": "ml.g5.12xlarge",
        "wait": True,
    }


def test_deploy_leaves_an_unknown_default_instance_to_the_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = _fake_sdk(monkeypatch)
    deployed = deploy("huggingface-llm-falcon-7b-bf16")
    assert deployed.endpoint_name == "jumpstart-generated-name"
    assert recorder.events[0][1]["compute"] is None
    assert recorder.events[2][1]["instance_type"] is None


def test_deploy_with_region_builds_a_session_and_reports_the_component(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = _fake_sdk(monkeypatch, component="llama-ic-1")
    deployed = deploy(
        "meta-textgeneration-llama-3-8b-instruct",
        accept_eula=True,
        instance_type="ml.g6.12xlarge",
        region_name="eu-west-1",
        inference_config_name="lmi",
        model_version="2.*",
        wait=False,
    )
    assert deployed.region_name == "eu-west-1"
    assert deployed.inference_component_name == "llama-ic-1"
    assert deployed.accept_eula
    session_kwargs = recorder.events[0][1]
    assert session_kwargs["boto_session"].region_name == "eu-west-1"
    config = recorder.events[1][1]["jumpstart_config"].kwargs
    assert config["accept_eula"] is True
    assert config["inference_config_name"] == "lmi"
    assert config["model_version"] == "2.*"
    assert recorder.events[3][1]["wait"] is False


def test_a_gated_model_needs_accept_eula_before_anything_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hide_sdk(monkeypatch)  # the EULA check comes first, even without the extra
    with pytest.raises(ConfigurationError, match="accept_eula=True") as caught:
        deploy("meta-textgeneration-llama-3-1-70b-instruct")
    assert not isinstance(caught.value, MissingDependencyError)


def test_deploy_without_the_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide_sdk(monkeypatch)
    with pytest.raises(
        MissingDependencyError, match=r'pip install "langchain-jumpstart-stream\[jumpstart\]"'
    ):
        deploy("huggingface-llm-falcon-7b-instruct-bf16")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_id": ""}, "model_id"),
        (
            {"model_id": "huggingface-llm-mistral-7b", "initial_instance_count": 0},
            "initial_instance_count",
        ),
    ],
)
def test_deploy_rejects_bad_arguments(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], message: str
) -> None:
    _hide_sdk(monkeypatch)
    model_id = kwargs.pop("model_id")
    with pytest.raises(ConfigurationError, match=message):
        deploy(model_id, **kwargs)


def test_deploy_refuses_a_session_in_another_region(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    _hide_sdk(monkeypatch)
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    with pytest.raises(ConfigurationError, match="differs"):
        deploy("huggingface-llm-mistral-7b", session=session, region_name="eu-west-1")


# --- delete_endpoint ---------------------------------------------------------------


def _serve_endpoint(standin: StandIn, *, components: list[str] | None = None) -> None:
    remaining = list(components or [])
    standin.on(
        "DescribeEndpoint",
        {
            "EndpointName": "my-endpoint",
            "EndpointConfigName": "my-config",
            "EndpointStatus": "InService",
        },
    )
    standin.on(
        "DescribeEndpointConfig",
        {
            "EndpointConfigName": "my-config",
            "ProductionVariants": [
                {"VariantName": "AllTraffic", "ModelName": "my-model", "InitialInstanceCount": 1}
            ]
            if not components
            else [{"VariantName": "AllTraffic", "InstanceType": "ml.g5.2xlarge"}],
        },
    )

    def list_components(_body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = [{"InferenceComponentName": name} for name in remaining]
        return 200, {"InferenceComponents": items}

    def describe_component(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        name = body["InferenceComponentName"]
        return 200, {
            "InferenceComponentName": name,
            "Specification": {"ModelName": f"{name}-model"},
        }

    def delete_component(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        remaining.remove(body["InferenceComponentName"])
        return 200, {}

    standin.on("ListInferenceComponents", list_components)
    standin.on("DescribeInferenceComponent", describe_component)
    standin.on("DeleteInferenceComponent", delete_component)
    for operation in ("DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel"):
        standin.on(operation, {})


def test_delete_removes_endpoint_config_and_model(standin: StandIn, sagemaker_client: Any) -> None:
    _serve_endpoint(standin)
    delete_endpoint("my-endpoint", client=sagemaker_client)
    assert standin.calls == [
        ("DescribeEndpoint", {"EndpointName": "my-endpoint"}),
        ("ListInferenceComponents", {"EndpointNameEquals": "my-endpoint"}),
        ("DescribeEndpointConfig", {"EndpointConfigName": "my-config"}),
        ("DeleteEndpoint", {"EndpointName": "my-endpoint"}),
        ("DeleteEndpointConfig", {"EndpointConfigName": "my-config"}),
        ("DeleteModel", {"ModelName": "my-model"}),
    ]


def test_delete_can_keep_the_model(standin: StandIn, sagemaker_client: Any) -> None:
    _serve_endpoint(standin)
    delete_endpoint("my-endpoint", client=sagemaker_client, delete_model=False)
    assert "DeleteModel" not in standin.operations()


def test_delete_removes_inference_components_first(standin: StandIn, sagemaker_client: Any) -> None:
    _serve_endpoint(standin, components=["ic-a", "ic-b"])
    delete_endpoint("my-endpoint", client=sagemaker_client, poll_interval=0)
    operations = standin.operations()
    assert operations.index("DeleteInferenceComponent") < operations.index("DeleteEndpoint")
    deleted_models = [body["ModelName"] for op, body in standin.calls if op == "DeleteModel"]
    assert deleted_models == ["ic-a-model", "ic-b-model"]


def test_delete_gives_up_on_components_that_do_not_go_away(
    standin: StandIn, sagemaker_client: Any
) -> None:
    _serve_endpoint(standin, components=["ic-a"])
    standin.on("DeleteInferenceComponent", {})  # accepted, but it never disappears
    with pytest.raises(ConfigurationError, match="still being deleted"):
        delete_endpoint("my-endpoint", client=sagemaker_client, poll_interval=0, timeout=0)
    assert "DeleteEndpoint" not in standin.operations()


def test_delete_of_a_missing_endpoint(standin: StandIn, sagemaker_client: Any) -> None:
    standin.on(
        "DescribeEndpoint",
        lambda _body: aws_error("ValidationException", 'Could not find endpoint "gone".'),
    )
    with pytest.raises(EndpointNotFoundError) as caught:
        delete_endpoint("gone", client=sagemaker_client)
    assert caught.value.endpoint_name == "gone"
    assert caught.value.error_code == "ValidationException"
    assert standin.operations() == ["DescribeEndpoint"]


def test_the_real_sdk_has_the_classes_deploy_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    # Loading ModelBuilder looks for a region and credentials; keep it off the network.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    pytest.importorskip("sagemaker.core.jumpstart.configs")
    from langchain_jumpstart_stream.registry._deploy import _import_sdk

    with warnings.catch_warnings():
        # sagemaker 3.x imports its own deprecated shims while loading ModelBuilder
        warnings.simplefilter("ignore", DeprecationWarning)
        sdk = _import_sdk()
    config = sdk.JumpStartConfig(
        model_id="huggingface-llm-mistral-7b",
        model_version=None,
        accept_eula=False,
        inference_config_name=None,
    )
    assert config.model_id == "huggingface-llm-mistral-7b"
    compute = sdk.Compute(instance_type="ml.g5.2xlarge", instance_count=1)
    assert compute.instance_type == "ml.g5.2xlarge"
    assert callable(sdk.ModelBuilder.from_jumpstart_config)
    assert callable(sdk.ModelBuilder.deploy)
