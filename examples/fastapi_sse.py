"""Relay an endpoint's tokens to browsers as server-sent events, with FastAPI.

    python examples/fastapi_sse.py                 # local emulator, http://127.0.0.1:8000
    uvicorn --app-dir examples fastapi_sse:app     # the same (configure with env vars)
    python examples/fastapi_sse.py --endpoint-name my-falcon --region us-east-1

Then open http://127.0.0.1:8000/ or run `curl -N "http://127.0.0.1:8000/stream?q=Hi"`.

Each token is one `data:` event (JSON-encoded, so newlines survive), followed by
`event: done` (with the token count) or `event: error`. When the browser goes away
(closed tab, EventSource.close(), Ctrl-C on curl), the generator below stops and
closes `llm.astream()`, which closes the SageMaker stream at once: the endpoint
does not go on generating for nobody.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator

from _connect import add_connection_args, connect, instruct_prompt
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent

from langchain_jumpstart_stream import JumpStartLLM
from langchain_jumpstart_stream.errors import JumpStartStreamError

PAGE = """<!doctype html>
<meta charset="utf-8"><title>JumpStart SSE</title>
<form id="ask"><input id="q" size="60" value="How do I build a website?">
<button>Ask</button> <button type="button" id="stop">Stop</button></form>
<pre id="answer" style="white-space: pre-wrap"></pre>
<script>
let source = null;
const answer = document.getElementById("answer");
document.getElementById("ask").onsubmit = (event) => {
  event.preventDefault();
  if (source) source.close();
  answer.textContent = "";
  source = new EventSource("/stream?q=" + encodeURIComponent(document.getElementById("q").value));
  source.onmessage = (e) => { answer.textContent += JSON.parse(e.data); };
  source.addEventListener("done", () => source.close());
  source.addEventListener("error", () => source.close());
};
// Closing the EventSource closes the HTTP connection: the server stops the model.
document.getElementById("stop").onclick = () => { if (source) source.close(); };
</script>
"""


def create_app(args: argparse.Namespace) -> FastAPI:
    """The app; the endpoint (or an emulator) is opened for the app's lifetime."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with connect(args) as connection:
            app.state.llm = JumpStartLLM(**connection, model_kwargs={"max_new_tokens": 400})
            app.state.prompt = instruct_prompt(args.model_id, "{question}")
            yield

    app = FastAPI(title="JumpStart token relay", lifespan=lifespan)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    @app.get("/stream", response_class=EventSourceResponse)
    async def stream(q: str, request: Request) -> AsyncIterator[ServerSentEvent]:
        llm: JumpStartLLM = request.app.state.llm
        prompt = request.app.state.prompt.format(question=q)
        tokens = 0
        # Closing `answer` (leaving this block) closes the SageMaker stream.
        async with contextlib.aclosing(llm.astream(prompt)) as answer:
            try:
                async for token in answer:
                    # Most servers make FastAPI cancel this generator on a disconnect,
                    # while it waits here for a token. Some only say so when asked
                    # (uvicorn 0.30 does): ask before sending each token.
                    if await request.is_disconnected():
                        return
                    if token:
                        tokens += 1
                        yield ServerSentEvent(data=token)
            except JumpStartStreamError as exc:  # tell the browser; what it has is kept
                yield ServerSentEvent(event="error", data={"message": str(exc)})
                return
        yield ServerSentEvent(event="done", data={"tokens": tokens})

    return app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    return add_connection_args(parser)


# For `uvicorn --app-dir examples fastapi_sse:app`: settings from the environment.
app = create_app(_parser().parse_args([]))


if __name__ == "__main__":
    import uvicorn

    arguments = _parser().parse_args()
    uvicorn.run(create_app(arguments), host=arguments.host, port=arguments.port)
