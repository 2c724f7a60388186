"""Connection settings and per-call plumbing shared by the LLM and the chat model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import LangSmithParams
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from typing_extensions import Self

from . import errors
from ._call import StreamCall
from ._connection import Connection, ConnectionHolder
from ._decoder import StreamDecoder
from ._payloads import RequestSchema, build_body
from ._signing import make_client

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

    from .registry import ModelSpec

__all__ = ["EndpointSettings", "Profile", "StreamFormat"]

StreamFormat = Literal["tgi", "jsonlines", "openai"]

# Token texts that are never meant to be shown, used when no model spec says better.
_COMMON_SPECIAL = (
    "<|endoftext|>",
    "</s>",
    "<s>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<|im_end|>",
    "<eos>",
    "<end_of_turn>",
    "<|end|>",
    "<|return|>",
)

_SCHEMA_FOR_FORMAT: dict[StreamFormat | None, RequestSchema] = {
    "tgi": "tgi",
    "jsonlines": "lmi",
    "openai": "openai-chat",
    None: "tgi",  # TGI and LMI both accept {"inputs", "parameters", "stream"}
}


@dataclass(frozen=True)
class Profile:
    """What the client needs to know about the container behind an endpoint."""

    request_schema: RequestSchema
    stream_format: StreamFormat | None
    default_parameters: Mapping[str, Any]
    special_tokens: tuple[str, ...]
    stop_sequences: tuple[str, ...]
    gated: bool
    spec: ModelSpec | None


class EndpointSettings(BaseModel):
    """Fields and helpers common to :class:`JumpStartLLM` and :class:`ChatJumpStart`."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    endpoint_name: str
    """Name of the SageMaker endpoint."""

    model_id: str | None = None
    """JumpStart model id; selects request schema, stream format and defaults."""

    stream_format: StreamFormat | None = None
    """``"tgi"``, ``"jsonlines"`` or ``"openai"``; overrides ``model_id``. With
    neither, the format is recognised from the stream itself."""

    region_name: str | None = None
    """AWS region; defaults to the environment's."""

    credentials_profile_name: str | None = None
    """Named profile from ~/.aws; defaults to the environment's credentials."""

    endpoint_url: str | None = None
    """Override the SageMaker Runtime URL (for example the local emulator)."""

    client: Any = Field(default=None, exclude=True)
    """A ready ``sagemaker-runtime`` boto3 client; wins over the settings above. It
    signs every request (its credentials, region, endpoint, hooks and stubs apply);
    the package sends them with its own HTTP clients, honouring the client's config
    (timeouts, proxies, client certificate, pool size) and ``verify`` below."""

    verify: bool | str | None = None
    """TLS verification as botocore means it: ``None`` for botocore's default
    (``AWS_CA_BUNDLE``, the profile's ``ca_bundle``, else its CA bundle), ``False``
    to skip it, or the path of a CA bundle file or directory."""

    inference_component_name: str | None = None
    """Inference component to invoke on a multi-model endpoint."""

    target_variant: str | None = None
    """Production variant to invoke."""

    custom_attributes: str | None = None
    """``X-Amzn-SageMaker-Custom-Attributes`` passed to the container."""

    inference_id: str | None = None
    """Identifier recorded with the request for model monitoring."""

    accept_eula: bool = False
    """Accept the model's end-user licence (sends ``accept_eula=true``) for gated models."""

    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Generation parameters, in the container's own names (``max_new_tokens``...)."""

    stop: list[str] | None = None
    """Default stop sequences, added to those of each call."""

    max_retries: int = Field(default=2, ge=0)
    """Retries on throttling, 5xx and connection errors, before the first token only."""

    retry_base_delay: float = Field(default=0.5, ge=0)
    """First backoff ceiling in seconds; doubles with each retry (full jitter)."""

    connect_timeout: float = Field(default=10.0, gt=0)
    """Seconds to wait for a connection."""

    read_timeout: float = Field(default=60.0, gt=0)
    """Seconds to wait for the next bytes of the answer before giving up."""

    timeout: float | None = Field(default=None, gt=0)
    """Seconds the whole call may take, retries included (``None``: no limit). A
    server that keeps sending a byte now and then ends in a ``StreamTimeoutError``."""

    max_line_bytes: int = Field(default=4 << 20, gt=0)
    """Longest line accepted from the stream; protects memory from a broken container.
    TGI's last event repeats the whole answer in ``generated_text``, so this must stay
    well above the longest answer (4 MiB is about a million tokens of English)."""

    max_pool_connections: int = Field(default=64, gt=0)
    """HTTP connections kept by the lazily created client (one per concurrent stream)."""

    token_details: bool = False
    """Attach each token's id and logprob to its chunk's ``generation_info``
    (``token_ids``/``token_logprobs`` lists). Off by default: langchain-core merges
    chunk lists by copying, which costs time quadratic in the stream length."""

    _profile: Profile = PrivateAttr()
    _holder: ConnectionHolder = PrivateAttr()

    @model_validator(mode="after")
    def _resolve_profile(self) -> EndpointSettings:
        self._profile = self._make_profile()
        self._holder = ConnectionHolder(self._make_connection)
        return self

    def _make_profile(self) -> Profile:
        spec = None
        if self.model_id is not None:
            from .registry import get_model

            try:
                spec = get_model(self.model_id)
            except errors.ConfigurationError:
                if self.stream_format is None:
                    raise
                # An explicit stream_format makes the id informational only.
        if spec is not None and self.stream_format in (None, spec.stream_format):
            return Profile(
                request_schema=spec.request_schema,
                stream_format=spec.stream_format,
                default_parameters=dict(spec.default_parameters),
                special_tokens=tuple(spec.special_tokens) or _COMMON_SPECIAL,
                stop_sequences=tuple(spec.stop_sequences),
                gated=spec.gated,
                spec=spec,
            )
        return Profile(
            request_schema=_SCHEMA_FOR_FORMAT[self.stream_format],
            stream_format=self.stream_format,
            default_parameters={},
            special_tokens=_COMMON_SPECIAL,
            stop_sequences=(),
            gated=spec.gated if spec is not None else False,
            spec=spec,
        )

    @classmethod
    def from_model_id(
        cls,
        model_id: str,
        *,
        deploy: bool = False,
        endpoint_name: str | None = None,
        instance_type: str | None = None,
        accept_eula: bool = False,
        region_name: str | None = None,
        **kwargs: Any,
    ) -> Self:
        """Build a model for a JumpStart id, deploying a new endpoint if asked.

        Args:
            model_id: JumpStart model id.
            deploy: Deploy a new endpoint through the SageMaker SDK (extra
                ``[jumpstart]``) and use it. Delete it afterwards with
                ``langchain_jumpstart_stream.registry.delete_endpoint``.
            endpoint_name: Existing endpoint to use, or the name for the new one.
            instance_type: Instance type for the new endpoint (JumpStart's default if None).
            accept_eula: Accept the model's licence (gated models need it, to deploy
                and to invoke).
            region_name: AWS region.
            **kwargs: Other fields of the model (``model_kwargs``, ``client``...).

        Raises:
            ConfigurationError: Neither ``deploy`` nor ``endpoint_name`` was given, or a
                gated model without ``accept_eula``.
            MissingDependencyError: ``deploy=True`` without the ``[jumpstart]`` extra.
        """
        inference_component_name = kwargs.pop("inference_component_name", None)
        if deploy:
            from .registry import deploy as deploy_model

            deployed = deploy_model(
                model_id,
                instance_type=instance_type,
                accept_eula=accept_eula,
                endpoint_name=endpoint_name,
                region_name=region_name,
            )
            endpoint_name = deployed.endpoint_name
            region_name = deployed.region_name or region_name
            inference_component_name = deployed.inference_component_name
        elif endpoint_name is None:
            raise errors.ConfigurationError(
                f"no endpoint for {model_id!r}",
                hint="Pass endpoint_name=... for an existing endpoint, or deploy=True",
            )
        return cls(
            endpoint_name=endpoint_name,
            model_id=model_id,
            region_name=region_name,
            accept_eula=accept_eula,
            inference_component_name=inference_component_name,
            **kwargs,
        )

    @property
    def container_profile(self) -> Profile:
        """The resolved container profile (schema, format, defaults)."""
        return self._profile

    def get_client(self) -> SageMakerRuntimeClient:
        """The boto3 client: the one given, or one created once and shared by all calls."""
        if self.client is not None:
            return self.client  # type: ignore[no-any-return]
        return self._connection().client  # type: ignore[no-any-return]

    def _connection(self) -> Connection:
        connection = self._holder.get()
        if self.client is not None and connection.client is not self.client:
            self._holder = ConnectionHolder(self._make_connection)  # the field was replaced
            connection = self._holder.get()
        return connection

    def _make_connection(self) -> Connection:
        if self.client is not None:
            return Connection(self.client, None, self.verify)
        client, credentials = make_client(
            region_name=self.region_name,
            credentials_profile_name=self.credentials_profile_name,
            endpoint_url=self.endpoint_url,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=self.max_pool_connections,
        )
        return Connection(client, credentials, self.verify)

    def _custom_attributes(self) -> str | None:
        parts = [self.custom_attributes] if self.custom_attributes else []
        if self.accept_eula and "accept_eula" not in (self.custom_attributes or ""):
            parts.append("accept_eula=true")
        return ";".join(parts) or None

    def _stops(self, stop: Sequence[str] | None, *, template: bool = True) -> list[str]:
        # The template's stops matter only when we render the prompt ourselves.
        profile = self._profile.stop_sequences if template else ()
        merged = [*(stop or ()), *(self.stop or ()), *profile]
        return list(dict.fromkeys(s for s in merged if s))

    def _parameters(self, call_kwargs: Mapping[str, Any]) -> dict[str, Any]:
        return {**self._profile.default_parameters, **self.model_kwargs, **call_kwargs}

    def _new_call(
        self,
        *,
        prompt: str | None,
        stop: Sequence[str] | None,
        call_kwargs: Mapping[str, Any],
        stream: bool,
        messages: Sequence[Mapping[str, Any]] | None = None,
        schema: RequestSchema | None = None,
        extra: Mapping[str, Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
        template_stops: bool = True,
        starts_in_thinking: bool = False,
    ) -> StreamCall:
        """Prepare one request; ``parameters`` replaces the merged defaults when given."""
        profile = self._profile
        stops = self._stops(stop, template=template_stops)
        body = build_body(
            schema or profile.request_schema,
            prompt=prompt,
            messages=messages,
            parameters=self._parameters(call_kwargs) if parameters is None else parameters,
            stop=stops,
            stream=stream,
            extra=extra,
        )
        request: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "Body": body,
            "ContentType": "application/json",
        }
        optional = {
            "CustomAttributes": self._custom_attributes(),
            "InferenceComponentName": self.inference_component_name,
            "TargetVariant": self.target_variant,
            "InferenceId": self.inference_id,
        }
        request.update({k: v for k, v in optional.items() if v is not None})
        if not stream:
            request["Accept"] = "application/json"
        special = profile.special_tokens
        model_id = self.model_id
        max_line_bytes = self.max_line_bytes
        token_details = self.token_details

        def decoder() -> StreamDecoder:
            return StreamDecoder(
                stop=stops,
                special_tokens=special,
                max_line_bytes=max_line_bytes,
                token_details=token_details,
                model_id=model_id,
                starts_in_thinking=starts_in_thinking,
            )

        holder = self._holder
        return StreamCall(
            connection=self._connection,
            connection_ready=lambda: holder.ready,
            endpoint_name=self.endpoint_name,
            request=request,
            decoder=decoder,
            max_retries=self.max_retries,
            retry_base_delay=self.retry_base_delay,
            timeout=self.timeout,
        )

    def _tracing_params(
        self,
        stop: Sequence[str] | None,
        kwargs: Mapping[str, Any],
        model_type: Literal["llm", "chat"],
    ) -> LangSmithParams:
        """Provider, model and sampling settings for tracing (never credentials)."""
        params = self._parameters(kwargs)
        ls = LangSmithParams(
            ls_provider="amazon_sagemaker",
            ls_model_name=str(kwargs.get("model") or self.model_id or self.endpoint_name),
            ls_model_type=model_type,
        )
        temperature = params.get("temperature")
        if isinstance(temperature, int | float):
            ls["ls_temperature"] = float(temperature)
        max_tokens = params.get("max_new_tokens", params.get("max_tokens"))
        if isinstance(max_tokens, int):
            ls["ls_max_tokens"] = max_tokens
        stops = self._stops(stop)
        if stops:
            ls["ls_stop"] = stops
        return ls

    def _endpoint_params(self) -> dict[str, Any]:
        """Identifying parameters; never credentials."""
        params: dict[str, Any] = {
            "endpoint_name": self.endpoint_name,
            "model_id": self.model_id,
            "stream_format": self._profile.stream_format,
            "model_kwargs": self.model_kwargs,
        }
        for key in ("inference_component_name", "target_variant", "region_name"):
            value = getattr(self, key)
            if value is not None:
                params[key] = value
        return params
