"""Send signed requests and read their answers with urllib3, for blocking calls.

urllib3 is botocore's own HTTP client: it owns connections, keep-alive, TLS,
proxies and HTTP framing here. It never retries (``retries=False``): whether a
request is sent again is decided in one place, :mod:`._call`. Pools belong to one
:class:`SyncHTTP`, that is to one model's :class:`._connection.Connection`,
which a forked child replaces (see ``ConnectionHolder``): parent and child never
share a socket.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from ._fastread import body_reads
from ._route import Route
from ._signing import Signed

__all__ = ["SyncHTTP", "SyncResponse"]

# An error document or a whole answer larger than this is not one (SageMaker's
# payload limit is 6 MB).
_MAX_DOCUMENT = 64 << 20


class SyncResponse:
    """An answer whose head has arrived; read its body once, then close it."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.status: int = response.status
        self.headers: dict[str, str] = {k.lower(): v for k, v in response.headers.items()}
        self.request_id: str | None = self.headers.get("x-amzn-requestid")

    def reads(self) -> Iterator[bytes]:
        """The body as it arrives, one network read at a time (HTTP framing removed)."""
        return body_reads(self._response)

    def read_all(self, limit: int = _MAX_DOCUMENT) -> bytes:
        """The whole body, decoded; a body larger than ``limit`` is cut there."""
        response = self._response
        parts: list[bytes] = []
        size = 0
        for data in response.stream(65536, decode_content=True):
            parts.append(data)
            size += len(data)
            if size >= limit:
                break
        return b"".join(parts)

    def close(self) -> None:
        """Free the connection: back to the pool when the body was read, else closed."""
        response = self._response
        if response.isclosed():  # read to its end: the connection is reusable
            response.release_conn()
            return
        # Never hand a half-read connection back to the pool.
        response.close()
        response.release_conn()


class SyncHTTP:
    """urllib3 pools for one route (one per proxy URL and scheme).

    Args:
        route: Where and how to connect.
    """

    def __init__(self, route: Route) -> None:
        self.route = route
        self._managers: dict[tuple[str | None, bool], Any] = {}
        self._lock = threading.Lock()

    def send(self, signed: Signed, *, read_timeout: float) -> SyncResponse:
        """Send ``signed``; return once the answer's head has arrived.

        Raises:
            OSError, urllib3.exceptions.HTTPError: The network failed; mapped by the caller.
        """
        import urllib3

        https = signed.url.startswith("https:")
        manager = self._manager(self.route.proxy_for(signed.url), https=https)
        response = manager.urlopen(
            signed.method,
            signed.url,
            body=signed.body,
            headers=signed.headers,
            retries=False,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
            timeout=urllib3.Timeout(connect=self.route.connect_timeout, read=read_timeout),
        )
        return SyncResponse(response)

    def close_idle(self) -> None:
        """Close the idle pooled connections; connections in use stay open."""
        for manager in list(self._managers.values()):
            for key in list(manager.pools.keys()):
                pool = manager.pools.get(key)
                if pool is not None:
                    pool.close()

    def _manager(self, proxy: str | None, *, https: bool) -> Any:
        key = (proxy, https)
        manager = self._managers.get(key)
        if manager is None:
            with self._lock:
                manager = self._managers.get(key)
                if manager is None:
                    manager = self._managers[key] = self._new_manager(proxy, https=https)
        return manager

    def _new_manager(self, proxy: str | None, *, https: bool) -> Any:
        import urllib3

        route = self.route
        options: dict[str, Any] = {
            "maxsize": route.max_connections,
            "socket_options": route.socket_options(),
        }
        if https:  # a plain-HTTP endpoint never reads the CA bundle
            options["ssl_context"] = route.ssl_context()
            if not route.verifies:
                options["cert_reqs"] = "CERT_NONE"
                options["assert_hostname"] = False
        if proxy is None:
            return urllib3.PoolManager(**options)
        parsed = urllib3.util.parse_url(proxy)
        headers = {}
        if parsed.auth:
            headers = urllib3.util.make_headers(proxy_basic_auth=parsed.auth)
        return urllib3.ProxyManager(proxy, proxy_headers=headers, **options)
