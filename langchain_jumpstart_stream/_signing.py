"""botocore builds and signs each request; this module takes it before it is sent.

botocore does what it does well for every call: validating parameters, resolving
the endpoint, finding and refreshing credentials, signing, the user agent, and
running the client's event hooks, a user's and a stub's included. At the very
end, its ``before-send`` event offers the signed request to the hooks; ours is
registered last and, for our own calls only, takes the request and answers with
a placeholder, so botocore neither sends nor retries. The package's HTTP clients
then send it (:mod:`._sync_http`, :mod:`._async_http`).

When an earlier hook answered (botocore's ``Stubber`` answers even before that,
moto's ``mock_aws`` in ``before-send``), botocore's parsed answer is returned
instead and nothing leaves the process. Only public botocore APIs are used.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import errors
from ._aws_errors import translate_client_error, translate_send_error

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

__all__ = ["Signed", "Signer", "make_client"]

STREAM = "InvokeEndpointWithResponseStream"
WHOLE = "InvokeEndpoint"
_METHODS = {STREAM: "invoke_endpoint_with_response_stream", WHOLE: "invoke_endpoint"}
_HOOK_ID = "langchain-jumpstart-stream-take-signed-request"
# Marks our placeholder answer, so that an answer from another hook is told apart.
_MARKER = "x-langchain-jumpstart-stream-unsent"


def make_client(
    *,
    region_name: str | None,
    credentials_profile_name: str | None,
    endpoint_url: str | None,
    connect_timeout: float,
    read_timeout: float,
    max_pool_connections: int,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    aws_session_token: str | None = None,
    config: Config | None = None,
) -> tuple[SageMakerRuntimeClient, Any]:
    """Create a ``sagemaker-runtime`` client; return it with its credentials object.

    The credentials object (``None`` when none were found) lets async calls
    refresh expiring credentials in a thread, before signing on the event loop.
    A ``config`` of the caller's is kept, with the package's settings merged over
    it. Explicit keys replace the credential chain (``credentials_profile_name``
    still selects the region and other settings of that profile).

    Raises:
        ConfigurationError: No region, an unknown profile, or unusable credentials.
    """
    import boto3
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import (
        BotoCoreError,
        CredentialRetrievalError,
        NoCredentialsError,
        NoRegionError,
    )

    ours = BotoConfig(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # botocore never sends our calls (see the module doc): nothing to retry there.
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max_pool_connections,
        user_agent_extra="langchain-jumpstart-stream",
    )
    merged = ours if config is None else config.merge(ours)
    try:
        session = boto3.Session(
            profile_name=credentials_profile_name,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
        )
        client = session.client(
            "sagemaker-runtime",
            region_name=region_name,
            endpoint_url=endpoint_url,
            config=merged,
        )
        credentials = session.get_credentials()  # the object the client signs with
    except NoRegionError as exc:
        raise errors.ConfigurationError(
            "no AWS region is configured",
            hint="Pass region_name=..., or set AWS_REGION / AWS_DEFAULT_REGION",
        ) from exc
    except ValueError as exc:  # botocore refuses a malformed endpoint_url
        raise errors.ConfigurationError(
            f"could not create the SageMaker Runtime client: {exc}",
            hint="Check endpoint_url (for the emulator: http://127.0.0.1:PORT)",
        ) from exc
    except BotoCoreError as exc:  # e.g. ProfileNotFound
        if isinstance(exc, CredentialRetrievalError | NoCredentialsError):
            raise translate_send_error(exc, "", started=False) from exc
        raise errors.ConfigurationError(
            f"could not create the SageMaker Runtime client: {exc}",
            hint="Check credentials_profile_name, the aws_* credential fields (an access "
            "key id needs its secret access key) and ~/.aws/config",
        ) from exc
    return client, credentials


@dataclass(frozen=True)
class Signed:
    """A request botocore built and signed, ready to send.

    Attributes:
        method: HTTP method.
        url: Full URL.
        headers: Headers as botocore will have sent them, signature included.
        body: The request body.
    """

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class _Taken:
    """Where the hook leaves the signed request of the current call."""

    __slots__ = ("request",)

    def __init__(self) -> None:
        self.request: Any = None


class _Unsent:
    """The body of our placeholder answer: nothing was sent, so nothing to read."""

    def stream(self, **_: Any) -> Any:
        return iter(())

    def read(self, *_: Any) -> bytes:
        return b""

    def close(self) -> None:
        """Nothing was opened."""


# Set only around our own calls, so other calls on the same client (the user's
# own, in other threads or tasks) are sent by botocore as usual.
_taking: contextvars.ContextVar[_Taken | None] = contextvars.ContextVar(
    "langchain_jumpstart_stream_taking", default=None
)


def _take_signed_request(request: Any, **_: Any) -> Any:
    taken = _taking.get()
    if taken is None:
        return None
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders

    taken.request = request
    headers = HTTPHeaders()
    headers[_MARKER] = "1"
    return AWSResponse(request.url, 200, headers, _Unsent())


def _text(value: str | bytes) -> str:
    # botocore keeps some header values as bytes (it serialises them itself).
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _check_headers(headers: Mapping[str, str], endpoint_name: str) -> None:
    """Refuse a header value no HTTP client may send, naming the header, never its value."""
    for name, value in headers.items():
        if any(c in value for c in "\r\n\0"):
            hint = (
                "AWS_SESSION_TOKEN (or the model's aws_session_token) ends in a line break: "
                "strip it"
                if name.lower() == "x-amz-security-token"
                else "Remove line breaks from the value that fills this header"
            )
            raise errors.ConfigurationError(
                f"the request header {name} holds a line break or NUL character",
                endpoint_name=endpoint_name,
                hint=hint,
            )


class Signer:
    """Signs requests with one client; refreshes its credentials off the event loop.

    Args:
        client: The ``sagemaker-runtime`` client.
        credentials: The client's credentials object when the package created the
            client; ``None`` for a client given by the user, whose credentials are
            not reachable through public APIs: async calls then sign in a thread.
    """

    def __init__(self, client: Any, credentials: Any = None) -> None:
        self.client = client
        self._credentials = credentials
        self._own = credentials is not None
        events = getattr(getattr(client, "meta", None), "events", None)
        # A stand-in object without botocore's events answers every call itself.
        self._stand_in = events is None
        if events is not None:
            # On the least specific name and last, so that every other hook runs first
            # and a stub's answer wins: botocore calls handlers of more specific names
            # first, and moto's mock_aws answers from a plain "before-send" handler.
            events.register_last("before-send", _take_signed_request, _HOOK_ID)

    def sign(
        self, operation: str, params: Mapping[str, Any], endpoint_name: str
    ) -> Signed | Mapping[str, Any]:
        """Build and sign the request; or return the answer a stub gave instead.

        Raises:
            EndpointRequestError: A stub answered with an error.
            ConfigurationError: Bad parameters or unusable credentials.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        taken = _Taken()
        token = _taking.set(taken)
        try:
            response: Mapping[str, Any] = getattr(self.client, _METHODS[operation])(**params)
        except ClientError as exc:
            raise translate_client_error(exc, endpoint_name) from exc
        except BotoCoreError as exc:
            raise _setup_error(exc, endpoint_name) from exc
        finally:
            _taking.reset(token)
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        request = taken.request
        if self._stand_in or request is None or _MARKER not in headers:
            return response  # another hook answered
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        signed_headers = {_text(k): _text(v) for k, v in request.headers.items()}
        _check_headers(signed_headers, endpoint_name)
        return Signed(request.method, request.url, signed_headers, bytes(body))

    async def asign(
        self, operation: str, params: Mapping[str, Any], endpoint_name: str
    ) -> Signed | Mapping[str, Any]:
        """:meth:`sign` without blocking the event loop on credentials."""
        if self._stand_in:
            return self.sign(operation, params, endpoint_name)
        if not self._own:
            # A user's client may fetch credentials (STS, IMDS, SSO) while signing.
            return await asyncio.to_thread(self.sign, operation, params, endpoint_name)
        credentials = self._credentials
        refresh_needed = getattr(credentials, "refresh_needed", None)
        if refresh_needed is not None and refresh_needed():
            from botocore.exceptions import BotoCoreError

            try:
                await asyncio.to_thread(credentials.get_frozen_credentials)
            except BotoCoreError as exc:
                raise _setup_error(exc, endpoint_name) from exc
        return self.sign(operation, params, endpoint_name)


def _setup_error(exc: BaseException, endpoint_name: str) -> errors.JumpStartStreamError:
    from botocore.exceptions import ParamValidationError

    if isinstance(exc, ParamValidationError):
        return errors.ConfigurationError(
            f"botocore refused the request parameters: {exc}",
            endpoint_name=endpoint_name,
            hint="Check the fields that fill the request (custom_attributes, target_variant...)",
        )
    return translate_send_error(exc, endpoint_name, started=False)
