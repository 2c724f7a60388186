"""The only module that talks to SageMaker: client set-up, calls, errors, raw reads.

boto3 signs and sends the request and raises for HTTP errors. For the streamed
body we read the raw HTTP chunks ourselves and decode the event-stream frames
with :mod:`._eventstream`, which validates the same CRCs as botocore at a
fraction of the cost per token. Async calls send and read on the event loop
instead (:mod:`._aio_transport`); what is here is shared with them.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from http.client import HTTPException, HTTPResponse, IncompleteRead
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EventStreamError,
    NoCredentialsError,
    NoRegionError,
)
from botocore.exceptions import (
    ReadTimeoutError as BotoReadTimeoutError,
)
from urllib3.exceptions import HTTPError

from . import errors
from ._bridge import aiter_in_thread
from ._chunked import ChunkedDecoder
from ._eventstream import Frame, FrameDecoder
from ._tls import HINT as TLS_HINT
from ._tls import tls_problem

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

__all__ = [
    "RawStream",
    "backoff_delay",
    "invoke",
    "invoke_stream",
    "make_client",
    "raise_read_failure",
    "translate_client_error",
    "translate_transport_error",
    "translating_send_errors",
]

_READ_SIZE = 65536

# What reading the raw HTTP body can raise when the network or the peer fails.
_TRANSPORT_ERRORS = (OSError, HTTPError, HTTPException, BotoCoreError)


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
) -> SageMakerRuntimeClient:
    """Create a ``sagemaker-runtime`` client.

    botocore's own retries are switched off: the LLM retries itself, and only
    before the first token (botocore cannot know when tokens were delivered).
    A ``config`` of the caller's is kept, with the package's settings merged over it.
    Explicit keys replace the credential chain (``credentials_profile_name`` still
    selects the region and other settings of that profile).
    """
    import boto3
    from botocore.config import Config as BotoConfig

    ours = BotoConfig(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
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
        return session.client(
            "sagemaker-runtime",
            region_name=region_name,
            endpoint_url=endpoint_url,
            config=merged,
        )
    except NoRegionError as exc:
        raise errors.ConfigurationError(
            "no AWS region is configured",
            hint="Pass region_name=..., or set AWS_REGION / AWS_DEFAULT_REGION",
        ) from exc
    except BotoCoreError as exc:  # e.g. ProfileNotFound, PartialCredentialsError
        raise errors.ConfigurationError(
            f"could not create the SageMaker Runtime client: {exc}",
            hint="Check credentials_profile_name, the aws_* credential fields (an access "
            "key id needs its secret access key) and ~/.aws/config",
        ) from exc


def backoff_delay(attempt: int, base: float, cap: float = 20.0) -> float:
    """Full-jitter exponential backoff, as AWS recommends, for retry ``attempt`` (1-based)."""
    return random.uniform(0.0, min(cap, base * (2 ** (attempt - 1))))  # noqa: S311


_THROTTLING = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
}


def translate_client_error(exc: ClientError, endpoint_name: str) -> errors.EndpointRequestError:
    """Map a botocore ``ClientError`` raised before the stream to our error tree."""
    err = exc.response.get("Error", {})
    code = str(err.get("Code") or "Unknown")
    message = str(err.get("Message") or exc)
    meta = exc.response.get("ResponseMetadata", {})
    status = int(meta.get("HTTPStatusCode") or 0)
    request_id = meta.get("RequestId")
    cls: type[errors.EndpointRequestError]
    if code in _THROTTLING or status == 429:
        cls = errors.EndpointThrottledError
    elif code == "ValidationError" and "not found" in message.lower():
        cls = errors.EndpointNotFoundError
    elif code in ("AccessDeniedException", "UnrecognizedClientException") or status == 403:
        cls = errors.EndpointAccessDeniedError
    elif code == "ModelError":
        original = exc.response.get("OriginalStatusCode") or err.get("OriginalStatusCode")
        if original:
            message = f"{message} (container status {original})"
        cls = errors.ModelInvocationError
    elif code == "ModelNotReadyException" or status >= 500:
        cls = errors.EndpointServiceError
    elif code == "ValidationError" or 400 <= status < 500:
        cls = errors.InvalidRequestError
    else:
        cls = errors.EndpointServiceError
    return cls(message, endpoint_name=endpoint_name, error_code=code, request_id=request_id)


def translate_transport_error(
    exc: BaseException, endpoint_name: str, *, streaming: bool
) -> errors.JumpStartStreamError:
    """Map a network-level failure; ``streaming`` says whether the body had started."""
    if isinstance(exc, NoCredentialsError):
        return errors.ConfigurationError(
            "no AWS credentials were found",
            endpoint_name=endpoint_name,
            hint="Configure credentials (environment, profile or role), or pass client=...",
        )
    timeout = isinstance(exc, TimeoutError | socket.timeout | BotoReadTimeoutError) or (
        "timed out" in str(exc).lower()
    )
    if not streaming:
        problem = tls_problem(exc)
        if isinstance(problem, ssl.SSLCertVerificationError):
            err = errors.EndpointConnectionError(
                f"the endpoint's TLS certificate was refused: {problem}",
                endpoint_name=endpoint_name,
                hint=TLS_HINT,
            )
            err.retryable = False  # the same certificate will be refused again
            return err
        if problem is not None:
            return errors.ConfigurationError(
                f"cannot load the CA bundle: {problem}", endpoint_name=endpoint_name, hint=TLS_HINT
            )
        kind = "timed out" if timeout or isinstance(exc, ConnectTimeoutError) else "failed"
        return errors.EndpointConnectionError(
            f"the request {kind}: {exc}", endpoint_name=endpoint_name
        )
    if timeout:
        return errors.StreamTimeoutError(
            "no data arrived within the read timeout", endpoint_name=endpoint_name
        )
    return errors.StreamInterruptedError(
        f"the connection broke before the stream ended: {exc}", endpoint_name=endpoint_name
    )


def raise_read_failure(
    exc: BaseException, endpoint_name: str, request_id: str | None, stopped: bool
) -> None:
    """Raise what a failure while reading a stream means to the caller.

    Our own stream errors are re-raised with endpoint and request id attached;
    network and HTTP failures become a StreamError. Returns (raising nothing) only
    when ``stopped`` says we closed the stream ourselves and nobody is waiting.
    """
    if isinstance(exc, errors.JumpStartStreamError):
        exc._attach(endpoint_name=endpoint_name, request_id=request_id)
        raise exc
    if stopped:
        return
    err = translate_transport_error(exc, endpoint_name, streaming=True)
    err._attach(request_id=request_id)
    raise err from exc


@contextlib.contextmanager
def translating_send_errors(endpoint_name: str) -> Iterator[None]:
    """Turn what botocore raises before a response into EndpointRequestError."""
    try:
        yield
    except ClientError as exc:
        raise translate_client_error(exc, endpoint_name) from exc
    except (BotoCoreError, OSError) as exc:
        raise translate_transport_error(exc, endpoint_name, streaming=False) from exc


def _stream_error(
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


def _frame_error(frame: Frame, endpoint_name: str) -> errors.StreamError:
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
    return _stream_error(frame.event_type, message, detail.get("ErrorCode"), endpoint_name)


class _Body:
    """Raw body bytes in, PayloadParts out: HTTP chunk framing, frames, error frames.

    Pure. After :meth:`feed`, ``error`` holds the error that ended the stream, if
    any; the payloads returned before it are good and must be delivered first.
    """

    __slots__ = ("_chunked", "_endpoint", "_frames", "error")

    def __init__(self, endpoint_name: str, *, chunked: bool) -> None:
        self._endpoint = endpoint_name
        self._chunked = ChunkedDecoder() if chunked else None
        self._frames = FrameDecoder()
        self.error: errors.StreamError | None = None

    @property
    def done(self) -> bool:
        """The HTTP body ended (only known when this decoder strips the chunk framing)."""
        return self._chunked is not None and self._chunked.done

    @property
    def overrun(self) -> bool:
        """Bytes came after the end of the HTTP body: the connection is not reusable."""
        return self._chunked is not None and self._chunked.overrun

    def feed(self, data: bytes) -> list[bytes]:
        """Decode one network read; return the PayloadParts it completed."""
        if self._chunked is not None:
            data = self._chunked.feed(data)
        payloads: list[bytes] = []
        for frame in self._frames.feed(data):
            if frame.message_type == "event":
                if frame.event_type == "PayloadPart":
                    payloads.append(frame.payload)
                # Unknown event types are skipped for forward compatibility.
            else:
                self.error = _frame_error(frame, self._endpoint)
                return payloads
        self.error = self._frames.error  # after the good frames of this read
        return payloads

    def finish(self) -> None:
        """Raise if the body ended inside a frame."""
        self._frames.finish()


class RawStream:
    """The streamed body of one ``InvokeEndpointWithResponseStream`` response.

    Iterate :meth:`payload_batches` (blocking) or :meth:`apayload_batches` (on an
    event loop) for the ``PayloadPart`` bytes; :meth:`close` (or :meth:`abort`
    from another thread) ends it and frees the connection.
    """

    def __init__(self, response: Mapping[str, Any], endpoint_name: str) -> None:
        body = response["Body"]
        # botocore keeps the urllib3 response it would decode; we decode it ourselves.
        self._raw: Any = getattr(body, "_raw_stream", None)
        self._body = body
        self._endpoint = endpoint_name
        self.request_id: str | None = response.get("ResponseMetadata", {}).get("RequestId")
        self.closed = False
        self._aborted = False  # abort() woke the reader: its error is expected

    def payload_batches(self) -> Iterator[list[bytes]]:
        """Yield the PayloadParts of each network read as soon as it arrives.

        Raises:
            StreamError: A subclass for error frames, corrupt frames, timeouts and
                broken connections.
        """
        try:
            if self._raw is None:
                for payload in self._decoded_payloads():
                    yield [payload]
                return
            sock_file = self._bulk_file()
            body = _Body(self._endpoint, chunked=sock_file is not None)
            for data in self._reads(sock_file, body):
                payloads = body.feed(data)
                if payloads:
                    yield payloads
                if body.error is not None:
                    raise body.error
            body.finish()
        except (errors.JumpStartStreamError, *_TRANSPORT_ERRORS) as exc:
            # Aborted from another thread: the caller already knows, so just end.
            raise_read_failure(exc, self._endpoint, self.request_id, self._aborted or self.closed)

    async def apayload_batches(self) -> AsyncIterator[list[bytes]]:
        """:meth:`payload_batches` for asyncio, read by a worker thread.

        Used only when the request could not be sent from the event loop itself
        (a proxy, a client certificate, a stubbed client); see :mod:`._aio_transport`.
        """
        batches = aiter_in_thread(self.payload_batches, self.abort)
        try:
            async for batch in batches:
                yield batch
        finally:
            await batches.aclose()  # stops the worker now

    def _decoded_payloads(self) -> Iterator[bytes]:
        """PayloadParts from a body botocore already decodes (no raw stream to read)."""
        try:
            for event in self._body:
                part = event.get("PayloadPart")
                if part is not None:
                    yield part["Bytes"]
        except EventStreamError as exc:
            err = exc.response.get("Error", {})
            raise _stream_error(
                str(err.get("Code") or ""),
                str(err.get("Message") or exc),
                exc.response.get("ErrorCode"),
                self._endpoint,
            ) from exc

    def _bulk_file(self) -> Any:
        """The socket file under a chunked response nobody has read, or ``None``.

        Reading it directly, many chunks at a time, skips urllib3's per-chunk calls.
        """
        response = getattr(self._raw, "_fp", None)  # the http.client response urllib3 wraps
        sock_file = getattr(response, "fp", None)
        if (
            isinstance(response, HTTPResponse)
            and response.chunked
            and response.chunk_left is None  # nobody has read from it yet
            and hasattr(sock_file, "read1")
        ):
            return sock_file
        return None

    def _reads(self, sock_file: Any, body: _Body) -> Iterator[bytes]:
        """Blocking reads of the body: raw from the socket file when possible."""
        raw = self._raw
        if sock_file is not None:
            while not body.done:
                data = sock_file.read1(_READ_SIZE)
                if not data:
                    raise IncompleteRead(b"")  # the peer closed before the last chunk
                yield data
            if not body.overrun:  # bytes after the body: close it instead (see close())
                self._reuse_connection()
            return
        if getattr(raw, "chunked", False) and raw.supports_chunked_reads():
            yield from raw.read_chunked(decode_content=False)
            return
        while True:
            data = raw.read1(_READ_SIZE, decode_content=False)
            if not data:
                return
            yield data

    def _reuse_connection(self) -> None:
        """Let http.client and urllib3 see a finished response; the pool reuses it."""
        self._raw._fp._close_conn()  # what http.client does at the end of a body
        self._raw.release_conn()

    def close(self) -> None:
        """Close the HTTP stream, so the endpoint stops generating."""
        if self.closed:
            return
        self.closed = True
        raw = self._raw
        if raw is None:
            self._body.close()
            return
        # Never hand a half-read connection back to the pool: close it.
        try:
            raw.close()
        finally:
            raw.release_conn()

    def abort(self) -> None:
        """Close from another thread, waking a read blocked in ``recv``."""
        self._aborted = True  # close() still runs afterwards and frees the socket
        raw = self._raw
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by the peer
                sock.shutdown(socket.SHUT_RDWR)


# Building and signing a request is pure CPU under the GIL. Hundreds of streams
# starting at once would all do it together and starve every other thread (an
# event loop included) for seconds; a few at a time finish sooner in total. The slot
# is released at botocore's before-send event, so waiting for the endpoint's answer
# (the time to first byte) is never serialised.
_REQUEST_SLOTS = threading.BoundedSemaphore(2)
_slot = threading.local()
_HOOK_ID = "langchain-jumpstart-stream-request-slot"


def _release_slot(**_: Any) -> None:
    if getattr(_slot, "held", False):
        _slot.held = False
        _REQUEST_SLOTS.release()


def invoke_stream(
    client: SageMakerRuntimeClient, request: Mapping[str, Any], endpoint_name: str
) -> RawStream:
    """Send ``InvokeEndpointWithResponseStream``; map failures to EndpointRequestError."""
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is not None:  # a stand-in client without botocore's events just goes ahead
        # unique_id makes registering on every call a no-op after the first.
        events.register("before-send.sagemaker-runtime", _release_slot, unique_id=_HOOK_ID)
        _REQUEST_SLOTS.acquire()
        _slot.held = True
    try:
        with translating_send_errors(endpoint_name):
            response = client.invoke_endpoint_with_response_stream(**request)
    finally:
        _release_slot()  # if botocore failed before sending
    return RawStream(response, endpoint_name)


def invoke(
    client: SageMakerRuntimeClient, request: Mapping[str, Any], endpoint_name: str
) -> tuple[bytes, str | None]:
    """Send ``InvokeEndpoint``; return the body and request id."""
    with translating_send_errors(endpoint_name):
        response = client.invoke_endpoint(**request)
        body = response["Body"].read()
    request_id = response.get("ResponseMetadata", {}).get("RequestId")
    return body, request_id
