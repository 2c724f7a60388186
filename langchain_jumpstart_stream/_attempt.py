"""One try of a call, and whether to try again: pure state, shared by sync and async.

:class:`Attempt` turns the bytes of one answer into pieces: event-stream frames,
then PayloadParts, then the :class:`._decoder.StreamDecoder`. It also decides
whether the answer is whole: only when the container's final record arrived and
the body ended cleanly (or the caller stopped at a stop sequence). Anything else
is an error carrying the text already delivered.

:class:`Policy` is the one retry rule of the package: try again only before the
first token, only for failures a new attempt may fix, within ``max_retries`` and
the call's deadline. Neither class does I/O; :mod:`._call` drives them.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

from . import errors
from ._aws_errors import frame_error, translate_send_error
from ._decoder import Piece, StreamDecoder
from ._eventstream import FrameDecoder

if TYPE_CHECKING:
    from ._targets import Plan

__all__ = ["Attempt", "Policy", "backoff_delay"]

# Failures of a started stream that a new attempt may fix (when nothing was delivered).
_RETRYABLE_STREAM = (errors.InternalStreamFailure, errors.StreamInterruptedError)


def backoff_delay(attempt: int, base: float, cap: float = 20.0) -> float:
    """Full-jitter exponential backoff, as AWS recommends, for retry ``attempt`` (1-based)."""
    return random.uniform(0.0, min(cap, base * (2 ** (attempt - 1))))  # noqa: S311


class Attempt:
    """Decode one answer's body. Pure: feed it bytes, act on what it says.

    Args:
        decoder: A fresh decoder for this attempt.
        endpoint_name: For error messages.

    Attributes:
        error: An error found after good pieces of the same read: deliver the
            pieces :meth:`feed` returned, then raise it.
        delivered: Whether any piece has been handed out (then never retry).
        request_id: The answer's request id, once known.
    """

    __slots__ = ("_endpoint", "_frames", "_started", "decoder", "delivered", "error", "request_id")

    def __init__(self, decoder: StreamDecoder, endpoint_name: str) -> None:
        self.decoder = decoder
        self._endpoint = endpoint_name
        self._frames = FrameDecoder()
        self.error: errors.JumpStartStreamError | None = None
        self.delivered = False
        self.request_id: str | None = None
        self._started = False

    def opened(self, request_id: str | None) -> None:
        """The answer's head arrived: failures from now on break a started stream."""
        self._started = True
        self.request_id = request_id

    @property
    def stopped(self) -> bool:
        """A stop sequence was found: stop reading and close the answer."""
        return self.decoder.stopped

    def feed(self, data: bytes | list[bytes]) -> list[Piece]:
        """Decode raw body bytes, or PayloadParts already decoded (a stub's answer).

        Raises:
            StreamError: The stream is corrupt or reports an error, before any piece
                of this read could be decoded.
        """
        payloads = data if isinstance(data, list) else self._payloads(data)
        batch = self._decode(payloads)
        if batch:
            self.delivered = True
        elif self.error is not None:
            raise self.error
        if self.decoder.error is not None and self.error is None:
            self.error = self.decoder.error
        return batch

    def end(self) -> list[Piece]:
        """The body ended cleanly (or we stopped reading): the last pieces.

        When the answer is incomplete, the text still held is returned and
        :attr:`error` says so; it must be raised after delivering them.

        Raises:
            StreamError: The body ended inside a frame, or in an error record.
        """
        if self.error is not None:
            raise self.error
        if not self.decoder.stopped:
            self._frames.finish()
        pieces = self.decoder.finish()
        if pieces and (self.decoder.complete or self.decoder.stopped):
            return pieces
        self.error = errors.StreamInterruptedError(
            "the stream ended before the container's final record: the answer is incomplete",
            endpoint_name=self._endpoint,
        )
        return pieces[:-1]  # the text held back, without a closing piece that claims an end

    def failure(self, exc: BaseException) -> errors.JumpStartStreamError:
        """What ``exc``, raised while this attempt ran, means to the caller."""
        err = translate_send_error(exc, self._endpoint, started=self._started)
        err._attach(
            endpoint_name=self._endpoint,
            request_id=self.request_id,
            partial_text=self.decoder.delivered_text,
        )
        return err

    def _payloads(self, data: bytes) -> list[bytes]:
        frames = self._frames
        decoded = frames.feed(data)  # raises when nothing good came before the corruption
        payloads: list[bytes] = []
        for frame in decoded:
            if frame.message_type == "event":
                if frame.event_type == "PayloadPart":
                    payloads.append(frame.payload)
                # Unknown event types are skipped for forward compatibility.
            else:
                self.error = frame_error(frame, self._endpoint)
                return payloads
        if frames.error is not None:  # after the good frames of this read
            self.error = frames.error
        return payloads

    def _decode(self, payloads: list[bytes]) -> list[Piece]:
        decoder = self.decoder
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


class Policy:
    """The package's one retry rule, and the call's deadline.

    Args:
        max_retries: Attempts after the first.
        base_delay: First backoff ceiling, in seconds.
        timeout: Seconds the whole call (every attempt) may take; ``None`` for no limit.
        endpoint_name: For error messages.
        plan: The call's targets: a failure a retry may fix moves to the next one at
            once; ``max_retries`` counts the rounds after the first, each started
            after a backoff. ``None``: one target.
    """

    __slots__ = (
        "_base",
        "_deadline",
        "_endpoint",
        "_max",
        "_timeout",
        "attempts",
        "plan",
        "retries",
    )

    def __init__(
        self,
        max_retries: int,
        base_delay: float,
        timeout: float | None,
        endpoint_name: str,
        plan: Plan | None = None,
    ) -> None:
        self._max = max_retries
        self._base = base_delay
        self._timeout = timeout
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._endpoint = endpoint_name
        self.attempts = 0
        self.retries = 0
        self.plan = plan

    def begin(self) -> None:
        """Count a new attempt.

        Raises:
            StreamTimeoutError: The deadline has passed.
        """
        self.check()
        self.attempts += 1

    def remaining(self) -> float | None:
        """Seconds left before the deadline, or ``None`` without one."""
        if self._deadline is None:
            return None
        return max(0.001, self._deadline - time.monotonic())

    def check(self) -> None:
        """Raise once the deadline has passed.

        Raises:
            StreamTimeoutError: The call took longer than ``timeout``.
        """
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise self._deadline_error()

    def _deadline_error(self) -> errors.StreamTimeoutError:
        return errors.StreamTimeoutError(
            f"the call did not finish within its timeout of {self._timeout:g} s",
            endpoint_name=self._endpoint,
            hint="Raise timeout= if answers legitimately take longer",
        )

    @staticmethod
    def retryable(err: errors.JumpStartStreamError) -> bool:
        """Whether a new attempt (at this target or another) may fix ``err``."""
        return (isinstance(err, errors.EndpointRequestError) and err.retryable) or isinstance(
            err, _RETRYABLE_STREAM
        )

    def retry_delay(self, err: errors.JumpStartStreamError, delivered: bool) -> float | None:
        """Seconds to wait before trying again, or ``None`` to give up with ``err``.

        With several targets, the next target of the round is tried at once (0 s);
        a backoff comes only before a new round.
        """
        retryable = not delivered and self.retryable(err)
        plan = self.plan
        if plan is not None:
            plan.failed(err, retryable=retryable)
            if retryable and plan.move_on():
                return 0.0  # Policy.begin still enforces the deadline
        if not retryable or self.retries >= self._max:
            return None
        self.retries += 1
        delay = backoff_delay(self.retries, self._base)
        if self._deadline is not None and time.monotonic() + delay >= self._deadline:
            return None
        return delay

    def after(
        self,
        attempt: Attempt,
        exc: BaseException,
        err: errors.JumpStartStreamError | None = None,
    ) -> float:
        """Seconds to wait before the next attempt, after ``exc`` ended ``attempt``.

        Args:
            attempt: The attempt that failed.
            exc: What it raised.
            err: ``exc`` already mapped into the error tree, if the caller did that.

        Raises:
            JumpStartStreamError: ``err`` (or ``exc`` mapped), when it is time to give up;
                chained to ``exc``.
        """
        if err is None:
            err = self.explain(attempt.failure(exc))
        delay = self.retry_delay(err, attempt.delivered)
        if delay is None:
            self.gave_up(err)
            raise err from (err.__cause__ if exc is err else exc)
        return delay

    def gave_up(self, err: errors.JumpStartStreamError) -> None:
        """Say in ``err`` how many attempts were made, and at which targets."""
        if self.plan is not None:
            self.plan.explain(err)
        if self.attempts > 1:
            err.message = f"{err.message} (gave up after {self.attempts} attempts)"
            err._attach()

    def read_timeout(self, read_timeout: float) -> float:
        """The read timeout for the next request: never past the deadline."""
        remaining = self.remaining()
        return read_timeout if remaining is None else min(read_timeout, remaining)

    def explain(self, err: errors.JumpStartStreamError) -> errors.JumpStartStreamError:
        """A timeout at the deadline is the deadline's doing: say so."""
        timed_out = isinstance(err, errors.StreamTimeoutError) or (
            isinstance(err, errors.EndpointConnectionError) and "timed out" in err.message
        )
        # The HTTP clients' own clocks may fire a little before ours.
        if not timed_out or self._deadline is None or time.monotonic() + 0.05 < self._deadline:
            return err
        deadline = self._deadline_error()
        deadline._attach(request_id=err.request_id, partial_text=err.partial_text)
        deadline.__cause__ = err.__cause__
        return deadline
