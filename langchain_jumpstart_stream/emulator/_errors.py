"""Error responses in SageMaker Runtime's REST-JSON shapes (pure).

botocore reads the code from the ``x-amzn-ErrorType`` header (anything after ``:`` is
dropped) and the message from the body's ``message`` or ``Message`` key; for a modelled
error such as ``ModelError`` it also copies the shape's members out of the body.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._config import EndpointConfig

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
_CREDENTIAL_REGION = re.compile(r"Credential=[^/,]+/\d{8}/([a-z0-9-]+)/")


def region_of(authorization: str | None) -> str:
    """The region a SigV4 ``Authorization`` header was signed for."""
    match = _CREDENTIAL_REGION.search(authorization or "")
    return match.group(1) if match else DEFAULT_REGION


def endpoint_not_found(name: str) -> str:
    """The message real SageMaker gives for an unknown endpoint."""
    return f"Endpoint {name} of account {ACCOUNT_ID} not found."


def model_error_body(
    endpoint: str, region: str, original_status: int, original_message: str
) -> dict[str, Any]:
    """The body of a 424 ``ModelError``: the container answered with an error status."""
    side = "client" if original_status < 500 else "server"
    group = f"/aws/sagemaker/Endpoints/{endpoint}"
    message = (
        f"Received {side} error ({original_status}) from primary with message "
        f'"{original_message}". See https://{region}.console.aws.amazon.com/cloudwatch/'
        f"home?region={region}#logEventViewer:group={group} in account {ACCOUNT_ID} "
        "for more information."
    )
    return {
        "ErrorCode": f"{side.upper()}_ERROR_FROM_MODEL",
        "LogStreamArn": f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{group}",
        "Message": message,
        "OriginalMessage": original_message,
        "OriginalStatusCode": original_status,
    }


def container_rejection(config: EndpointConfig, reason: str) -> tuple[int, str]:
    """The status and body a container sends for a body it cannot use."""
    if config.stream_format == "tgi":
        body: dict[str, Any] = {"error": reason, "error_type": "validation"}
        return 422, json.dumps(body, separators=(",", ":"))
    if config.is_openai:
        body = {
            "object": "error",
            "message": reason,
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
        return 400, json.dumps(body, separators=(",", ":"))
    return 424, json.dumps({"error": reason, "code": 424})
