"""``JumpStartLLM``: a LangChain LLM that streams tokens from a SageMaker endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM, LangSmithParams, LanguageModelInput
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from langchain_core.runnables import Runnable, RunnableConfig

from ._accumulate import astream_llm, stream_llm
from ._call import StreamCall
from ._choices import check_one_choice
from ._decoder import Piece
from ._endpoint import EndpointSettings
from ._thinking import starts_in_thinking

__all__ = ["JumpStartLLM"]


# Text fields of generation_info that add up over a stream, as langchain-core merges them.
_TEXT_INFO = ("reasoning_content", "refusal")


def _chunk(piece: Piece) -> GenerationChunk:
    info = piece.info
    if piece.reasoning or piece.refusal:
        info = dict(info or {})
        if piece.reasoning:
            info["reasoning_content"] = piece.reasoning
        if piece.refusal:
            info["refusal"] = piece.refusal
    return GenerationChunk(text=piece.text, generation_info=info)


def _merge_info(total: dict[str, Any], info: dict[str, Any] | None) -> None:
    """Merge generation_info in linear time (langchain-core's merge copies lists)."""
    if not info:
        return
    for key, value in info.items():
        if isinstance(value, list) and isinstance(total.get(key), list):
            total[key].extend(value)
        elif isinstance(value, list):
            total[key] = list(value)
        elif key in _TEXT_INFO:
            total.setdefault(key, []).append(value)
        else:
            total[key] = value


class _Aggregate:
    """Collects a whole answer from pieces without quadratic concatenation."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.info: dict[str, Any] = {}

    def add(self, piece: Piece) -> None:
        self.texts.append(piece.text)
        _merge_info(self.info, _chunk(piece).generation_info)

    def generation(self) -> Generation:
        info = self.info
        for key in _TEXT_INFO:
            if key in info:
                info[key] = "".join(info[key])
        return Generation(text="".join(self.texts), generation_info=info or None)

    def chunk(self) -> GenerationChunk:
        return GenerationChunk(text="".join(self.texts), generation_info=self.info or None)


def _usage(info: dict[str, Any]) -> dict[str, int]:
    return {k: info[k] for k in ("input_tokens", "output_tokens", "total_tokens") if k in info}


class JumpStartLLM(EndpointSettings, BaseLLM):
    """A SageMaker JumpStart endpoint as a streaming LangChain LLM.

    Every token reaches ``on_llm_new_token`` callbacks as it arrives, also inside
    chains, agents and ``invoke``/``batch``. ``disable_streaming=True``,
    ``streaming=False`` or ``stream=False`` per call get each answer whole, through
    ``InvokeEndpoint``. ``batch`` and ``abatch`` run their prompts concurrently,
    at most ``max_concurrency`` (from the runnable config) or ``max_pool_connections``
    at a time.

    Example:
        .. code-block:: python

            from langchain_jumpstart_stream import JumpStartLLM

            llm = JumpStartLLM(
                endpoint_name="my-falcon-endpoint",
                model_id="huggingface-llm-falcon-7b-instruct-bf16",
                region_name="us-east-1",
                model_kwargs={"max_new_tokens": 256},
            )
            for token in llm.stream("How do I build a website?"):
                print(token, end="", flush=True)

    Errors are raised as subclasses of
    :class:`~langchain_jumpstart_stream.errors.JumpStartStreamError`.
    """

    streaming: bool = True
    """LangChain's switch: ``False`` gets whole answers (``InvokeEndpoint``), for
    ``invoke`` and ``stream`` alike; ``True`` streams, and ``invoke`` goes through the
    stream too so that callbacks see every token."""

    disable_streaming: bool | Literal["tool_calling"] = False
    """As on LangChain chat models: ``True`` makes ``stream``/``astream`` yield the whole
    answer as one chunk, from ``InvokeEndpoint``, and ``invoke`` use it too.
    (``"tool_calling"`` is accepted for symmetry; an LLM binds no tools.)"""

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Serialisable: no field holds a secret (the boto3 client is excluded)."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """``["langchain_jumpstart_stream", "llms"]``."""
        return ["langchain_jumpstart_stream", "llms"]

    @property
    def _llm_type(self) -> str:
        return "sagemaker-jumpstart"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            **self._endpoint_params(),
            "streaming": self.streaming,
            "disable_streaming": self.disable_streaming,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return self._tracing_params(stop, kwargs, "llm")

    # -- requests -----------------------------------------------------------------

    def _request(
        self, prompt: str, stop: list[str] | None, kwargs: dict[str, Any], *, stream: bool
    ) -> StreamCall:
        """One request for ``prompt``; a stream that opens inside ``<think>`` is read so."""
        profile = self.container_profile
        kwargs = dict(kwargs)
        options = self._take_call_options(kwargs)  # request members, stream switches
        parameters, stops = self._merged_parameters(kwargs)
        check_one_choice(
            parameters, lmi=profile.request_schema == "lmi", endpoint_name=self.endpoint_name
        )
        opens = starts_in_thinking(
            prompt=prompt,
            spec=profile.spec,
            parameters=parameters,
            server_template=profile.request_schema == "openai-chat",
        )
        return self._new_call(
            prompt=prompt,
            stop=[*(stop or ()), *stops],
            call_kwargs={},
            parameters=parameters,
            stream=stream,
            starts_in_thinking=opens,
            options=options,
        )

    # -- streaming ----------------------------------------------------------------

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[str]:
        """``BaseLLM.stream``, with the final answer built in linear time.

        Callbacks, tracing and the run's result are langchain-core's; see ``_accumulate``.
        """
        return stream_llm(
            self, input, config, stop, self._affinity(config, kwargs)
        )  # a generator: nothing runs yet

    def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[str]:
        """``BaseLLM.astream``, with the final answer built in linear time."""
        return astream_llm(
            self, input, config, stop, self._affinity(config, kwargs)
        )  # an async generator

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        if self._whole_answer_only(kwargs):
            yield self._whole(prompt, stop, kwargs).chunk()
            return
        call = self._request(prompt, stop, kwargs, stream=True)
        pieces = call.pieces()
        try:
            for piece in pieces:
                chunk = _chunk(piece)
                if run_manager is not None and run_manager.handlers:
                    run_manager.on_llm_new_token(piece.text, chunk=chunk)
                yield chunk
        finally:
            pieces.close()  # a consumer that stops early closes the HTTP stream now

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        if self._whole_answer_only(kwargs):
            yield (await self._awhole(prompt, stop, kwargs)).chunk()
            return
        call = self._request(prompt, stop, kwargs, stream=True)
        batches = call.abatches()
        try:
            async for batch in batches:
                for piece in batch:
                    chunk = _chunk(piece)
                    # With no handler attached the callback is a no-op, but not a free one.
                    if run_manager is not None and run_manager.handlers:
                        await run_manager.on_llm_new_token(piece.text, chunk=chunk)
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
    ) -> list[str]:
        """Answer every input concurrently, each as its own run with its own callbacks.

        At most ``max_concurrency`` (from ``config``; ``max_pool_connections`` if
        unset) calls are in flight at a time, in a thread pool. (``BaseLLM.batch``
        would send all prompts through one ``generate``, one after the other.)

        Args:
            inputs: Prompts.
            config: One config for all inputs, or one per input.
            return_exceptions: Return errors in place of answers instead of raising.
            **kwargs: Per-call arguments, as for ``invoke``.

        Returns:
            The answers, in the order of ``inputs``.
        """
        if not inputs:
            return []
        bounded = self._bounded_configs(config, len(inputs))
        return Runnable.batch(self, inputs, bounded, return_exceptions=return_exceptions, **kwargs)

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[str]:
        """:meth:`batch` for asyncio: concurrent on the event loop, bounded the same way.

        Args:
            inputs: Prompts.
            config: One config for all inputs, or one per input.
            return_exceptions: Return errors in place of answers instead of raising.
            **kwargs: Per-call arguments, as for ``ainvoke``.

        Returns:
            The answers, in the order of ``inputs``.
        """
        if not inputs:
            return []
        bounded = self._bounded_configs(config, len(inputs))
        return await Runnable.abatch(
            self, inputs, bounded, return_exceptions=return_exceptions, **kwargs
        )

    # -- whole answers ------------------------------------------------------------

    def _whole(self, prompt: str, stop: list[str] | None, kwargs: dict[str, Any]) -> _Aggregate:
        """One whole answer through ``InvokeEndpoint``."""
        call = self._request(prompt, stop, kwargs, stream=False)
        pieces, _ = call.complete()
        total = _Aggregate()
        for piece in pieces:
            total.add(piece)
        return total

    async def _awhole(
        self, prompt: str, stop: list[str] | None, kwargs: dict[str, Any]
    ) -> _Aggregate:
        """:meth:`_whole` for asyncio."""
        call = self._request(prompt, stop, kwargs, stream=False)
        pieces, _ = await call.acomplete()
        total = _Aggregate()
        for piece in pieces:
            total.add(piece)
        return total

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations = []
        for prompt in prompts:
            if not self._stream_operation(kwargs):
                generations.append([self._whole(prompt, stop, kwargs).generation()])
                continue
            total = _Aggregate()
            for chunk in self._stream(prompt, stop, run_manager, **kwargs):
                total.add(Piece(chunk.text, chunk.generation_info))
            generations.append([total.generation()])
        return self._result(generations)

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        # The pool size bounds a large agenerate(), as max_concurrency bounds abatch().
        slots = asyncio.Semaphore(self.max_pool_connections)

        async def one(prompt: str) -> list[Generation]:
            async with slots:
                if not self._stream_operation(kwargs):
                    return [(await self._awhole(prompt, stop, kwargs)).generation()]
                total = _Aggregate()
                async for chunk in self._astream(prompt, stop, run_manager, **kwargs):
                    total.add(Piece(chunk.text, chunk.generation_info))
                return [total.generation()]

        generations = await asyncio.gather(*(one(p) for p in prompts))
        return self._result(list(generations))

    def _result(self, generations: Sequence[list[Generation]]) -> LLMResult:
        usage: dict[str, int] = {}
        for (generation,) in generations:
            for key, value in _usage(generation.generation_info or {}).items():
                usage[key] = usage.get(key, 0) + value
        llm_output = {"token_usage": usage, "model_id": self.model_id}
        llm_output["endpoint_name"] = self.endpoint_name
        return LLMResult(generations=list(generations), llm_output=llm_output)
