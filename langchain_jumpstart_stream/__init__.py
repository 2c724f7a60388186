"""Token-by-token streaming from Amazon SageMaker JumpStart endpoints into LangChain.

The entry points are :class:`JumpStartLLM` and :class:`ChatJumpStart`; errors live in
:mod:`langchain_jumpstart_stream.errors`, the local endpoint emulator in
:mod:`langchain_jumpstart_stream.emulator` and model facts in
:mod:`langchain_jumpstart_stream.registry`. Those are imported on first use, so
``import langchain_jumpstart_stream`` stays cheap.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .chat_models import ChatJumpStart
from .errors import JumpStartStreamError
from .llms import JumpStartLLM

try:
    __version__ = version("langchain-jumpstart-stream")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = ["ChatJumpStart", "JumpStartLLM", "JumpStartStreamError", "__version__"]
