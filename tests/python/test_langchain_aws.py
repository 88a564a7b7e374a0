"""langchain-aws: `ChatBedrockConverse` (Converse / ConverseStream, tools) and `ChatBedrock`
(InvokeModel / InvokeModelWithResponseStream with the provider's own body, Anthropic tools)."""

from __future__ import annotations

import pytest
from langchain_aws import ChatBedrock, ChatBedrockConverse
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool

from conftest import HAIKU, LLAMA, NOVA, REGION, client_config

MAX_TOKENS = 64
PROMPT = [SystemMessage("You are a concise assistant."), HumanMessage("Write one sentence about the sea.")]


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"21 degrees Celsius and sunny in {city}"


def text_of(message) -> str:
    """The text of a message whose content is a string or a list of content blocks."""
    if isinstance(message.content, str):
        return message.content
    return "".join(b.get("text", "") for b in message.content if isinstance(b, dict) and b.get("type") == "text")


def converse_model(server, model: str = HAIKU, **kwargs) -> ChatBedrockConverse:
    return ChatBedrockConverse(
        model=model,
        endpoint_url=server.base,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=client_config(),
        temperature=0,
        max_tokens=MAX_TOKENS,
        **kwargs,
    )


def invoke_model(server, model: str) -> ChatBedrock:
    return ChatBedrock(
        model_id=model,
        endpoint_url=server.base,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=client_config(),
        temperature=0,
        max_tokens=MAX_TOKENS,
    )


def check_usage(usage: dict) -> None:
    assert usage["input_tokens"] > 0
    assert 0 < usage["output_tokens"] <= MAX_TOKENS
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


# ---------------------------------------------------------------- ChatBedrockConverse


@pytest.mark.parametrize("model", [HAIKU, NOVA])
def test_converse_invoke(server, model):
    msg = converse_model(server, model).invoke(PROMPT)
    assert isinstance(msg, AIMessage)
    assert text_of(msg).strip()
    assert msg.response_metadata["stopReason"] in ("end_turn", "max_tokens")
    check_usage(msg.usage_metadata)


def test_converse_stream_equals_invoke(server):
    llm = converse_model(server)
    invoked = llm.invoke(PROMPT)
    chunks = list(llm.stream(PROMPT))
    assert sum(1 for c in chunks if text_of(c)) >= 2, "text must arrive in several chunks"
    assert "".join(text_of(c) for c in chunks) == text_of(invoked)
    merged = chunks[0]
    for c in chunks[1:]:
        merged = merged + c
    check_usage(merged.usage_metadata)
    assert merged.response_metadata["stopReason"] == invoked.response_metadata["stopReason"]


def test_converse_bind_tools_call_and_follow_up(server):
    llm = converse_model(server).bind_tools([get_weather], tool_choice="get_weather")
    question = HumanMessage("What is the weather in Paris right now?")
    call = llm.invoke([question])
    assert len(call.tool_calls) == 1
    tool_call = call.tool_calls[0]
    assert tool_call["name"] == "get_weather" and tool_call["id"]
    assert isinstance(tool_call["args"].get("city"), str)

    result = ToolMessage(get_weather.invoke(tool_call["args"]), tool_call_id=tool_call["id"])
    answer = converse_model(server).bind_tools([get_weather]).invoke([question, call, result])
    assert not answer.tool_calls
    assert text_of(answer).strip()


def test_converse_stream_tool_call(server):
    llm = converse_model(server).bind_tools([get_weather], tool_choice="get_weather")
    chunks = list(llm.stream([HumanMessage("What is the weather in Paris right now?")]))
    merged = chunks[0]
    for c in chunks[1:]:
        merged = merged + c
    assert len(merged.tool_calls) == 1
    assert merged.tool_calls[0]["name"] == "get_weather"
    assert isinstance(merged.tool_calls[0]["args"].get("city"), str)


# ---------------------------------------------------------------- ChatBedrock (InvokeModel)


@pytest.mark.parametrize("model", [HAIKU, LLAMA])
def test_chat_bedrock_invoke(server, model):
    msg = invoke_model(server, model).invoke(PROMPT)
    assert isinstance(msg, AIMessage)
    assert text_of(msg).strip()
    assert msg.usage_metadata["input_tokens"] > 0
    assert 0 < msg.usage_metadata["output_tokens"] <= MAX_TOKENS


@pytest.mark.parametrize("model", [HAIKU, LLAMA])
def test_chat_bedrock_stream_equals_invoke(server, model):
    llm = invoke_model(server, model)
    invoked = llm.invoke(PROMPT)
    chunks = list(llm.stream(PROMPT))
    assert sum(1 for c in chunks if text_of(c)) >= 2, "text must arrive in several chunks"
    assert "".join(text_of(c) for c in chunks).strip() == text_of(invoked).strip()
    merged = chunks[0]
    for c in chunks[1:]:
        merged = merged + c
    # LangChain reads streamed usage from Bedrock's amazon-bedrock-invocationMetrics.
    assert merged.usage_metadata["input_tokens"] == invoked.usage_metadata["input_tokens"]
    assert merged.usage_metadata["output_tokens"] == invoked.usage_metadata["output_tokens"]


def test_chat_bedrock_anthropic_bind_tools(server):
    llm = invoke_model(server, HAIKU).bind_tools([get_weather], tool_choice="get_weather")
    call = llm.invoke([HumanMessage("What is the weather in Paris right now?")])
    assert len(call.tool_calls) == 1
    assert call.tool_calls[0]["name"] == "get_weather" and call.tool_calls[0]["id"]
    assert isinstance(call.tool_calls[0]["args"].get("city"), str)
