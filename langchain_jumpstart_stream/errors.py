"""Every error this package raises, in one tree.

::

    JumpStartStreamError                 base of everything below
    ├── EndpointRequestError             failed before any token arrived
    │   ├── EndpointNotFoundError        no such endpoint          (ModelNotFoundError)
    │   ├── InvalidRequestError          ValidationError           (ModelInvalidRequestError)
    │   ├── EndpointAccessDeniedError    AccessDenied, signature   (ModelPermissionDeniedError)
    │   ├── ModelInvocationError         ModelError from container (ModelInvalidRequestError)
    │   │   ├── PromptTooLongRequestError  prompt past the context  (+ ContextOverflowError)
    │   │   └── SessionExpiredError      stateful session unknown, closed or expired
    │   ├── EndpointThrottledError       throttling, 429           (ModelRateLimitError)
    │   ├── EndpointServiceError         5xx                       (ModelAPIError)
    │   └── EndpointConnectionError      unreachable, timed out    (ModelConnectionError)
    ├── StreamError                      broke after it started
    │   ├── ModelStreamError             ModelStreamError event    (ModelAPIError)
    │   ├── InternalStreamFailure        InternalStreamFailure     (ModelAPIError)
    │   ├── ContainerError               in-band error record      (ModelAPIError)
    │   │   └── PromptTooLongError       prompt past the context   (+ ContextOverflowError)
    │   ├── StreamTimeoutError           no bytes within timeout   (ModelTimeoutError)
    │   ├── StreamInterruptedError       connection dropped        (ModelConnectionError)
    │   └── MalformedStreamError         not the promised format   (ValueError)
    │       ├── FrameError               bad event-stream frame or CRC
    │       └── LineTooLongError         a line past max_line_bytes
    └── ConfigurationError               set up wrongly            (ValueError)
        ├── MissingDependencyError       optional extra missing    (ImportError)
        └── CassetteError                cassette unreadable, missing or not matching

Every error says which endpoint it concerns, the AWS error code and request id
when known, and what to do next. Errors that end a stream carry ``partial_text``:
the text already delivered to the caller, so nothing received is lost. The
original exception is always chained as ``__cause__``.

The langchain-core base named in parentheses lets generic LangChain code (retry
middleware, fallbacks) treat these errors like any provider's.
"""

from __future__ import annotations

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

__all__ = [
    "CassetteError",
    "ConfigurationError",
    "ContainerError",
    "EndpointAccessDeniedError",
    "EndpointConnectionError",
    "EndpointNotFoundError",
    "EndpointRequestError",
    "EndpointServiceError",
    "EndpointThrottledError",
    "FrameError",
    "InternalStreamFailure",
    "InvalidRequestError",
    "JumpStartStreamError",
    "LineTooLongError",
    "MalformedStreamError",
    "MissingDependencyError",
    "ModelInvocationError",
    "ModelStreamError",
    "PromptTooLongError",
    "PromptTooLongRequestError",
    "SessionExpiredError",
    "StreamError",
    "StreamInterruptedError",
    "StreamTimeoutError",
]


class JumpStartStreamError(Exception):
    """Base class of every error raised by langchain-jumpstart-stream.

    Attributes:
        endpoint_name: The SageMaker endpoint concerned, when known.
        error_code: The AWS or container error code, when known.
        request_id: The AWS request id, when known; quote it to AWS support.
        partial_text: Text already delivered before the failure (empty if none).
        hint: What the user can do about it.
        failures: When a call gave up after trying several failover targets, the
            error of each attempt, in order (this one last); otherwise empty.
    """

    #: Default advice for this kind of error; instances may override it.
    default_hint: str = ""

    failures: tuple[JumpStartStreamError, ...] = ()

    def __init__(
        self,
        message: str,
        *,
        endpoint_name: str | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        partial_text: str = "",
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.endpoint_name = endpoint_name
        self.error_code = error_code
        self.request_id = request_id
        self.partial_text = partial_text
        self.hint = self.default_hint if hint is None else hint
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"endpoint {self.endpoint_name!r}: " if self.endpoint_name else ""
        facts = []
        if self.error_code:
            facts.append(f"error code {self.error_code}")
        if self.request_id:
            facts.append(f"request id {self.request_id}")
        if self.partial_text:
            facts.append(f"{len(self.partial_text)} characters were delivered before it")
        text = where + self.message
        if facts:
            text += f" ({'; '.join(facts)})"
        if self.hint:
            text += f". {self.hint}"
        return text

    def _attach(
        self,
        *,
        endpoint_name: str | None = None,
        request_id: str | None = None,
        partial_text: str | None = None,
    ) -> None:
        """Fill in context known only to the caller (parsers do not know the endpoint)."""
        if endpoint_name and not self.endpoint_name:
            self.endpoint_name = endpoint_name
        if request_id and not self.request_id:
            self.request_id = request_id
        if partial_text:
            self.partial_text = partial_text
        self.args = (self._render(),)

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the keyword-only context when an error crosses a process boundary.
        return (
            _rebuild,
            (
                type(self),
                self.message,
                self.endpoint_name,
                self.error_code,
                self.request_id,
                self.partial_text,
                self.hint,
            ),
            self.__dict__,  # failures, and anything else set after construction
        )


def _rebuild(
    cls: type[JumpStartStreamError],
    message: str,
    endpoint_name: str | None,
    error_code: str | None,
    request_id: str | None,
    partial_text: str,
    hint: str | None,
) -> JumpStartStreamError:
    return cls(
        message,
        endpoint_name=endpoint_name,
        error_code=error_code,
        request_id=request_id,
        partial_text=partial_text,
        hint=hint,
    )


# --- before the stream -------------------------------------------------------------


class EndpointRequestError(JumpStartStreamError):
    """The request failed before the endpoint sent a single token."""

    #: Whether a fresh attempt of the same request may succeed.
    retryable: bool = False


class EndpointNotFoundError(EndpointRequestError, ModelNotFoundError):
    """The endpoint (or inference component) does not exist in this account and region."""

    default_hint = (
        "Check the endpoint name and region (`aws sagemaker list-endpoints`), "
        "and that the endpoint is InService"
    )


class InvalidRequestError(EndpointRequestError, ModelInvalidRequestError):
    """SageMaker rejected the request itself (ValidationError other than a missing endpoint)."""

    default_hint = "Check the request parameters named in the message"


class EndpointAccessDeniedError(EndpointRequestError, ModelPermissionDeniedError):
    """The credentials may not invoke this endpoint."""

    default_hint = (
        "Grant sagemaker:InvokeEndpointWithResponseStream (and sagemaker:InvokeEndpoint) "
        "to the role or profile in use, and check that the clock is right"
    )


class ModelInvocationError(EndpointRequestError, ModelInvalidRequestError):
    """The model container answered with an error (SageMaker ``ModelError``)."""

    default_hint = (
        "The container rejected the request: check the payload and generation parameters, "
        "and the endpoint's CloudWatch logs"
    )


class PromptTooLongRequestError(ModelInvocationError, ContextOverflowError):
    """The container refused the request: the prompt does not fit the model's context."""

    default_hint = (
        "Shorten the prompt or the conversation history, or lower max_new_tokens/max_tokens"
    )


class SessionExpiredError(ModelInvocationError):
    """The stateful session named by ``SessionId`` expired, was closed, or never existed.

    The container keeps a session until its ``Expires`` time or a close request;
    after that it refuses the id (AWS's reference container answers HTTP 400
    ``session not found``, relayed by SageMaker as a ``ModelError``). Trying again
    with the same id cannot help.
    """

    default_hint = (
        "Open a new session (`with model.session() as s:` ... `s.model`) and send "
        "the conversation again; a session lives until its Expires time or its close"
    )


class EndpointThrottledError(EndpointRequestError, ModelRateLimitError):
    """SageMaker throttled the request and retries ran out."""

    retryable = True
    default_hint = "Slow down, raise max_retries, or scale the endpoint out"


class EndpointServiceError(EndpointRequestError, ModelAPIError):
    """SageMaker or the model answered with a server error and retries ran out."""

    retryable = True
    default_hint = "Retry later; if it persists, check the endpoint's health and CloudWatch logs"


class EndpointConnectionError(EndpointRequestError, ModelConnectionError):
    """The endpoint could not be reached, or did not answer within the timeout."""

    retryable = True
    default_hint = "Check the network, region and endpoint_url, or raise connect_timeout"


# --- during the stream -------------------------------------------------------------


class StreamError(JumpStartStreamError):
    """The stream started but could not be completed.

    The text already delivered is in ``partial_text``; the answer is incomplete and
    is never passed off as finished.
    """


class ModelStreamError(StreamError, ModelAPIError):
    """SageMaker reported a ``ModelStreamError`` event: the container failed mid-stream."""

    default_hint = "The model failed while generating; check the endpoint's CloudWatch logs"


class InternalStreamFailure(StreamError, ModelAPIError):  # noqa: N818 - AWS's name
    """SageMaker reported an ``InternalStreamFailure`` event."""

    default_hint = "A SageMaker-side failure; retry the request"


class ContainerError(StreamError, ModelAPIError):
    """The container wrote an error record into the stream.

    For example TGI's ``{"error": ...}`` event or LMI's ``finish_reason: "error"``.
    """

    default_hint = "The model server failed while generating; check the endpoint's CloudWatch logs"


class PromptTooLongError(ContainerError, ContextOverflowError):
    """The container reported in-band that the prompt does not fit the model's context."""

    default_hint = (
        "Shorten the prompt or the conversation history, or lower max_new_tokens/max_tokens"
    )


class StreamTimeoutError(StreamError, ModelTimeoutError):
    """No bytes arrived within the read timeout."""

    default_hint = "The endpoint stalled; raise read_timeout if generations legitimately pause"


class StreamInterruptedError(StreamError, ModelConnectionError):
    """The connection closed or broke before the stream ended properly."""

    default_hint = "The connection dropped mid-answer; the answer is incomplete, retry the request"


class MalformedStreamError(StreamError, ValueError):
    """The endpoint sent bytes that do not follow the expected stream format."""

    default_hint = (
        "Set stream_format to the container's real format ('tgi', 'jsonlines' or 'openai'), "
        "or report the container image"
    )


class FrameError(MalformedStreamError):
    """An ``application/vnd.amazon.eventstream`` frame is corrupt or truncated."""

    default_hint = "The response was corrupted in transit; retry the request"


class LineTooLongError(MalformedStreamError):
    """A line grew past ``max_line_bytes`` without a newline."""

    default_hint = "Raise max_line_bytes if the container legitimately sends such long lines"


# --- set-up ------------------------------------------------------------------------


class ConfigurationError(JumpStartStreamError, ValueError):
    """The package was configured in a way that cannot work."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional extra is needed for this feature but is not installed."""


class CassetteError(ConfigurationError):
    """A cassette cannot be read, is missing, or holds no answer for a request."""

    default_hint = "See docs/cassettes.md for the file format and for recording again"
