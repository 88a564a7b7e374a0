"""boto3 (bedrock-runtime): Converse, ConverseStream, CountTokens, tools and errors.

InvokeModel and InvokeModelWithResponseStream per provider body are in test_boto3_invoke.py.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from conftest import HAIKU, LLAMA, NOVA, PNG_1X1, SONNET_PROFILE, WEATHER_SCHEMA

MAX_TOKENS = 64
USER = [{"role": "user", "content": [{"text": "Write one sentence about the sea."}]}]
SYSTEM = [{"text": "You are a concise assistant."}]
GREEDY = {"maxTokens": MAX_TOKENS, "temperature": 0}

WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "inputSchema": {"json": WEATHER_SCHEMA},
    }
}
WEATHER_QUESTION = [{"role": "user", "content": [{"text": "What is the weather in Paris right now?"}]}]


def text_of(message: dict) -> str:
    return "".join(block.get("text", "") for block in message["content"])


def check_usage(usage: dict, max_output: int = MAX_TOKENS) -> None:
    assert usage["inputTokens"] > 0
    assert 0 < usage["outputTokens"] <= max_output
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]


# ---------------------------------------------------------------- Converse


@pytest.mark.parametrize("model_id", [HAIKU, SONNET_PROFILE, LLAMA, NOVA])
def test_converse(runtime, model_id):
    r = runtime.converse(modelId=model_id, messages=USER, system=SYSTEM, inferenceConfig=GREEDY)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["output"]["message"]["role"] == "assistant"
    assert text_of(r["output"]["message"]).strip()
    assert r["stopReason"] in ("end_turn", "max_tokens")
    check_usage(r["usage"])
    assert r["metrics"]["latencyMs"] >= 0


def test_converse_unambiguous_answer(runtime):
    r = runtime.converse(
        modelId=HAIKU,
        messages=[{"role": "user", "content": [{"text": "What is the capital of France? Answer with one word."}]}],
        inferenceConfig=GREEDY,
    )
    assert "paris" in text_of(r["output"]["message"]).lower()


def test_converse_max_tokens_stops_early(runtime):
    r = runtime.converse(modelId=HAIKU, messages=USER, inferenceConfig={"maxTokens": 3, "temperature": 0})
    assert r["stopReason"] == "max_tokens"
    assert r["usage"]["outputTokens"] == 3


def test_converse_multi_turn(runtime):
    messages = [
        {"role": "user", "content": [{"text": "My name is Ada."}]},
        {"role": "assistant", "content": [{"text": "Nice to meet you, Ada."}]},
        {"role": "user", "content": [{"text": "What is my name? Answer with the name only."}]},
    ]
    r = runtime.converse(modelId=HAIKU, messages=messages, inferenceConfig=GREEDY)
    assert "ada" in text_of(r["output"]["message"]).lower()


# ---------------------------------------------------------------- ConverseStream


def converse_stream_events(runtime, **request) -> list[dict]:
    r = runtime.converse_stream(**request)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    return list(r["stream"])


def test_converse_stream_event_order_and_text(runtime):
    request = dict(modelId=HAIKU, messages=USER, system=SYSTEM, inferenceConfig=GREEDY)
    unstreamed = runtime.converse(**request)
    events = converse_stream_events(runtime, **request)
    names = [next(iter(e)) for e in events]

    assert names[0] == "messageStart"
    assert events[0]["messageStart"]["role"] == "assistant"
    assert names[-2:] == ["messageStop", "metadata"]
    assert names.count("messageStart") == names.count("messageStop") == names.count("metadata") == 1
    assert names.count("contentBlockDelta") >= 2, "text must arrive in several deltas, not one buffered block"
    assert "contentBlockStop" in names
    assert names.index("contentBlockStop") > max(i for i, n in enumerate(names) if n == "contentBlockDelta")

    deltas = [e["contentBlockDelta"] for e in events if "contentBlockDelta" in e]
    assert all(d["contentBlockIndex"] == 0 for d in deltas)
    streamed = "".join(d["delta"]["text"] for d in deltas)
    assert streamed == text_of(unstreamed["output"]["message"])

    assert events[-2]["messageStop"]["stopReason"] == unstreamed["stopReason"]
    metadata = events[-1]["metadata"]
    check_usage(metadata["usage"])
    assert metadata["usage"] == unstreamed["usage"]
    assert metadata["metrics"]["latencyMs"] >= 0


def test_converse_stream_max_tokens(runtime):
    events = converse_stream_events(
        runtime, modelId=LLAMA, messages=USER, inferenceConfig={"maxTokens": 4, "temperature": 0}
    )
    assert events[-2]["messageStop"]["stopReason"] == "max_tokens"
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 4


def test_converse_stream_invalid_model_fails_before_streaming(runtime):
    with pytest.raises(ClientError) as e:
        runtime.converse_stream(modelId="made.up-model-v1:0", messages=USER)
    assert e.value.response["Error"]["Code"] == "ValidationException"


# ---------------------------------------------------------------- tools


def test_converse_tool_call_and_follow_up(runtime):
    tool_config = {"tools": [WEATHER_TOOL], "toolChoice": {"tool": {"name": "get_weather"}}}
    r = runtime.converse(modelId=HAIKU, messages=WEATHER_QUESTION, toolConfig=tool_config, inferenceConfig=GREEDY)
    assert r["stopReason"] == "tool_use"
    message = r["output"]["message"]
    uses = [b["toolUse"] for b in message["content"] if "toolUse" in b]
    assert len(uses) == 1
    use = uses[0]
    assert use["name"] == "get_weather"
    assert use["toolUseId"]
    assert isinstance(use["input"], dict)
    assert isinstance(use["input"].get("city"), str) and use["input"]["city"]

    follow_up = WEATHER_QUESTION + [
        message,
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": use["toolUseId"],
                        "content": [{"json": {"city": use["input"]["city"], "tempC": 21, "sky": "sunny"}}],
                        "status": "success",
                    }
                }
            ],
        },
    ]
    r2 = runtime.converse(
        modelId=HAIKU, messages=follow_up, toolConfig={"tools": [WEATHER_TOOL]}, inferenceConfig=GREEDY
    )
    assert r2["stopReason"] in ("end_turn", "max_tokens")
    assert text_of(r2["output"]["message"]).strip()


def test_converse_tool_choice_any_forces_a_call(runtime):
    r = runtime.converse(
        modelId=NOVA,
        messages=[{"role": "user", "content": [{"text": "Hello there!"}]}],
        toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"any": {}}},
        inferenceConfig=GREEDY,
    )
    assert r["stopReason"] == "tool_use"
    assert any("toolUse" in b for b in r["output"]["message"]["content"])


def test_converse_stream_tool_call(runtime):
    events = converse_stream_events(
        runtime,
        modelId=HAIKU,
        messages=WEATHER_QUESTION,
        toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"tool": {"name": "get_weather"}}},
        inferenceConfig=GREEDY,
    )
    starts = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    tool_starts = [s for s in starts if "toolUse" in s["start"]]
    assert len(tool_starts) == 1
    index = tool_starts[0]["contentBlockIndex"]
    assert tool_starts[0]["start"]["toolUse"]["name"] == "get_weather"
    assert tool_starts[0]["start"]["toolUse"]["toolUseId"]
    fragments = [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "contentBlockDelta" in e and e["contentBlockDelta"]["contentBlockIndex"] == index
    ]
    arguments = json.loads("".join(fragments))
    assert isinstance(arguments.get("city"), str)
    assert {"contentBlockStop": {"contentBlockIndex": index}} in events
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


# ---------------------------------------------------------------- CountTokens


def test_count_tokens_converse_matches_converse_usage(runtime):
    counted = runtime.count_tokens(modelId=HAIKU, input={"converse": {"messages": USER, "system": SYSTEM}})
    used = runtime.converse(modelId=HAIKU, messages=USER, system=SYSTEM, inferenceConfig={"maxTokens": 1})
    assert counted["inputTokens"] > 0
    assert counted["inputTokens"] == used["usage"]["inputTokens"]


def test_count_tokens_invoke_model_matches_invoke_usage(runtime):
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1,
        "system": "You are a concise assistant.",
        "messages": [{"role": "user", "content": "Write one sentence about the sea."}],
    }
    counted = runtime.count_tokens(modelId=HAIKU, input={"invokeModel": {"body": json.dumps(body).encode()}})
    used = json.loads(runtime.invoke_model(modelId=HAIKU, body=json.dumps(body))["body"].read())
    assert counted["inputTokens"] > 0
    assert counted["inputTokens"] == used["usage"]["input_tokens"]


def test_count_tokens_grows_with_the_prompt(runtime):
    short = runtime.count_tokens(modelId=HAIKU, input={"converse": {"messages": USER}})["inputTokens"]
    longer = [{"role": "user", "content": [{"text": "Write one sentence about the sea. " * 10}]}]
    long = runtime.count_tokens(modelId=HAIKU, input={"converse": {"messages": longer}})["inputTokens"]
    assert long > short


# ---------------------------------------------------------------- errors


def image_question() -> list[dict]:
    return [
        {
            "role": "user",
            "content": [
                {"text": "What is in this image?"},
                {"image": {"format": "png", "source": {"bytes": PNG_1X1}}},
            ],
        }
    ]


def test_image_to_text_model_is_a_validation_exception(runtime):
    with pytest.raises(ClientError) as e:
        runtime.converse(modelId=HAIKU, messages=image_question(), inferenceConfig=GREEDY)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["Error"]["Message"]


def test_image_to_text_model_streaming_is_a_validation_exception(runtime):
    with pytest.raises(ClientError) as e:
        runtime.converse_stream(modelId=HAIKU, messages=image_question(), inferenceConfig=GREEDY)
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_unknown_model_is_a_validation_exception(runtime):
    with pytest.raises(ClientError) as e:
        runtime.converse(modelId="made.up-model-v1:0", messages=USER)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == "The provided model identifier is invalid."
