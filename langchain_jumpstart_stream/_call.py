"""One model call: open the stream, decode it, retry only before the first token.

Shared by ``JumpStartLLM`` and ``ChatJumpStart``: :meth:`StreamCall.batches` for
sync callers, :meth:`StreamCall.abatches` for asyncio.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from . import errors
from ._aio_transport import LoopStream, ainvoke, ainvoke_stream
from ._bridge import run_in_thread
from ._decoder import Piece, StreamDecoder
from ._records import parse_json_record
from ._transport import RawStream, backoff_delay, invoke, invoke_stream

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

__all__ = ["StreamCall"]

T = TypeVar("T")

# Errors that mean "nothing reached the model's output yet; the same request may work".
_RETRYABLE_STREAM = (errors.InternalStreamFailure, errors.StreamInterruptedError)


@dataclass
class StreamCall:
    """Everything needed to run one request, and its live state.

    Attributes:
        client: A function returning the shared ``sagemaker-runtime`` client.
        endpoint_name: For the request and for error messages.
        request: Keyword arguments for ``invoke_endpoint[_with_response_stream]``
            except the body's streaming flag, which ``body`` already holds.
        decoder: A function returning a fresh decoder for each attempt.
        max_retries: Retries after the first attempt, before the first token only.
        retry_base_delay: First backoff ceiling, in seconds.
        client_ready: Whether ``client()`` returns at once (the client exists).
    """

    client: Callable[[], SageMakerRuntimeClient]
    endpoint_name: str
    request: Mapping[str, Any]
    decoder: Callable[[], StreamDecoder]
    max_retries: int = 2
    retry_base_delay: float = 0.5
    client_ready: Callable[[], bool] = lambda: True
    attempts: int = 0

    def pieces(self) -> Generator[Piece, None, None]:
        """Stream the answer as :class:`Piece` objects (see :meth:`batches`)."""
        for batch in self.batches():
            yield from batch

    def batches(self) -> Generator[list[Piece], None, None]:
        """Stream the answer: one list of :class:`Piece` objects per network read.

        Closing the generator (a consumer that breaks out, a cancelled task) closes
        the HTTP stream at once, so the endpoint stops generating.

        Raises:
            EndpointRequestError: The request failed and retries ran out.
            StreamError: The stream broke; ``partial_text`` holds what was delivered.
        """
        while True:
            stream = self._send(invoke_stream)
            decoder = self.decoder()
            delivered = False
            try:
                for payloads in stream.payload_batches():
                    batch = _decode(decoder, payloads)
                    if batch:
                        delivered = True
                        yield batch
                    if decoder.error is not None:
                        raise decoder.error
                    if decoder.stopped:
                        break
                stream.close()  # stop the endpoint now, before flushing our buffers
                yield decoder.finish()
                return  # noqa: TRY300 - the except clause decides whether to retry
            except errors.JumpStartStreamError as exc:
                if self._may_resend(exc, delivered):
                    time.sleep(backoff_delay(self.attempts, self.retry_base_delay))
                    continue
                self._fail(exc, stream, decoder)
                raise
            finally:
                stream.close()

    async def abatches(self) -> AsyncGenerator[list[Piece], None]:
        """:meth:`batches` for asyncio, with the same retries and errors.

        The request is signed, sent and read on the event loop (see
        :mod:`._aio_transport`).
        """
        while True:
            stream = await self._asend(ainvoke_stream)
            decoder = self.decoder()
            delivered = False
            try:
                async for payloads in stream.apayload_batches():
                    batch = _decode(decoder, payloads)
                    if batch:
                        delivered = True
                        yield batch
                    if decoder.error is not None:
                        raise decoder.error
                    if decoder.stopped:
                        break
                stream.close()  # stop the endpoint now, before flushing our buffers
                yield decoder.finish()
                return  # noqa: TRY300 - the except clause decides whether to retry
            except errors.JumpStartStreamError as exc:
                if self._may_resend(exc, delivered):
                    await asyncio.sleep(backoff_delay(self.attempts, self.retry_base_delay))
                    continue
                self._fail(exc, stream, decoder)
                raise
            finally:
                stream.close()

    def complete(self) -> tuple[list[Piece], str | None]:
        """Non-streaming call through ``InvokeEndpoint``; returns pieces and request id."""
        body, request_id = self._send(invoke)
        return self._whole_answer(body, request_id), request_id

    async def acomplete(self) -> tuple[list[Piece], str | None]:
        """:meth:`complete` for asyncio, sent and read on the event loop."""
        body, request_id = await self._asend(ainvoke)
        return self._whole_answer(body, request_id), request_id

    def _whole_answer(self, body: bytes, request_id: str | None) -> list[Piece]:
        decoder = self.decoder()
        try:
            pieces = decoder.take(parse_json_record(body))
            pieces.extend(decoder.finish())
        except errors.JumpStartStreamError as exc:
            exc._attach(endpoint_name=self.endpoint_name, request_id=request_id)
            raise
        return pieces

    async def _asend(
        self,
        send: Callable[[SageMakerRuntimeClient, Mapping[str, Any], str], Awaitable[T]],
    ) -> T:
        """:meth:`_send` for async calls."""
        if not self.client_ready():
            await run_in_thread(self.client)  # creating it reads files
        while True:
            self.attempts += 1
            try:
                return await send(self.client(), self.request, self.endpoint_name)
            except errors.EndpointRequestError as exc:
                if exc.retryable and self._can_retry():
                    await asyncio.sleep(backoff_delay(self.attempts, self.retry_base_delay))
                    continue
                self._gave_up(exc)
                raise

    def _send(self, send: Callable[[SageMakerRuntimeClient, Mapping[str, Any], str], T]) -> T:
        """Send the request, retrying what SageMaker says may work next time."""
        while True:
            self.attempts += 1
            try:
                return send(self.client(), self.request, self.endpoint_name)
            except errors.EndpointRequestError as exc:
                if exc.retryable and self._can_retry():
                    time.sleep(backoff_delay(self.attempts, self.retry_base_delay))
                    continue
                self._gave_up(exc)
                raise

    def _may_resend(self, exc: errors.JumpStartStreamError, delivered: bool) -> bool:
        """Whether a broken stream may be sent again: only if nothing reached the user."""
        return not delivered and isinstance(exc, _RETRYABLE_STREAM) and self._can_retry()

    def _fail(
        self,
        exc: errors.JumpStartStreamError,
        stream: LoopStream | RawStream,
        decoder: StreamDecoder,
    ) -> None:
        self._gave_up(exc)
        exc._attach(
            endpoint_name=self.endpoint_name,
            request_id=stream.request_id,
            partial_text=decoder.delivered_text,
        )

    def _gave_up(self, exc: errors.JumpStartStreamError) -> None:
        if self.attempts > 1:
            exc.message = f"{exc.message} (gave up after {self.attempts} attempts)"
            exc._attach()

    def _can_retry(self) -> bool:
        return self.attempts <= self.max_retries


def _decode(decoder: StreamDecoder, payloads: list[bytes]) -> list[Piece]:
    """Decode the PayloadParts of one read, up to an error or a stop sequence."""
    if len(payloads) == 1:
        return decoder.feed(payloads[0])
    batch: list[Piece] = []
    for payload in payloads:
        try:
            batch.extend(decoder.feed(payload))
        except errors.JumpStartStreamError:
            if not batch:
                raise
            break  # decoder.error keeps it: raised once this batch is delivered
        if decoder.error is not None or decoder.stopped:
            break
    return batch
