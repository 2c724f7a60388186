"""The clients under test, all pointed at the same emulator with the same botocore config.

* ``ours``: :class:`~langchain_jumpstart_stream.JumpStartLLM` driven through ``.stream()``.
* ``raw``: a correct hand-written boto3 loop (the baseline of every ratio).
* ``langchain_aws``: langchain-aws ``SagemakerEndpoint`` with a TGI content handler;
  a benchmark-only dependency, imported lazily (``None`` when it is not installed).
* ``floor``: langchain-core's own cost of ``BaseLLM.stream()``, with pre-made chunks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseLLM
from langchain_core.outputs import GenerationChunk, LLMResult

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

    from langchain_jumpstart_stream import JumpStartLLM

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
    """A ``BaseLLM`` whose ``_stream`` yields pre-made chunks: langchain-core's own cost."""

    chunks: list[GenerationChunk]

    @property
    def _llm_type(self) -> str:
        return "floor"

    def _generate(self, prompts: list[str], *args: Any, **kwargs: Any) -> LLMResult:
        raise NotImplementedError

    def _stream(
        self, prompt: str, stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[GenerationChunk]:
        for chunk in self.chunks:
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def floor_llm(tokens: int) -> FloorLLM:
    """A floor LLM that yields ``tokens`` one-word chunks."""
    return FloorLLM(chunks=[GenerationChunk(text=" word") for _ in range(tokens)])
