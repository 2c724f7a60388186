"""LangChain's conventions for arguments: standard names, unknown keywords, request members.

Pure functions, no I/O (the botocore service model is read from the installed
package, once, and only when a member that may be missing is used).

* :func:`move_unknown_arguments` is langchain-core's ``build_extra`` convention,
  written for this package: a constructor argument that is no field goes into
  ``model_kwargs`` with a warning, which names the field that was probably meant.
* :func:`container_parameters` turns LangChain's standard names (``max_tokens``...)
  into the container's own (TGI/LMI ``max_new_tokens``).
* :data:`REQUEST_MEMBERS` maps field and per-call names to the members of
  ``InvokeEndpoint``/``InvokeEndpointWithResponseStream``; :func:`check_member`
  says when the installed botocore cannot send one.
"""

from __future__ import annotations

import difflib
import functools
import re
import warnings
from collections.abc import Collection, Mapping
from typing import Any

from . import errors

__all__ = [
    "REQUEST_MEMBERS",
    "STANDARD_PARAMETERS",
    "check_member",
    "container_parameters",
    "move_unknown_arguments",
]

#: LangChain's standard generation parameters, as fields of both model classes.
STANDARD_PARAMETERS = ("temperature", "max_tokens", "top_p", "seed")

#: Field (and per-call keyword) name -> SageMaker Runtime request member.
REQUEST_MEMBERS: Mapping[str, str] = {
    "inference_component_name": "InferenceComponentName",
    "target_variant": "TargetVariant",
    "target_container_hostname": "TargetContainerHostname",
    "target_model": "TargetModel",
    "inference_id": "InferenceId",
    "session_id": "SessionId",
    "prefix_aware_id": "PrefixAwareId",
}

# Members every botocore that the package supports (boto3 >= 1.34) has, on both operations.
_ALWAYS_PRESENT = frozenset(
    {"InferenceComponentName", "TargetVariant", "TargetContainerHostname", "InferenceId"}
)

# The first botocore release whose sagemaker-runtime model has each newer member.
_FIRST_BOTOCORE = {"PrefixAwareId": "1.43.68"}

# Unknown arguments that look like secrets are refused: moved into model_kwargs they
# would be sent to the container in the request body.
_SECRET_NAME = re.compile(r"(^|_)(api_?key|key|secret|password|token|credentials?)$", re.I)

_STREAM_OPERATION = "InvokeEndpointWithResponseStream"
_WHOLE_OPERATION = "InvokeEndpoint"


def move_unknown_arguments(
    values: dict[str, Any], known: Collection[str], owner: str
) -> dict[str, Any]:
    """Move constructor arguments that are no field into ``model_kwargs``, loudly.

    Each moved argument gets a ``UserWarning`` saying where it went, and naming the
    field it is close to (``temprature`` -> ``temperature``), so that a typo is seen
    instead of being sent to the container under a name it ignores.

    Args:
        values: The constructor's keyword arguments (not modified).
        known: Every field name and alias of the class.
        owner: The class name, for the messages.

    Returns:
        The arguments, with the unknown ones inside ``model_kwargs``.

    Raises:
        ConfigurationError: An argument is given both directly and in ``model_kwargs``,
            or an unknown argument looks like a secret (``api_key``): it would be sent
            to the container.
    """
    unknown = [key for key in values if key not in known]
    if not unknown:
        return values
    values = dict(values)
    model_kwargs = dict(values.get("model_kwargs") or {})
    public = sorted(name for name in known if not name.startswith("_"))
    for key in unknown:
        if _SECRET_NAME.search(key):
            raise errors.ConfigurationError(
                f"{owner} has no {key!r} argument, and it is not sent anywhere: it "
                "looks like a secret",
                hint="SageMaker signs requests with AWS credentials: pass "
                "aws_access_key_id=..., aws_secret_access_key=... (and aws_session_token=...), "
                "credentials_profile_name=..., or nothing to use the environment's",
            )
        if key in model_kwargs:
            raise errors.ConfigurationError(
                f"{owner} got {key!r} twice: as an argument and in model_kwargs",
                hint="Give it once",
            )
        close = difflib.get_close_matches(key, public, n=1, cutoff=0.75)
        guess = f" Did you mean {close[0]!r}?" if close else ""
        warnings.warn(
            f"{owner}: {key!r} is not a field of {owner}; it was moved into model_kwargs "
            f"and is sent to the container as a generation parameter named {key!r}."
            f"{guess} Pass it inside model_kwargs to silence this warning.",
            UserWarning,
            stacklevel=4,
        )
        model_kwargs[key] = values.pop(key)
    values["model_kwargs"] = model_kwargs
    return values


def container_parameters(standard: Mapping[str, Any], *, max_tokens_name: str) -> dict[str, Any]:
    """LangChain's standard parameters under the container's own names.

    Args:
        standard: ``temperature``, ``max_tokens``, ``top_p``, ``seed`` (``None`` = unset).
        max_tokens_name: The container's output-length parameter
            (``max_new_tokens`` for TGI and LMI, ``max_tokens`` for OpenAI-style APIs).

    Returns:
        The set parameters, renamed.
    """
    renamed: dict[str, Any] = {}
    for key, value in standard.items():
        if value is not None:
            renamed[max_tokens_name if key == "max_tokens" else key] = value
    return renamed


def check_member(member: str, *, stream: bool) -> None:
    """Raise unless the installed botocore can send ``member`` with this operation.

    Args:
        member: A request member, e.g. ``"PrefixAwareId"``.
        stream: Whether the call is ``InvokeEndpointWithResponseStream``.

    Raises:
        ConfigurationError: The operation has no such member (``TargetModel`` on a
            streaming call), or the installed botocore predates it.
    """
    if member in _ALWAYS_PRESENT:
        return
    operation = _STREAM_OPERATION if stream else _WHOLE_OPERATION
    if member in _members(operation):
        return
    if member in _members(_WHOLE_OPERATION if stream else _STREAM_OPERATION):
        raise errors.ConfigurationError(
            f"{member} is a member of {_WHOLE_OPERATION} only; it cannot be sent "
            f"on a streamed call",
            hint="Call with stream=False, or build the model with disable_streaming=True, "
            "so that the whole answer comes through InvokeEndpoint",
        )
    import botocore

    first = _FIRST_BOTOCORE.get(member)
    needed = f"botocore {first} or newer" if first else "a newer botocore"
    raise errors.ConfigurationError(
        f"the installed botocore {botocore.__version__} cannot send {member}: "
        f"its sagemaker-runtime model has no such member",
        hint=f"{member} needs {needed}: pip install -U boto3 botocore",
    )


@functools.cache
def _members(operation: str) -> frozenset[str]:
    """The input members of a sagemaker-runtime operation, per the installed botocore."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    shape = model.operation_model(operation).input_shape
    return frozenset(shape.members) if shape is not None else frozenset()
