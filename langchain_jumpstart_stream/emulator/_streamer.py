"""Serves one ``InvokeEndpointWithResponseStream`` response, with its faults.

The body is chunked HTTP, one chunk per event-stream frame, each written (and so sent,
as ``TCP_NODELAY`` is set) as soon as it is ready. Faults that count tokens fire before
the first record after that many token records, or at the end of a shorter stream.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from . import _frames
from ._config import EndpointConfig
from ._formats import Record, stream_payload
from ._generator import Generation, ParsedRequest
from ._sink import FrameSink, StoppedError
from ._state import RecordedRequest

_ENDLESS_CHUNK = 8192


class StreamTarget(Protocol):
    """What the streamer needs from the HTTP handler."""

    @property
    def stop_event(self) -> threading.Event:
        """Set when the emulator stops."""
        ...

    def variant(self, config: EndpointConfig) -> str:
        """The production variant to report."""
        ...

    def start_stream(self, record: RecordedRequest, headers: dict[str, str]) -> None:
        """Send the status line and headers of a chunked 200 response."""
        ...

    def write_raw(self, data: bytes) -> None:
        """Write bytes as they are."""
        ...

    def write_chunk(self, data: bytes) -> None:
        """Write one HTTP chunk."""
        ...

    def reset_connection(self) -> None:
        """Abort the connection with a TCP RST."""
        ...


class Streamer:
    """Serves one ``InvokeEndpointWithResponseStream`` call, faults included."""

    def __init__(
        self, handler: StreamTarget, config: EndpointConfig, record: RecordedRequest
    ) -> None:
        self._handler = handler
        self._config = config
        self._record = record
        self._stop = handler.stop_event
        self._sink = FrameSink(
            handler.write_chunk,
            frame_bytes=config.frame_bytes,
            truncate_last=config.truncate_last_frame,
        )
        self._stalled = False

    def run(self, request: ParsedRequest, generation: Generation) -> None:
        config = self._config
        records, content_type = stream_payload(config, request, generation)
        headers = {
            "Content-Type": "application/vnd.amazon.eventstream",
            "X-Amzn-SageMaker-Content-Type": content_type,
            "X-Amzn-Invoked-Production-Variant": self._handler.variant(config),
            "x-amzn-RequestId": self._record.request_id,
        }
        self._handler.start_stream(self._record, headers)
        if config.empty_stream:
            finished = True
        elif config.endless_line_bytes is not None:
            finished = self._endless(config.endless_line_bytes)
        else:
            finished = self._pump(records)
        if finished:
            self._sink.close()
            self._handler.write_raw(b"0\r\n\r\n")

    def _pump(self, records: list[Record]) -> bool:
        """Send the records; ``False`` when the connection was reset on purpose."""
        interval = 1 / self._config.tokens_per_second if self._config.tokens_per_second else 0.0
        next_due = time.monotonic()
        for record in records:
            outcome = self._fault(record)
            if outcome is not None:
                return outcome
            if record.tokens and interval:
                next_due = max(next_due, time.monotonic())
                self._sleep(next_due - time.monotonic())
                next_due += interval
            self._sink.payload(record.data)
            self._record.tokens_sent += record.tokens
        outcome = self._fault(None)
        return True if outcome is None else outcome

    def _fault(self, upcoming: Record | None) -> bool | None:
        """Inject the fault due now, if any; its result ends the stream."""
        config = self._config
        sent = self._record.tokens_sent

        def due(after: int | None) -> bool:
            return after is not None and (sent == after or (upcoming is None and sent < after))

        if due(config.drop_after_tokens):
            self._sink.flush()
            if config.reset_mid_frame:
                frame = _frames.payload_part(upcoming.data if upcoming else b"\n")
                self._handler.write_raw(b"%X\r\n" % len(frame) + frame[: len(frame) // 2])
            self._handler.reset_connection()
            return False
        if due(config.error_after_tokens) and config.error_kind != "in_band":
            message = config.error_message
            if config.error_kind == "model_stream_error":
                code = config.stream_error_code
                self._sink.frame(_frames.model_stream_error(message, code))
            else:
                self._sink.frame(_frames.internal_stream_failure(message))
            return True
        if due(config.bad_crc_after_tokens):
            data = upcoming.data if upcoming else b"\n"
            self._sink.frame(_frames.payload_part(data, corrupt_crc=True))
            return True
        if due(config.stall_after_tokens) and not self._stalled:
            self._stalled = True
            self._sink.flush()
            self._sleep(config.stall_seconds)
        return None

    def _endless(self, size: int) -> bool:
        """One line of ``size`` bytes that never gets its newline."""
        head = (b"data:" if self._config.is_sse else b"") + b'{"token":{"text":"'
        step = self._config.frame_bytes or _ENDLESS_CHUNK
        sent = 0
        while sent < size:
            count = min(step, size - sent)
            piece = head[sent : sent + count]
            piece += b"a" * (count - len(piece))
            self._sink.payload(piece)
            self._sink.flush()
            sent += count
        return True

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self._stop.wait(seconds):
            raise StoppedError
