"""Cache affinity: stateful sessions and prefix-aware routing keys.

**Stateful sessions** (https://docs.aws.amazon.com/sagemaker/latest/dg/stateful-sessions.html).
``InvokeEndpoint`` with ``SessionId="NEW_SESSION"`` and a body that tells the
container to open a session answers with ``NewSessionId``
(``X-Amzn-SageMaker-New-Session-Id: <id>; Expires=<UTC time>``, the pattern in
botocore's service model); SageMaker then routes every request carrying that
``SessionId`` to the instance that opened it. The streaming operation cannot open
one (its ``SessionId`` pattern excludes ``NEW_SESSION``). ``InvokeEndpoint`` with
the id and a close body ends it (``ClosedSessionId``). The open and close bodies
belong to the container; the defaults are those of AWS's reference container
(``aws/model-hosting-container-standards``): ``{"requestType": "NEW_SESSION"}``
and ``{"requestType": "CLOSE"}``.

:class:`StatefulSession` does this for one model, sync (``with``) or async
(``async with``), and hands out :attr:`StatefulSession.model`: a copy of the model
with ``session_id`` set, so concurrent sessions on one model never mix.

**Prefix-aware routing.** ``PrefixAwareId`` (1 to 64 printable ASCII characters, the
first not a space) sends requests with the same id and prefix to the same instance,
whose KV cache holds the prefix. :func:`routing_options` takes it per call, from
the field, or from the run config's ``thread_id`` (LangGraph's conversation key)
when ``prefix_aware_id_from="thread_id"``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, Union

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config
from typing_extensions import Self

from . import errors
from ._attempt import Policy
from ._aws_errors import translate_send_error
from ._connection import Answered, async_transport_errors, sync_transport_errors
from ._signing import WHOLE

if TYPE_CHECKING:
    from ._endpoint import EndpointSettings

__all__ = [
    "CLOSE_BODY",
    "OPEN_BODY",
    "PrefixAwareIdSource",
    "RunConfigAffinity",
    "StatefulSession",
    "parse_new_session_id",
    "prefix_aware_id_for",
    "routing_options",
]

_log = logging.getLogger(__name__)

#: Bodies AWS's reference stateful container understands.
OPEN_BODY: Mapping[str, Any] = {"requestType": "NEW_SESSION"}
CLOSE_BODY: Mapping[str, Any] = {"requestType": "CLOSE"}

NEW_SESSION = "NEW_SESSION"

#: Where :func:`prefix_aware_id_for` finds a conversation's routing key.
PrefixAwareIdSource = Union[Literal["thread_id"], Callable[[RunnableConfig], Any]]  # noqa: UP007 - pydantic on 3.10

# NewSessionResponseHeader's pattern in botocore's sagemaker-runtime model.
_NEW_SESSION_ID = re.compile(
    r"([a-zA-Z0-9](?:-*[a-zA-Z0-9])*);\sExpires=(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)"
)
# PrefixAwareIdHeader: min 1, max 64, pattern \A\S[\p{Print}]*\z (printable ASCII).
_PREFIX_AWARE_ID = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,63}")
# Response members carried in headers, for answers that botocore already parsed (stubs).
_HEADER_OF = {
    "NewSessionId": "x-amzn-sagemaker-new-session-id",
    "ClosedSessionId": "x-amzn-sagemaker-closed-session-id",
}
# The most of an error document read from a session answer (the message is at its start).
_MAX_ANSWER = 1 << 20


def parse_new_session_id(value: str) -> tuple[str, datetime]:
    """Split a ``NewSessionId`` value into the session id and its UTC expiry.

    Raises:
        ValueError: The value is not ``<id>; Expires=<YYYY-MM-DDTHH:MM:SSZ>``.
    """
    match = _NEW_SESSION_ID.fullmatch(value.strip())
    if match is None:
        raise ValueError("not '<id>; Expires=<YYYY-MM-DDTHH:MM:SSZ>'")
    expires = datetime.strptime(match.group(2), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return match.group(1), expires


def prefix_aware_id_for(source: PrefixAwareIdSource, config: RunnableConfig) -> str | None:
    """The routing key of the conversation a run config belongs to, if it has one.

    ``"thread_id"`` reads ``config["configurable"]["thread_id"]`` (LangGraph's
    conversation key), else ``config["metadata"]["thread_id"]``; a callable gets the
    config. A key that is no valid ``PrefixAwareId`` (longer than 64 characters, or
    not printable ASCII) is replaced by its SHA-256 in hex: stable, so one
    conversation keeps one key.
    """
    if source == "thread_id":
        value = (config.get("configurable") or {}).get("thread_id")
        if value is None:
            value = (config.get("metadata") or {}).get("thread_id")
    elif callable(source):
        value = source(config)
    else:
        raise errors.ConfigurationError(
            f"prefix_aware_id_from={source!r} is not a known source",
            hint="Pass prefix_aware_id_from='thread_id' or a function of the run config",
        )
    if value is None or value == "":
        return None
    text = str(value)
    if _PREFIX_AWARE_ID.fullmatch(text):
        return text
    return hashlib.sha256(text.encode()).hexdigest()  # 64 characters: the limit


def routing_options(
    model: EndpointSettings, options: Mapping[str, Any], *, stream: bool
) -> dict[str, Any]:
    """The request members of one call, with its ``PrefixAwareId`` resolved and checked.

    Per call beats the conversation's key (``prefix_aware_id_from``), which beats
    the ``prefix_aware_id`` field.

    Raises:
        ConfigurationError: ``SessionId="NEW_SESSION"`` on a streaming call, or a
            ``PrefixAwareId`` SageMaker would refuse.
    """
    resolved = dict(options)
    if stream and resolved.get("session_id", model.session_id) == NEW_SESSION:
        raise errors.ConfigurationError(
            "SessionId='NEW_SESSION' cannot open a session on a streaming call: only "
            "InvokeEndpoint opens one",
            endpoint_name=model.endpoint_name,
            hint="Open it with `with model.session() as s:` and stream with `s.model`",
        )
    source = model.prefix_aware_id_from
    if "prefix_aware_id" not in resolved and source is not None:
        derived = prefix_aware_id_for(source, ensure_config())
        if derived is not None:
            resolved["prefix_aware_id"] = derived
    value = resolved.get("prefix_aware_id", model.prefix_aware_id)
    if value is not None and not (isinstance(value, str) and _PREFIX_AWARE_ID.fullmatch(value)):
        raise errors.ConfigurationError(
            "prefix_aware_id must be 1 to 64 printable ASCII characters, the first not a "
            "space (SageMaker's PrefixAwareId constraint)",
            endpoint_name=model.endpoint_name,
            hint="Use a short stable id per conversation or application, e.g. a UUID, "
            "or prefix_aware_id_from='thread_id', which hashes ids that do not fit",
        )
    return resolved


class RunConfigAffinity:
    """Lets ``model.invoke(..., config={"configurable": {"thread_id": ...}})`` route.

    langchain-core hands a model's ``_stream``/``_generate`` neither the run config
    nor its ``configurable`` part; only a runnable that encloses the model (a
    LangGraph node, a chain) publishes it, through ``ensure_config()``. These entry
    points read the config the caller gave and pass its conversation key on as the
    per-call ``prefix_aware_id``, so a direct call behaves like one inside a graph.
    """

    prefix_aware_id_from: PrefixAwareIdSource | None

    def _affinity(self, config: RunnableConfig | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        source = self.prefix_aware_id_from
        if source is None or "prefix_aware_id" in kwargs or config is None:
            return kwargs
        derived = prefix_aware_id_for(source, ensure_config(config))
        return kwargs if derived is None else {**kwargs, "prefix_aware_id": derived}

    # Hidden from type checkers: callers keep langchain-core's exact signatures and
    # return types (AIMessage, str...), which these forward unchanged.
    if not TYPE_CHECKING:

        def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
            """Run the model; see :class:`RunConfigAffinity`."""
            return super().invoke(input, config, **self._affinity(config, kwargs))

        async def ainvoke(
            self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
        ) -> Any:
            """Run the model on the event loop; see :class:`RunConfigAffinity`."""
            return await super().ainvoke(input, config, **self._affinity(config, kwargs))

    # ``stream``/``astream`` are the model classes' own (linear-time, ``_accumulate``);
    # they call :meth:`_affinity` themselves.


ModelT = TypeVar("ModelT", bound="EndpointSettings")


class StatefulSession(Generic[ModelT]):
    """One stateful session on a model's endpoint; open it with ``with`` or ``async with``.

    Inside the block, :attr:`model` is a copy of the model whose calls carry the
    session's ``SessionId``, so SageMaker sends them to the instance holding it.
    Leaving the block closes the session, after an error too. A close that fails
    after an error in the block is logged, never raised over that error; a close
    that finds the session already gone (expired, closed) is logged at debug level.

    Args:
        model: The model (``JumpStartLLM`` or ``ChatJumpStart``) whose endpoint,
            client, inference component, variant and retry settings are used.
        open_body: JSON body (or raw bytes) that tells the container to open a session.
        close_body: JSON body (or raw bytes) that tells it to close one.

    Attributes:
        id: The session id, once open.
        expires: When the container said the session expires (UTC), once open.
        closed: Whether the session was closed (or found gone) by :meth:`close`.
        closed_session_id: The ``ClosedSessionId`` the endpoint confirmed, if any.
    """

    def __init__(
        self,
        model: ModelT,
        *,
        open_body: Mapping[str, Any] | bytes = OPEN_BODY,
        close_body: Mapping[str, Any] | bytes = CLOSE_BODY,
    ) -> None:
        self._source = model
        self._open_body = open_body
        self._close_body = close_body
        self.id: str | None = None
        self.expires: datetime | None = None
        self.closed = False
        self.closed_session_id: str | None = None
        self._bound: ModelT | None = None

    @property
    def model(self) -> ModelT:
        """The model bound to this session (calls carry its ``SessionId``).

        Raises:
            ConfigurationError: The session is not open yet.
        """
        if self._bound is None:
            raise errors.ConfigurationError(
                "the stateful session is not open",
                endpoint_name=self._source.endpoint_name,
                hint="Use it as `with model.session() as s:` (or `async with`), or call "
                "open()/aopen() first",
            )
        return self._bound

    # -- sync ---------------------------------------------------------------------

    def open(self) -> Self:
        """Open the session with ``InvokeEndpoint`` (``SessionId="NEW_SESSION"``).

        Raises:
            EndpointRequestError: The endpoint refused the request.
            ConfigurationError: It answered without a valid ``NewSessionId``: the
                container has no stateful sessions, or expects another open body.
        """
        headers = self._exchange(self._request(NEW_SESSION, self._open_body))
        return self._opened(headers)

    def close(self) -> None:
        """Close the session; nothing to do when it is not open or already closed.

        Raises:
            EndpointRequestError: The endpoint refused the close request for another
                reason than the session being gone.
        """
        if self.id is None or self.closed:
            return
        try:
            headers = self._exchange(self._request(self.id, self._close_body))
        except errors.SessionExpiredError as exc:
            self._gone(exc)
            return
        self._closed(headers)

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except Exception as close_error:
            self._close_failed(close_error)

    # -- async --------------------------------------------------------------------

    async def aopen(self) -> Self:
        """:meth:`open` on the event loop."""
        headers = await self._aexchange(self._request(NEW_SESSION, self._open_body))
        return self._opened(headers)

    async def aclose(self) -> None:
        """:meth:`close` on the event loop."""
        if self.id is None or self.closed:
            return
        try:
            headers = await self._aexchange(self._request(self.id, self._close_body))
        except errors.SessionExpiredError as exc:
            self._gone(exc)
            return
        self._closed(headers)

    async def __aenter__(self) -> Self:
        return await self.aopen()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            await self.aclose()
            return
        try:
            # A cancelled block still closes: the close is shielded from the cancel.
            await asyncio.shield(self.aclose())
        except Exception as close_error:
            self._close_failed(close_error)

    # -- shared, no I/O -----------------------------------------------------------

    def _request(self, session_id: str, body: Mapping[str, Any] | bytes) -> dict[str, Any]:
        model = self._source
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request: dict[str, Any] = {
            "EndpointName": model.endpoint_name,
            "Body": data,
            "ContentType": "application/json",
            "Accept": "application/json",
            "SessionId": session_id,
        }
        # The session must be opened where the calls will go.
        for field, member in (
            ("inference_component_name", "InferenceComponentName"),
            ("target_variant", "TargetVariant"),
            ("target_container_hostname", "TargetContainerHostname"),
        ):
            value = getattr(model, field)
            if value is not None:
                request[member] = value
        custom = model._custom_attributes()
        if custom is not None:
            request["CustomAttributes"] = custom
        return request

    def _opened(self, headers: Mapping[str, str]) -> Self:
        model = self._source
        value = headers.get("x-amzn-sagemaker-new-session-id")
        try:
            if value is None:
                raise ValueError("no X-Amzn-SageMaker-New-Session-Id header")  # noqa: TRY301
            self.id, self.expires = parse_new_session_id(value)
        except ValueError as exc:
            raise errors.ConfigurationError(
                f"the endpoint did not open a stateful session: its answer to "
                f"SessionId='NEW_SESSION' has {exc}",
                endpoint_name=model.endpoint_name,
                error_code="NewSessionId",
                hint="Deploy a container with stateful sessions on (for AWS's reference "
                "containers SAGEMAKER_ENABLE_STATEFUL_SESSIONS=true) and pass the open body "
                "it expects: model.session(open_body=...)",
            ) from exc
        self.closed = False
        self._bound = model.model_copy(update={"session_id": self.id})
        _log.debug("stateful session opened on %s, expires %s", model.endpoint_name, self.expires)
        return self

    def _closed(self, headers: Mapping[str, str]) -> None:
        self.closed = True
        self.closed_session_id = headers.get("x-amzn-sagemaker-closed-session-id")

    def _gone(self, exc: errors.SessionExpiredError) -> None:
        # Closing is about freeing the container's memory; a session that is already
        # gone has freed it. Raising here would turn a finished conversation into an error.
        self.closed = True
        _log.debug("stateful session already gone when closing: %s", exc)

    def _close_failed(self, exc: Exception) -> None:
        _log.warning(
            "could not close stateful session on %s (it ends at its expiry, %s): %s",
            self._source.endpoint_name,
            self.expires,
            exc,
        )

    def _policy(self) -> Policy:
        model = self._source
        return Policy(model.max_retries, model.retry_base_delay, model.timeout, model.endpoint_name)

    def _give_up_or_wait(self, policy: Policy, exc: BaseException) -> float:
        """The delay before another try, or raise the failure in the error tree."""
        endpoint = self._source.endpoint_name
        if isinstance(exc, errors.JumpStartStreamError):
            err = exc
        else:
            err = translate_send_error(exc, endpoint, started=False)
        # A retried open may leave an orphan session behind: it ends at its expiry.
        delay = policy.retry_delay(err, False)
        if delay is None:
            policy.gave_up(err)
            if err is exc:
                raise err
            raise err from exc
        return delay

    def _exchange(self, request: Mapping[str, Any]) -> dict[str, str]:
        """Send one session request; its answer's headers (names in lower case)."""
        model = self._source
        policy = self._policy()
        catch: tuple[type[BaseException], ...] = (
            errors.JumpStartStreamError,
            *sync_transport_errors(),
        )
        connection = model._connection()
        while True:
            answer = None
            try:
                policy.begin()
                answer = connection.open(WHOLE, request, model.endpoint_name, policy)
                if isinstance(answer, Answered):
                    return _stub_headers(answer)
                answer.read_all(_MAX_ANSWER)  # the body says nothing we need; reuse the socket
                return dict(answer.headers)
            except catch as exc:
                time.sleep(self._give_up_or_wait(policy, exc))
            finally:
                if answer is not None:
                    answer.close()

    async def _aexchange(self, request: Mapping[str, Any]) -> dict[str, str]:
        """:meth:`_exchange` on the event loop."""
        model = self._source
        policy = self._policy()
        catch: tuple[type[BaseException], ...] = (
            errors.JumpStartStreamError,
            *async_transport_errors(),
        )
        if model._holder.ready:
            connection = model._connection()
        else:
            connection = await asyncio.to_thread(model._connection)  # may read files
        while True:
            answer = None
            try:
                policy.begin()
                answer = await connection.aopen(WHOLE, request, model.endpoint_name, policy)
                if isinstance(answer, Answered):
                    return _stub_headers(answer)
                await answer.read_all(_MAX_ANSWER)
                return dict(answer.headers)
            except catch as exc:
                await asyncio.sleep(self._give_up_or_wait(policy, exc))
            finally:
                if answer is not None:
                    answer.close()


def _stub_headers(answer: Answered) -> dict[str, str]:
    """A stub's parsed members (moto, ``Stubber``) under their header names."""
    return {header: answer.members[m] for m, header in _HEADER_OF.items() if m in answer.members}
