"""Token-by-token streaming from Amazon SageMaker JumpStart endpoints into LangChain.

The entry points are :class:`JumpStartLLM` and :class:`ChatJumpStart`; errors live
in :mod:`langchain_jumpstart_stream.errors`, the local endpoint emulator in
:mod:`langchain_jumpstart_stream.emulator` and model facts in
:mod:`langchain_jumpstart_stream.registry`.

Exports load on first use, so ``import langchain_jumpstart_stream`` costs almost
nothing and a process that only needs the LLM never imports the chat-model stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._targets import Target
    from .chat_models import ChatJumpStart
    from .errors import JumpStartStreamError
    from .llms import JumpStartLLM

__version__ = "0.1.0"  # keep in step with pyproject.toml (a test checks)

_EXPORTS = {
    "ChatJumpStart": ".chat_models",
    "JumpStartLLM": ".llms",
    "JumpStartStreamError": ".errors",
    "Target": "._targets",
}

__all__ = ["ChatJumpStart", "JumpStartLLM", "JumpStartStreamError", "Target", "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
