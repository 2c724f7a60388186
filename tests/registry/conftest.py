"""Fixtures for the registry tests: the loopback SageMaker stand-in and a boto3 client on it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from langchain_jumpstart_stream.registry import _live

from ._standin import StandIn, StandInServer


@pytest.fixture
def standin() -> Iterator[StandIn]:
    stand = StandIn()
    server = StandInServer(stand)
    stand.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def sagemaker_client(standin: StandIn) -> Iterator[Any]:
    client = boto3.client(
        "sagemaker",
        endpoint_url=standin.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(autouse=True)
def _fresh_live_cache() -> Iterator[None]:
    _live.clear_cache()
    yield
    _live.clear_cache()
