"""The whole decode pipeline for one response, from PayloadPart bytes to text pieces.

    payload bytes -> LineDecoder -> RecordParser -> special tokens -> ThinkSplitter
                  -> StopFilter (answer text only) -> Piece

Reasoning the server separated (``delta.reasoning``/``reasoning_content``) and
reasoning written inline between ``<think>`` tags both come out as
:attr:`Piece.reasoning`, never as answer text.

It is shared by the sync and async LLM and the chat model, and does no I/O: the
transport feeds it and acts on :attr:`StreamDecoder.stopped` by closing the
connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._lines import LineDecoder
from ._reasoning import ThinkSplitter
from ._records import Record, RecordParser
from ._stop import StopFilter
from .errors import JumpStartStreamError, MalformedStreamError

__all__ = ["Piece", "StreamDecoder"]

# Delivered text is kept (for errors' partial_text) as blocks of this many pieces:
# a long stream holds a few hundred strings, not a hundred thousand small ones, and
# is never copied whole until an error actually asks for it.
_COMPACT_EVERY = 512

# Never dropped as special tokens: the reasoning splitter needs to see them.
_THINK_TAGS = frozenset(("<think>", "</think>"))


class Piece:
    """Text ready to be shown, with what the container said about it.

    Attributes:
        text: Answer text to deliver (may be "" on the closing piece).
        info: ``generation_info`` for this chunk, or None.
        tool_calls: OpenAI-style tool-call deltas carried by this piece, if any.
        reasoning: Reasoning ("thinking") text carried by this piece ("" if none).
        refusal: Refusal text carried by this piece ("" if none).
    """

    __slots__ = ("info", "reasoning", "refusal", "text", "tool_calls")

    def __init__(
        self,
        text: str,
        info: dict[str, Any] | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        *,
        reasoning: str = "",
        refusal: str = "",
    ) -> None:
        self.text = text
        self.info = info
        self.tool_calls = tool_calls
        self.reasoning = reasoning
        self.refusal = refusal

    def __repr__(self) -> str:
        extra = "".join(
            f", {name}={getattr(self, name)!r}"
            for name in ("reasoning", "refusal")
            if getattr(self, name)
        )
        return f"Piece({self.text!r}, {self.info!r}, {self.tool_calls!r}{extra})"


class StreamDecoder:
    """Decode one streamed response.

    Args:
        stop: Stop sequences to enforce on the client.
        special_tokens: Token texts never to show, even when not flagged special.
        max_line_bytes: Longest line accepted.
        token_details: Attach each token's id and logprob to its piece, as
            one-element lists (``token_ids``, ``token_logprobs``) that langchain-core
            concatenates when it merges chunks.
        model_id: Reported on the closing piece.
        starts_in_thinking: The prompt opened the model's thinking block (the
            template of DeepSeek-R1 distills and Qwen3 thinking models writes
            ``<think>``), so the stream is reasoning until ``</think>``.

    Attributes:
        stopped: A stop sequence was found; stop reading and close the stream.
        error: An error found after some pieces of the same payload were decoded;
            :meth:`feed` returned those pieces and raises this on its next call.
        finish_reason: Why generation ended, once known.
        input_tokens: Prompt tokens reported by the container, if any.
        output_tokens: Generated tokens reported by the container, if any.
        reasoning_tokens: Reasoning tokens among them, where the container says.
        refused: The model sent a refusal.
        tokens_seen: Token records received, special ones included.
        complete: The container's closing record arrived (see ``Record.final``); a
            stream whose format has no closing record is complete at its end.
    """

    __slots__ = (
        "_blocks",
        "_delivered",
        "_ended_on_special",
        "_held_ids",
        "_held_logprobs",
        "_lines",
        "_model_id",
        "_open_ended",
        "_parser",
        "_special",
        "_stop",
        "_think",
        "_token_details",
        "complete",
        "error",
        "finish_reason",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "refused",
        "stopped",
        "tokens_seen",
    )

    def __init__(
        self,
        *,
        stop: Iterable[str] = (),
        special_tokens: Iterable[str] = (),
        max_line_bytes: int = 1 << 20,
        token_details: bool = False,
        model_id: str | None = None,
        starts_in_thinking: bool = False,
    ) -> None:
        self._lines = LineDecoder(max_line_bytes)
        self._think: ThinkSplitter | None = ThinkSplitter(starts_inside=starts_in_thinking)
        self._parser = RecordParser(max_line_bytes)
        self._stop = StopFilter(stop)
        self._special = frozenset(special_tokens)
        self._token_details = token_details
        self._model_id = model_id
        self._delivered: list[str] = []
        self._blocks: list[str] = []
        self._ended_on_special = False
        self._held_ids: list[int | None] = []
        self._held_logprobs: list[float | None] = []
        self.stopped = False
        self.complete = False
        self._open_ended = False
        self.error: JumpStartStreamError | None = None
        self.finish_reason: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.reasoning_tokens: int | None = None
        self.refused = False
        self.tokens_seen = 0

    @property
    def delivered_text(self) -> str:
        """Every piece of text handed out so far, joined."""
        return "".join(self._blocks) + "".join(self._delivered)

    def feed(self, payload: bytes) -> list[Piece]:
        """Decode one PayloadPart; return the pieces ready to deliver.

        Raises:
            ContainerError: The container reported an error in-band.
            MalformedStreamError: The bytes are not a supported stream format.
        """
        if self.error is not None:
            raise self.error
        if self.stopped:
            return []
        pieces: list[Piece] = []
        parser = self._parser
        lines = self._lines
        try:
            for line in lines.feed(payload):
                record = parser.feed_line(line)
                if record is not None:
                    self._take(record, pieces)
                    if self.stopped:
                        break
            if lines.error is not None and not self.stopped:
                raise lines.error
        except JumpStartStreamError as exc:
            # Tokens decoded before the bad record in this same payload still go out
            # first; the error is raised on the next call (see ``error``).
            self.error = exc
            if not pieces:
                raise
        return pieces

    def take(self, record: Record) -> list[Piece]:
        """Decode a record parsed elsewhere (a whole non-streaming answer)."""
        pieces: list[Piece] = []
        self._take(record, pieces)
        return pieces

    def finish(self) -> list[Piece]:
        """The body ended (or the caller stopped at a stop sequence): flush everything.

        The last piece carries ``finish_reason``, token usage and the model id.

        Raises:
            ContainerError: The last, unterminated line was an in-band error.
            MalformedStreamError: The last, unterminated line is malformed.
        """
        if self.error is not None:
            raise self.error
        pieces: list[Piece] = []
        if not self.stopped:
            for line in self._lines.finish():
                record = self._parser.feed_line(line)
                if record is not None:
                    self._take(record, pieces)
            if not self.stopped:
                record = self._parser.finish()
                if record is not None:
                    self._take(record, pieces)
            if self._open_ended:
                self.complete = True  # such a format ends with the body itself
        reasoning = ""
        if self._think is not None and not self.stopped:
            reasoning, answer = self._think.flush()
            if answer:
                answer = self._stop.push(answer)
                if answer:
                    self._deliver(answer)
                    pieces.append(Piece(answer))
        tail = self._stop.flush()
        if tail:
            self._delivered.append(tail)
        closing = Piece(tail, self._closing_info(), reasoning=reasoning)
        pieces.append(closing)
        return pieces

    def _closing_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if self._stop.matched is not None:  # also found at flush time, in held text
            info["finish_reason"] = "stop_sequence"
            info["stop_sequence"] = self._stop.matched
        elif self.refused and self.finish_reason in (None, "stop"):
            info["finish_reason"] = "refusal"
        elif self.finish_reason is not None:
            info["finish_reason"] = self.finish_reason
        elif self._ended_on_special:
            info["finish_reason"] = "eos_token"
        output = self.output_tokens if self.output_tokens is not None else self.tokens_seen
        info["output_tokens"] = output
        if self.reasoning_tokens is not None:
            info["reasoning_tokens"] = self.reasoning_tokens
        if self.input_tokens is not None:
            info["input_tokens"] = self.input_tokens
            info["total_tokens"] = self.input_tokens + output
        if self._model_id:
            info["model_id"] = self._model_id
        if self._held_ids:  # tokens that produced no visible text (EOS, a cut stop)
            info["token_ids"] = self._held_ids
            info["token_logprobs"] = self._held_logprobs
        return info

    def _take(self, record: Record, out: list[Piece]) -> None:
        if record.index:
            raise MalformedStreamError(
                f"the stream carries several choices (a record of choice {record.index}); "
                "this client streams one",
                hint="Ask for one choice (n=1, no best_of/top_n_tokens), or call once per answer",
            )
        final = record.final
        if final or record.done or record.finish_reason is not None:
            self.complete = True
        elif final is None:
            self._open_ended = True
        if record.finish_reason is not None:
            self.finish_reason = record.finish_reason
        if record.input_tokens is not None:
            self.input_tokens = record.input_tokens
        if record.output_tokens is not None:
            self.output_tokens = record.output_tokens
        if record.reasoning_tokens is not None:
            self.reasoning_tokens = record.reasoning_tokens
        text = record.text
        if text or record.token_id is not None:
            self.tokens_seen += 1
        if (record.special or text in self._special) and text not in _THINK_TAGS:
            if self.finish_reason is None and record.token_id is not None:
                # A container that does not send details still ended on EOS.
                self._ended_on_special = True
            text = ""
        else:
            self._ended_on_special = False
        if self._token_details and (record.token_id is not None or record.logprob is not None):
            self._held_ids.append(record.token_id)
            self._held_logprobs.append(record.logprob)
        reasoning = record.reasoning
        think = self._think
        if think is not None:
            if reasoning and not think.tagged:
                # The server separates reasoning itself: its content is all answer.
                early, held = think.flush()
                reasoning = early + reasoning
                text = held + text
                think = self._think = None
            elif text:
                thought, text = think.push(text)
                reasoning = thought + reasoning
        if self._stop and text:
            text = self._stop.push(text)
            if self._stop.matched is not None:
                self.stopped = True
        refusal = record.refusal or ""
        if refusal:
            self.refused = True
        if not text and not record.tool_calls and not reasoning and not refusal:
            return
        info = None
        if self._held_ids:
            # Ids of every token whose text this piece releases (held text included).
            info = {"token_ids": self._held_ids, "token_logprobs": self._held_logprobs}
            self._held_ids = []
            self._held_logprobs = []
        if text:
            self._deliver(text)
        out.append(Piece(text, info, record.tool_calls, reasoning=reasoning, refusal=refusal))

    def _deliver(self, text: str) -> None:
        delivered = self._delivered
        delivered.append(text)
        if len(delivered) >= _COMPACT_EVERY:
            self._blocks.append("".join(delivered))
            delivered.clear()
