"""The :class:`Emulator`: a local SageMaker Runtime endpoint on a background thread."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from ._config import EndpointConfig
from ._replay import Replay
from ._server import EmulatorHTTPServer
from ._state import MAX_BODY_BYTES, EmulatorState, RecordedRequest

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

_POLL_INTERVAL = 0.05


class Emulator:
    """A local HTTP server that speaks the real SageMaker Runtime wire protocol.

    An unmodified boto3 ``sagemaker-runtime`` client pointed at :attr:`url` can call
    ``invoke_endpoint`` and ``invoke_endpoint_with_response_stream`` on it.

    Example:
        >>> from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig
        >>> with Emulator(endpoints={"falcon": EndpointConfig()}) as emu:  # doctest: +SKIP
        ...     client = emu.client()
        ...     response = client.invoke_endpoint_with_response_stream(
        ...         EndpointName="falcon",
        ...         Body=b'{"inputs": "How do I build a website?", "stream": true}',
        ...         ContentType="application/json",
        ...     )
        ...     parts = [event["PayloadPart"]["Bytes"] for event in response["Body"]]

    Args:
        endpoints: Endpoint name to configuration.
        host: Interface to bind; loopback by default.
        port: TCP port; 0 picks a free one.
        default: Configuration for any name not in ``endpoints``; ``None`` makes
            unknown names fail with ``ValidationError`` as on real SageMaker.
        max_body_bytes: Largest request body accepted (SageMaker's limit is 6 MB);
            bigger ones get HTTP 413.
        ssl_context: A server-side TLS context to serve HTTPS, as SageMaker does;
            plain HTTP by default.
        replay: Answer every request from a cassette instead (see
            ``docs/cassettes.md``); ``endpoints`` and ``default`` are then unused.
    """

    def __init__(
        self,
        endpoints: Mapping[str, EndpointConfig] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        default: EndpointConfig | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        ssl_context: ssl.SSLContext | None = None,
        replay: Replay | None = None,
    ) -> None:
        self._host = host
        self._ssl_context = ssl_context
        self._port = port
        self._state = EmulatorState(endpoints or {}, default, max_body_bytes)
        self._state.replay = replay
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to pass as ``endpoint_url``, e.g. ``http://127.0.0.1:54321``.

        ``https://`` when the emulator serves TLS; its certificate must name the host.
        """
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        port = self._server.server_address[1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{host}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every invocation received so far, oldest first, updated live."""
        return self._state.requests

    def start(self) -> Emulator:
        """Bind the socket and serve on a daemon thread (no-op when already running)."""
        if self._server is not None:
            return self
        self._state.stop_event.clear()
        server = EmulatorHTTPServer(self._host, self._port, self._state, self._ssl_context)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"sagemaker-emulator-{server.server_address[1]}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: interrupt stalls, close every connection, join the threads.

        Args:
            timeout: Seconds to wait for handler threads before giving up on them
                (they are daemon threads, so they never keep the process alive).
        """
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        self._state.stop_event.set()
        server.shutdown()
        server.close_connections(timeout)
        server.server_close()
        thread.join(timeout)

    def add_endpoint(self, name: str, config: EndpointConfig) -> None:
        """Add or replace an endpoint while running."""
        self._state.add_endpoint(name, config)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no request is being served.

        Returns:
            ``True`` when idle, ``False`` if ``timeout`` seconds passed first.
        """
        return self._state.wait_idle(timeout)

    def client(
        self,
        *,
        read_timeout: float = 60.0,
        connect_timeout: float = 5.0,
        max_pool_connections: int = 64,
        verify: bool | str | None = None,
    ) -> SageMakerRuntimeClient:
        """A boto3 ``sagemaker-runtime`` client for this emulator; see :func:`client_for`."""
        return client_for(
            self.url,
            read_timeout=read_timeout,
            connect_timeout=connect_timeout,
            max_pool_connections=max_pool_connections,
            verify=verify,
        )


def client_for(
    url: str,
    *,
    read_timeout: float = 60.0,
    connect_timeout: float = 5.0,
    max_pool_connections: int = 64,
    verify: bool | str | None = None,
) -> SageMakerRuntimeClient:
    """A boto3 ``sagemaker-runtime`` client for an emulator at ``url``.

    It uses ``us-east-1``, dummy static credentials (nothing is read from the
    environment) and no retries (``total_max_attempts=1``), so a test sees every
    injected error as it is.

    Args:
        url: The emulator's base URL, e.g. ``http://127.0.0.1:8080``.
        read_timeout: Socket read timeout in seconds.
        connect_timeout: Connect timeout in seconds.
        max_pool_connections: Size of botocore's connection pool.
        verify: For an ``https`` emulator: a CA bundle path, or ``False``; as boto3's
            ``verify``.
    """
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id="emulator",
        aws_secret_access_key="emulator",  # noqa: S106 - a dummy, by design
        region_name="us-east-1",
    )
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        read_timeout=read_timeout,
        connect_timeout=connect_timeout,
        max_pool_connections=max_pool_connections,
    )
    return session.client("sagemaker-runtime", endpoint_url=url, config=config, verify=verify)
