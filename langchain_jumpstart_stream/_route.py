"""How to reach the endpoint of one client: TLS, proxy, timeouts, pool size.

Read from the client's public ``meta.config`` (timeouts, pool size, proxies,
client certificate, TCP keep-alive) and from the model's ``verify``, the same way
botocore reads them, so the package's HTTP clients send exactly where and how
botocore would have. A route belongs to one model and one client and caches its
TLS context only for its own life: a new model reads a changed CA bundle again.
"""

from __future__ import annotations

import socket
import ssl
import threading
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from ._tls import ssl_context

__all__ = ["Route"]


class Route:
    """Connection settings for one client.

    Args:
        client: The ``sagemaker-runtime`` client.
        verify: botocore's ``verify``: ``None`` for its default (``AWS_CA_BUNDLE``,
            the profile's ``ca_bundle``, else its bundled CAs), ``False``, or a CA path.
        connect_timeout: Used when the client's config has none.
        read_timeout: Used when the client's config has none.
    """

    def __init__(
        self,
        client: Any,
        verify: bool | str | None,
        *,
        connect_timeout: float = 60.0,
        read_timeout: float = 60.0,
    ) -> None:
        # A stand-in client without botocore's config gets botocore's defaults.
        config = getattr(getattr(client, "meta", None), "config", None)
        self.connect_timeout: float = float(
            getattr(config, "connect_timeout", None) or connect_timeout
        )
        self.read_timeout: float = float(getattr(config, "read_timeout", None) or read_timeout)
        self.max_connections: int = int(getattr(config, "max_pool_connections", None) or 10)
        self.tcp_keepalive: bool = bool(getattr(config, "tcp_keepalive", False))
        self._proxies: Mapping[str, str] | None = getattr(config, "proxies", None)
        self._client_cert: Any = getattr(config, "client_cert", None)
        self._verify: bool | str = True if verify is None else verify
        self._context: ssl.SSLContext | None = None
        self._from_environment: dict[tuple[str, str], str | None] = {}
        self._lock = threading.Lock()

    @property
    def verifies(self) -> bool:
        """Whether TLS certificates are checked."""
        return self._verify is not False

    def ssl_context(self) -> ssl.SSLContext:
        """The route's TLS context, built on first use.

        Raises:
            ConfigurationError: The CA bundle or client certificate cannot be read.
        """
        context = self._context
        if context is None:
            with self._lock:
                if self._context is None:
                    self._context = ssl_context(self._verify, self._client_cert)
                context = self._context
        return context

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL for ``url``, as botocore chooses it (config, then environment)."""
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme
        if self._proxies is not None:
            host = parts.hostname or ""
            for name in (f"{scheme}://{host}", scheme):
                if name in self._proxies:
                    return self._proxies[name] or None
            return None
        key = (scheme, parts.netloc)
        if key not in self._from_environment:  # read once per route: a scan of os.environ
            bypass = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009 - no stub
            proxy = None
            if not bypass(parts.netloc):
                proxy = urllib.request.getproxies_environment().get(scheme) or None
            self._from_environment[key] = proxy
        return self._from_environment[key]

    def socket_options(self) -> list[tuple[int, int, int]]:
        """Socket options botocore would set: no delay, keep-alive when configured."""
        options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        if self.tcp_keepalive:
            options.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
        return options
