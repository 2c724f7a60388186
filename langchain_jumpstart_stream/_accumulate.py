"""``stream()``/``astream()`` whose final answer is built in time linear in its length.

langchain-core's ``BaseLLM.stream()`` adds every chunk to the answer so far
(``generation += chunk``), which copies the whole text on every token, and
``BaseChatModel.stream()`` keeps every ``ChatGenerationChunk`` alive until the end,
so that the garbage collector walks more objects on every collection as the stream
grows (see docs/upstream-langchain-core-quadratic-stream.md). On a 100k-token
stream either costs more than everything else the client does.

``JumpStartLLM`` and ``ChatJumpStart`` override ``stream``/``astream`` with the run
functions below. They open the run exactly as langchain-core does (same callback
manager, run id, tags, metadata, invocation parameters, serialised model), feed
callbacks the same events in the same order, and end the run with an ``LLMResult``
equal to langchain-core's; only the accumulation differs:

* LLM: the texts go into a list and are joined once; ``generation_info`` is merged
  with langchain-core's own chunk addition, once per chunk that has any.
* chat: chunks that carry only text are kept as their text (a ``str`` is not tracked
  by the garbage collector) and runs of them become one chunk at the end; chunks with
  anything else (tool-call pieces, usage, metadata) are kept whole. langchain-core's
  ``merge_chat_generation_chunks`` then merges that short list, so the message is the
  one langchain-core would have built.

Opening the run needs langchain-core internals, listed in ``_INTERNALS``. Outside the
audited langchain-core series (``AUDITED_SERIES``), or when an internal is missing, the
classes fall back to langchain-core's own ``stream``/``astream``;
``tests/e2e/test_linear_stream.py`` fails loudly when the audited methods change within
the series, so the copy is re-checked on every upgrade.
Rare branches are always left to langchain-core: a model that does not stream for
this call (``disable_streaming``, ``streaming=False``) and ``output_version="v1"``.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, cast

import langchain_core
from langchain_core.callbacks import AsyncCallbackManager, CallbackManager
from langchain_core.language_models import chat_models as _lc_chat
from langchain_core.language_models import llms as _lc_llms
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk, LLMResult
from langchain_core.outputs.chat_generation import merge_chat_generation_chunks
from langchain_core.runnables import RunnableConfig, ensure_config

try:  # internals; their absence switches the linear stream off (see SUPPORTED)
    from langchain_core.language_models._utils import (
        _filter_invocation_params_for_tracing,
        _normalize_messages,
    )
    from langchain_core.utils.utils import LC_ID_PREFIX
except ImportError:  # pragma: no cover - another langchain-core
    _IMPORTED = False
else:
    _IMPORTED = True

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel, BaseLLM, LanguageModelInput

__all__ = ["SUPPORTED", "astream_chat", "astream_llm", "stream_chat", "stream_llm"]

# langchain-core internals the run functions call, audited against langchain-core 1.8.3:
# (module, name). Methods of the model classes are checked on BaseLLM / BaseChatModel.
_INTERNALS: tuple[tuple[Any, str], ...] = (
    (_lc_chat, "_format_ls_structured_output"),
    (_lc_chat, "_format_for_tracing"),
    (_lc_chat, "_gen_info_and_msg_metadata"),
    (_lc_chat, "_generate_response_from_error"),
    (_lc_llms.BaseLLM, "_dict_for_compat"),
    (_lc_llms.BaseLLM, "_get_ls_params_with_defaults"),
    (_lc_llms.BaseLLM, "_convert_input"),
    (_lc_llms.BaseLLM, "_serialized"),
    (_lc_chat.BaseChatModel, "_should_stream"),
    (_lc_chat.BaseChatModel, "_get_invocation_params"),
    (_lc_chat.BaseChatModel, "_get_ls_params_with_defaults"),
    (_lc_chat.BaseChatModel, "_serialized"),
)

# The langchain-core minor series whose stream()/astream() the run functions mirror. In
# any other, where those methods may do more (a new callback, another accumulation),
# the classes use langchain-core's own: quadratic on long streams, but never different.
AUDITED_SERIES = (1, 8)


def _series(version: str) -> tuple[int, ...]:
    head = version.split(".")[:2]
    return tuple(int(part) for part in head if part.isdigit())


SUPPORTED = (
    _IMPORTED
    and _series(langchain_core.__version__) == AUDITED_SERIES
    and all(hasattr(owner, name) for owner, name in _INTERNALS)
)
"""Whether this langchain-core is the audited series and has every internal used."""

# Texts are joined into one block every this many chunks: a list of 100k small str
# objects would take about 6 MB where their text takes 0.5 MB.
_COMPACT_EVERY = 256

# Keys merge_dicts does not simply concatenate when both sides are strings.
_SPECIAL_KEYS = frozenset({"index", "id", "output_version", "model_provider"})


# -- accumulation -----------------------------------------------------------------


def _plain_texts(info: dict[str, Any]) -> bool:
    """Whether adding ``info`` only concatenates strings (true of per-token reasoning)."""
    return all(isinstance(v, str) and k not in _SPECIAL_KEYS for k, v in info.items())


def _coalesced(infos: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``infos`` with runs of same-keyed, string-only dicts joined into one dict each.

    Adding such dicts one by one concatenates each key's strings in order, so joining
    them first gives the same sum without copying the text so far on every token.
    """
    out: list[dict[str, Any]] = []
    run: list[dict[str, Any]] = []

    def flush() -> None:
        if run:
            out.append({k: "".join(d[k] for d in run) for k in run[0]})
            run.clear()

    for info in infos:
        if _plain_texts(info) and (not run or info.keys() == run[0].keys()):
            run.append(info)
            continue
        flush()
        if _plain_texts(info):
            run.append(info)
        else:
            out.append(info)
    flush()
    return out


class LLMTotal:
    """The sum of a stream's ``GenerationChunk``s, as ``chunk + chunk + ...`` gives it."""

    __slots__ = ("_blocks", "_count", "_first", "_infos", "_texts")

    def __init__(self) -> None:
        self._first: GenerationChunk | None = None
        self._count = 0
        self._texts: list[str] = []
        self._blocks: list[str] = []
        self._infos: list[dict[str, Any]] = []

    def add(self, chunk: GenerationChunk) -> None:
        """Add the next chunk."""
        if self._first is None:
            self._first = chunk
        self._count += 1
        texts = self._texts
        texts.append(chunk.text)
        if len(texts) >= _COMPACT_EVERY:
            self._blocks.append("".join(texts))
            texts.clear()
        if chunk.generation_info:
            self._infos.append(chunk.generation_info)

    def result(self) -> GenerationChunk | None:
        """The whole generation (``None`` before the first chunk)."""
        if self._first is None or self._count == 1:
            return self._first  # langchain-core's sum of one chunk is that chunk
        info: dict[str, Any] | None = None
        if self._infos:
            parts = [GenerationChunk(text="", generation_info=i) for i in _coalesced(self._infos)]
            info = functools.reduce(operator.add, parts).generation_info
        text = "".join(self._blocks) + "".join(self._texts)
        return GenerationChunk(text=text, generation_info=info or None)


def _text_only(chunk: ChatGenerationChunk, run_id: str) -> str | None:
    """The chunk's text if that is all it adds to the message, else ``None``."""
    message = chunk.message
    if (
        chunk.generation_info is None
        and type(message) is AIMessageChunk
        and type(message.content) is str
        and message.id == run_id
        and not message.additional_kwargs
        and not message.response_metadata
        and not message.tool_call_chunks
        and message.usage_metadata is None
        and message.chunk_position is None
        and message.name is None
    ):
        return message.content
    return None


class ChatTotal:
    """The merge of a stream's ``ChatGenerationChunk``s, as langchain-core merges them."""

    __slots__ = ("_blocks", "_parts", "_run_id", "_texts")

    def __init__(self, run_id: str) -> None:
        self._run_id = run_id
        self._parts: list[ChatGenerationChunk] = []
        # Text-only chunks since the last kept chunk: their texts, joined into blocks
        # every _COMPACT_EVERY chunks (memory stays about the size of the text).
        self._texts: list[str] = []
        self._blocks: list[str] = []

    def add(self, chunk: ChatGenerationChunk) -> None:
        """Add the next chunk (after langchain-core's per-chunk updates)."""
        text = _text_only(chunk, self._run_id)
        if text is None:
            self._flush()
            self._parts.append(chunk)
            return
        texts = self._texts
        texts.append(text)
        if len(texts) >= _COMPACT_EVERY:
            self._blocks.append("".join(texts))
            texts.clear()

    def _flush(self) -> None:
        if self._texts or self._blocks:
            content = "".join(self._blocks) + "".join(self._texts)
            message = AIMessageChunk(content=content, id=self._run_id)
            self._parts.append(ChatGenerationChunk(message=message))
            self._texts = []
            self._blocks = []

    def result(self) -> ChatGenerationChunk | None:
        """The merged generation (``None`` before the first chunk)."""
        self._flush()
        return merge_chat_generation_chunks(self._parts)


# -- JumpStartLLM -----------------------------------------------------------------


def _llm_run(
    model: BaseLLM, input: LanguageModelInput, config: RunnableConfig | None, stop: Any, kw: Any
) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
    """What ``BaseLLM.stream`` computes before it opens the run."""
    prompt = model._convert_input(input).to_string()
    params = {**model._dict_for_compat(), "stop": stop, **kw}
    conf: dict[str, Any] = dict(ensure_config(config))
    ls_params = model._get_ls_params_with_defaults(stop=stop, **kw)
    metadata = {**(conf.get("metadata") or {}), **ls_params}
    configure = (
        conf.get("callbacks"),
        model.callbacks,
        model.verbose,
        conf.get("tags"),
        model.tags,
        metadata,
        model.metadata,
    )
    tracing = _filter_invocation_params_for_tracing(params)
    start = {
        "invocation_params": params,
        "options": {"stop": stop},
        "name": conf.get("run_name"),
        "run_id": conf.pop("run_id", None),
        "batch_size": 1,
    }
    return prompt, {"configure": configure, "tracing": tracing}, model._serialized, start


def stream_llm(
    model: BaseLLM,
    input: LanguageModelInput,
    config: RunnableConfig | None,
    stop: list[str] | None,
    kwargs: dict[str, Any],
) -> Iterator[str]:
    """``BaseLLM.stream`` with a linear-time answer."""
    if not SUPPORTED:
        yield from _lc_llms.BaseLLM.stream(model, input, config, stop=stop, **kwargs)
        return
    prompt, setup, serialized, start = _llm_run(model, input, config, stop, kwargs)
    manager = CallbackManager.configure(
        *setup["configure"], langsmith_inheritable_metadata=setup["tracing"]
    )
    (run_manager,) = manager.on_llm_start(serialized, [prompt], **start)
    total = LLMTotal()
    try:
        for chunk in model._stream(prompt, stop=stop, run_manager=run_manager, **kwargs):
            yield chunk.text
            total.add(chunk)
    except BaseException as e:
        partial = total.result()
        run_manager.on_llm_error(e, response=LLMResult(generations=[[partial]] if partial else []))
        raise
    generation = total.result()
    if generation is None:
        err = ValueError("No generation chunks were returned")
        run_manager.on_llm_error(err, response=LLMResult(generations=[]))
        raise err
    run_manager.on_llm_end(LLMResult(generations=[[generation]]))


async def astream_llm(
    model: BaseLLM,
    input: LanguageModelInput,
    config: RunnableConfig | None,
    stop: list[str] | None,
    kwargs: dict[str, Any],
) -> AsyncGenerator[str, None]:
    """``BaseLLM.astream`` with a linear-time answer."""
    if not SUPPORTED:
        base = _lc_llms.BaseLLM.astream(model, input, config, stop=stop, **kwargs)
        async with aclosing(cast("AsyncGenerator[str, None]", base)) as texts:
            async for text in texts:
                yield text
        return
    prompt, setup, serialized, start = _llm_run(model, input, config, stop, kwargs)
    manager = AsyncCallbackManager.configure(
        *setup["configure"], langsmith_inheritable_metadata=setup["tracing"]
    )
    (run_manager,) = await manager.on_llm_start(serialized, [prompt], **start)
    total = LLMTotal()
    try:
        async for chunk in model._astream(prompt, stop=stop, run_manager=run_manager, **kwargs):
            yield chunk.text
            total.add(chunk)
    except BaseException as e:
        partial = total.result()
        await run_manager.on_llm_error(
            e, response=LLMResult(generations=[[partial]] if partial else [])
        )
        raise
    generation = total.result()
    if generation is None:
        err = ValueError("No generation chunks were returned")
        await run_manager.on_llm_error(err, response=LLMResult(generations=[]))
        raise err
    await run_manager.on_llm_end(LLMResult(generations=[[generation]]))


# -- ChatJumpStart ----------------------------------------------------------------


def _chat_run(
    model: BaseChatModel,
    input: LanguageModelInput,
    config: RunnableConfig | None,
    stop: Any,
    kw: dict[str, Any],
) -> tuple[list[Any], dict[str, Any], Any, dict[str, Any]]:
    """What ``BaseChatModel.stream`` computes before it opens the run (pops from ``kw``)."""
    conf: dict[str, Any] = dict(ensure_config(config))
    messages = model._convert_input(input).to_messages()
    structured = kw.pop("ls_structured_output_format", None) or kw.pop(
        "structured_output_format", None
    )
    structured_dict = _lc_chat._format_ls_structured_output(structured)
    params = model._get_invocation_params(stop=stop, **kw)
    options = {"stop": stop, **{k: params[k] for k in kw if k in params}, **structured_dict}
    ls_params = model._get_ls_params_with_defaults(stop=stop, **kw)
    metadata = {**(conf.get("metadata") or {}), **ls_params}
    configure = (
        conf.get("callbacks"),
        model.callbacks,
        model.verbose,
        conf.get("tags"),
        model.tags,
        metadata,
        model.metadata,
    )
    tracing = _filter_invocation_params_for_tracing(params)
    start = {
        "invocation_params": params,
        "options": options,
        "name": conf.get("run_name"),
        "run_id": conf.pop("run_id", None),
        "batch_size": 1,
    }
    setup = {"configure": configure, "tracing": tracing}
    return messages, setup, model._serialized, start


def _linear_chat(model: BaseChatModel, kwargs: dict[str, Any], *, async_api: bool) -> bool:
    """Whether this call streams, with output v0: else langchain-core's ``stream`` runs.

    A model that does not stream this call (``disable_streaming``, ``streaming=False``)
    is answered by ``invoke``; ``output_version="v1"`` rewrites every chunk's content.
    Both are rare and langchain-core's own code handles them.
    """
    if not SUPPORTED or model.output_version == "v1":
        return False
    return model._should_stream(async_api=async_api, **{**kwargs, "stream": True})


def _prepared(chunk: ChatGenerationChunk, run_id: str) -> ChatGenerationChunk:
    """The per-chunk updates ``BaseChatModel.stream`` makes before callbacks see it."""
    if chunk.message.id is None:
        chunk.message.id = run_id
    chunk.message.response_metadata = _lc_chat._gen_info_and_msg_metadata(chunk)
    return chunk


def _closing(last: ChatGenerationChunk | None, run_id: str) -> AIMessageChunk | None:
    """The empty ``chunk_position="last"`` chunk langchain-core adds, if one is due."""
    if last is None or not isinstance(last.message, AIMessageChunk):
        return None
    if last.message.chunk_position:
        return None
    content: str | list[str | dict[str, Any]] = "" if isinstance(last.message.content, str) else []
    return AIMessageChunk(content=content, chunk_position="last", id=run_id)


def _error_response(e: BaseException, total: ChatTotal) -> LLMResult:
    error_generations = _lc_chat._generate_response_from_error(e)
    partial = total.result()
    if partial:
        return LLMResult(generations=[[partial], error_generations])
    return LLMResult(generations=[error_generations])


def stream_chat(
    model: BaseChatModel,
    input: LanguageModelInput,
    config: RunnableConfig | None,
    stop: list[str] | None,
    kwargs: dict[str, Any],
) -> Iterator[AIMessageChunk]:
    """``BaseChatModel.stream`` with a linear-time answer; langchain-core's for the rest."""
    if not _linear_chat(model, kwargs, async_api=False):
        yield from _lc_chat.BaseChatModel.stream(model, input, config, stop=stop, **kwargs)
        return
    messages, setup, serialized, start = _chat_run(model, input, config, stop, kwargs)
    manager = CallbackManager.configure(
        *setup["configure"], langsmith_inheritable_metadata=setup["tracing"]
    )
    tracing_messages = [_lc_chat._format_for_tracing(messages)]
    (run_manager,) = manager.on_chat_model_start(serialized, tracing_messages, **start)
    run_id = f"{LC_ID_PREFIX}-{run_manager.run_id}"
    total = ChatTotal(run_id)
    if model.rate_limiter:
        model.rate_limiter.acquire(blocking=True)
    try:
        normalized = _normalize_messages(messages)
        last: ChatGenerationChunk | None = None
        for last in model._stream(normalized, stop=stop, **kwargs):
            chunk = _prepared(last, run_id)
            run_manager.on_llm_new_token(chunk.message.content, chunk=chunk)
            total.add(chunk)
            yield chunk.message  # type: ignore[misc]
        closing = _closing(last, run_id)
        if closing is not None:
            run_manager.on_llm_new_token("", chunk=ChatGenerationChunk(message=closing))
            yield closing
    except BaseException as e:
        run_manager.on_llm_error(e, response=_error_response(e, total))
        raise
    generation = total.result()
    if generation is None:
        err = ValueError("No generation chunks were returned")
        run_manager.on_llm_error(err, response=LLMResult(generations=[]))
        raise err
    run_manager.on_llm_end(LLMResult(generations=[[generation]]))


async def astream_chat(
    model: BaseChatModel,
    input: LanguageModelInput,
    config: RunnableConfig | None,
    stop: list[str] | None,
    kwargs: dict[str, Any],
) -> AsyncGenerator[AIMessageChunk, None]:
    """``BaseChatModel.astream`` with a linear-time answer; langchain-core's for the rest."""
    if not _linear_chat(model, kwargs, async_api=True):
        base = _lc_chat.BaseChatModel.astream(model, input, config, stop=stop, **kwargs)
        async with aclosing(cast("AsyncGenerator[AIMessageChunk, None]", base)) as chunks:
            async for message in chunks:
                yield message
        return
    messages, setup, serialized, start = _chat_run(model, input, config, stop, kwargs)
    manager = AsyncCallbackManager.configure(
        *setup["configure"], langsmith_inheritable_metadata=setup["tracing"]
    )
    tracing_messages = [_lc_chat._format_for_tracing(messages)]
    (run_manager,) = await manager.on_chat_model_start(serialized, tracing_messages, **start)
    if model.rate_limiter:
        await model.rate_limiter.aacquire(blocking=True)
    run_id = f"{LC_ID_PREFIX}-{run_manager.run_id}"
    total = ChatTotal(run_id)
    try:
        normalized = _normalize_messages(messages)
        last: ChatGenerationChunk | None = None
        async for last in model._astream(normalized, stop=stop, **kwargs):
            chunk = _prepared(last, run_id)
            await run_manager.on_llm_new_token(chunk.message.content, chunk=chunk)
            total.add(chunk)
            yield chunk.message  # type: ignore[misc]
        closing = _closing(last, run_id)
        if closing is not None:
            await run_manager.on_llm_new_token("", chunk=ChatGenerationChunk(message=closing))
            yield closing
    except BaseException as e:
        await run_manager.on_llm_error(e, response=_error_response(e, total))
        raise
    generation = total.result()
    if generation is None:
        err = ValueError("No generation chunks were returned")
        await run_manager.on_llm_error(err, response=LLMResult(generations=[]))
        raise err
    await run_manager.on_llm_end(LLMResult(generations=[[generation]]))
