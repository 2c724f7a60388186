"""Tests of ChatJumpStart, end to end: boto3 -> emulator -> ChatJumpStart."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

QUESTION = "How do I build a website?"


class Recorder(BaseCallbackHandler):
    """What langchain-core reports to callbacks."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.errors: list[BaseException] = []
        self.ends = 0

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors.append(error)

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.ends += 1
