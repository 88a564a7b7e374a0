"""Extended thinking on Claude 3.7+ ids, answered by the real default model in two phases
(reasoning, then the answer): boto3 Converse and ConverseStream, the Anthropic SDK's
`thinking` (unary and streamed), and a Strands agent with thinking on."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, client_config

SONNET_37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
SONNET_4_PROFILE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
QUESTION = [{"role": "user", "content": [{"text": "What is the capital of France? Answer with one word."}]}]


@pytest.mark.parametrize("model_id", [SONNET_37, SONNET_4_PROFILE])
def test_converse_reasons_then_answers(runtime, model_id):
    r = runtime.converse(
        modelId=model_id,
        messages=QUESTION,
        inferenceConfig={"maxTokens": 1200},
        additionalModelRequestFields=THINKING,
    )
    content = r["output"]["message"]["content"]
    reasoning = content[0]["reasoningContent"]["reasoningText"]
    assert reasoning["text"].strip() and reasoning["signature"]
    assert "paris" in content[1]["text"].lower()
    # Both phases' tokens are output tokens.
    assert r["usage"]["outputTokens"] > 1
    # The next turn carries the reasoning block back, as agent frameworks do.
    follow = runtime.converse(
        modelId=model_id,
        messages=QUESTION
        + [r["output"]["message"], {"role": "user", "content": [{"text": "And of Italy?"}]}],
        inferenceConfig={"maxTokens": 1200},
        additionalModelRequestFields=THINKING,
    )
    assert "reasoningContent" in follow["output"]["message"]["content"][0]


def test_converse_stream_reasoning_deltas_then_signature_then_text(runtime):
    r = runtime.converse_stream(
        modelId=SONNET_37,
        messages=QUESTION,
        inferenceConfig={"maxTokens": 1200},
        additionalModelRequestFields=THINKING,
    )
    kinds, reasoning, text = [], "", ""
    for event in r["stream"]:
        delta = event.get("contentBlockDelta", {}).get("delta", {})
        if "reasoningContent" in delta:
            part = delta["reasoningContent"]
            kind = "signature" if "signature" in part else "reasoning"
            reasoning += part.get("text", "")
        elif "text" in delta:
            kind = "text"
            text += delta["text"]
        else:
            kind = next(iter(event))
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    assert kinds == ["messageStart", "reasoning", "signature", "contentBlockStop", "text",
                     "contentBlockStop", "messageStop", "metadata"], kinds
    assert reasoning.strip() and "paris" in text.lower()


def test_thinking_rules(runtime):
    for model_id, config, fields in [
        ("anthropic.claude-3-haiku-20240307-v1:0", {"maxTokens": 1200}, THINKING),
        (SONNET_37, {"maxTokens": 1000}, THINKING),
        (SONNET_37, {"maxTokens": 1200, "temperature": 0.2}, THINKING),
        (SONNET_37, {"maxTokens": 1200}, {"thinking": {"type": "enabled", "budget_tokens": 100}}),
    ]:
        with pytest.raises(ClientError) as e:
            runtime.converse(modelId=model_id, messages=QUESTION, inferenceConfig=config,
                             additionalModelRequestFields=fields)
        assert e.value.response["Error"]["Code"] == "ValidationException"


def test_anthropic_sdk_thinking(server):
    from anthropic import AnthropicBedrock

    client = AnthropicBedrock(base_url=server.base, aws_access_key="test", aws_secret_key="test",
                              aws_region=REGION, max_retries=0)
    question = [{"role": "user", "content": "What is the capital of France? One word."}]
    message = client.messages.create(model=SONNET_37, max_tokens=1200, messages=question,
                                     extra_body=THINKING)
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking.strip() and message.content[0].signature
    assert "paris" in message.content[1].text.lower()
    with client.messages.stream(model=SONNET_37, max_tokens=1200, messages=question,
                                extra_body=THINKING) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_message()
    assert "thinking" in events and "signature" in events and "text" in events
    assert [b.type for b in final.content] == ["thinking", "text"]


def test_strands_agent_with_thinking(server):
    from strands import Agent
    from strands.models import BedrockModel

    model = BedrockModel(
        model_id=SONNET_37,
        endpoint_url=server.base,
        region_name=REGION,
        boto_client_config=client_config(),
        max_tokens=1200,
        additional_request_fields=THINKING,
    )
    agent = Agent(model=model, callback_handler=None)
    result = agent("What is the capital of France? Answer with one word.")
    assert "paris" in str(result).lower()
    content = agent.messages[-1]["content"]
    assert "reasoningContent" in content[0]
