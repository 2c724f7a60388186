"""``ChatJumpStart``: a streaming chat model on a SageMaker JumpStart endpoint.

It shares the wire, the decoder and the errors with :class:`JumpStartLLM`; only the
prompt differs. Either the messages are rendered with the model's own chat
template (Falcon, Mistral ``[INST]``, Llama 3 headers, Rinna ``<NL>``...) and sent
as a text prompt, or, when the container speaks the Messages API (TGI's
``messages`` route, DJL/LMI chat, vLLM), they are sent as an OpenAI-style
``messages`` body, with tools when the container supports them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ToolCallChunk,
    convert_to_openai_messages,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from . import errors
from ._bridge import aiter_in_thread
from ._call import StreamCall
from ._decoder import Piece
from ._endpoint import EndpointSettings

__all__ = ["ChatJumpStart"]

# TGI/LMI parameter names and their OpenAI-style equivalents, for the Messages API.
_OPENAI_NAMES = {"max_new_tokens": "max_tokens", "stop_sequences": "stop"}
_NOT_OPENAI = {"details", "return_full_text", "decoder_input_details", "do_sample"}

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def _message_pairs(messages: Sequence[BaseMessage]) -> list[tuple[str, str]]:
    pairs = []
    for message in messages:
        role = _ROLES.get(message.type)
        if role is None:
            raise errors.ConfigurationError(
                f"a chat-template model cannot take {message.type!r} messages",
                hint="Use a model whose container supports the Messages API for tool messages",
            )
        pairs.append((role, message.text))
    return pairs


def _usage(info: Mapping[str, Any]) -> UsageMetadata | None:
    if "output_tokens" not in info:
        return None
    output = int(info["output_tokens"])
    prompt = int(info.get("input_tokens", 0))
    return UsageMetadata(input_tokens=prompt, output_tokens=output, total_tokens=prompt + output)


def _tool_chunks(raw: list[dict[str, Any]] | None) -> list[ToolCallChunk]:
    chunks = []
    for i, call in enumerate(raw or ()):
        function = call.get("function") or {}
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, str):
            import json

            arguments = json.dumps(arguments)  # some servers send parsed arguments
        chunks.append(
            ToolCallChunk(
                name=function.get("name"),
                args=arguments,
                id=call.get("id"),
                index=call.get("index", i),
            )
        )
    return chunks


class ChatJumpStart(EndpointSettings, BaseChatModel):
    """A SageMaker JumpStart endpoint as a streaming LangChain chat model.

    Example:
        .. code-block:: python

            from langchain_jumpstart_stream import ChatJumpStart

            chat = ChatJumpStart(
                endpoint_name="my-mistral-endpoint",
                model_id="huggingface-llm-mistral-7b-instruct",
                region_name="us-east-1",
            )
            for chunk in chat.stream([("system", "Be brief."), ("human", "Hi!")]):
                print(chunk.content, end="", flush=True)
    """

    streaming: bool = True
    """Go through the stream for ``invoke`` too, so callbacks see every token."""

    use_messages_api: bool | None = None
    """Send OpenAI-style ``messages`` (True) or a prompt rendered with the model's chat
    template (False). ``None`` decides from the model: the Messages API where the
    registry says the container supports it or the stream format is ``"openai"``."""

    tools: list[dict[str, Any]] | None = Field(default=None, exclude=True)
    tool_choice: Any = Field(default=None, exclude=True)

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Serialisable: no field holds a secret (the boto3 client is excluded)."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """``["langchain_jumpstart_stream", "chat_models"]``."""
        return ["langchain_jumpstart_stream", "chat_models"]

    @property
    def _llm_type(self) -> str:
        return "sagemaker-jumpstart-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {**self._endpoint_params(), "messages_api": self._messages_api()}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return self._tracing_params(stop, kwargs, "chat")

    # -- request building ---------------------------------------------------------

    def _messages_api(self) -> bool:
        if self.use_messages_api is not None:
            return self.use_messages_api
        if self.container_profile.stream_format == "openai":
            return True
        spec = self.container_profile.spec
        # The container's own template is exact; ours is a faithful copy. Prefer it.
        return spec is not None and spec.supports_messages_api

    def _call(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        *,
        stream: bool,
    ) -> StreamCall:
        tools = kwargs.pop("tools", None) or self.tools
        tool_choice = kwargs.pop("tool_choice", None) or self.tool_choice
        kwargs.pop("stream", None)  # langchain-core's own flag, not a model parameter
        if self._messages_api():
            params = {
                _OPENAI_NAMES.get(k, k): v
                for k, v in self._parameters(kwargs).items()
                if k not in _NOT_OPENAI
            }
            extra: dict[str, Any] = {}
            if tools:
                extra["tools"] = tools
                if tool_choice is not None:
                    extra["tool_choice"] = tool_choice
            return self._new_call(
                prompt=None,
                messages=convert_to_openai_messages(messages),  # type: ignore[arg-type]
                stop=stop,
                call_kwargs={},
                stream=stream,
                schema="openai-chat",
                parameters=params,
                extra=extra,
            )
        if tools:
            raise self._no_tools_error()
        template = (
            self.container_profile.spec.chat_template if self.container_profile.spec else None
        )
        if template is None:
            raise errors.ConfigurationError(
                "no chat template is known for this model and the Messages API is off",
                endpoint_name=self.endpoint_name,
                hint="Pass a model_id from the registry, or use_messages_api=True",
            )
        from .registry import render_chat

        prompt = render_chat(template, _message_pairs(messages))
        stops = [*(stop or ()), *template.stop_sequences]
        return self._new_call(prompt=prompt, stop=stops, call_kwargs=kwargs, stream=stream)

    def _no_tools_error(self) -> errors.ConfigurationError:
        from .registry import get_model, list_models

        known = list_models(task=None, framework=None, streaming=None, catalog="all")
        able = [m for m in known if get_model(m).supports_tools][:6]
        example = (
            "a model whose container has an OpenAI-style tools API, such as " + ", ".join(able)
            if able
            else "a container with an OpenAI-style tools API (vLLM, or DJL/LMI with tool "
            "calling enabled)"
        )
        return errors.ConfigurationError(
            f"model {self.model_id or self.endpoint_name!r} cannot call tools: its container "
            "takes a text prompt, not OpenAI-style tools",
            endpoint_name=self.endpoint_name,
            hint=f"Use {example}, and set use_messages_api=True if the registry does not know it",
        )

    # -- chunks -------------------------------------------------------------------

    def _chunk(self, piece: Piece, last: bool) -> ChatGenerationChunk:
        message = AIMessageChunk(
            content=piece.text,
            tool_call_chunks=_tool_chunks(piece.tool_calls),
        )
        if last:
            info = piece.info or {}
            message.usage_metadata = _usage(info)
            metadata: dict[str, Any] = {"model_provider": "amazon_sagemaker"}
            if "finish_reason" in info:
                metadata["finish_reason"] = info["finish_reason"]
            metadata["model_name"] = self.model_id or self.endpoint_name
            if "stop_sequence" in info:
                metadata["stop_sequence"] = info["stop_sequence"]
            message.response_metadata = metadata
            message.chunk_position = "last"
        return ChatGenerationChunk(message=message)

    def _chunks(self, batches: Iterator[list[Piece]]) -> Iterator[ChatGenerationChunk]:
        for batch in batches:
            for piece in batch:
                # The decoder's closing piece is the only one with usage info.
                last = piece.info is not None and "output_tokens" in piece.info
                yield self._chunk(piece, last)

    # -- streaming ----------------------------------------------------------------

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = self._call(messages, stop, kwargs, stream=True)
        batches = call.batches()
        try:
            for chunk in self._chunks(batches):
                if run_manager is not None:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
        finally:
            batches.close()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._call(messages, stop, kwargs, stream=True)
        async for piece in aiter_in_thread(call.batches, call.abort):
            last = piece.info is not None and "output_tokens" in piece.info
            chunk = self._chunk(piece, last)
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    # -- whole answers ------------------------------------------------------------

    @staticmethod
    def _result(chunks: list[ChatGenerationChunk]) -> ChatResult:
        texts = [c.message.content for c in chunks]
        tool_chunks = [tc for c in chunks for tc in c.message.tool_call_chunks]  # type: ignore[attr-defined]
        merged = AIMessageChunk(content="".join(t for t in texts if isinstance(t, str)))
        if tool_chunks:
            merged = merged + AIMessageChunk(content="", tool_call_chunks=tool_chunks)
        last = chunks[-1].message if chunks else None
        message = AIMessage(
            content=merged.content,
            tool_calls=merged.tool_calls,
            invalid_tool_calls=merged.invalid_tool_calls,
            usage_metadata=getattr(last, "usage_metadata", None),
            response_metadata=getattr(last, "response_metadata", {}),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            return self._result(list(self._stream(messages, stop, run_manager, **kwargs)))
        call = self._call(messages, stop, kwargs, stream=False)
        pieces, _ = call.complete()
        return self._result(list(self._chunks(iter([pieces]))))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            chunks = [c async for c in self._astream(messages, stop, run_manager, **kwargs)]
            return self._result(chunks)
        call = self._call(messages, stop, kwargs, stream=False)
        pieces, _ = await asyncio.to_thread(call.complete)
        return self._result(list(self._chunks(iter([pieces]))))

    # -- tools --------------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | Literal["auto", "any", "none"] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools in OpenAI format; only for containers with a tools API.

        Args:
            tools: Tools as dicts, pydantic models, functions or ``BaseTool``s.
            tool_choice: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True``
                (must call a tool), or a tool name.
            **kwargs: Passed to ``bind``.

        Raises:
            ConfigurationError: The model's container cannot call tools.
        """
        spec = self.container_profile.spec
        supported = self._messages_api() and (spec is None or spec.supports_tools)
        if not supported:
            raise self._no_tools_error()
        formatted = [convert_to_openai_tool(t) for t in tools]
        choice: Any = tool_choice
        if tool_choice in ("any", True):
            choice = "required"
        elif isinstance(tool_choice, str) and tool_choice not in ("auto", "none", "required"):
            choice = {"type": "function", "function": {"name": tool_choice}}
        if choice is not None:
            kwargs["tool_choice"] = choice
        return super().bind(tools=formatted, **kwargs)
