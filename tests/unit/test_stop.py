"""Stop sequences are enforced across token boundaries, without regex semantics."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_jumpstart_stream._stop import StopFilter


def run(tokens: list[str], stops: list[str]) -> tuple[str, str | None]:
    f = StopFilter(stops)
    out = "".join(f.push(t) for t in tokens) + f.flush()
    return out, f.matched


def reference(text: str, stops: list[str]) -> str:
    cuts = [text.find(s) for s in stops if s and s in text]
    return text[: min(cuts)] if cuts else text


def test_stop_split_across_tokens() -> None:
    assert run(["Hello Us", "er: hi"], ["User:"]) == ("Hello ", "User:")


def test_dot_is_literal_not_regex() -> None:
    assert run(["a", "b.c"], ["."]) == ("ab", ".")
    assert run(["a+bb", "c"], ["b*"]) == ("a+bbc", None)  # as a regex, b* matches anywhere


def test_holds_back_only_a_possible_prefix() -> None:
    f = StopFilter(["\nUser:"])
    assert f.push("Hi") == "Hi"  # cannot start "\nUser:", released at once
    assert f.push("\nUs") == ""  # could be the stop: held
    assert f.push("ually") == "\nUsually"  # it was not
    assert f.flush() == ""


def test_earliest_stop_wins() -> None:
    assert run(["xx END yy STOP"], ["STOP", "END"]) == ("xx ", "END")


def test_input_after_match_is_ignored() -> None:
    f = StopFilter(["!"])
    assert f.push("hi! there") == "hi"
    assert f.push("more") == ""
    assert f.flush() == ""


def test_no_stops_is_passthrough() -> None:
    f = StopFilter(["", ""])
    assert not f
    assert f.push("abc") == "abc"


@settings(max_examples=1000, deadline=None)
@given(
    text=st.text(alphabet="ab.\nU:sé", max_size=40),
    stops=st.lists(st.text(alphabet="ab.\nU:sé", min_size=1, max_size=4), max_size=3),
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=8),
)
def test_matches_reference_for_any_tokenisation(
    text: str, stops: list[str], cuts: list[int]
) -> None:
    bounds = sorted({0, len(text), *(c for c in cuts if c <= len(text))})
    tokens = [text[a:b] for a, b in itertools.pairwise(bounds)]
    out, _ = run(tokens, stops)
    assert out == reference(text, stops)


def test_an_earlier_stop_still_in_progress_wins_over_a_completed_later_one() -> None:
    # "." completes first, but ":.:" started earlier and completes one token later.
    assert run([":.", ":"], [".", ":.:"]) == ("", ":.:")
    # ...and if it never completes, the cut falls at the "." after all.
    assert run([":.", "x"], [".", ":.:"]) == (":", ".")
    assert run([":."], [".", ":.:"]) == (":", ".")  # decided at the end of the stream
