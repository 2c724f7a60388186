"""Parameters in each container's names: never both ``max_new_tokens`` and ``max_tokens``."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_jumpstart_stream._param_names import merge_parameters


@pytest.mark.parametrize(
    ("schema", "layers", "params", "stops"),
    [
        (
            "openai-chat",
            [{"max_tokens": 512}, {"max_new_tokens": 64, "details": True}],
            {"max_tokens": 64},
            [],
        ),
        ("tgi", [{"max_new_tokens": 256}, {"max_tokens": 32}], {"max_new_tokens": 32}, []),
        ("lmi", [{"stop_sequences": ["\n"]}, {"stop": "."}], {}, ["\n", "."]),
        (
            "openai-completion",
            [{}, {"stop_sequences": ["END"], "temperature": 0.2, "do_sample": True}],
            {"temperature": 0.2},
            ["END"],
        ),
        (
            "tgi",
            [{"details": True, "max_new_tokens": 8}],
            {"details": True, "max_new_tokens": 8},
            [],
        ),
    ],
)
def test_merge(
    schema: Any, layers: list[dict[str, Any]], params: dict[str, Any], stops: list[str]
) -> None:
    assert merge_parameters(schema, layers) == (params, stops)


def test_later_layers_win_whatever_name_they_use() -> None:
    params, _ = merge_parameters(
        "openai-chat", [{"max_tokens": 512}, {"max_tokens": 100}, {"max_new_tokens": 7}]
    )
    assert params == {"max_tokens": 7}
