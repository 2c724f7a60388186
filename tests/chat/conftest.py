"""Fixtures for ChatJumpStart tests: models on the session's emulator, real boto3 between."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """The root fixture's dummy credentials, except in a live run of the standard suite."""
    if os.environ.get("JUMPSTART_LIVE_CHAT_ENDPOINT"):
        return  # test_standard.py talks to a real endpoint with the real credentials
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
