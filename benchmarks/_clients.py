"""The clients under test, all pointed at the same emulator with the same botocore config.

* ``ours``: :class:`~langchain_jumpstart_stream.JumpStartLLM` driven through ``.stream()``.
* ``raw``: a correct hand-written boto3 loop (the baseline of every ratio).
* ``langchain_aws``: langchain-aws ``SagemakerEndpoint`` with a TGI content handler;
  a benchmark-only dependency, imported lazily (``None`` when it is not installed).
* ``floor``: langchain-core's own cost of ``BaseLLM.stream()``, with pre-made chunks.
* ``chat``: :class:`~langchain_jumpstart_stream.ChatJumpStart` on the same TGI endpoint
  (its Messages API), driven through ``.stream()``.
* ``chat_floor``: langchain-core's own cost of ``BaseChatModel.stream()``, pre-made chunks.
* ``raw_async``: what a competent hand-written async client does: aiohttp (the HTTP
  library our async transport uses), botocore's public ``SigV4Auth`` signing, botocore's
  ``EventStreamBuffer``, the same line splitting and ``json.loads`` as ``raw``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult, GenerationChunk, LLMResult
from pydantic import PrivateAttr

if TYPE_CHECKING:
    import aiohttp
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

    from langchain_jumpstart_stream import ChatJumpStart, JumpStartLLM

PROMPT = "How do I build a website?"


def tgi_body(max_new_tokens: int) -> bytes:
    """The request every client sends (``details`` as JumpStartLLM asks for it)."""
    body = {
        "inputs": PROMPT,
        "parameters": {"details": True, "max_new_tokens": max_new_tokens},
        "stream": True,
    }
    return json.dumps(body).encode()


def boto3_client(url: str, *, pool: int = 64) -> SageMakerRuntimeClient:
    """A ``sagemaker-runtime`` client for the emulator (dummy credentials, no retries)."""
    from langchain_jumpstart_stream.emulator import client_for

    return client_for(url, max_pool_connections=pool, read_timeout=120.0)


# -- ours -------------------------------------------------------------------------------


def jumpstart_llm(
    client: SageMakerRuntimeClient, endpoint: str, max_new_tokens: int
) -> JumpStartLLM:
    """``JumpStartLLM`` for a TGI endpoint of the emulator.

    Built as most users build it (endpoint URL, region and keys, the client created by
    the package), with ``client``'s URL and pool size: the package then knows the
    credentials it signs with and signs async calls on the event loop. A boto3 client
    passed in is signed with in a worker thread instead (see docs/transport.md).
    """
    from langchain_jumpstart_stream import JumpStartLLM

    return JumpStartLLM(
        endpoint_name=endpoint,
        stream_format="tgi",
        endpoint_url=client.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="emulator",
        aws_secret_access_key="emulator",
        max_pool_connections=client.meta.config.max_pool_connections,
        read_timeout=client.meta.config.read_timeout,
        model_kwargs={"max_new_tokens": max_new_tokens},
        max_retries=0,
    )


def jumpstart_chat(
    client: SageMakerRuntimeClient, endpoint: str, max_new_tokens: int
) -> ChatJumpStart:
    """``ChatJumpStart`` on the same TGI endpoint, through its Messages API.

    The emulator answers a ``messages`` body with TGI's OpenAI chat chunks over SSE,
    one token per chunk, with the same canned text as the prompt API.
    """
    from langchain_jumpstart_stream import ChatJumpStart

    return ChatJumpStart(
        endpoint_name=endpoint,
        stream_format="tgi",
        use_messages_api=True,
        endpoint_url=client.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="emulator",
        aws_secret_access_key="emulator",
        max_pool_connections=client.meta.config.max_pool_connections,
        read_timeout=client.meta.config.read_timeout,
        max_tokens=max_new_tokens,
        max_retries=0,
    )


# -- raw boto3 ------------------------------------------------------------------------


def _token_text(line: bytes) -> str | None:
    """The visible text of one TGI SSE line (``None`` for blank lines and specials)."""
    if not line.startswith(b"data:"):
        return None
    token = json.loads(line[5:])["token"]  # a prefix cut, not lstrip("data:")
    return None if token["special"] else token["text"]


def raw_boto3_stream(
    client: SageMakerRuntimeClient, endpoint: str, max_new_tokens: int
) -> Iterator[str]:
    """The baseline: iterate PayloadParts, split lines with a buffer, ``json.loads`` each.

    Correct on a real network: lines split across PayloadParts are joined, CRLF is
    accepted, and a last line without a newline is not lost.
    """
    response = client.invoke_endpoint_with_response_stream(
        EndpointName=endpoint, Body=tgi_body(max_new_tokens), ContentType="application/json"
    )
    body = response["Body"]
    buffer = b""
    try:
        for event in body:
            part = event.get("PayloadPart")
            if part is None:
                continue
            data = part["Bytes"]
            if b"\n" not in data:
                buffer += data
                continue
            lines = (buffer + data).split(b"\n")
            buffer = lines.pop()
            for line in lines:
                text = _token_text(line.rstrip(b"\r"))
                if text:
                    yield text
        text = _token_text(buffer.rstrip(b"\r"))
        if text:
            yield text
    finally:
        body.close()


# -- langchain-aws ----------------------------------------------------------------------


def langchain_aws_llm(client: SageMakerRuntimeClient, endpoint: str, max_new_tokens: int) -> Any:
    """langchain-aws ``SagemakerEndpoint`` with a TGI content handler, or ``None``."""
    try:
        from langchain_aws.llms.sagemaker_endpoint import LLMContentHandler, SagemakerEndpoint
    except ImportError:
        return None

    class TGIContentHandler(LLMContentHandler):
        content_type = "application/json"
        accepts = "application/json"

        def transform_input(self, prompt: str, model_kwargs: dict[str, Any]) -> bytes:
            body = {"inputs": prompt, "parameters": {"details": True, **model_kwargs}}
            return json.dumps({**body, "stream": True}).encode()

        def transform_output(self, output: bytes) -> str:
            return _token_text(output.rstrip(b"\r")) or ""

    return SagemakerEndpoint(
        endpoint_name=endpoint,
        client=client,
        content_handler=TGIContentHandler(),
        streaming=True,
        model_kwargs={"max_new_tokens": max_new_tokens},
    )


# -- langchain-core's floor ------------------------------------------------------------


class FloorLLM(BaseLLM):
    """A ``BaseLLM`` whose ``_stream`` yields pre-made chunks: langchain-core's own cost.

    The chunks are a private attribute, not a field: ``stream()`` serialises the
    model's fields once per instance (``_serialized``), and a field holding 100k chunks
    would make that first call cost more than the stream itself.
    """

    _chunks: list[GenerationChunk] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "floor"

    def _generate(self, prompts: list[str], *args: Any, **kwargs: Any) -> LLMResult:
        raise NotImplementedError

    def _stream(
        self, prompt: str, stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[GenerationChunk]:
        for chunk in self._chunks:
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def floor_llm(texts: Sequence[str]) -> FloorLLM:
    """A floor LLM that yields one pre-made chunk per text."""
    llm = FloorLLM()
    llm._chunks = [GenerationChunk(text=text) for text in texts]
    return llm


class FloorChat(BaseChatModel):
    """A ``BaseChatModel`` whose ``_stream`` yields pre-made chunks: langchain-core's cost.

    ``stream()`` sets each chunk's message id and response metadata; :meth:`reset`
    clears them again (outside the timed region), so every run does the work a fresh
    stream does.
    """

    _chunks: list[ChatGenerationChunk] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "floor-chat"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        raise NotImplementedError

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks:
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def reset(self) -> None:
        """Undo what the last ``stream()`` set on the chunks."""
        for chunk in self._chunks:
            chunk.message.id = None
            chunk.message.response_metadata = {}


def floor_chat(texts: Sequence[str]) -> FloorChat:
    """A floor chat model that yields one pre-made chunk per text."""
    chat = FloorChat()
    chat._chunks = [ChatGenerationChunk(message=AIMessageChunk(content=t)) for t in texts]
    return chat


# -- a raw async loop ---------------------------------------------------------------


async def raw_async_stream(
    session: aiohttp.ClientSession, url: str, endpoint: str, max_new_tokens: int
) -> AsyncIterator[str]:
    """The async baseline: aiohttp, botocore signing and event-stream parsing, json.loads.

    Signs every request with ``SigV4Auth`` (as any client must: the signature covers
    the date), reads whatever aiohttp has, feeds botocore's ``EventStreamBuffer`` (which
    checks both CRCs) and splits PayloadPart bytes into lines like :func:`raw_boto3_stream`.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.eventstream import EventStreamBuffer

    body = tgi_body(max_new_tokens)
    target = f"{url}/endpoints/{endpoint}/invocations-response-stream"
    request = AWSRequest("POST", target, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("emulator", "emulator"), "sagemaker", "us-east-1").add_auth(request)
    async with session.post(target, data=body, headers=dict(request.headers.items())) as resp:
        resp.raise_for_status()
        frames = EventStreamBuffer()
        buffer = b""
        async for received in resp.content.iter_any():
            frames.add_data(received)
            for message in frames:
                if message.headers.get(":event-type") != "PayloadPart":
                    continue
                data = message.payload
                if b"\n" not in data:
                    buffer += data
                    continue
                lines = (buffer + data).split(b"\n")
                buffer = lines.pop()
                for line in lines:
                    text = _token_text(line.rstrip(b"\r"))
                    if text:
                        yield text
        text = _token_text(buffer.rstrip(b"\r"))
        if text:
            yield text
