"""A model's way to its endpoint: sign with botocore, send with urllib3 or aiohttp.

:meth:`Connection.open` (blocking) and :meth:`Connection.aopen` (on the event
loop) do the same three steps: botocore signs (:mod:`._signing`), the HTTP
client sends (:mod:`._sync_http`, :mod:`._async_http`), and an error answer is
parsed by botocore's own parser (:mod:`._aws_errors`). They return the answer
once its head arrived; :mod:`._call` reads it. No step retries: that is decided
once, by :class:`._attempt.Policy`.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from http.client import HTTPException
from typing import Any

from . import _recording, errors
from ._async_http import AsyncResponse, asend, signing_turn
from ._attempt import Policy
from ._aws_errors import error_from_document, stream_error, translate_send_error
from ._route import Route
from ._signing import STREAM, Signed, Signer
from ._sync_http import SyncHTTP, SyncResponse

__all__ = [
    "Answered",
    "Connection",
    "ConnectionHolder",
    "async_transport_errors",
    "sync_transport_errors",
]

# An error document longer than this is cut: the message is at its start.
_MAX_ERROR_DOCUMENT = 1 << 20


def sync_transport_errors() -> tuple[type[BaseException], ...]:
    """What urllib3 and the socket layer raise when the network or the peer fails."""
    from urllib3.exceptions import HTTPError

    return (OSError, HTTPException, HTTPError)


def async_transport_errors() -> tuple[type[BaseException], ...]:
    """What aiohttp and the socket layer raise when the network or the peer fails."""
    import aiohttp

    return (OSError, aiohttp.ClientError, asyncio.TimeoutError)


class Answered:
    """An answer a stub (moto, ``Stubber``, a user's hook) gave instead of the endpoint.

    Attributes:
        payloads: The PayloadParts of a streamed answer, up to ``error``.
        error: The error event that ended the streamed answer, if any.
        body: The body of a whole answer.
        request_id: The stub's request id, if any.
        members: The answer's text members (``NewSessionId``, ``ContentType``...).
    """

    def __init__(self, response: Mapping[str, Any], operation: str, endpoint_name: str) -> None:
        self.request_id: str | None = response.get("ResponseMetadata", {}).get("RequestId")
        self.members = {k: v for k, v in response.items() if isinstance(v, str)}
        self.payloads: list[bytes] = []
        self.error: errors.StreamError | None = None
        self.body = b""
        body = response.get("Body")
        if operation != STREAM:
            read = getattr(body, "read", None)
            self.body = read() if read is not None else bytes(body or b"")
            return
        from botocore.exceptions import EventStreamError

        try:
            for event in body or ():
                part = event.get("PayloadPart")
                if part is not None:
                    self.payloads.append(part["Bytes"])
        except EventStreamError as exc:
            err = exc.response.get("Error", {})
            self.error = stream_error(
                str(err.get("Code") or ""),
                str(err.get("Message") or exc),
                exc.response.get("ErrorCode"),
                endpoint_name,
            )

    def reads(self) -> Iterator[list[bytes]]:
        """The stub's payloads as one read; then its error, if it had one."""
        if self.payloads:
            yield self.payloads
        if self.error is not None:
            raise self.error

    async def areads(self) -> AsyncIterator[list[bytes]]:
        """:meth:`reads` for ``async for``."""
        for batch in self.reads():
            yield batch

    def close(self) -> None:
        """Nothing is open."""


class Connection:
    """One client, its signer, its route and its blocking pools.

    Args:
        client: The ``sagemaker-runtime`` client.
        credentials: Its credentials object when the package created it, else ``None``.
        verify: TLS verification as botocore's ``verify`` (``None``: botocore's default).
    """

    def __init__(self, client: Any, credentials: Any, verify: bool | str | None) -> None:
        self.client = client
        self.signer = Signer(client, credentials)
        self.route = Route(client, verify)
        self.http = SyncHTTP(self.route)

    def open(
        self, operation: str, params: Mapping[str, Any], endpoint_name: str, policy: Policy
    ) -> SyncResponse | Answered:
        """Sign and send; return the answer once its head arrived.

        Raises:
            EndpointRequestError: The endpoint answered with an error, or could not
                be reached.
            ConfigurationError: The request cannot be built or signed.
        """
        signed = self.signer.sign(operation, params, endpoint_name)
        if not isinstance(signed, Signed):
            return Answered(signed, operation, endpoint_name)
        read_timeout = policy.read_timeout(self.route.read_timeout)
        failures: tuple[type[BaseException], ...] = (*sync_transport_errors(), ValueError)
        tap = _recording.tap(operation, signed, endpoint_name)  # a cassette is recording
        try:
            response = self.http.send(signed, read_timeout=read_timeout)
        except failures as exc:
            raise translate_send_error(exc, endpoint_name, started=False) from exc
        if response.status < 300:
            return response if tap is None else tap.answer(response)
        try:
            document = response.read_all(_MAX_ERROR_DOCUMENT)
        except sync_transport_errors():
            document = b""
        finally:
            response.close()
        if tap is not None:
            tap.error(response.status, response.headers, document)
        raise error_from_document(
            self.client, operation, response.status, response.headers, document, endpoint_name
        )

    async def aopen(
        self, operation: str, params: Mapping[str, Any], endpoint_name: str, policy: Policy
    ) -> AsyncResponse | Answered:
        """:meth:`open` on the running event loop."""
        async with signing_turn():
            signed = await self.signer.asign(operation, params, endpoint_name)
        if not isinstance(signed, Signed):
            return await asyncio.to_thread(Answered, signed, operation, endpoint_name)
        read_timeout = policy.read_timeout(self.route.read_timeout)
        failures: tuple[type[BaseException], ...] = (*async_transport_errors(), ValueError)
        tap = _recording.tap(operation, signed, endpoint_name)  # a cassette is recording
        try:
            response = await asend(
                signed, self.route, read_timeout=read_timeout, total=policy.remaining()
            )
        except failures as exc:
            raise translate_send_error(exc, endpoint_name, started=False) from exc
        if response.status < 300:
            return response if tap is None else tap.aanswer(response)
        try:
            document = await response.read_all(_MAX_ERROR_DOCUMENT)
        except async_transport_errors():
            document = b""
        finally:
            response.close()
        if tap is not None:
            tap.error(response.status, response.headers, document)
        raise error_from_document(
            self.client, operation, response.status, response.headers, document, endpoint_name
        )


class ConnectionHolder:
    """A model's connection, made on first use, and made anew in a forked child.

    A child must not share its parent's sockets, nor wait on a lock that a parent
    thread held at the moment of the fork: after ``fork`` every holder forgets its
    connection and gets a fresh lock, and the child builds its own.

    Args:
        build: Makes the connection (may block: it can create a client).
    """

    def __init__(self, build: Callable[[], Connection]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: Connection | None = None
        _holders.add(self)

    @property
    def ready(self) -> bool:
        """Whether :meth:`get` returns at once."""
        return self._value is not None

    def get(self) -> Connection:
        """The connection, built once even when many threads ask at the same time."""
        value = self._value
        if value is None:
            with self._lock:
                value = self._value
                if value is None:
                    value = self._value = self._build()
        return value

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._value = None


_holders: weakref.WeakSet[ConnectionHolder] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for holder in list(_holders):
        holder._forget()


os.register_at_fork(after_in_child=_after_fork_in_child)
