"""langchain-tests' standard suites for ChatJumpStart.

The unit suite runs as is. The integration suite runs against the local emulator
(a Messages-API container), and against a real endpoint when
``JUMPSTART_LIVE_CHAT_ENDPOINT`` is set; every opt-out below says why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_jumpstart_stream import ChatJumpStart
from langchain_jumpstart_stream.emulator import Emulator, EndpointConfig

LIVE = os.environ.get("JUMPSTART_LIVE_CHAT_ENDPOINT")

# Tests whose pass/fail depends on a real model's judgement (choosing a tool by the
# meaning of the prompt, filling its arguments from the question, following a JSON
# schema by understanding it). The emulator is deterministic and never pretends to
# understand, so these run only against a live endpoint.
NEEDS_JUDGEMENT = {
    "test_tool_calling",
    "test_tool_calling_async",
    "test_tool_calling_with_no_arguments",
    "test_tool_choice",
    "test_bind_runnables_as_tools",
    "test_tool_message_histories_string_content",
    "test_tool_message_histories_list_content",
    "test_tool_message_error_status",
    "test_structured_few_shot_examples",
    "test_structured_output",
    "test_structured_output_async",
    "test_structured_output_pydantic_2_v1",
    "test_structured_output_optional_param",
    "test_agent_loop",
    "test_unicode_tool_call_integration",
}


class TestChatJumpStartUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatJumpStart

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "endpoint_name": "unit-endpoint",
            "stream_format": "openai",
            "region_name": "us-east-1",
        }

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"AWS_DEFAULT_REGION": "eu-west-1"},
            {"endpoint_name": "e", "stream_format": "openai"},
            {},
        )

    @pytest.mark.xfail(
        reason="load(..., allowed_objects='all') admits only the partner packages on "
        "langchain-core's own allowlist; test_serdes_roundtrip checks the same with this "
        "class allowed explicitly",
        raises=ValueError,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)

    @pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
    def test_serdes_roundtrip(self, model: BaseChatModel, snapshot: Any) -> None:
        from langchain_core.load import dumpd, load

        ser = dumpd(model)
        assert ser == snapshot(name="serialized")
        loaded = load(
            ser, valid_namespaces=["langchain_jumpstart_stream"], allowed_objects=[ChatJumpStart]
        )
        assert isinstance(loaded, ChatJumpStart)
        assert loaded.model_dump() == model.model_dump()


@pytest.fixture(scope="module")
def chat_emulator() -> Iterator[Emulator]:
    with Emulator(endpoints={"chat": EndpointConfig(stream_format="openai-chat")}) as emu:
        yield emu


class TestChatJumpStartIntegration(ChatModelIntegrationTests):
    @pytest.fixture(autouse=True)
    def _emulator(self, request: pytest.FixtureRequest, chat_emulator: Emulator) -> None:
        type(self).emulator_url = chat_emulator.url
        if not LIVE and request.node.originalname in NEEDS_JUDGEMENT:
            pytest.skip("needs a real model's judgement; set JUMPSTART_LIVE_CHAT_ENDPOINT")

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatJumpStart

    @property
    def chat_model_params(self) -> dict[str, Any]:
        if LIVE:
            return {
                "endpoint_name": LIVE,
                "model_id": os.environ.get("JUMPSTART_LIVE_CHAT_MODEL_ID"),
                "region_name": os.environ.get("AWS_REGION"),
            }
        return {
            "endpoint_name": "chat",
            "stream_format": "openai",
            "endpoint_url": self.emulator_url,
            "region_name": "us-east-1",
        }

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    # Multimodal inputs: JumpStart text-generation containers take text only.
    @property
    def supports_image_inputs(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return True
