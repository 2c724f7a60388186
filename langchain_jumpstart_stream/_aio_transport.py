"""The async side of :mod:`._transport`: sign with botocore, send and read on the loop.

botocore builds and signs the request as for any call, on the event loop; a
``before-send`` hook then hands back the signed request instead of letting
urllib3 send it, and :mod:`._http` sends it on an asyncio transport. The response
body is decoded by the same code as the sync path. No thread is involved, so no
thread competes with the event loop for the GIL.

Clients this cannot serve (a proxy, a client certificate, a custom HTTP session,
a stub such as moto that answers in ``before-send``) are served by botocore in a
worker thread instead, exactly as the sync path does.
"""

from __future__ import annotations

import contextlib
import contextvars
import ssl
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from functools import partial
from http.client import HTTPException
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError

from . import _http, errors
from ._bridge import run_in_thread
from ._tls import ssl_context
from ._transport import (
    RawStream,
    _Body,
    invoke,
    invoke_stream,
    raise_read_failure,
    translate_client_error,
    translate_transport_error,
    translating_send_errors,
)
from ._turns import turns

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

__all__ = ["LoopStream", "ainvoke", "ainvoke_stream"]

_STREAM = "InvokeEndpointWithResponseStream"
_WHOLE = "InvokeEndpoint"
_METHODS = {_STREAM: "invoke_endpoint_with_response_stream", _WHOLE: "invoke_endpoint"}
# SageMaker's payload limit is 6 MB; a body far bigger than that is not an answer.
_MAX_WHOLE_ANSWER = 64 << 20
_HOOK_ID = "langchain-jumpstart-stream-defer-send"
# Network and HTTP failures of our own client; anything else is a bug and propagates.
_SEND_ERRORS = (OSError, HTTPException, TimeoutError)

# Set only around our own botocore call, so other calls on the same client (in
# other tasks or threads) are sent by botocore as usual.
_deferring: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "jumpstart_stream_deferring", default=False
)


class _Deferred:
    """What botocore takes for the HTTP body: it carries the signed request out."""

    def __init__(self, request: Any) -> None:
        self.request = request

    def close(self) -> None:
        """Nothing was opened."""


def _defer_send(request: Any, **_: Any) -> AWSResponse | None:
    if not _deferring.get():
        return None
    return AWSResponse(request.url, 200, HTTPHeaders(), _Deferred(request))


@dataclass(frozen=True)
class _Route:
    """How to send a client's requests ourselves (its TLS, timeouts and pool size)."""

    ssl_context: ssl.SSLContext | None
    connect_timeout: float | None
    read_timeout: float | None
    max_idle: int
    socket_options: tuple[tuple[int, int, int], ...]


_routes: weakref.WeakKeyDictionary[Any, _Route | None] = weakref.WeakKeyDictionary()


def _route(client: Any, endpoint_name: str) -> _Route | None:
    """How to send for ``client``, or ``None`` when botocore must send (see module doc)."""
    try:
        return _routes[client]
    except (KeyError, TypeError):
        pass
    try:
        route = _new_route(client)
    except errors.ConfigurationError as exc:
        exc._attach(endpoint_name=endpoint_name)
        raise
    with contextlib.suppress(TypeError):  # not weakly referenceable: decide again next time
        _routes[client] = route
    return route


def _new_route(client: Any) -> _Route | None:
    from botocore.httpsession import URLLib3Session

    route = None
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    meta: Any = getattr(client, "meta", None)
    url = str(getattr(meta, "endpoint_url", "") or "")
    proxies = getattr(session, "_proxy_config", None)
    if (
        isinstance(session, URLLib3Session)
        and getattr(meta, "events", None) is not None
        and url.startswith(("http://", "https://"))
        and not getattr(session, "_cert_file", None)
        and proxies is not None
        and not proxies.proxy_url_for(url)
    ):
        config = meta.config
        route = _Route(
            ssl_context=ssl_context(getattr(session, "_verify", True))
            if url.startswith("https://")
            else None,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            max_idle=int(getattr(session, "_max_pool_connections", 10) or 10),
            socket_options=tuple(getattr(session, "_socket_options", None) or ()),
        )
        for operation in _METHODS:
            # Last, so that any other hook's answer (a stub's) comes first and wins.
            meta.events.register_last(
                f"before-send.sagemaker-runtime.{operation}",
                _defer_send,
                unique_id=f"{_HOOK_ID}-{operation}",
            )
    return route


async def _refresh_credentials(client: Any) -> None:
    """Refresh expiring credentials in a thread: it may call STS or IMDS, and block."""
    credentials: Any = getattr(getattr(client, "_request_signer", None), "_credentials", None)
    refresh_needed = getattr(credentials, "refresh_needed", None)
    if callable(refresh_needed) and refresh_needed():
        await run_in_thread(credentials.get_frozen_credentials)


async def ainvoke_stream(
    client: SageMakerRuntimeClient, request: Mapping[str, Any], endpoint_name: str
) -> LoopStream | RawStream:
    """Send ``InvokeEndpointWithResponseStream`` from the event loop.

    Raises:
        EndpointRequestError: As :func:`._transport.invoke_stream`.
    """
    route = _route(client, endpoint_name)
    if route is None:
        send = partial(invoke_stream, client, request, endpoint_name)
        return await run_in_thread(send, orphan=RawStream.close)
    sent = await _exchange(client, route, _STREAM, request, endpoint_name)
    if not isinstance(sent, tuple):
        return RawStream(sent, endpoint_name)
    answer, request_id = sent
    return LoopStream(answer, endpoint_name, request_id)


async def ainvoke(
    client: SageMakerRuntimeClient, request: Mapping[str, Any], endpoint_name: str
) -> tuple[bytes, str | None]:
    """Send ``InvokeEndpoint`` from the event loop; return the body and request id.

    Raises:
        EndpointRequestError: As :func:`._transport.invoke`.
    """
    route = _route(client, endpoint_name)
    if route is None:
        return await run_in_thread(partial(invoke, client, request, endpoint_name))
    sent = await _exchange(client, route, _WHOLE, request, endpoint_name)
    if not isinstance(sent, tuple):  # a stub answered; its body may still be on a socket
        with translating_send_errors(endpoint_name):
            body = await run_in_thread(sent["Body"].read)
        return body, sent.get("ResponseMetadata", {}).get("RequestId")
    answer, request_id = sent
    try:
        return await answer.read_all(_MAX_WHOLE_ANSWER), request_id
    except _SEND_ERRORS as exc:
        raise translate_transport_error(exc, endpoint_name, streaming=False) from exc


async def _exchange(
    client: Any,
    route: _Route,
    operation: str,
    request: Mapping[str, Any],
    endpoint_name: str,
) -> tuple[_http.HTTPResponse, str | None] | Mapping[str, Any]:
    """Sign with botocore, send with :mod:`._http`; return the answer once its head came.

    Returns botocore's parsed response instead when another ``before-send`` hook
    (a stub such as moto) answered the call.
    """
    await _refresh_credentials(client)
    call = getattr(client, _METHODS[operation])
    # Signing costs about a millisecond of CPU: a burst of calls takes turns.
    async with turns().turn():
        token = _deferring.set(True)
        try:
            with translating_send_errors(endpoint_name):
                response: Mapping[str, Any] = call(**request)
        finally:
            _deferring.reset(token)
    deferred = getattr(response["Body"], "_raw_stream", None)
    if not isinstance(deferred, _Deferred):
        return response
    prepared = deferred.request
    body = prepared.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        answer = await _http.request(
            prepared.method,
            prepared.url,
            list(prepared.headers.items()),
            body,
            ssl_context=route.ssl_context,
            connect_timeout=route.connect_timeout,
            read_timeout=route.read_timeout,
            max_idle=route.max_idle,
            socket_options=route.socket_options,
        )
        request_id = answer.headers.get("x-amzn-requestid")
        if answer.status >= 300:
            document = await answer.read_all()
            raise _client_error(client, operation, answer, document, endpoint_name)
    except _SEND_ERRORS as exc:
        raise translate_transport_error(exc, endpoint_name, streaming=False) from exc
    return answer, request_id


def _client_error(
    client: Any,
    operation_name: str,
    answer: _http.HTTPResponse,
    body: bytes,
    endpoint_name: str,
) -> errors.EndpointRequestError:
    """Parse an error response as botocore would, then map it like the sync path."""
    from botocore.parsers import create_parser

    service = client.meta.service_model
    operation = service.operation_model(operation_name)
    parser = create_parser(service.protocol)
    response = {
        "status_code": answer.status,
        "headers": answer.headers,  # lower-cased names, as botocore looks them up
        "body": body,
        "context": {"operation_name": operation_name},
    }
    parsed = parser.parse(response, operation.output_shape)
    code = parsed.get("Error", {}).get("Code")
    shape = service.shape_for_error_code(code) if code else None
    if shape is not None:  # modeled fields, e.g. ModelError's OriginalStatusCode
        parsed.update(parser.parse(response, shape))
    exc_class = client.exceptions.from_code(code) if code else ClientError
    exc = exc_class(parsed, operation_name)
    err = translate_client_error(exc, endpoint_name)
    err.__cause__ = exc
    return err


class LoopStream:
    """A streamed body read on the event loop; the async twin of :class:`RawStream`."""

    def __init__(
        self, answer: _http.HTTPResponse, endpoint_name: str, request_id: str | None
    ) -> None:
        self._answer = answer
        self._endpoint = endpoint_name
        self.request_id = request_id
        self.closed = False

    async def apayload_batches(self) -> AsyncIterator[list[bytes]]:
        """Yield the PayloadParts of each read as soon as it arrives.

        Raises:
            StreamError: As :meth:`RawStream.payload_batches`.
        """
        body = _Body(self._endpoint, chunked=False)  # _http removed the HTTP framing
        try:
            while data := await self._answer.read():
                payloads = body.feed(data)
                if payloads:
                    yield payloads
                if body.error is not None:
                    raise body.error
            body.finish()
        except (errors.JumpStartStreamError, *_SEND_ERRORS) as exc:
            raise_read_failure(exc, self._endpoint, self.request_id, self.closed)

    def close(self) -> None:
        """Stop reading; an unfinished body's connection is closed, not reused."""
        self.closed = True
        self._answer.close()
