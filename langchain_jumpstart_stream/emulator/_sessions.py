"""Stateful sessions as a SageMaker stateful container keeps them (pure, thread-safe).

SageMaker routes a request that carries ``X-Amzn-SageMaker-Session-Id`` to the
instance that opened the session; the container itself creates, checks and closes
sessions. The emulator follows AWS's reference implementation for containers,
``aws/model-hosting-container-standards`` (``sagemaker/sessions``): a body
``{"requestType": "NEW_SESSION"}`` with ``SessionId=NEW_SESSION`` opens one and
answers with ``X-Amzn-SageMaker-New-Session-Id: <uuid>; Expires=<UTC time>``; a
body ``{"requestType": "CLOSE"}`` with the id closes it and answers with
``X-Amzn-SageMaker-Closed-Session-Id``. A request naming a session the container
does not know gets HTTP 400 ``{"detail": "Bad request: session not found: <id>"}``,
which SageMaker relays as a 424 ``ModelError`` (see
https://docs.aws.amazon.com/sagemaker/latest/dg/stateful-sessions.html).

One simplification: the reference container lets the first request after the
expiry through without its session (and forgets the session while doing so); the
emulator refuses it at once, as "session not found", which is what every later
request gets there too.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["NEW_SESSION", "SessionTable", "new_session_on_stream", "session_not_found"]

NEW_SESSION = "NEW_SESSION"

# The service model's pattern for an existing session's id (SessionIdHeader).
_ID_PATTERN = "^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"


def session_not_found(session_id: str) -> str:
    """The reference container's error body (HTTP 400) for a session it does not know."""
    detail = f"Bad request: session not found: {session_id}"
    return json.dumps({"detail": detail}, separators=(",", ":"))


def new_session_on_stream() -> str:
    """SageMaker's validation message for ``NEW_SESSION`` on the streaming operation.

    ``InvokeEndpointWithResponseStream`` declares ``SessionId`` with the pattern of an
    existing session's id only; AWS's request validation words a pattern failure so.
    """
    return (
        "1 validation error detected: Value 'NEW_SESSION' at 'sessionId' failed to "
        f"satisfy constraint: Member must satisfy regular expression pattern: {_ID_PATTERN}"
    )


@dataclass
class _Session:
    instance: int
    expires_at: float  # time.monotonic() deadline
    expires_header: str  # the wall-clock expiry as the container reports it


class SessionTable:
    """The open sessions of one endpoint, each pinned to the instance that opened it.

    Args:
        ttl: Seconds a session lives after it was opened (the reference container's
            ``SAGEMAKER_SESSIONS_EXPIRATION``, 1200 by default).
    """

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def open(self, instance: int) -> str:
        """Open a session on ``instance``; the ``NewSessionId`` header value."""
        session_id = str(uuid.uuid4())
        expires = datetime.now(timezone.utc).timestamp() + self._ttl
        stamp = datetime.fromtimestamp(expires, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock:
            self._drop_expired()
            self._sessions[session_id] = _Session(instance, time.monotonic() + self._ttl, stamp)
        return f"{session_id}; Expires={stamp}"

    def instance_of(self, session_id: str) -> int | None:
        """The instance holding a live session, or ``None`` (unknown, closed, expired)."""
        with self._lock:
            self._drop_expired()
            session = self._sessions.get(session_id)
            return None if session is None else session.instance

    def close(self, session_id: str) -> bool:
        """Close a live session; ``False`` when there was none to close."""
        with self._lock:
            self._drop_expired()
            return self._sessions.pop(session_id, None) is not None

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[key]
