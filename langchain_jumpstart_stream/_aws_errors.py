"""What every failure of a call means, in the package's error tree.

Everything the two sending paths can meet lands here, so a failure reads the same
sync and async: SageMaker's error documents (parsed by botocore's own parser),
exception frames inside the event stream, credential, TLS, DNS and network
failures from botocore, urllib3 and aiohttp. Messages never quote a header value,
a credential or a proxy password: only names, codes and what to do.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
from collections.abc import Mapping
from typing import Any

from . import errors
from ._eventstream import Frame
from ._inband_errors import is_context_overflow
from ._tls import HINT as TLS_HINT
from ._tls import tls_problem

__all__ = [
    "error_from_document",
    "frame_error",
    "stream_error",
    "translate_client_error",
    "translate_send_error",
]

_THROTTLING = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
}

_CREDENTIALS_HINT = (
    "Check the AWS credentials in use (environment, profile, role or the model's "
    "aws_* fields); a value copied with a trailing newline or space is a common cause"
)

# A stateful container refusing a session id: AWS's reference container (model-hosting-
# container-standards) says "session not found: <id>"; other containers word it alike.
# SageMaker does not document how its router words an unknown id, so a
# ValidationError saying so is read the same way.
_SESSION_GONE = re.compile(
    r"\bsession\b[^.;\n]{0,80}?(?:not found|expired|closed|invalid|unknown|does not exist)|"
    r"\b(?:invalid|unknown|expired|closed) (?:stateful )?session\b",
    re.IGNORECASE,
)

# user:password@ in a URL (a proxy's, say) is never shown.
_USERINFO = re.compile(r"(?<=//)[^/@\s]+@")


def _scrub(text: str) -> str:
    return _USERINFO.sub("***@", text)


def translate_client_error(exc: Any, endpoint_name: str) -> errors.EndpointRequestError:
    """Map a botocore ``ClientError`` (an error answer) to the error tree."""
    response: Mapping[str, Any] = getattr(exc, "response", {}) or {}
    err = response.get("Error", {})
    code = str(err.get("Code") or "Unknown")
    message = str(err.get("Message") or exc)
    meta = response.get("ResponseMetadata", {})
    status = int(meta.get("HTTPStatusCode") or 0)
    request_id = meta.get("RequestId")
    cls: type[errors.EndpointRequestError]
    if code in _THROTTLING or status == 429:
        cls = errors.EndpointThrottledError
    elif code == "ValidationError" and _SESSION_GONE.search(message):
        cls = errors.SessionExpiredError
        message = f"the stateful session expired, was closed or never existed: {message}"
    elif code == "ValidationError" and "not found" in message.lower():
        cls = errors.EndpointNotFoundError
    elif code in ("AccessDeniedException", "UnrecognizedClientException") or status == 403:
        cls = errors.EndpointAccessDeniedError
    elif code == "ModelError":
        original = response.get("OriginalStatusCode") or err.get("OriginalStatusCode")
        cls = errors.ModelInvocationError
        if is_context_overflow(message):  # the container's words, in any of its shapes
            cls = errors.PromptTooLongRequestError
        elif _SESSION_GONE.search(message):
            cls = errors.SessionExpiredError
            message = f"the stateful session expired, was closed or never existed: {message}"
        if original:
            message = f"{message} (container status {original})"
    elif code == "ModelNotReadyException" or status >= 500:
        cls = errors.EndpointServiceError
    elif code == "ValidationError" or 400 <= status < 500:
        cls = errors.InvalidRequestError
    else:
        cls = errors.EndpointServiceError
    return cls(message, endpoint_name=endpoint_name, error_code=code, request_id=request_id)


def error_from_document(
    client: Any,
    operation_name: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    endpoint_name: str,
) -> errors.EndpointRequestError:
    """Parse an error answer exactly as botocore would, then map it.

    Args:
        client: The botocore client whose service model describes the answer.
        operation_name: ``InvokeEndpoint`` or ``InvokeEndpointWithResponseStream``.
        status: HTTP status code.
        headers: Response headers (names lower-cased).
        body: The error document.
        endpoint_name: For the message.
    """
    from botocore.exceptions import ClientError
    from botocore.parsers import create_parser

    service = client.meta.service_model
    operation = service.operation_model(operation_name)
    parser = create_parser(service.protocol)
    response = {
        "status_code": status,
        "headers": {k.lower(): v for k, v in headers.items()},
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


def _credential_problem(exc: BaseException) -> bool:
    from botocore.exceptions import (
        CredentialRetrievalError,
        NoAuthTokenError,
        NoCredentialsError,
        PartialCredentialsError,
        TokenRetrievalError,
        UnauthorizedSSOTokenError,
    )

    return isinstance(
        exc,
        CredentialRetrievalError
        | NoCredentialsError
        | PartialCredentialsError
        | TokenRetrievalError
        | NoAuthTokenError
        | UnauthorizedSSOTokenError,
    )


def _is_timeout(exc: BaseException) -> bool:
    from botocore.exceptions import ConnectTimeoutError
    from botocore.exceptions import ReadTimeoutError as BotoReadTimeout
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    # aiohttp's timeouts are asyncio.TimeoutError (TimeoutError itself from 3.11 on).
    timeouts = (TimeoutError, asyncio.TimeoutError, socket.timeout, Urllib3Timeout)
    return isinstance(exc, (*timeouts, BotoReadTimeout, ConnectTimeoutError))


def translate_send_error(
    exc: BaseException, endpoint_name: str, *, started: bool
) -> errors.JumpStartStreamError:
    """Map a failure that is not an error answer: credentials, TLS, DNS, the network.

    Args:
        exc: What botocore, urllib3, aiohttp or the socket layer raised.
        endpoint_name: For the message.
        started: Whether the answer's body had begun (the failure then ends a stream).
    """
    if isinstance(exc, errors.JumpStartStreamError):
        return exc
    if _credential_problem(exc):
        # botocore's credential messages name providers and files, never secrets.
        what = type(exc).__name__
        return errors.ConfigurationError(
            f"AWS credentials could not be used ({what}): {_scrub(str(exc))}",
            endpoint_name=endpoint_name,
            hint=_CREDENTIALS_HINT,
        )
    problem = tls_problem(exc)
    if isinstance(problem, ssl.SSLCertVerificationError):
        reason = getattr(problem, "verify_message", None) or problem
        err = errors.EndpointConnectionError(
            f"the endpoint's TLS certificate was refused: {reason}",
            endpoint_name=endpoint_name,
            hint=TLS_HINT,
        )
        err.retryable = False  # the same certificate will be refused again
        return err
    if problem is not None:
        return errors.ConfigurationError(
            f"cannot load the CA bundle: {problem}", endpoint_name=endpoint_name, hint=TLS_HINT
        )
    if isinstance(exc, ValueError | TypeError):  # our own errors returned above
        # A library refusing what it was given; its text may quote a header value.
        return errors.ConfigurationError(
            f"the request could not be sent ({type(exc).__name__})",
            endpoint_name=endpoint_name,
            hint="Check endpoint_url, custom_attributes and the credentials for stray characters",
        )
    detail = _scrub(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if started:
        if _is_timeout(exc):
            return errors.StreamTimeoutError(
                "no data arrived within the read timeout", endpoint_name=endpoint_name
            )
        return errors.StreamInterruptedError(
            f"the connection broke before the stream ended: {detail}",
            endpoint_name=endpoint_name,
        )
    kind = "timed out" if _is_timeout(exc) else "failed"
    return errors.EndpointConnectionError(
        f"the request {kind}: {detail}", endpoint_name=endpoint_name
    )


def stream_error(
    event_type: str, message: str, container_code: Any, endpoint_name: str
) -> errors.StreamError:
    """The StreamError for an exception event of type ``event_type``."""
    if container_code:  # the container's own code, inside the AWS one
        message = f"{message} (container error code {container_code})"
    cls: type[errors.StreamError] = errors.StreamError
    if event_type == "ModelStreamError":
        cls = errors.ModelStreamError
    elif event_type == "InternalStreamFailure":
        cls = errors.InternalStreamFailure
    return cls(message, endpoint_name=endpoint_name, error_code=event_type or "Unknown")


def frame_error(frame: Frame, endpoint_name: str) -> errors.StreamError:
    """Turn an ``exception``/``error`` frame into the matching StreamError."""
    detail: dict[str, Any] = {}
    try:
        parsed = json.loads(frame.payload) if frame.payload else {}
        if isinstance(parsed, dict):
            detail = parsed
    except (ValueError, RecursionError):
        detail = {"Message": frame.payload.decode("utf-8", "replace")}
    message = str(
        detail.get("Message")
        or detail.get("message")
        or frame.headers.get(":error-message")
        or frame.event_type
    )
    return stream_error(frame.event_type, message, detail.get("ErrorCode"), endpoint_name)
