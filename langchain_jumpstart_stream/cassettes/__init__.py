"""Record real endpoint streams into cassettes; replay them offline through the emulator.

Record once against a real endpoint (or any ``endpoint_url``)::

    from langchain_jumpstart_stream.cassettes import record

    with record("tests/cassettes/hello.jsonl"):
        llm.invoke("Hello")

Replay in CI with no AWS account: the emulator serves the cassette, byte for byte and
at the recorded pace, to an unmodified boto3 client::

    from langchain_jumpstart_stream.cassettes import CassettePlayer

    with CassettePlayer("tests/cassettes/hello.jsonl") as player:
        player.llm(endpoint_name="my-endpoint").invoke("Hello")

The file format, matching and pacing are described in ``docs/cassettes.md``; the
pytest plugin (``jumpstart_cassette`` fixture, ``--jumpstart-record``) builds on these.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..emulator._cassette import Cassette, CassetteFormatError, CassetteRequest, Interaction
from ..emulator._cassette import load as _load
from ..emulator._replay import Cut, Replay
from ..errors import CassetteError
from ._recorder import Recorder, record

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

    from ..chat_models import ChatJumpStart
    from ..emulator import Emulator
    from ..llms import JumpStartLLM

__all__ = [
    "SHIPPED",
    "Cassette",
    "CassettePlayer",
    "CassetteRequest",
    "Interaction",
    "Recorder",
    "Replay",
    "load",
    "record",
    "shipped",
]

_DATA = Path(__file__).parent / "data"
#: The cassettes shipped with the package, one per stream family (see :func:`shipped`).
SHIPPED: tuple[str, ...] = ("tgi-sse", "lmi-jsonlines", "vllm-chat", "sglang-reasoning")
# Model fields that say where and as whom to connect: a replay replaces them all.
_CONNECTION_FIELDS = (
    "client",
    "endpoint_url",
    "region_name",
    "credentials_profile_name",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "verify",
    "config",
)


def shipped(name: str) -> Path:
    """The path of a cassette shipped with the package.

    Args:
        name: One of :data:`SHIPPED`: ``"tgi-sse"`` (TGI server-sent events),
            ``"lmi-jsonlines"`` (DJL/LMI JSON lines), ``"vllm-chat"`` (OpenAI chat
            chunks from LMI/vLLM), ``"sglang-reasoning"`` (SGLang chat chunks with
            ``reasoning_content``).

    Raises:
        CassetteError: Unknown name.
    """
    if name not in SHIPPED:
        raise CassetteError(
            f"no shipped cassette is called {name!r}",
            hint=f"Use one of {', '.join(SHIPPED)}",
        )
    return _DATA / f"{name}.jsonl"


def load(path: str | os.PathLike[str]) -> Cassette:
    """Read a cassette file.

    Raises:
        CassetteError: Missing, unreadable, of a newer version, or malformed; the
            message names the file and line.
    """
    try:
        return _load(path)
    except CassetteFormatError as exc:
        raise CassetteError(str(exc)) from exc


class CassettePlayer:
    """An emulator that answers from one cassette, with models and clients wired to it.

    Args:
        cassette: A cassette file or a loaded :class:`Cassette`.
        match: What must be equal to replay a recorded answer; see :class:`Replay`.
        speed: ``1.0`` the recorded pace, ``2.0`` twice as fast, ``None`` at once.
        cut: ``"recorded"`` network reads, or ``"random"`` re-cuts (with ``seed``).
        seed: Seed of the random cuts.

    Raises:
        CassetteError: The cassette cannot be read, or an option is invalid.
    """

    def __init__(
        self,
        cassette: str | os.PathLike[str] | Cassette,
        *,
        match: Sequence[str] | Callable[[CassetteRequest, CassetteRequest], bool] | None = None,
        speed: float | None = 1.0,
        cut: Cut = "recorded",
        seed: int = 0,
    ) -> None:
        try:
            self.replay = Replay(cassette, match=match, speed=speed, cut=cut, seed=seed)
        except (CassetteFormatError, ValueError) as exc:
            raise CassetteError(str(exc)) from exc
        self._emulator: Emulator | None = None

    def __enter__(self) -> CassettePlayer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> CassettePlayer:
        """Start serving (no-op when already serving)."""
        if self._emulator is None:
            from ..emulator import Emulator

            self._emulator = Emulator(replay=self.replay).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        emulator, self._emulator = self._emulator, None
        if emulator is not None:
            emulator.stop()

    @property
    def emulator(self) -> Emulator:
        """The running emulator."""
        if self._emulator is None:
            raise CassetteError("the cassette player is not running", hint="Call start() first")
        return self._emulator

    @property
    def url(self) -> str:
        """The ``endpoint_url`` of the replaying emulator."""
        return self.emulator.url

    @property
    def misses(self) -> list[str]:
        """Descriptions of the requests no interaction matched."""
        return list(self.replay.misses)

    def client(self) -> SageMakerRuntimeClient:
        """A plain boto3 ``sagemaker-runtime`` client answered by the cassette."""
        return self.emulator.client()

    def llm(self, **kwargs: Any) -> JumpStartLLM:
        """A :class:`~langchain_jumpstart_stream.JumpStartLLM` answered by the cassette.

        ``kwargs`` are the model's fields, as for the live endpoint: where to connect
        (``region_name``, ``endpoint_url``, credentials...) is replaced, the rest kept.
        ``endpoint_name`` defaults to the cassette's, when it holds only one.
        """
        from ..llms import JumpStartLLM

        return JumpStartLLM(**self._model_kwargs(kwargs))

    def chat(self, **kwargs: Any) -> ChatJumpStart:
        """A :class:`~langchain_jumpstart_stream.ChatJumpStart` answered by the cassette."""
        from ..chat_models import ChatJumpStart

        return ChatJumpStart(**self._model_kwargs(kwargs))

    def _model_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in kwargs.items() if k not in _CONNECTION_FIELDS}
        if "endpoint_name" not in kept:
            names = {i.request.endpoint for i in self.replay.cassette.interactions}
            if len(names) != 1:
                raise CassetteError(
                    f"the cassette {self.replay.name} holds {len(names)} endpoints",
                    hint="Pass endpoint_name=...",
                )
            kept["endpoint_name"] = names.pop()
        kept["client"] = self.client()
        return kept
