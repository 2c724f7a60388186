"""Connection settings and per-call plumbing shared by the LLM and the chat model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from botocore.config import Config
from langchain_core.language_models import LangSmithParams
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import get_config_list
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from typing_extensions import Self

from . import errors
from ._call import StreamCall
from ._connection import Connection, ConnectionHolder
from ._conventions import (
    REQUEST_MEMBERS,
    STANDARD_PARAMETERS,
    check_member,
    move_unknown_arguments,
)
from ._decoder import StreamDecoder
from ._param_names import merge_parameters
from ._payloads import RequestSchema, build_body
from ._sessions import (
    CLOSE_BODY,
    OPEN_BODY,
    PrefixAwareIdSource,
    RunConfigAffinity,
    StatefulSession,
    routing_options,
)
from ._signing import make_client
from ._targets import Breaker, Plan, Target, make_legs
from ._telemetry import Observer

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

# Per-call switches that become Messages-API body members, not parameters.
_REASONING_SWITCHES = ("thinking", "reasoning_effort")

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


class EndpointSettings(RunConfigAffinity, BaseModel):
    """Fields and helpers common to :class:`JumpStartLLM` and :class:`ChatJumpStart`."""

    # hide_input_in_errors: pydantic would otherwise print every constructor argument,
    # credentials included, in the ValidationError that wraps a setup error.
    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, hide_input_in_errors=True
    )

    endpoint_name: str
    """Name of the SageMaker endpoint."""

    model_id: str | None = Field(default=None, alias="model")
    """JumpStart model id; selects request schema, stream format and defaults.
    ``model=...`` is accepted too, as in other LangChain chat models."""

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
    """Identifier recorded with the request for model monitoring (``InferenceId``)."""

    session_id: str | None = None
    """Stateful-session id (``SessionId``): ``"NEW_SESSION"`` opens one; then send the
    id SageMaker returned so that requests reach the same instance."""

    target_container_hostname: str | None = None
    """Container to invoke on a multi-container endpoint with direct invocation
    (``TargetContainerHostname``)."""

    prefix_aware_id: str | None = None
    """Routing key for prefix-aware routing (``PrefixAwareId``): requests with the same
    id go where their prompt prefix is cached. Needs botocore 1.43.68 or newer."""

    prefix_aware_id_from: PrefixAwareIdSource | None = Field(default=None, exclude=True)
    """Take ``PrefixAwareId`` from each run's conversation: ``"thread_id"`` (LangGraph's
    ``config["configurable"]["thread_id"]``), or a function of the run config. Wins
    over ``prefix_aware_id``; a per-call ``prefix_aware_id=`` wins over both."""

    target_model: str | None = None
    """Model to invoke on a multi-model endpoint (``TargetModel``). ``InvokeEndpoint``
    has it, the streaming operation does not: use it with ``disable_streaming=True``
    or per call with ``stream=False``."""

    temperature: float | None = Field(default=None, ge=0)
    """Sampling temperature; sent under the container's own name. ``None``: its default."""

    max_tokens: int | None = Field(default=None, gt=0)
    """Most tokens to generate; sent as ``max_new_tokens`` to TGI and LMI prompts and
    as ``max_tokens`` to OpenAI-style APIs. ``None``: the registry's default."""

    top_p: float | None = Field(default=None, gt=0, le=1)
    """Nucleus-sampling probability mass. ``None``: the container's default."""

    seed: int | None = None
    """Random seed, for containers that make sampling reproducible with one."""

    stream_usage: bool = True
    """On OpenAI-style APIs, ask for the closing usage chunk
    (``stream_options.include_usage``). TGI and LMI report usage unasked."""

    aws_access_key_id: SecretStr | None = None
    """Access key id for the client the model creates; with the two fields below it
    replaces the environment's credential chain. Never shown or serialised."""

    aws_secret_access_key: SecretStr | None = None
    """Secret access key matching ``aws_access_key_id``. Never shown or serialised."""

    aws_session_token: SecretStr | None = None
    """Session token for temporary credentials. Never shown or serialised."""

    config: Config | None = Field(default=None, exclude=True)
    """A botocore ``Config`` for the client the model creates (proxies, endpoint
    rules, user agent...). The package's timeouts, pool size and retry settings
    are applied on top of it."""

    accept_eula: bool = False
    """Accept the model's end-user licence (sends ``accept_eula=true``) for gated models."""

    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Generation parameters, in the container's own names (``max_new_tokens``...)."""

    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Default stop sequences, added to those of each call (``stop_sequences=...`` too)."""

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

    thinking: bool | None = None
    """Turn a reasoning model's thinking on or off (``None``: the model's default).
    Sent as ``chat_template_kwargs={"enable_thinking": ...}`` (Qwen3 and other
    templates that read it) on Messages-API containers; per call as ``thinking=``."""

    reasoning_effort: Literal["low", "medium", "high"] | None = None
    """How hard a reasoning model thinks, where the container reads it (gpt-oss's
    ``reasoning_effort``) on Messages-API containers; per call as ``reasoning_effort=``."""

    token_details: bool = False
    """Attach each token's id and logprob to its chunk's ``generation_info``
    (``token_ids``/``token_logprobs`` lists). Off by default: langchain-core merges
    chunk lists by copying, which costs time quadratic in the stream length."""

    fallback_targets: list[Target] = Field(default_factory=list)
    """Where a call goes when this model's own endpoint cannot answer, in order: each
    an endpoint name or a :class:`Target` (endpoint, inference component, variant,
    region). A call moves on only before the first token, on the failures a retry may
    fix (throttling, ``ModelNotReadyException``, 5xx, connection failures). See
    docs/production.md."""

    failover_cooldown: float = Field(default=30.0, ge=0)
    """Seconds a target that failed is tried only after the healthy ones (a circuit
    breaker per target, shared by the calls of this model). 0 turns it off."""

    telemetry: bool = True
    """Time every call (first token, inter-token latency, tokens/s) and report it with
    the serving target in the last chunk's metadata, under ``"jumpstart"``."""

    otel: bool = False
    """Emit OpenTelemetry spans and metrics (GenAI semantic conventions); needs the
    ``[otel]`` extra. Uses the global tracer and meter providers."""

    otel_capture_content: bool = False
    """With ``otel``: also record the prompt and the answer on the span. Off by
    default: prompts and outputs may hold personal data."""

    _profile: Profile = PrivateAttr()
    _holder: ConnectionHolder = PrivateAttr()
    _breaker: Breaker = PrivateAttr()
    _regions: dict[str, ConnectionHolder] = PrivateAttr(default_factory=dict)

    @field_validator("fallback_targets", mode="before")
    @classmethod
    def _targets_from_names(cls, value: Any) -> Any:
        """An endpoint name is a target in the model's region, with nothing else set."""
        if isinstance(value, str | Target | Mapping):
            value = [value]  # one target, not the characters of a name
        if isinstance(value, Sequence):
            return [Target(endpoint_name=v) if isinstance(v, str) else v for v in value]
        return value

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Fields that hold secrets, and the environment variables they come from."""
        return {
            "aws_access_key_id": "AWS_ACCESS_KEY_ID",
            "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
            "aws_session_token": "AWS_SESSION_TOKEN",
        }

    @model_validator(mode="before")
    @classmethod
    def _move_unknown_arguments(cls, values: Any) -> Any:
        """Send what is no field to ``model_kwargs``, with a warning (never silently)."""
        if not isinstance(values, dict):
            return values
        known = set(cls.model_fields)
        known.update(f.alias for f in cls.model_fields.values() if f.alias)
        return move_unknown_arguments(values, known, cls.__name__)

    @model_validator(mode="after")
    def _resolve_profile(self) -> EndpointSettings:
        self._check_endpoint_url()
        self._check_credentials()
        self._profile = self._make_profile()
        self._check_parameters()
        if self.prefix_aware_id is not None or self.prefix_aware_id_from is not None:
            check_member("PrefixAwareId", stream=True)
        self._holder = ConnectionHolder(self._make_connection)
        self._check_targets()
        self._breaker = Breaker(self.failover_cooldown)
        return self

    def _check_targets(self) -> None:
        own = self._own_target(self.inference_component_name, self.target_variant)
        for target in self.fallback_targets:
            region = target.region_name or own.region_name
            if target.model_copy(update={"region_name": region}) == own:
                raise errors.ConfigurationError(
                    f"fallback target {str(target)!r} is the model's own target",
                    endpoint_name=self.endpoint_name,
                    hint="List only other endpoints, components, variants or regions",
                )
            region = target.region_name
            client_region = getattr(getattr(self.client, "meta", None), "region_name", None)
            if self.client is not None and region is not None and region != client_region:
                raise errors.ConfigurationError(
                    f"fallback target {str(target)!r} is in {region}, but the client given "
                    f"calls {client_region}",
                    endpoint_name=self.endpoint_name,
                    hint="Leave client= out (the model then makes one client per region "
                    "from its own settings), or list targets in the client's region only",
                )

    def _check_endpoint_url(self) -> None:
        url = self.endpoint_url
        if url is None:
            return
        parts = urlsplit(url)
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            raise errors.ConfigurationError(
                f"endpoint_url {url!r} is not an http(s) URL",
                hint=f"Pass {type(self).__name__}(endpoint_url='https://runtime.sagemaker."
                "us-east-1.amazonaws.com'), or the emulator's URL such as "
                "'http://127.0.0.1:8080' (jumpstart-stream serve --port 8080); leave it "
                "out to use the region's SageMaker Runtime",
            )

    def _check_credentials(self) -> None:
        key_id, secret = self.aws_access_key_id, self.aws_secret_access_key
        if (key_id is None) != (secret is None) or (
            self.aws_session_token is not None and key_id is None
        ):
            raise errors.ConfigurationError(
                "explicit AWS credentials need aws_access_key_id and aws_secret_access_key "
                "together (and aws_session_token only with them)",
                hint=f"Pass both to {type(self).__name__}(...), or none of the aws_* "
                "fields to use the environment's credentials or credentials_profile_name",
            )

    def _check_parameters(self) -> None:
        """A standard field and a ``model_kwargs`` entry for the same thing is ambiguous."""
        names = {key: key for key in STANDARD_PARAMETERS}
        names["max_tokens"] = self._max_tokens_name()
        clashes = [
            f"{field}/{names[field]}"
            for field in STANDARD_PARAMETERS
            if getattr(self, field) is not None
            and (names[field] in self.model_kwargs or field in self.model_kwargs)
        ]
        if clashes:
            raise errors.ConfigurationError(
                f"{type(self).__name__} got {', '.join(clashes)} both as a field and in "
                "model_kwargs",
                hint="Set each once; the field is the portable spelling",
            )

    def _make_profile(self) -> Profile:
        spec = None
        if self.model_id is not None:
            from .registry import get_model

            try:
                spec = get_model(self.model_id)
            except errors.ConfigurationError as exc:
                if self.stream_format is None:
                    raise self._unknown_model(exc) from exc
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

    def _unknown_model(self, exc: errors.ConfigurationError) -> errors.ConfigurationError:
        """The registry's error, with advice for the class being built."""
        name = type(self).__name__
        suggestions = getattr(exc, "suggestions", ())
        did_you_mean = f"Did you mean model_id={suggestions[0]!r}? " if suggestions else ""
        return errors.ConfigurationError(
            f"{self.model_id!r} is not a model id this package knows",
            endpoint_name=self.endpoint_name,
            hint=f"{did_you_mean}Pick an id from "
            "langchain_jumpstart_stream.registry.list_models(catalog='all', task=None, "
            "framework=None) (or `.venv/bin/jumpstart-stream models --all`); for a model "
            f"the registry does not know, say what its container speaks: {name}("
            "endpoint_name=..., stream_format='tgi' | 'jsonlines' | 'openai')",
        )

    def _max_tokens_name(self) -> str:
        """The container's own name for ``max_tokens`` in the request schema used."""
        spec = self._profile.spec
        schema = self._profile.request_schema
        if spec is not None and spec.request_schema == schema:
            return spec.max_tokens_parameter
        return "max_tokens" if schema.startswith("openai") else "max_new_tokens"

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

    def _make_connection(self, region_name: str | None = None) -> Connection:
        if self.client is not None:
            return Connection(self.client, None, self.verify)
        client, credentials = make_client(
            region_name=region_name or self.region_name,
            credentials_profile_name=self.credentials_profile_name,
            endpoint_url=self.endpoint_url,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=self.max_pool_connections,
            aws_access_key_id=_reveal(self.aws_access_key_id),
            aws_secret_access_key=_reveal(self.aws_secret_access_key),
            aws_session_token=_reveal(self.aws_session_token),
            config=self.config,
        )
        return Connection(client, credentials, self.verify)

    def session(
        self,
        *,
        open_body: Mapping[str, Any] | bytes = OPEN_BODY,
        close_body: Mapping[str, Any] | bytes = CLOSE_BODY,
    ) -> StatefulSession[Self]:
        """A stateful session on this endpoint, for ``with`` or ``async with``.

        Opening sends ``InvokeEndpoint`` with ``SessionId="NEW_SESSION"``; inside the
        block, ``session.model`` is a copy of this model whose calls carry the session
        id; leaving the block closes it (after an error too). See docs/sessions.md.

        Args:
            open_body: Body that tells the container to open a session (default:
                AWS's reference container's ``{"requestType": "NEW_SESSION"}``).
            close_body: Body that tells it to close one (``{"requestType": "CLOSE"}``).

        Example:
            >>> with llm.session() as s:  # doctest: +SKIP
            ...     for token in s.model.stream("Hello"):
            ...         print(token, end="")
        """
        return StatefulSession(self, open_body=open_body, close_body=close_body)

    def _custom_attributes(self, given: str | None = None) -> str | None:
        given = given or self.custom_attributes
        parts = [given] if given else []
        if self.accept_eula and "accept_eula" not in (given or ""):
            parts.append("accept_eula=true")
        return ";".join(parts) or None

    def _take_call_options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Remove the per-call request members and switches from ``kwargs``.

        What is left are generation parameters. Returns the request members given
        per call, by field name (``session_id``, ``custom_attributes``...).
        """
        kwargs.pop("stream", None)  # langchain-core's own switch, decided upstream
        options = {
            key: kwargs.pop(key) for key in (*REQUEST_MEMBERS, "custom_attributes") if key in kwargs
        }
        if "stream_usage" in kwargs:
            options["stream_usage"] = bool(kwargs.pop("stream_usage"))
        return options

    def _bounded_configs(
        self, config: RunnableConfig | list[RunnableConfig] | None, count: int
    ) -> list[RunnableConfig]:
        """One config per input, ``max_concurrency`` defaulting to the pool size."""
        configs = get_config_list(config, count)
        return [
            c if c.get("max_concurrency") else {**c, "max_concurrency": self.max_pool_connections}
            for c in configs
        ]

    def _stream_operation(self, kwargs: Mapping[str, Any]) -> bool:
        """Whether a whole-answer call (``invoke``, ``generate``) goes through the stream.

        It does, so that callbacks see every token, unless LangChain's switches say
        not to stream (:meth:`_whole_answer_only`) or the request needs a member that
        only ``InvokeEndpoint`` has (``target_model``).
        """
        if self._whole_answer_only(kwargs):
            return False
        return kwargs.get("target_model", self.target_model) is None

    def _whole_answer_only(self, kwargs: Mapping[str, Any]) -> bool:
        """Whether LangChain's switches say this call must not stream.

        ``disable_streaming`` (``"tool_calling"``: when tools are bound), ``stream=False``
        per call, or ``streaming=False`` set on the model. The SageMaker operation
        follows: ``InvokeEndpoint`` then, the streaming operation otherwise.
        """
        disabled = getattr(self, "disable_streaming", False)
        if disabled is True or (disabled == "tool_calling" and kwargs.get("tools")):
            return True
        if "stream" in kwargs and not kwargs["stream"]:
            return True
        return "streaming" in self.model_fields_set and getattr(self, "streaming", True) is False

    def _stops(self, stop: Sequence[str] | None, *, template: bool = True) -> list[str]:
        # The template's stops matter only when we render the prompt ourselves.
        profile = self._profile.stop_sequences if template else ()
        merged = [*(stop or ()), *(self.stop or ()), *profile]
        return list(dict.fromkeys(s for s in merged if s))

    def _parameters(self, call_kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults < ``model_kwargs`` < standard fields < per-call, in container names.

        For checks and tracing: the reasoning switches, which depend on the route the
        request takes, are added only when a request is built.
        """
        kwargs = {k: v for k, v in call_kwargs.items() if k not in _REASONING_SWITCHES}
        return self._merged_parameters(kwargs, reasoning=False)[0]

    def _merged_parameters(
        self,
        call_kwargs: Mapping[str, Any],
        schema: RequestSchema | None = None,
        *,
        reasoning: bool = True,
    ) -> tuple[dict[str, Any], list[str]]:
        """Every parameter layer in ``schema``'s own names, and the stops found in them.

        Layers, later ones winning: the model's defaults, ``model_kwargs``, the
        standard fields, the call's keywords, the call's standard keywords.
        ``max_tokens``/``max_new_tokens`` and ``stop``/``stop_sequences`` are
        translated to the schema's names, never sent twice.
        """
        schema = schema or self._profile.request_schema
        fields = {key: getattr(self, key) for key in STANDARD_PARAMETERS}
        call = dict(call_kwargs)
        per_call = {key: call.pop(key) for key in STANDARD_PARAMETERS if key in call}
        thinking = call.pop("thinking", self.thinking) if reasoning else None
        effort = call.pop("reasoning_effort", self.reasoning_effort) if reasoning else None
        layers = (
            self._profile.default_parameters,
            self.model_kwargs,
            {k: v for k, v in fields.items() if v is not None},
            call,
            per_call,
        )
        params, stops = merge_parameters(schema, layers)
        if thinking is None and effort is None:
            return params, stops
        if schema != "openai-chat":
            raise errors.ConfigurationError(
                "thinking= and reasoning_effort= are sent through the Messages API, which "
                f"this {type(self).__name__} does not use",
                endpoint_name=self.endpoint_name,
                hint="Use ChatJumpStart with a Messages-API model (use_messages_api=True), or "
                "put the container's own switch in model_kwargs",
            )
        if thinking is not None:
            template = dict(params.get("chat_template_kwargs") or {})
            template["enable_thinking"] = bool(thinking)
            params["chat_template_kwargs"] = template
        if effort is not None:
            params["reasoning_effort"] = effort
        return params, stops

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
        options: Mapping[str, Any] | None = None,
    ) -> StreamCall:
        """Prepare one request; ``parameters`` replaces the merged defaults when given.

        ``options`` are request members given per call (see :meth:`_take_call_options`);
        any left in ``call_kwargs`` are taken out here.
        """
        profile = self._profile
        call_kwargs = dict(call_kwargs)
        options = {**self._take_call_options(call_kwargs), **(options or {})}
        options = routing_options(self, options, stream=stream)
        stops = self._stops(stop, template=template_stops)
        body = build_body(
            schema or profile.request_schema,
            prompt=prompt,
            messages=messages,
            parameters=self._parameters(call_kwargs) if parameters is None else parameters,
            stop=stops,
            stream=stream,
            extra=extra,
            include_usage=options.get("stream_usage", self.stream_usage),
        )
        request: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "Body": body,
            "ContentType": "application/json",
        }
        custom = self._custom_attributes(options.get("custom_attributes"))
        if custom is not None:
            request["CustomAttributes"] = custom
        for field, member in REQUEST_MEMBERS.items():
            value = options.get(field, getattr(self, field))
            if value is not None:
                check_member(member, stream=stream)
                request[member] = value
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
            region_name=self.region_name,
            plan=self._plan_maker(request),
            telemetry=self.telemetry,
            observer=self._observer(prompt, messages, stream),
        )

    def _own_target(self, component: str | None, variant: str | None) -> Target:
        return Target(
            endpoint_name=self.endpoint_name,
            inference_component_name=component,
            target_variant=variant,
            region_name=self.region_name,
        )

    def _plan_maker(self, request: Mapping[str, Any]) -> Callable[[], Plan] | None:
        """The call's failover plan, or ``None`` when it has one target only.

        A stateful session lives on one instance of one endpoint: a request that
        carries a ``SessionId`` never moves elsewhere.
        """
        if not self.fallback_targets or "SessionId" in request:
            return None
        own = self._own_target(request.get("InferenceComponentName"), request.get("TargetVariant"))
        legs = make_legs(own, self.fallback_targets, request, self._connection_in, self._ready_in)
        breaker = self._breaker
        return lambda: Plan(legs, breaker)

    def _connection_in(self, region_name: str | None) -> Connection:
        """The connection for ``region_name``: the model's own, or one made for it."""
        if region_name is None or region_name == self.region_name or self.client is not None:
            return self._connection()
        return self._region_holder(region_name).get()

    def _ready_in(self, region_name: str | None) -> bool:
        if region_name is None or region_name == self.region_name or self.client is not None:
            return self._holder.ready
        return self._region_holder(region_name).ready

    def _region_holder(self, region_name: str) -> ConnectionHolder:
        holder = self._regions.get(region_name)
        if holder is None:
            # A race makes two holders and keeps one: harmless, and no lock to fork.
            holder = self._regions.setdefault(
                region_name, ConnectionHolder(lambda: self._make_connection(region_name))
            )
        return holder

    def _observer(
        self, prompt: str | None, messages: Sequence[Mapping[str, Any]] | None, stream: bool
    ) -> Observer | None:
        if not self.otel:
            return None
        from ._otel import observer

        return observer(self, prompt=prompt, messages=messages, stream=stream)

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
        keys = (*STANDARD_PARAMETERS, "inference_component_name", "target_variant", "region_name")
        for key in keys:
            value = getattr(self, key)
            if value is not None:
                params[key] = value
        return params


def _reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()
