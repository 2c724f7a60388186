"""A Streamlit chat whose answers grow token by token, with a Stop button that really stops.

    streamlit run examples/streamlit_app.py                  # local emulator
    streamlit run examples/streamlit_app.py -- --endpoint-name my-mistral \\
        --model-id huggingface-llm-mistral-7b-instruct --region us-east-1

How Stop works: clicking any button while the script runs makes Streamlit rerun it,
and the running script is interrupted (an exception) at its next call into
Streamlit: here, the next token's redraw. The `with closing(...)` block below then
closes the token stream, which closes the SageMaker stream: the endpoint stops
generating. The rerun finds the partial answer in the session state and keeps it.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

import streamlit as st
from _connect import add_connection_args, connect

from langchain_jumpstart_stream import ChatJumpStart


@st.cache_resource  # one model (and emulator) per server, shared by every session
def open_chat(argv: tuple[str, ...]) -> tuple[ChatJumpStart, contextlib.ExitStack]:
    parser = add_connection_args(argparse.ArgumentParser(), tokens_per_second=15.0)
    args = parser.parse_args(argv)
    # Never exited (and kept referenced, in the cache): the emulator, if any, lives
    # as long as the server.
    stack = contextlib.ExitStack()
    connection = stack.enter_context(connect(args))
    return ChatJumpStart(**connection, model_kwargs={"max_new_tokens": 400}), stack


chat, _ = open_chat(tuple(sys.argv[1:]))  # the arguments after `--`
history: list[dict[str, str]] = st.session_state.setdefault("history", [])

st.title("SageMaker JumpStart chat")
st.caption(f"Streaming from `{chat.endpoint_name}` ({chat.model_id}).")

# The previous run was interrupted by Stop: keep the words that were already shown.
partial = st.session_state.pop("partial", None)
if partial is not None:
    history.append({"role": "assistant", "content": partial, "stopped": "yes"})

for message in history:
    with st.chat_message(message["role"]):
        st.markdown(message["content"] + (" *(stopped)*" if message.get("stopped") else ""))

if question := st.chat_input("Ask something, e.g. How do I build a website?"):
    history.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        st.button("Stop", type="primary")  # a click reruns the script: see the docstring
        placeholder = st.empty()
        answer = st.session_state.partial = ""
        messages = [(m["role"], m["content"]) for m in history]
        with contextlib.closing(chat.stream(messages)) as chunks:
            for chunk in chunks:
                answer += chunk.text
                st.session_state.partial = answer
                placeholder.markdown(answer + "▌")  # Stop interrupts the run here
        del st.session_state.partial
    history.append({"role": "assistant", "content": answer})
    st.rerun()  # redraw without the Stop button
