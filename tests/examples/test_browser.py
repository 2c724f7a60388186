"""The chat UIs in a real headless Chromium: the answer grows, and Stop really stops.

Each app is started as a user starts it (`python examples/gradio_app.py`,
`streamlit run examples/streamlit_app.py`), pointed at a slowly paced endpoint of
the session's emulator, so the test can see whether SageMaker's stream was closed.
Chromium is Debian's (`apt-get install chromium`), driven by Playwright; Playwright's
own browser downloads are never used. The Gradio test saves docs/screenshot-chat.png.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from langchain_jumpstart_stream.emulator import (
    WEBSITE_ANSWER,
    Emulator,
    EndpointConfig,
    RecordedRequest,
)

from .conftest import EXAMPLES, FALCON, ROOT, App, endpoint_args, wait_for_request

# Screenshots go to docs/ (shown in the README) only when asked, so that a test run
# leaves the working tree clean: UPDATE_SCREENSHOTS=1 make test-browser


def _screenshot_path(name: str, tmp_path: Path) -> str:
    folder = ROOT / "docs" if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    return str(folder / name)


pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
QUESTION = "How do I build a website?"  # the emulator's longest canned answer
PACE = 15.0  # tokens per second: ~13 s for the whole answer


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                # Only the app on loopback: anything else (fonts, CDNs) fails at once.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        )
        yield chromium
        chromium.close()


def watch_growth(
    page: object, read: Callable[[], str], count: int = 4, length: int = 0
) -> list[str]:
    """Poll the answer until it has grown through `count` states (and to `length`).

    A state counts when it is longer than the last one counted: Markdown can shrink
    the text for a moment (a "1." turning into a list item drops the digit).
    """
    states: list[str] = []
    for _ in range(200):  # 20 s at most
        page.wait_for_timeout(100)  # type: ignore[attr-defined]  # lets Playwright work
        text = read()
        if text and (not states or len(text) > len(states[-1])):
            states.append(text)
        if len(states) >= count and len(states[-1]) >= length:
            break
    assert len(states) >= count, f"the answer did not grow: {states}"
    return states


def assert_stopped(
    page: object,
    read: Callable[[], str],
    request: RecordedRequest,
    settled: Callable[[], bool],
) -> str:
    """Once the UI `settled`, the text no longer grows; the client closed its stream."""
    for _ in range(100):  # 10 s at most
        if settled():
            break
        page.wait_for_timeout(100)  # type: ignore[attr-defined]
    assert settled(), "the UI did not leave its generating state"
    stopped = read()
    page.wait_for_timeout(1500)  # type: ignore[attr-defined]  # 20+ tokens' worth
    assert read() == stopped, "the answer kept growing after Stop"
    assert request.done.wait(10), "the SageMaker stream was not closed"
    assert request.client_disconnected
    assert request.tokens_sent < 120  # of ~190: generation stopped early
    return stopped


def test_gradio_answer_grows_and_stop_stops_generation(
    tmp_path: Path,
    browser: object,
    emulator: Emulator,
    endpoint: Callable[..., str],
    requests_to: Callable[[str], list[RecordedRequest]],
    start_app: Callable[..., App],
) -> None:
    name = "falcon-7b-instruct"  # a readable name for the screenshot
    emulator.add_endpoint(
        name, EndpointConfig(stream_format="tgi", model_id=FALCON, tokens_per_second=PACE)
    )
    app = start_app(
        sys.executable,
        str(EXAMPLES / "gradio_app.py"),
        "--port",
        "{port}",
        *endpoint_args(emulator, name),
    )
    page = browser.new_page(viewport={"width": 1000, "height": 720})  # type: ignore[attr-defined]
    page.goto(app.url)
    box = page.get_by_test_id("textbox")
    box.fill(QUESTION)
    box.press("Enter")

    bot = page.get_by_test_id("bot").last
    # Long enough for the screenshot to show the answer's first steps, with Stop.
    states = watch_growth(page, lambda: bot.inner_text() if bot.count() else "", length=170)
    assert WEBSITE_ANSWER.startswith(states[0].strip()[:20])
    page.screenshot(path=_screenshot_path("screenshot-chat.png", tmp_path))

    stop_button = page.get_by_role("button", name="Stop", exact=True)
    stop_button.click()
    wait_for_request(lambda: requests_to(name))
    stopped = assert_stopped(  # and the UI is ready for the next question
        page, bot.inner_text, requests_to(name)[-1], lambda: stop_button.count() == 0
    )
    assert len(stopped) >= len(states[-1])
    assert len(stopped) < len(WEBSITE_ANSWER) / 2
    page.close()


def test_streamlit_answer_grows_and_stop_stops_generation(
    tmp_path: Path,
    browser: object,
    emulator: Emulator,
    endpoint: Callable[..., str],
    requests_to: Callable[[str], list[RecordedRequest]],
    start_app: Callable[..., App],
) -> None:
    name = endpoint(stream_format="tgi", model_id=FALCON, tokens_per_second=PACE)
    streamlit = Path(sys.executable).with_name("streamlit")
    app = start_app(
        str(streamlit),
        "run",
        str(EXAMPLES / "streamlit_app.py"),
        "--server.headless=true",
        "--server.address=127.0.0.1",
        "--server.port={port}",
        "--browser.gatherUsageStats=false",
        "--",
        *endpoint_args(emulator, name),
    )
    page = browser.new_page(viewport={"width": 1000, "height": 720})  # type: ignore[attr-defined]
    page.goto(app.url)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(QUESTION)
    box.press("Enter")

    answer = page.get_by_test_id("stChatMessage").nth(1)
    text = answer.get_by_test_id("stMarkdownContainer").last

    def read() -> str:
        return text.inner_text() if text.count() else ""

    states = watch_growth(page, read)
    answer.get_by_role("button", name="Stop").click()  # ours, not Streamlit's own (header)
    wait_for_request(lambda: requests_to(name))
    # The rerun keeps the partial answer, marked as stopped.
    stopped = assert_stopped(
        page, read, requests_to(name)[-1], lambda: read().endswith("(stopped)")
    )
    assert len(stopped) < len(WEBSITE_ANSWER) / 2
    assert stopped.removesuffix(" (stopped)").startswith(states[-1].rstrip("▌"))
    page.screenshot(path=_screenshot_path("screenshot-streamlit.png", tmp_path))
    page.close()


def test_gradio_shows_a_reasoning_models_thinking_apart(
    browser: object,
    emulator: Emulator,
    requests_to: Callable[[str], list[RecordedRequest]],
    start_app: Callable[..., App],
) -> None:
    """An R1 distill's thinking: a collapsible "Thinking" message, then the answer apart."""
    model_id = "deepseek-llm-r1-distill-qwen-7b"  # its template opens <think> itself
    name = "r1-distill"
    emulator.add_endpoint(name, EndpointConfig.for_model(model_id, tokens_per_second=60))
    app = start_app(
        sys.executable,
        str(EXAMPLES / "gradio_app.py"),
        "--port",
        "{port}",
        *endpoint_args(emulator, name, model_id=model_id),
    )
    page = browser.new_page(viewport={"width": 1000, "height": 720})  # type: ignore[attr-defined]
    page.goto(app.url)
    box = page.get_by_test_id("textbox")
    box.fill(QUESTION)
    box.press("Enter")
    thinking = page.get_by_text("Thinking", exact=False).first
    thinking.wait_for(timeout=20_000)
    wait_for_request(lambda: requests_to(name))
    assert requests_to(name)[-1].done.wait(30)
    page.get_by_role("button", name="Stop", exact=True).wait_for(state="detached", timeout=20_000)
    bots = page.get_by_test_id("bot")
    answer = bots.last.inner_text()
    assert answer.strip()
    assert "<think>" not in answer and "</think>" not in answer
    assert "Thinking" in page.inner_text("body")
    page.close()
