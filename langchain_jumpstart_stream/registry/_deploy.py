"""Deploy a JumpStart model (through the SageMaker SDK) and clean it up again (plain boto3).

``deploy`` needs the ``[jumpstart]`` extra (``sagemaker>=3``); its classes are
imported inside the call. In SDK v3 a JumpStart deployment is
``ModelBuilder.from_jumpstart_config(JumpStartConfig(...), compute=Compute(...))``
followed by ``build()`` and ``deploy()``.

``delete_endpoint`` only needs boto3: it removes the inference components (if
any), the endpoint, its endpoint config and the models behind them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, EndpointNotFoundError, MissingDependencyError
from ._live import INSTALL_HINT
from ._snapshot import load_snapshot

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_sagemaker import SageMakerClient

__all__ = ["DeployedEndpoint", "delete_endpoint", "deploy"]


@dataclass(frozen=True, slots=True)
class DeployedEndpoint:
    """What ``JumpStartLLM`` needs to talk to a freshly deployed model.

    Attributes:
        endpoint_name: The SageMaker endpoint.
        model_id: The JumpStart model id deployed on it.
        region_name: The endpoint's region; ``None`` when the environment's
            default region was used.
        inference_component_name: The inference component, for endpoints that
            host models as components; ``None`` otherwise.
        accept_eula: Whether the EULA was accepted (send ``accept_eula=true``).
    """

    endpoint_name: str
    model_id: str
    region_name: str | None
    inference_component_name: str | None = None
    accept_eula: bool = False


def deploy(
    model_id: str,
    *,
    instance_type: str | None = None,
    accept_eula: bool = False,
    endpoint_name: str | None = None,
    region_name: str | None = None,
    session: boto3.Session | None = None,
    role_arn: str | None = None,
    initial_instance_count: int = 1,
    model_version: str | None = None,
    inference_config_name: str | None = None,
    wait: bool = True,
) -> DeployedEndpoint:
    """Deploy a JumpStart model to a new real-time endpoint.

    Checks the arguments (and, for models the snapshot knows, the EULA) before
    anything is sent to AWS.

    Args:
        model_id: JumpStart model id.
        instance_type: Instance type; JumpStart's default for the model if omitted.
        accept_eula: Accept the model's end-user licence; required for gated models.
        endpoint_name: Name of the new endpoint (the SDK picks one if omitted).
        region_name: AWS region (the session's if omitted).
        session: boto3 session to deploy with.
        role_arn: Execution role for the model (the SDK's default role if omitted).
        initial_instance_count: Number of instances.
        model_version: JumpStart model version (latest if omitted).
        inference_config_name: One of the model's inference configs
            (container variants); JumpStart's default if omitted.
        wait: Wait until the endpoint is in service.

    Returns:
        The endpoint's coordinates.

    Raises:
        ConfigurationError: A gated model without ``accept_eula=True``, or bad arguments.
        MissingDependencyError: The ``[jumpstart]`` extra is not installed.
    """
    if not model_id:
        raise ConfigurationError("model_id must not be empty")
    if initial_instance_count < 1:
        raise ConfigurationError("initial_instance_count must be at least 1")
    known = load_snapshot().models.get(model_id)
    if known is not None and known.gated and not accept_eula:
        raise ConfigurationError(
            f"{model_id} is gated behind an end-user licence agreement",
            hint="Read the model's licence, then pass accept_eula=True",
        )
    if instance_type is None and known is not None and known.default_instance_type:
        instance_type = known.default_instance_type
    if session is not None and region_name and session.region_name != region_name:
        raise ConfigurationError(
            f"region_name {region_name!r} differs from the session's {session.region_name!r}",
            hint="Pass one of them, or a session created for that region",
        )
    sdk = _import_sdk()
    sagemaker_session = None
    if session is not None or region_name is not None:
        import boto3

        sagemaker_session = sdk.Session(
            boto_session=session or boto3.Session(region_name=region_name)
        )
    compute = (
        sdk.Compute(instance_type=instance_type, instance_count=initial_instance_count)
        if instance_type
        else None
    )
    builder = sdk.ModelBuilder.from_jumpstart_config(
        jumpstart_config=sdk.JumpStartConfig(
            model_id=model_id,
            model_version=model_version,
            accept_eula=accept_eula,
            inference_config_name=inference_config_name,
        ),
        role_arn=role_arn,
        compute=compute,
        sagemaker_session=sagemaker_session,
    )
    builder.build()
    endpoint = builder.deploy(
        endpoint_name=endpoint_name,
        initial_instance_count=initial_instance_count,
        instance_type=instance_type,
        wait=wait,
    )
    name = getattr(endpoint, "endpoint_name", None) or endpoint_name
    if not name:
        raise ConfigurationError("the SageMaker SDK returned an endpoint without a name")
    component = getattr(endpoint, "inference_component_name", None)
    region = region_name or (session.region_name if session is not None else None)
    return DeployedEndpoint(
        endpoint_name=str(name),
        model_id=model_id,
        region_name=region,
        inference_component_name=str(component) if component else None,
        accept_eula=accept_eula,
    )


@dataclass(frozen=True, slots=True)
class _Sdk:
    Session: Any
    Compute: Any
    JumpStartConfig: Any
    ModelBuilder: Any


def _import_sdk() -> _Sdk:
    """The SDK classes ``deploy`` uses, imported on first call."""
    try:
        from sagemaker.core.helper.session_helper import Session  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from sagemaker.core.jumpstart.configs import JumpStartConfig  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from sagemaker.core.training.configs import Compute  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from sagemaker.serve.model_builder import ModelBuilder  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as e:
        raise MissingDependencyError(
            "deploying JumpStart models needs the SageMaker SDK (sagemaker>=3)",
            hint=f"Run: {INSTALL_HINT}",
        ) from e
    return _Sdk(
        Session=Session, Compute=Compute, JumpStartConfig=JumpStartConfig, ModelBuilder=ModelBuilder
    )


def delete_endpoint(
    endpoint_name: str,
    *,
    region_name: str | None = None,
    session: boto3.Session | None = None,
    client: SageMakerClient | None = None,
    delete_model: bool = True,
    poll_interval: float = 5.0,
    timeout: float = 900.0,
) -> None:
    """Delete an endpoint with its endpoint config, inference components and models.

    Args:
        endpoint_name: The endpoint to delete.
        region_name: AWS region (the session's if omitted).
        session: boto3 session to create the client from.
        client: A ready ``sagemaker`` boto3 client (overrides ``session``).
        delete_model: Also delete the models the endpoint served.
        poll_interval: Seconds between checks while inference components go away.
        timeout: Give up waiting for inference components after this many seconds.

    Raises:
        EndpointNotFoundError: There is no such endpoint.
        ConfigurationError: Inference components did not go away in time.
        botocore.exceptions.ClientError: Any other AWS error, unchanged.
    """
    from botocore.exceptions import ClientError

    if client is None:
        import boto3

        client = (session or boto3.Session()).client("sagemaker", region_name=region_name)
    try:
        described = client.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as e:
        error = e.response.get("Error", {})
        if "Could not find endpoint" in str(error.get("Message", "")):
            raise EndpointNotFoundError(
                "no such endpoint", endpoint_name=endpoint_name, error_code=error.get("Code")
            ) from e
        raise
    config_name = described["EndpointConfigName"]
    models: list[str] = []
    components = _inference_components(client, endpoint_name)
    for component in components:
        spec = client.describe_inference_component(InferenceComponentName=component)
        model = spec.get("Specification", {}).get("ModelName")
        if model:
            models.append(model)
        client.delete_inference_component(InferenceComponentName=component)
    if components:
        _wait_until_gone(client, endpoint_name, poll_interval, timeout)
    config = client.describe_endpoint_config(EndpointConfigName=config_name)
    models += [v["ModelName"] for v in config.get("ProductionVariants", []) if v.get("ModelName")]
    client.delete_endpoint(EndpointName=endpoint_name)
    client.delete_endpoint_config(EndpointConfigName=config_name)
    if delete_model:
        for model in dict.fromkeys(models):
            client.delete_model(ModelName=model)


def _inference_components(client: SageMakerClient, endpoint_name: str) -> list[str]:
    names: list[str] = []
    kwargs: dict[str, Any] = {"EndpointNameEquals": endpoint_name}
    while True:
        page = client.list_inference_components(**kwargs)
        names += [c["InferenceComponentName"] for c in page.get("InferenceComponents", [])]
        token = page.get("NextToken")
        if not token:
            return names
        kwargs["NextToken"] = token


def _wait_until_gone(
    client: SageMakerClient, endpoint_name: str, poll_interval: float, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while _inference_components(client, endpoint_name):
        if time.monotonic() >= deadline:
            raise ConfigurationError(
                "inference components are still being deleted",
                endpoint_name=endpoint_name,
                hint="Call delete_endpoint again once they are gone",
            )
        time.sleep(poll_interval)
