"""One emulator per test module, and a boto3 client for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from langchain_jumpstart_stream.emulator import Emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def client(emu: Emulator) -> Any:
    return emu.client()
