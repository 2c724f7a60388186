"""pytest plugin: replay cassettes in your test suite, record them from a live endpoint.

Installed with the package and loaded by pytest through the ``pytest11`` entry point.
A test asks for the ``jumpstart_cassette`` fixture and builds its models from it::

    @pytest.mark.jumpstart_cassette("greeting")
    def test_greeting(jumpstart_cassette):
        llm = jumpstart_cassette.llm(endpoint_name="my-endpoint", region_name="us-east-1")
        assert "Hello" in llm.invoke("Say hello")

By default the cassette (``cassettes/<module>.<test>.jsonl`` next to the test file,
or the marker's name) is replayed by a local emulator: no AWS account, no network.
``pytest --jumpstart-record`` (or ``JUMPSTART_RECORD=1``) records the cassettes that
are missing from the live endpoint the test names, and replays the others;
``--jumpstart-record=all`` records them all again. See ``docs/cassettes.md``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from pluggy import Result

    from .cassettes import CassettePlayer, Recorder
    from .chat_models import ChatJumpStart
    from .llms import JumpStartLLM

__all__ = ["CassetteHandle"]

_MODES = ("none", "missing", "all")
_ENV = "JUMPSTART_RECORD"
_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The plugin's command-line options."""
    group = parser.getgroup("jumpstart-stream", "SageMaker JumpStart cassettes")
    group.addoption(
        "--jumpstart-record",
        nargs="?",
        const="missing",
        default=None,
        choices=_MODES,
        dest="jumpstart_record",
        help="record missing cassettes from the live endpoint (=all: record every one "
        f"again; =none: replay only, the default). Also ${_ENV}=1|missing|all.",
    )
    group.addoption(
        "--jumpstart-cassette-dir",
        default=None,
        dest="jumpstart_cassette_dir",
        help="folder of the cassettes (default: a 'cassettes' folder next to each test file)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, and check the record mode once."""
    config.addinivalue_line(
        "markers",
        "jumpstart_cassette(name=None, *, match=None, speed=1.0, cut='recorded', seed=0, "
        "redact_prompts=False): the cassette the jumpstart_cassette fixture replays or records",
    )
    _record_mode(config)


def _record_mode(config: pytest.Config) -> str:
    option = config.getoption("jumpstart_record", None)
    if option:
        return str(option)
    raw = os.environ.get(_ENV, "").strip().lower()
    value = {"": "none", "0": "none", "false": "none", "1": "missing", "true": "missing"}.get(
        raw, raw
    )
    if value not in _MODES:
        raise pytest.UsageError(f"{_ENV}={raw!r} is not one of 1, 0, {', '.join(_MODES)}")
    return value


# An old-style wrapper: it works on every pytest that has the stash (7.0 and later).
@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Result[pytest.TestReport], None]:
    """Keep each phase's report: teardown needs to know whether the test passed."""
    outcome = yield
    report = outcome.get_result()
    item.stash.setdefault(_reports, {})[report.when] = report


class CassetteHandle:
    """What the ``jumpstart_cassette`` fixture gives a test.

    Build models from it with the live endpoint's settings: when replaying, where
    to connect (region, ``endpoint_url``, credentials) is replaced by the local
    emulator; when recording, they are used as given.

    Attributes:
        path: The cassette file.
        recording: Whether this test records (``True``) or replays (``False``).
    """

    def __init__(
        self, path: Path, *, player: CassettePlayer | None, recorder: Recorder | None
    ) -> None:
        self.path = path
        self.recording = recorder is not None
        self._player = player
        self._recorder = recorder

    def llm(self, **kwargs: Any) -> JumpStartLLM:
        """A :class:`~langchain_jumpstart_stream.JumpStartLLM` for this cassette."""
        if self._player is not None:
            return self._player.llm(**kwargs)
        from .llms import JumpStartLLM

        return JumpStartLLM(**kwargs)

    def chat(self, **kwargs: Any) -> ChatJumpStart:
        """A :class:`~langchain_jumpstart_stream.ChatJumpStart` for this cassette."""
        if self._player is not None:
            return self._player.chat(**kwargs)
        from .chat_models import ChatJumpStart

        return ChatJumpStart(**kwargs)

    def client(self) -> SageMakerRuntimeClient:
        """A plain boto3 ``sagemaker-runtime`` client that the cassette answers.

        Raises:
            CassetteError: While recording: only the package's models are recorded.
        """
        if self._player is None:
            from .errors import CassetteError

            raise CassetteError(
                "plain boto3 calls are not recorded",
                hint="Record through jumpstart_cassette.llm(...) or .chat(...); replaying "
                "the cassette then serves client() too",
            )
        return self._player.client()

    @property
    def misses(self) -> list[str]:
        """Requests the cassette had no answer for (always empty while recording)."""
        return [] if self._player is None else self._player.misses


def _cassette_path(request: pytest.FixtureRequest, name: Any) -> Path:
    if name is None:
        test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
        name = f"{request.node.path.stem}.{test}"
    path = Path(name)
    if path.suffix != ".jsonl":
        path = path.with_name(path.name + ".jsonl")
    if path.is_absolute():
        return path
    folder = request.config.getoption("jumpstart_cassette_dir", None)
    base = Path(folder) if folder else request.node.path.parent / "cassettes"
    return base / path


@pytest.fixture
def jumpstart_cassette(request: pytest.FixtureRequest) -> Iterator[CassetteHandle]:
    """Models and clients answered by this test's cassette, or recorded into it.

    The ``jumpstart_cassette`` marker names the cassette and sets the replay
    options (``match``, ``speed``, ``cut``, ``seed``) or ``redact_prompts`` for
    recording. A request the cassette cannot answer fails with a clear error, and
    fails the test at teardown even if the code under test swallowed it.
    """
    from . import _recording
    from .cassettes import CassettePlayer, Recorder

    marker = request.node.get_closest_marker("jumpstart_cassette")
    args: tuple[Any, ...] = marker.args if marker else ()
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    redact = bool(options.pop("redact_prompts", False))
    path = _cassette_path(request, options.pop("name", args[0] if args else None))
    mode = _record_mode(request.config)
    if mode == "all" or (mode == "missing" and not path.exists()):
        recorder = Recorder(path, redact_prompts=redact, note=f"recorded by {request.node.nodeid}")
        token = _recording.active.set(recorder)
        try:
            yield CassetteHandle(path, player=None, recorder=recorder)
        finally:
            _recording.active.reset(token)
            if recorder.cassette.interactions:  # never an empty cassette for a failed setup
                recorder.save()
        return
    if not path.exists():
        pytest.fail(
            f"no cassette at {path}: record it once with `pytest --jumpstart-record` "
            f"(or {_ENV}=1) against the live endpoint, then commit it",
            pytrace=False,
        )
    with CassettePlayer(path, **options) as player:
        handle = CassetteHandle(path, player=player, recorder=None)
        yield handle
    call = request.node.stash.get(_reports, {}).get("call")
    if handle.misses and call is not None and call.passed:
        pytest.fail(
            f"{len(handle.misses)} request(s) found no answer in the cassette:\n"
            + "\n".join(handle.misses),
            pytrace=False,
        )
