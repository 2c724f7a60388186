"""``JumpStartLLM``: a LangChain LLM that streams tokens from a SageMaker endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM, LangSmithParams
from langchain_core.outputs import Generation, GenerationChunk, LLMResult

from ._call import StreamCall
from ._choices import check_one_choice
from ._decoder import Piece
from ._endpoint import EndpointSettings
from ._param_names import merge_parameters
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


def _usage(info: dict[str, Any]) -> dict[str, int]:
    return {k: info[k] for k in ("input_tokens", "output_tokens", "total_tokens") if k in info}


class JumpStartLLM(EndpointSettings, BaseLLM):
    """A SageMaker JumpStart endpoint as a streaming LangChain LLM.

    Every token reaches ``on_llm_new_token`` callbacks as it arrives, also inside
    chains, agents and ``invoke``/``batch`` (with ``streaming=True``, the default).

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
    """Go through the stream for ``invoke``/``generate`` too, so callbacks see tokens.
    With False, use ``InvokeEndpoint`` and parse the whole answer."""

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
        return {**self._endpoint_params(), "streaming": self.streaming}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return self._tracing_params(stop, kwargs, "llm")

    # -- requests -----------------------------------------------------------------

    def _request(
        self, prompt: str, stop: list[str] | None, kwargs: dict[str, Any], *, stream: bool
    ) -> StreamCall:
        """One request for ``prompt``; a stream that opens inside ``<think>`` is read so."""
        profile = self.container_profile
        parameters, stops = merge_parameters(
            profile.request_schema, (profile.default_parameters, self.model_kwargs, kwargs)
        )
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
        )

    # -- streaming ----------------------------------------------------------------

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
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

    # -- whole answers ------------------------------------------------------------

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations = []
        for prompt in prompts:
            total = _Aggregate()
            if self.streaming:
                for chunk in self._stream(prompt, stop, run_manager, **kwargs):
                    total.add(Piece(chunk.text, chunk.generation_info))
            else:
                call = self._request(prompt, stop, kwargs, stream=False)
                pieces, _ = call.complete()
                for piece in pieces:
                    total.add(piece)
            generations.append([total.generation()])
        return self._result(generations)

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        async def one(prompt: str) -> list[Generation]:
            total = _Aggregate()
            if self.streaming:
                async for chunk in self._astream(prompt, stop, run_manager, **kwargs):
                    total.add(Piece(chunk.text, chunk.generation_info))
            else:
                call = self._request(prompt, stop, kwargs, stream=False)
                pieces, _ = await call.acomplete()
                for piece in pieces:
                    total.add(piece)
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
