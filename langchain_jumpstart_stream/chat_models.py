"""``ChatJumpStart``: a streaming chat model on a SageMaker JumpStart endpoint.

It shares the wire, the decoder and the errors with :class:`JumpStartLLM`; only the
prompt differs. Either the messages are rendered with the model's own chat
template (Falcon, Mistral ``[INST]``, Llama 3 headers, Rinna ``<NL>``...) and sent
as a text prompt, or, when the container speaks the Messages API (TGI's
``messages`` route, DJL/LMI chat, vLLM), they are sent as an OpenAI-style
``messages`` body, with tools when the container supports them.

Each decoder :class:`~._decoder.Piece` becomes one ``AIMessageChunk``; the closing
piece becomes the ``chunk_position="last"`` chunk that carries the usage, the finish
reason and the model name. Tool-call deltas become ``tool_call_chunks``, normalised
by :class:`~._tool_calls.ToolCallDeltas` so that langchain-core's merge builds valid calls from
any container's stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, Literal, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import (
    BaseChatModel,
    LangSmithParams,
    LanguageModelInput,
    ModelProfile,
)
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    convert_to_openai_messages,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import model_validator
from typing_extensions import Self

from . import errors
from ._accumulate import astream_chat, stream_chat
from ._call import StreamCall
from ._choices import check_one_choice
from ._decoder import Piece
from ._endpoint import EndpointSettings
from ._thinking import starts_in_thinking
from ._tool_calls import ToolCallDeltas, ToolChoice, merged_tool_calls, openai_tool_choice

__all__ = ["ChatJumpStart"]

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}
_PROVIDER = "amazon_sagemaker"

StructuredMethod = Literal["function_calling", "json_schema", "json_mode"]


def _message_pairs(messages: Sequence[BaseMessage]) -> list[tuple[str, str]]:
    """``(role, text)`` pairs for a chat template; tool traffic needs the Messages API."""
    pairs: list[tuple[str, str]] = []
    for message in messages:
        role = _ROLES.get(message.type)
        if isinstance(message, ChatMessage) and message.role in ("system", "user", "assistant"):
            role = message.role
        calls = isinstance(message, AIMessage) and bool(message.tool_calls)
        if _has_image(message):
            raise errors.ConfigurationError(
                "a chat template has no place for images",
                hint="Use a vision model whose container takes the Messages API "
                "(registry entries with vision=True), or use_messages_api=True",
            )
        if role is None or calls:
            what = "tool calls" if calls else f"{message.type!r} messages"
            raise errors.ConfigurationError(
                f"a chat template has no place for {what}",
                hint="Use a container with the Messages API and tools (use_messages_api=True)",
            )
        pairs.append((role, str(message.text)))
    return pairs


def _has_image(message: BaseMessage) -> bool:
    content = message.content
    return isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") in ("image", "image_url") for b in content
    )


def _without_reasoning(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The conversation without earlier answers' reasoning, which is never sent back."""
    out: list[BaseMessage] = []
    for message in messages:
        if isinstance(message, AIMessage):
            content = message.content
            if isinstance(content, list):
                content = [
                    b
                    for b in content
                    if not (isinstance(b, dict) and b.get("type") in ("reasoning", "thinking"))
                ]
            extra = {k: v for k, v in message.additional_kwargs.items() if k != "reasoning_content"}
            if content is not message.content or extra != message.additional_kwargs:
                message = message.model_copy(
                    update={"content": content, "additional_kwargs": extra}
                )
        out.append(message)
    return out


def _usage(info: Mapping[str, Any]) -> UsageMetadata | None:
    """Usage when the container reported the prompt's size, else ``None``.

    Some containers (LMI's text route) never report input tokens. A zero there
    would be summed into cost dashboards as if true, so the usage is left out and
    the generated count goes to ``response_metadata["output_tokens"]`` instead.
    """
    prompt = info.get("input_tokens")
    if not isinstance(prompt, int):
        return None
    output = int(info.get("output_tokens", 0))
    usage: dict[str, Any] = {
        "input_tokens": prompt,
        "output_tokens": output,
        "total_tokens": prompt + output,
    }
    if isinstance(info.get("reasoning_tokens"), int):
        usage["output_token_details"] = {"reasoning": info["reasoning_tokens"]}
    # cast: mypy targets Python 3.10, where langchain-core's NotRequired keys look required.
    return cast("UsageMetadata", usage)


class _Chunks:
    """Builds the ``ChatGenerationChunk``s of one call from decoder pieces."""

    __slots__ = ("_model_name", "_tools")

    def __init__(self, model_name: str) -> None:
        self._model_name = model_name
        self._tools = ToolCallDeltas()

    def __call__(self, piece: Piece) -> ChatGenerationChunk:
        extra: dict[str, Any] = {}
        if piece.reasoning:  # langchain-core turns this into a "reasoning" content block
            extra["reasoning_content"] = piece.reasoning
        if piece.refusal:  # langchain-openai's convention
            extra["refusal"] = piece.refusal
        message = AIMessageChunk(
            content=piece.text,
            additional_kwargs=extra,
            tool_call_chunks=self._tools.chunks(piece.tool_calls),
        )
        info = piece.info
        if info is None or "output_tokens" not in info:  # only the closing piece has it
            return ChatGenerationChunk(message=message, generation_info=info)
        metadata: dict[str, Any] = {"model_name": self._model_name, "model_provider": _PROVIDER}
        for key in ("finish_reason", "stop_sequence", "jumpstart"):
            if key in info:
                metadata[key] = info[key]
        message.usage_metadata = _usage(info)
        if message.usage_metadata is None:
            metadata["output_tokens"] = info["output_tokens"]
        message.response_metadata = metadata
        message.chunk_position = "last"
        details = {k: info[k] for k in ("token_ids", "token_logprobs") if k in info}
        return ChatGenerationChunk(message=message, generation_info=details or None)


def _result(chunks: Sequence[ChatGenerationChunk]) -> ChatResult:
    """One ``AIMessage`` from a whole stream, in time linear in its length."""
    text = "".join(c.text for c in chunks)
    tool_chunks = [tc for c in chunks for tc in getattr(c.message, "tool_call_chunks", ())]
    tool_calls, invalid = merged_tool_calls(tool_chunks) if tool_chunks else ([], [])
    last = chunks[-1].message if chunks else AIMessage(content="")
    extra: dict[str, Any] = {}
    for key in ("reasoning_content", "refusal"):
        parts = [c.message.additional_kwargs.get(key) or "" for c in chunks]
        if any(parts):
            extra[key] = "".join(parts)
    message = AIMessage(
        content=text,
        additional_kwargs=extra,
        tool_calls=tool_calls,
        invalid_tool_calls=invalid,
        usage_metadata=getattr(last, "usage_metadata", None),
        response_metadata=last.response_metadata,
    )
    return ChatResult(generations=[ChatGeneration(message=message)])


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

    Errors are raised as subclasses of
    :class:`~langchain_jumpstart_stream.errors.JumpStartStreamError`, carrying the
    text delivered before a stream broke in ``partial_text``.
    """

    streaming: bool = True
    """LangChain's switch: ``False`` gets whole answers (``InvokeEndpoint``), for
    ``invoke`` and ``stream`` alike, as ``disable_streaming=True`` does. ``True``
    streams, and ``invoke`` goes through the stream too so that callbacks see every
    token (``stream=False`` per call, or ``disable_streaming``, turn that off)."""

    use_messages_api: bool | None = None
    """Send OpenAI-style ``messages`` (True) or a prompt rendered with the model's chat
    template (False). ``None`` decides from the model: the Messages API where the
    registry says the container supports it or the stream format is ``"openai"``."""

    supports_tools: bool | None = None
    """Whether the container accepts OpenAI-style tools (for example LMI or vLLM
    started with tool calling on); True also selects the Messages API. ``None`` asks
    the registry; without a known model, a Messages-API container is assumed to."""

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Serialisable: secrets become references, the boto3 client is excluded."""
        return True

    @model_validator(mode="after")
    def _profile_from_registry(self) -> Self:
        # langchain-core's own validator may run before the container profile is
        # resolved (and swallows the error); this one runs after it.
        if self.profile is None:
            self.profile = self._resolve_model_profile()
        return self

    def _resolve_model_profile(self) -> ModelProfile | None:
        """What the model can do, from the registry and the fields that override it.

        Tool calling and tool choice need a container with a tools API; structured
        output needs that or the Messages API's JSON grammar. Image inputs, reasoning
        output and the context length come from the registry's spec; without a spec
        they are left out rather than guessed, except what a chat template rules out
        (images on a text prompt).
        """
        messages_api = self._messages_api()
        tools = self._tools_supported()
        profile = ModelProfile(
            text_inputs=True,
            text_outputs=True,
            tool_calling=tools,
            tool_choice=tools,
            structured_output=tools or messages_api,
        )
        spec = self.container_profile.spec
        if not messages_api:
            profile["image_inputs"] = False  # a rendered prompt is text only
        elif spec is not None:
            profile["image_inputs"] = spec.vision
        if spec is not None:
            profile["reasoning_output"] = spec.reasoning
            if spec.context_length:
                profile["max_input_tokens"] = spec.context_length
            if spec.display_name:
                profile["name"] = spec.display_name
        return profile

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
        if self.supports_tools or self.container_profile.stream_format == "openai":
            return True
        spec = self.container_profile.spec
        return spec is not None and spec.supports_messages_api

    def _tools_supported(self) -> bool:
        if not self._messages_api():
            return False
        if self.supports_tools is not None:
            return self.supports_tools
        spec = self.container_profile.spec
        return spec is None or spec.supports_tools

    def _call(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        *,
        stream: bool,
    ) -> StreamCall:
        kwargs = dict(kwargs)
        options = self._take_call_options(kwargs)  # request members, stream switches
        tools = kwargs.pop("tools", None)
        tool_choice = kwargs.pop("tool_choice", None)
        check_one_choice(
            self._parameters(kwargs),
            lmi=self.container_profile.request_schema == "lmi" and not self._messages_api(),
            endpoint_name=self.endpoint_name,
        )
        if self._messages_api():
            params, found = self._merged_parameters(kwargs, "openai-chat")
            stops = [*(stop or ()), *found]  # one list, enforced on the client too
            if tools:
                params["tools"] = tools
                if tool_choice is not None:
                    params["tool_choice"] = tool_choice
            return self._new_call(
                prompt=None,
                messages=convert_to_openai_messages(_without_reasoning(messages)),
                stop=stops,
                call_kwargs={},
                stream=stream,
                schema="openai-chat",
                parameters=params,
                template_stops=False,  # the server applies its own template
                starts_in_thinking=starts_in_thinking(
                    prompt=None,
                    spec=self.container_profile.spec,
                    parameters=params,
                    server_template=True,
                ),
                options=options,
            )
        if tools or "response_format" in kwargs:
            raise self._no_tools_error()
        spec = self.container_profile.spec
        template = spec.chat_template if spec is not None else None
        if template is None:
            raise errors.ConfigurationError(
                "no chat template is known for this model and the Messages API is off",
                endpoint_name=self.endpoint_name,
                hint="Pass a model_id from the registry, or use_messages_api=True",
            )
        from .registry import render_chat

        prompt = render_chat(template, _message_pairs(messages))
        # The registry's stops are the template's; add them here only for a spec that
        # the profile did not take its stops from (an overriding stream_format).
        known = self.container_profile.stop_sequences
        params, found = self._merged_parameters(kwargs)
        stops = [*(stop or ()), *found, *(s for s in template.stop_sequences if s not in known)]
        opens = starts_in_thinking(prompt=prompt, spec=spec, parameters={}, server_template=False)
        return self._new_call(
            prompt=prompt,
            stop=stops,
            call_kwargs={},
            parameters=params,
            stream=stream,
            starts_in_thinking=opens,
            options=options,
        )

    def _no_tools_error(self) -> errors.ConfigurationError:
        from .registry import get_model, list_models

        known = list_models(task=None, framework=None, streaming=None, catalog="all")
        able = [m for m in known if get_model(m).supports_tools]
        if able:
            shown = ", ".join(able[:6]) + (", ..." if len(able) > 6 else "")
            where = f"a model whose container has an OpenAI-style tools API: {shown}"
        else:
            where = (
                "a container with an OpenAI-style tools API (vLLM or DJL/LMI started with "
                "tool calling on; no model in the registry is known to have it by default) "
                "and pass supports_tools=True"
            )
        name = self.model_id or self.endpoint_name
        if self._messages_api():
            why = (
                "its container is not known to serve OpenAI-style tools (the registry "
                "marks it supports_tools=False)"
            )
            if able:
                where += "; or, if this endpoint has tool calling on, pass supports_tools=True"
        else:
            why = "its requests are rendered prompts, not OpenAI-style messages with tools"
        return errors.ConfigurationError(
            f"model {name!r} cannot call tools or follow a JSON schema here: {why}",
            endpoint_name=self.endpoint_name,
            hint=f"Use {where}",
        )

    def _model_name(self, kwargs: Mapping[str, Any]) -> str:
        return str(kwargs.get("model") or self.model_id or self.endpoint_name)

    # -- streaming ----------------------------------------------------------------

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        """``BaseChatModel.stream``, with the final message built in linear time.

        Callbacks, tracing and the run's result are langchain-core's; see ``_accumulate``.
        """
        return stream_chat(
            self, input, config, stop, self._affinity(config, kwargs)
        )  # a generator: nothing runs yet

    def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """``BaseChatModel.astream``, with the final message built in linear time."""
        return astream_chat(
            self, input, config, stop, self._affinity(config, kwargs)
        )  # an async generator

    def _as_output(self, chunk: ChatGenerationChunk) -> ChatGenerationChunk:
        """The chunk as callbacks should see it: standard content blocks with v1.

        langchain-core converts what it streams itself; this covers the tokens that
        ``invoke`` streams through our own callbacks.
        """
        if self.output_version != "v1":
            return chunk
        blocks = chunk.message.content_blocks
        message = chunk.message.model_copy(update={"content": blocks})
        return ChatGenerationChunk(message=message, generation_info=chunk.generation_info)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = self._call(messages, stop, kwargs, stream=True)
        chunk_of = _Chunks(self._model_name(kwargs))
        pieces = call.pieces()
        try:
            for piece in pieces:
                chunk = chunk_of(piece)
                if run_manager is not None and run_manager.handlers:
                    run_manager.on_llm_new_token(chunk.text, chunk=self._as_output(chunk))
                yield chunk
        finally:
            pieces.close()  # a consumer that stops early closes the HTTP stream now

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._call(messages, stop, kwargs, stream=True)
        chunk_of = _Chunks(self._model_name(kwargs))
        batches = call.abatches()
        try:
            async for batch in batches:
                for piece in batch:
                    chunk = chunk_of(piece)
                    # With no handler attached the callback is a no-op, but not a free one.
                    if run_manager is not None and run_manager.handlers:
                        await run_manager.on_llm_new_token(chunk.text, chunk=self._as_output(chunk))
                    yield chunk
        finally:
            await batches.aclose()  # a break or a cancel closes the HTTP stream now

    # -- batches ------------------------------------------------------------------

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Answer every input concurrently, at most ``max_concurrency`` at a time.

        ``max_concurrency`` comes from ``config``; unset, it is ``max_pool_connections``.

        Args:
            inputs: Conversations or prompts.
            config: One config for all inputs, or one per input.
            return_exceptions: Return errors in place of answers instead of raising.
            **kwargs: Per-call arguments, as for ``invoke``.

        Returns:
            The answers, in the order of ``inputs``.
        """
        bounded = self._bounded_configs(config, len(inputs)) if inputs else config
        return super().batch(inputs, bounded, return_exceptions=return_exceptions, **kwargs)

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """:meth:`batch` for asyncio: concurrent on the event loop, bounded the same way.

        Args:
            inputs: Conversations or prompts.
            config: One config for all inputs, or one per input.
            return_exceptions: Return errors in place of answers instead of raising.
            **kwargs: Per-call arguments, as for ``ainvoke``.

        Returns:
            The answers, in the order of ``inputs``.
        """
        bounded = self._bounded_configs(config, len(inputs)) if inputs else config
        return await super().abatch(inputs, bounded, return_exceptions=return_exceptions, **kwargs)

    # -- whole answers ------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._stream_operation(kwargs):
            return _result(list(self._stream(messages, stop, run_manager, **kwargs)))
        call = self._call(messages, stop, kwargs, stream=False)
        pieces, _ = call.complete()
        chunk_of = _Chunks(self._model_name(kwargs))
        return _result([chunk_of(piece) for piece in pieces])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._stream_operation(kwargs):
            chunks = [c async for c in self._astream(messages, stop, run_manager, **kwargs)]
            return _result(chunks)
        call = self._call(messages, stop, kwargs, stream=False)
        pieces, _ = await call.acomplete()
        chunk_of = _Chunks(self._model_name(kwargs))
        return _result([chunk_of(piece) for piece in pieces])

    # -- tools and structured output ----------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: ToolChoice = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools in OpenAI format; only for containers with a tools API.

        Args:
            tools: Tools as dicts, pydantic models, functions or ``BaseTool``s.
            tool_choice: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True``
                (must call a tool; with one tool, that tool by name), a tool's name,
                or an OpenAI ``tool_choice`` dict.
            strict: Ask for strict schema adherence, where the server supports it.
            **kwargs: Passed to ``bind`` (e.g. ``parallel_tool_calls``).

        Raises:
            ConfigurationError: The model's container cannot call tools.
            ValueError: ``tool_choice`` names a tool that is not bound.
        """
        if not self._tools_supported():
            raise self._no_tools_error()
        formatted = [convert_to_openai_tool(t, strict=strict) for t in tools]
        names = [t["function"]["name"] for t in formatted]
        choice = openai_tool_choice(tool_choice, names)
        if choice is not None:
            kwargs["tool_choice"] = choice
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: StructuredMethod = "function_calling",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """A runnable that answers with an instance of ``schema``.

        Args:
            schema: A pydantic class, ``TypedDict``, JSON schema or OpenAI tool schema.
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead.
            method: ``"function_calling"`` forces a call to a tool made from
                ``schema``; ``"json_schema"`` constrains the answer's text with the
                container's JSON grammar (``response_format``: OpenAI's ``json_schema``
                for vLLM and LMI, TGI's ``json`` grammar for TGI); ``"json_mode"``
                asks only for some JSON object, so the prompt must describe it.
            strict: Ask for strict schema adherence, where the server supports it.
            **kwargs: Not supported; raises ``ValueError``.

        Raises:
            ConfigurationError: The container has no tools or JSON-grammar API.
            ValueError: Unknown ``method`` or extra arguments.
        """
        if kwargs:
            raise ValueError(f"Received unsupported arguments {kwargs}")
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        ls_format = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
        llm: Runnable[LanguageModelInput, Any]
        parser: Runnable[Any, Any]
        if method == "function_calling":
            tool = convert_to_openai_tool(schema, strict=strict)
            name = tool["function"]["name"]
            llm = self.bind_tools([tool], tool_choice=name, ls_structured_output_format=ls_format)
            if is_pydantic:
                parser = PydanticToolsParser(tools=[schema], first_tool_only=True)
            else:
                parser = JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        elif method in ("json_schema", "json_mode"):
            if not self._messages_api():
                raise self._no_tools_error()
            json_schema = convert_to_json_schema(schema) if method == "json_schema" else None
            response_format = self._response_format(json_schema, strict)
            llm = self.bind(response_format=response_format, ls_structured_output_format=ls_format)
            if is_pydantic:
                parser = PydanticOutputParser(pydantic_object=schema)
            else:
                parser = JsonOutputParser()
        else:
            raise ValueError(
                f"method must be 'function_calling', 'json_schema' or 'json_mode', not {method!r}"
            )
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parsed.with_fallbacks(
            [fallback], exception_key="parsing_error"
        )

    def _response_format(
        self, schema: dict[str, Any] | None, strict: bool | None
    ) -> dict[str, Any]:
        """``response_format`` in the container's dialect; ``None`` asks for any JSON object."""
        spec = self.container_profile.spec
        if self.container_profile.stream_format == "tgi" or (
            spec is not None and spec.container == "tgi"
        ):
            return {"type": "json", "value": schema or {"type": "object"}}  # TGI's grammar
        if schema is None:
            return {"type": "json_object"}
        json_schema: dict[str, Any] = {"name": schema.get("title") or "output", "schema": schema}
        if strict is not None:
            json_schema["strict"] = strict
        return {"type": "json_schema", "json_schema": json_schema}
