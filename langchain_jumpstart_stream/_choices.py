"""One answer per call: refuse parameters that would stream several choices at once.

Servers interleave the chunks of ``n>1`` choices in one stream (each chunk names
its ``index``). LangChain's streaming interfaces carry one message, so several
choices cannot be delivered as separate generations from one stream; they are
refused before the request, with a clear error, rather than mixed. LMI's
vLLM-async text route turns ``top_n_tokens`` into vLLM's ``n``
(djl-serving ``convert_lmi_schema_to_completion_request``), so it counts too;
TGI's ``top_n_tokens`` (top alternatives per token, one choice) does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ConfigurationError

__all__ = ["check_one_choice"]


def _more_than_one(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 1


def check_one_choice(
    parameters: Mapping[str, Any], *, lmi: bool, endpoint_name: str | None = None
) -> None:
    """Raise when ``parameters`` ask the server for several choices in one stream.

    Args:
        parameters: Generation parameters as they will be sent.
        lmi: The container is DJL/LMI, whose text route maps ``top_n_tokens`` to ``n``.
        endpoint_name: For the error message.

    Raises:
        ConfigurationError: ``n`` (or LMI's ``top_n_tokens``) is above 1.
    """
    names = ["n", "top_n_tokens"] if lmi else ["n"]
    for name in names:
        if _more_than_one(parameters.get(name)):
            raise ConfigurationError(
                f"{name}={parameters[name]} asks for several answers in one stream; "
                "this client streams one answer per call",
                endpoint_name=endpoint_name,
                hint="Drop the parameter and call batch([...]) with the input repeated, "
                "or generate() several times",
            )
