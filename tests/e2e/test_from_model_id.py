"""JumpStartLLM.from_model_id: deploy through the (faked) SDK, then stream from the emulator."""

from __future__ import annotations

import sys

import pytest

from langchain_jumpstart_stream import ChatJumpStart, JumpStartLLM, errors
from langchain_jumpstart_stream.emulator import WEBSITE_ANSWER
from tests.registry.test_registry_deploy import _fake_sdk

FALCON = "huggingface-llm-falcon-7b-instruct-bf16"


def test_deploy_then_stream(monkeypatch: pytest.MonkeyPatch, emulator, endpoint) -> None:
    name = endpoint(stream_format="tgi")
    recorder = _fake_sdk(monkeypatch, component="ic-falcon")
    llm = JumpStartLLM.from_model_id(
        FALCON,
        deploy=True,
        endpoint_name=name,
        instance_type="ml.g5.2xlarge",
        region_name="us-east-1",
        client=emulator.client(),
    )
    deployed = dict(recorder.events)["deploy"]
    assert deployed["endpoint_name"] == name
    assert llm.endpoint_name == name
    assert llm.inference_component_name == "ic-falcon"
    assert llm.model_id == FALCON
    assert "".join(llm.stream("How do I build a website?")) == WEBSITE_ANSWER


def test_existing_endpoint_needs_no_sdk(
    monkeypatch: pytest.MonkeyPatch, emulator, endpoint
) -> None:
    monkeypatch.setitem(sys.modules, "sagemaker", None)  # the extra is not installed
    name = endpoint(stream_format="tgi")
    chat = ChatJumpStart.from_model_id(FALCON, endpoint_name=name, client=emulator.client())
    assert chat.invoke("How do I build a website?").content == WEBSITE_ANSWER


def test_gated_model_needs_eula_and_no_endpoint_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_sdk(monkeypatch)
    with pytest.raises(errors.ConfigurationError, match="accept_eula"):
        JumpStartLLM.from_model_id("meta-textgeneration-llama-3-8b-instruct", deploy=True)
    with pytest.raises(errors.ConfigurationError, match="endpoint_name"):
        JumpStartLLM.from_model_id(FALCON)


def test_deploy_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for mod in [m for m in sys.modules if m == "sagemaker" or m.startswith("sagemaker.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "sagemaker", None)
    with pytest.raises(
        errors.MissingDependencyError, match=r"langchain-jumpstart-stream\[jumpstart\]"
    ):
        JumpStartLLM.from_model_id(FALCON, deploy=True, region_name="us-east-1")
