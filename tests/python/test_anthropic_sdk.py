"""The Anthropic SDK's Bedrock client (`AnthropicBedrock`): it signs with SigV4 and calls
InvokeModel / InvokeModelWithResponseStream with the Anthropic Messages body."""

from __future__ import annotations

import anthropic
import pytest
from anthropic import AnthropicBedrock

from conftest import HAIKU, PNG_1X1_B64, REGION, SONNET_PROFILE, WEATHER_SCHEMA

MAX_TOKENS = 64
# anthropic 2.x dropped `temperature` from the typed parameters (newer Claude models reject it);
# `extra_body` still puts it in the body, which Bedrock's Claude 3 format accepts.
GREEDY = {"temperature": 0}
SYSTEM = "You are a concise assistant."
USER = [{"role": "user", "content": "Write one sentence about the sea."}]
WEATHER_TOOL = {"name": "get_weather", "description": "Get the current weather for a city.", "input_schema": WEATHER_SCHEMA}
WEATHER_QUESTION = [{"role": "user", "content": "What is the weather in Paris right now?"}]


@pytest.fixture(scope="module")
def client(server) -> AnthropicBedrock:
    return AnthropicBedrock(
        base_url=server.base,
        aws_access_key="test",
        aws_secret_key="test",
        aws_region=REGION,
        max_retries=0,
        timeout=300,
    )


def text_of(message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


@pytest.mark.parametrize("model", [HAIKU, SONNET_PROFILE])
def test_messages_create(client, model):
    msg = client.messages.create(model=model, max_tokens=MAX_TOKENS, extra_body=GREEDY, system=SYSTEM, messages=USER)
    assert msg.type == "message" and msg.role == "assistant" and msg.id
    assert [b.type for b in msg.content] == ["text"]
    assert text_of(msg).strip()
    assert msg.stop_reason in ("end_turn", "max_tokens")
    assert msg.usage.input_tokens > 0
    assert 0 < msg.usage.output_tokens <= MAX_TOKENS


def test_messages_create_unambiguous_answer(client):
    msg = client.messages.create(
        model=HAIKU,
        max_tokens=MAX_TOKENS,
        extra_body=GREEDY,
        messages=[{"role": "user", "content": "What is the capital of France? Answer with one word."}],
    )
    assert "paris" in text_of(msg).lower()


def test_messages_create_max_tokens(client):
    msg = client.messages.create(model=HAIKU, max_tokens=3, extra_body=GREEDY, messages=USER)
    assert msg.stop_reason == "max_tokens"
    assert msg.usage.output_tokens == 3


def test_messages_stream_equals_create(client):
    request = dict(model=HAIKU, max_tokens=MAX_TOKENS, extra_body=GREEDY, system=SYSTEM, messages=USER)
    created = client.messages.create(**request)
    with client.messages.stream(**request) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) >= 2, "text must arrive in several deltas"
    assert "".join(pieces) == text_of(final) == text_of(created)
    assert final.stop_reason == created.stop_reason
    assert final.usage.output_tokens == created.usage.output_tokens
    assert final.usage.input_tokens == created.usage.input_tokens


def test_tool_call_then_tool_result(client):
    msg = client.messages.create(
        model=HAIKU,
        max_tokens=MAX_TOKENS,
        extra_body=GREEDY,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=WEATHER_QUESTION,
    )
    assert msg.stop_reason == "tool_use"
    uses = [b for b in msg.content if b.type == "tool_use"]
    assert len(uses) == 1
    use = uses[0]
    assert use.name == "get_weather" and use.id
    assert isinstance(use.input, dict) and isinstance(use.input.get("city"), str)

    follow_up = client.messages.create(
        model=HAIKU,
        max_tokens=MAX_TOKENS,
        extra_body=GREEDY,
        tools=[WEATHER_TOOL],
        messages=WEATHER_QUESTION
        + [
            {"role": "assistant", "content": msg.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "21 degrees Celsius and sunny"}],
            },
        ],
    )
    assert follow_up.stop_reason in ("end_turn", "max_tokens")
    assert text_of(follow_up).strip()


def test_stream_tool_call(client):
    with client.messages.stream(
        model=HAIKU,
        max_tokens=MAX_TOKENS,
        extra_body=GREEDY,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=WEATHER_QUESTION,
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    uses = [b for b in final.content if b.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather"
    assert isinstance(uses[0].input.get("city"), str)


def test_image_to_text_model_is_a_bad_request(client):
    with pytest.raises(anthropic.BadRequestError) as e:
        client.messages.create(
            model=HAIKU,
            max_tokens=MAX_TOKENS,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_1X1_B64}},
                        {"type": "text", "text": "What is in this image?"},
                    ],
                }
            ],
        )
    assert e.value.status_code == 400
