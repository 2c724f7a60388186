"""One model call: open the answer, decode it, retry only before the first token.

Shared by ``JumpStartLLM`` and ``ChatJumpStart``. :meth:`StreamCall.batches` and
:meth:`StreamCall.abatches` are the same loop, written twice only because one
blocks and the other awaits: every decision lives in the pure
:class:`._attempt.Attempt` (is the answer whole? what does this failure mean?)
and :class:`._attempt.Policy` (try again?), so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from . import errors
from ._attempt import Attempt, Policy
from ._connection import Answered, Connection, async_transport_errors, sync_transport_errors
from ._decoder import Piece, StreamDecoder
from ._records import parse_json_record
from ._signing import STREAM, WHOLE
from ._targets import Leg, Plan, Target
from ._telemetry import Observer, Timing, served_by

__all__ = ["StreamCall"]

# How a call ends other than by its answer or its own error: the caller closed the
# stream (GeneratorExit), the task was cancelled, or the process interrupted.
_CUT_SHORT = (GeneratorExit, asyncio.CancelledError, KeyboardInterrupt)


@dataclass
class StreamCall:
    """Everything needed to run one request.

    Attributes:
        connection: Returns the model's :class:`._connection.Connection` (blocking:
            it may create the client, which reads files).
        endpoint_name: For the request and for error messages.
        request: Keyword arguments for ``invoke_endpoint[_with_response_stream]``.
        decoder: Returns a fresh decoder for each attempt.
        max_retries: Retries after the first attempt, before the first token only.
        retry_base_delay: First backoff ceiling, in seconds.
        timeout: Seconds the whole call may take, retries included; ``None``: no limit.
        connection_ready: Whether ``connection()`` returns at once.
        attempts: Attempts made so far.
        region_name: The model's region, for the report of who served the call.
        plan: Makes the call's :class:`._targets.Plan` (failover targets, the model's
            breaker); ``None``: only the target above.
        telemetry: Time the call (first token, gaps, tokens/s) for its closing piece.
        observer: Also told when the call ends (OpenTelemetry).
    """

    connection: Callable[[], Connection]
    endpoint_name: str
    request: Mapping[str, Any]
    decoder: Callable[[], StreamDecoder]
    max_retries: int = 2
    retry_base_delay: float = 0.5
    timeout: float | None = None
    connection_ready: Callable[[], bool] = lambda: True
    attempts: int = 0
    region_name: str | None = None
    plan: Callable[[], Plan] | None = None
    telemetry: bool = True
    observer: Observer | None = None

    def pieces(self) -> Generator[Piece, None, None]:
        """Stream the answer as :class:`Piece` objects (see :meth:`batches`)."""
        for batch in self.batches():
            yield from batch

    def batches(self) -> Generator[list[Piece], None, None]:
        """Stream the answer: one list of :class:`Piece` objects per network read.

        Closing the generator (a consumer that breaks out) closes the HTTP stream at
        once, so the endpoint stops generating.

        Raises:
            EndpointRequestError: The request failed and retries ran out.
            StreamError: The stream broke or ended early; ``partial_text`` holds what
                was delivered.
        """
        policy, plan, timing = self._start()
        catch = _failures(sync_transport_errors())
        while True:
            leg = plan.current
            attempt = Attempt(self.decoder(), leg.endpoint_name)
            answer = None
            try:
                policy.begin()
                answer = leg.connection().open(STREAM, leg.request, leg.endpoint_name, policy)
                attempt.opened(answer.request_id)
                for data in answer.reads():
                    batch = attempt.feed(data)
                    if batch:
                        timing.read(len(batch))
                        yield batch
                    if attempt.error is not None:
                        raise attempt.error
                    if attempt.stopped:
                        break
                    policy.check()
                answer.close()  # stop the endpoint now, before flushing our buffers
                batch = attempt.end()
                if attempt.error is None:
                    self._served(batch, attempt, policy, answer, timing)
                if batch:
                    yield batch
                if attempt.error is not None:
                    raise attempt.error
                return  # noqa: TRY300 - the except clause decides whether to retry
            except catch as exc:
                time.sleep(policy.after(attempt, exc))
            except _CUT_SHORT as exc:
                self._cut_short(exc, policy, timing)
                raise
            finally:
                self.attempts = policy.attempts
                if answer is not None:
                    answer.close()

    async def abatches(self) -> AsyncGenerator[list[Piece], None]:
        """:meth:`batches` for asyncio: signed, sent and read on the event loop."""
        policy, plan, timing = self._start()
        catch = _failures(async_transport_errors())
        while True:
            leg = plan.current
            attempt = Attempt(self.decoder(), leg.endpoint_name)
            answer = None
            try:
                policy.begin()
                connection = await _aconnection(leg)
                answer = await connection.aopen(STREAM, leg.request, leg.endpoint_name, policy)
                attempt.opened(answer.request_id)
                async for data in answer.areads():
                    batch = attempt.feed(data)
                    if batch:
                        timing.read(len(batch))
                        yield batch
                    if attempt.error is not None:
                        raise attempt.error
                    if attempt.stopped:
                        break
                    policy.check()
                answer.close()  # stop the endpoint now, before flushing our buffers
                batch = attempt.end()
                if attempt.error is None:
                    self._served(batch, attempt, policy, answer, timing)
                if batch:
                    yield batch
                if attempt.error is not None:
                    raise attempt.error
                return  # noqa: TRY300 - the except clause decides whether to retry
            except catch as exc:
                await asyncio.sleep(policy.after(attempt, exc))
            except _CUT_SHORT as exc:
                self._cut_short(exc, policy, timing)
                raise
            finally:
                self.attempts = policy.attempts
                if answer is not None:
                    answer.close()

    def complete(self) -> tuple[list[Piece], str | None]:
        """Non-streaming call through ``InvokeEndpoint``; returns pieces and request id.

        Raises:
            EndpointRequestError: The request failed and retries ran out.
            StreamError: The answer is not a valid record.
        """
        policy, plan, timing = self._start()
        catch = _failures(sync_transport_errors())
        while True:
            leg = plan.current
            attempt = Attempt(self.decoder(), leg.endpoint_name)
            answer = None
            try:
                policy.begin()
                answer = leg.connection().open(WHOLE, leg.request, leg.endpoint_name, policy)
                attempt.opened(answer.request_id)
                body = answer.body if isinstance(answer, Answered) else answer.read_all()
                pieces = self._whole_answer(body, attempt)
            except catch as exc:
                time.sleep(self._whole_retry(exc, attempt, policy))
            except _CUT_SHORT as exc:
                self._cut_short(exc, policy, timing)
                raise
            else:
                self._served(pieces, attempt, policy, answer, timing)
                return pieces, attempt.request_id
            finally:
                self.attempts = policy.attempts
                if answer is not None:
                    answer.close()

    async def acomplete(self) -> tuple[list[Piece], str | None]:
        """:meth:`complete` for asyncio, sent and read on the event loop."""
        policy, plan, timing = self._start()
        catch = _failures(async_transport_errors())
        while True:
            leg = plan.current
            attempt = Attempt(self.decoder(), leg.endpoint_name)
            answer = None
            try:
                policy.begin()
                connection = await _aconnection(leg)
                answer = await connection.aopen(WHOLE, leg.request, leg.endpoint_name, policy)
                attempt.opened(answer.request_id)
                body = answer.body if isinstance(answer, Answered) else await answer.read_all()
                pieces = self._whole_answer(body, attempt)
            except catch as exc:
                await asyncio.sleep(self._whole_retry(exc, attempt, policy))
            except _CUT_SHORT as exc:
                self._cut_short(exc, policy, timing)
                raise
            else:
                self._served(pieces, attempt, policy, answer, timing)
                return pieces, attempt.request_id
            finally:
                self.attempts = policy.attempts
                if answer is not None:
                    answer.close()

    def _start(self) -> tuple[Policy, Plan, Timing]:
        """A new call's retry rule, its way through the targets, and its clock."""
        plan = self.plan() if self.plan is not None else self._one_target()
        policy = Policy(
            self.max_retries, self.retry_base_delay, self.timeout, self.endpoint_name, plan
        )
        timing = Timing() if self.telemetry else Timing.off()
        observer = self.observer
        if observer is not None:

            def failed(err: errors.JumpStartStreamError) -> None:
                timing.settled = True
                observer.failed(err, policy, timing)

            plan.on_give_up = failed
        return policy, plan, timing

    def _cut_short(self, exc: BaseException, policy: Policy, timing: Timing) -> None:
        """The call ended by neither an answer nor an error of its own: tell the observer."""
        if self.observer is not None and not timing.settled:
            timing.settled = True
            self.observer.cut_short(exc, policy, timing)

    def _one_target(self) -> Plan:
        request = self.request
        target = Target(
            endpoint_name=self.endpoint_name,
            inference_component_name=request.get("InferenceComponentName"),
            target_variant=request.get("TargetVariant"),
            region_name=self.region_name,
        )
        leg = Leg(target, self.region_name, request, self.connection, self.connection_ready)
        return Plan([leg])

    def _served(
        self, pieces: list[Piece], attempt: Attempt, policy: Policy, answer: Any, timing: Timing
    ) -> None:
        """The call succeeded: record who served it, and how fast, on its closing piece."""
        plan = policy.plan
        assert plan is not None  # _start always makes one
        plan.served()
        timing.end(pieces)
        timing.settled = True
        closing = pieces[-1] if pieces else None
        if closing is None or closing.info is None:
            return
        report = served_by(plan.current, answer, policy.attempts)
        report.update(timing.report(closing.info))
        closing.info["jumpstart"] = report
        if self.observer is not None:
            decoder = attempt.decoder
            self.observer.served(
                closing.info, report, policy, timing, lambda: decoder.delivered_text
            )

    def _whole_answer(self, body: bytes, attempt: Attempt) -> list[Piece]:
        decoder = attempt.decoder
        try:
            pieces = decoder.take(parse_json_record(body))
            pieces.extend(decoder.finish())
        except errors.JumpStartStreamError as exc:
            exc._attach(endpoint_name=self.endpoint_name, request_id=attempt.request_id)
            raise
        return pieces

    @staticmethod
    def _whole_retry(exc: BaseException, attempt: Attempt, policy: Policy) -> float:
        """The delay before another try of a whole answer; raises when there is none."""
        # Nothing reaches the caller before the whole body is in: a body cut short
        # is a failed request, not a broken stream.
        if isinstance(exc, errors.JumpStartStreamError):
            err = exc
            err._attach(request_id=attempt.request_id)
        else:
            err = policy.explain(attempt.failure(exc))
            if isinstance(err, errors.StreamError) and not isinstance(
                err, errors.StreamTimeoutError
            ):
                err = errors.EndpointConnectionError(
                    f"the answer could not be read: {err.message}",
                    endpoint_name=err.endpoint_name,
                    request_id=err.request_id,
                )
        return policy.after(attempt, exc, err)


async def _aconnection(leg: Leg) -> Connection:
    if leg.connection_ready():
        return leg.connection()
    return await asyncio.to_thread(leg.connection)  # creating the client reads files


def _failures(transport: tuple[type[BaseException], ...]) -> tuple[type[BaseException], ...]:
    """What an attempt may end with: the package's own errors, or the transport's."""
    return (errors.JumpStartStreamError, *transport)
