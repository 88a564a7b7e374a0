"""boto3 InvokeModel and InvokeModelWithResponseStream with each provider's own body.

The body format follows the model id's provider, whatever local model answers. For each
provider: the unstreamed response shape, the streamed chunk shapes (one provider JSON per
chunk, Bedrock's invocation metrics on the last), and streamed text == unstreamed text at
temperature 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import pytest
from botocore.exceptions import ClientError

from conftest import COHERE, HAIKU, LLAMA, MISTRAL, MISTRAL_CHAT, NOVA, PNG_1X1_B64, SONNET_PROFILE, TITAN

MAX_TOKENS = 64
QUESTION = "Write one sentence about the sea."
LLAMA_PROMPT = (
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
    f"{QUESTION}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
)


@dataclass
class Dialect:
    model_id: str
    body: dict
    text: Callable[[dict], str]  # the generated text of an InvokeModel response
    check: Callable[[dict], None]  # asserts the rest of the InvokeModel response
    stream: Callable[[list[dict]], str]  # asserts the chunk shapes, returns the streamed text


def metrics_last(chunks: list[dict]) -> None:
    m = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert m["inputTokenCount"] > 0
    assert 0 < m["outputTokenCount"] <= MAX_TOKENS
    assert m["invocationLatency"] >= 0 and m["firstByteLatency"] >= 0
    assert all("amazon-bedrock-invocationMetrics" not in c for c in chunks[:-1])


# ---------------------------------------------------------------- Anthropic Messages


def anthropic_check(b: dict) -> None:
    assert b["type"] == "message" and b["role"] == "assistant" and b["id"]
    assert [c["type"] for c in b["content"]] == ["text"]
    assert b["stop_reason"] in ("end_turn", "max_tokens")
    assert b["usage"]["input_tokens"] > 0 and 0 < b["usage"]["output_tokens"] <= MAX_TOKENS


def anthropic_stream(chunks: list[dict]) -> str:
    types = [c["type"] for c in chunks]
    assert types[0] == "message_start"
    assert chunks[0]["message"]["role"] == "assistant" and chunks[0]["message"]["content"] == []
    assert chunks[0]["message"]["usage"]["input_tokens"] > 0
    assert types[1] == "content_block_start"
    assert chunks[1]["content_block"] == {"type": "text", "text": ""}
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(types[2:-3]) == {"content_block_delta"}
    assert chunks[-2]["delta"]["stop_reason"] in ("end_turn", "max_tokens")
    assert chunks[-2]["usage"]["output_tokens"] > 0
    metrics_last(chunks)
    return "".join(c["delta"]["text"] for c in chunks if c["type"] == "content_block_delta")


ANTHROPIC = Dialect(
    model_id=HAIKU,
    body={
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
        "system": "You are a concise assistant.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
    },
    text=lambda b: "".join(c["text"] for c in b["content"] if c["type"] == "text"),
    check=anthropic_check,
    stream=anthropic_stream,
)

# ---------------------------------------------------------------- Meta Llama


def meta_check(b: dict) -> None:
    assert b["prompt_token_count"] > 0 and 0 < b["generation_token_count"] <= MAX_TOKENS
    assert b["stop_reason"] in ("stop", "length")


def meta_stream(chunks: list[dict]) -> str:
    assert all(isinstance(c["generation"], str) for c in chunks)
    assert all(c["stop_reason"] is None for c in chunks[:-1])
    assert chunks[-1]["stop_reason"] in ("stop", "length")
    metrics_last(chunks)
    return "".join(c["generation"] for c in chunks)


META = Dialect(
    model_id=LLAMA,
    body={"prompt": LLAMA_PROMPT, "max_gen_len": MAX_TOKENS, "temperature": 0},
    text=lambda b: b["generation"],
    check=meta_check,
    stream=meta_stream,
)

# ---------------------------------------------------------------- Mistral (text and chat)


def mistral_check(b: dict) -> None:
    assert len(b["outputs"]) == 1
    assert b["outputs"][0]["stop_reason"] in ("stop", "length")


def mistral_stream(chunks: list[dict]) -> str:
    outputs = [c["outputs"] for c in chunks]
    assert all(len(o) == 1 for o in outputs)
    assert all(o[0]["stop_reason"] is None for o in outputs[:-1])
    assert outputs[-1][0]["stop_reason"] in ("stop", "length")
    metrics_last(chunks)
    return "".join(o[0]["text"] for o in outputs)


MISTRAL_TEXT = Dialect(
    model_id=MISTRAL,
    body={"prompt": f"<s>[INST] {QUESTION} [/INST]", "max_tokens": MAX_TOKENS, "temperature": 0},
    text=lambda b: b["outputs"][0]["text"],
    check=mistral_check,
    stream=mistral_stream,
)


def mistral_chat_check(b: dict) -> None:
    choice = b["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["stop_reason"] in ("stop", "length")


def mistral_chat_stream(chunks: list[dict]) -> str:
    choices = [c["choices"][0] for c in chunks]
    assert all(ch["stop_reason"] is None for ch in choices[:-1])
    assert choices[-1]["stop_reason"] in ("stop", "length")
    metrics_last(chunks)
    return "".join((ch.get("message") or ch.get("delta") or {}).get("content") or "" for ch in choices)


MISTRAL_CHAT_DIALECT = Dialect(
    model_id=MISTRAL_CHAT,
    body={
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
    },
    text=lambda b: b["choices"][0]["message"]["content"],
    check=mistral_chat_check,
    stream=mistral_chat_stream,
)

# ---------------------------------------------------------------- Amazon Titan Text


def titan_check(b: dict) -> None:
    assert b["inputTextTokenCount"] > 0
    assert len(b["results"]) == 1
    assert 0 < b["results"][0]["tokenCount"] <= MAX_TOKENS
    assert b["results"][0]["completionReason"] in ("FINISH", "LENGTH", "STOP_CRITERIA_MET")


def titan_stream(chunks: list[dict]) -> str:
    assert all(c["index"] == 0 for c in chunks)
    assert all(c["completionReason"] is None for c in chunks[:-1])
    assert chunks[-1]["completionReason"] in ("FINISH", "LENGTH", "STOP_CRITERIA_MET")
    assert chunks[0]["inputTextTokenCount"] > 0
    assert chunks[-1]["totalOutputTextTokenCount"] > 0
    metrics_last(chunks)
    return "".join(c["outputText"] for c in chunks)


TITAN_TEXT = Dialect(
    model_id=TITAN,
    body={"inputText": f"User: {QUESTION}\nBot:", "textGenerationConfig": {"maxTokenCount": MAX_TOKENS, "temperature": 0}},
    text=lambda b: b["results"][0]["outputText"],
    check=titan_check,
    stream=titan_stream,
)

# ---------------------------------------------------------------- Cohere Command R


def cohere_check(b: dict) -> None:
    assert b["finish_reason"] in ("COMPLETE", "MAX_TOKENS")
    assert b["response_id"] and b["generation_id"]


def cohere_stream(chunks: list[dict]) -> str:
    kinds = [c["event_type"] for c in chunks]
    assert kinds[0] == "stream-start" and kinds[-1] == "stream-end"
    assert set(kinds[1:-1]) == {"text-generation"}
    assert all(c["is_finished"] is False for c in chunks[:-1]) and chunks[-1]["is_finished"] is True
    assert chunks[-1]["finish_reason"] in ("COMPLETE", "MAX_TOKENS")
    metrics_last(chunks)
    text = "".join(c["text"] for c in chunks if c["event_type"] == "text-generation")
    assert chunks[-1]["response"]["text"] == text
    return text


COHERE_CHAT = Dialect(
    model_id=COHERE,
    body={"message": QUESTION, "preamble": "Be brief.", "max_tokens": MAX_TOKENS, "temperature": 0},
    text=lambda b: b["text"],
    check=cohere_check,
    stream=cohere_stream,
)

# ---------------------------------------------------------------- Amazon Nova


def nova_check(b: dict) -> None:
    assert b["output"]["message"]["role"] == "assistant"
    assert b["stopReason"] in ("end_turn", "max_tokens")
    assert b["usage"]["inputTokens"] > 0 and 0 < b["usage"]["outputTokens"] <= MAX_TOKENS


def nova_stream(chunks: list[dict]) -> str:
    keys = [next(k for k in c if k != "amazon-bedrock-invocationMetrics") for c in chunks]
    assert keys[0] == "messageStart" and keys[-2:] == ["messageStop", "metadata"]
    assert chunks[-2]["messageStop"]["stopReason"] in ("end_turn", "max_tokens")
    assert chunks[-1]["metadata"]["usage"]["outputTokens"] > 0
    metrics_last(chunks)
    return "".join(c["contentBlockDelta"]["delta"]["text"] for c in chunks if "contentBlockDelta" in c)


NOVA_DIALECT = Dialect(
    model_id=NOVA,
    body={
        "schemaVersion": "messages-v1",
        "system": [{"text": "You are a concise assistant."}],
        "messages": [{"role": "user", "content": [{"text": QUESTION}]}],
        "inferenceConfig": {"maxTokens": MAX_TOKENS, "temperature": 0},
    },
    text=lambda b: "".join(c.get("text", "") for c in b["output"]["message"]["content"]),
    check=nova_check,
    stream=nova_stream,
)

# ---------------------------------------------------------------- DeepSeek, OpenAI gpt-oss, AI21 Jamba


def check_choice(b: dict, reason_key: str) -> None:
    assert len(b["choices"]) == 1
    assert b["choices"][0][reason_key] in ("stop", "length")


def deepseek_stream(chunks: list[dict]) -> str:
    choices = [c["choices"][0] for c in chunks]
    assert all(ch["stop_reason"] is None for ch in choices[:-1])
    assert choices[-1]["stop_reason"] in ("stop", "length")
    metrics_last(chunks)
    return "".join(ch["text"] for ch in choices)


DEEPSEEK = Dialect(
    model_id="us.deepseek.r1-v1:0",
    body={
        "prompt": f"<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>{QUESTION}<\uff5cAssistant\uff5c>",
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
    },
    text=lambda b: b["choices"][0]["text"],
    check=lambda b: check_choice(b, "stop_reason"),
    stream=deepseek_stream,
)


def chat_completion_check(b: dict) -> None:
    check_choice(b, "finish_reason")
    assert b["choices"][0]["message"]["role"] == "assistant"
    assert b["usage"]["prompt_tokens"] > 0 and 0 < b["usage"]["completion_tokens"] <= MAX_TOKENS
    assert b["usage"]["total_tokens"] == b["usage"]["prompt_tokens"] + b["usage"]["completion_tokens"]


def chat_completion_stream(chunks: list[dict]) -> str:
    """OpenAI-style chunks (`delta`), or AI21's Bedrock frames (`message`, `stop_reason`)."""
    choices = [c["choices"][0] for c in chunks if c.get("choices")]
    reasons = [ch.get("finish_reason") or ch.get("stop_reason") for ch in choices]
    assert all(r is None for r in reasons[:-1])
    assert reasons[-1] in ("stop", "length")
    metrics_last(chunks)
    return "".join((ch.get("delta") or ch.get("message") or {}).get("content") or "" for ch in choices)


CHAT_MESSAGES = [{"role": "system", "content": "You are a concise assistant."}, {"role": "user", "content": QUESTION}]

OPENAI = Dialect(
    model_id="openai.gpt-oss-20b-1:0",
    body={"messages": CHAT_MESSAGES, "max_completion_tokens": MAX_TOKENS, "temperature": 0},
    text=lambda b: b["choices"][0]["message"]["content"],
    check=chat_completion_check,
    stream=chat_completion_stream,
)

JAMBA = Dialect(
    model_id="ai21.jamba-1-5-mini-v1:0",
    body={"messages": CHAT_MESSAGES, "max_tokens": MAX_TOKENS, "temperature": 0},
    text=lambda b: b["choices"][0]["message"]["content"],
    check=chat_completion_check,
    stream=chat_completion_stream,
)

DIALECTS = {
    "anthropic": ANTHROPIC,
    "meta": META,
    "mistral-text": MISTRAL_TEXT,
    "mistral-chat": MISTRAL_CHAT_DIALECT,
    "titan": TITAN_TEXT,
    "cohere": COHERE_CHAT,
    "nova": NOVA_DIALECT,
    "deepseek": DEEPSEEK,
    "openai": OPENAI,
    "ai21": JAMBA,
}


_invoked: dict[str, tuple[dict, dict]] = {}


def invoke(runtime, name: str) -> tuple[dict, dict]:
    """InvokeModel with the dialect's body: (response, parsed body), once per dialect."""
    if name not in _invoked:
        dialect = DIALECTS[name]
        r = runtime.invoke_model(
            modelId=dialect.model_id, body=json.dumps(dialect.body), contentType="application/json", accept="application/json"
        )
        _invoked[name] = (r, json.loads(r["body"].read()))
    return _invoked[name]


@pytest.mark.parametrize("name", DIALECTS)
def test_invoke_model(runtime, name):
    dialect = DIALECTS[name]
    r, body = invoke(runtime, name)
    assert r["contentType"] == "application/json"
    assert dialect.text(body).strip()
    dialect.check(body)
    headers = r["ResponseMetadata"]["HTTPHeaders"]
    assert int(headers["x-amzn-bedrock-input-token-count"]) > 0
    assert 0 < int(headers["x-amzn-bedrock-output-token-count"]) <= MAX_TOKENS
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0


@pytest.mark.parametrize("name", DIALECTS)
def test_invoke_model_with_response_stream(runtime, name):
    dialect = DIALECTS[name]
    _, unstreamed = invoke(runtime, name)
    r = runtime.invoke_model_with_response_stream(
        modelId=dialect.model_id, body=json.dumps(dialect.body), contentType="application/json"
    )
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    events = list(r["body"])
    assert all(set(e) == {"chunk"} for e in events), events
    chunks = [json.loads(e["chunk"]["bytes"]) for e in events]
    assert len(chunks) >= 3, "tokens must arrive in several chunks, not one buffered answer"
    assert dialect.stream(chunks) == dialect.text(unstreamed)


def test_anthropic_legacy_text_completions(runtime):
    body = {
        "prompt": f"\n\nHuman: {QUESTION}\n\nAssistant:",
        "max_tokens_to_sample": MAX_TOKENS,
        "temperature": 0,
        "stop_sequences": ["\n\nHuman:"],
    }
    out = json.loads(runtime.invoke_model(modelId="anthropic.claude-v2:1", body=json.dumps(body))["body"].read())
    assert out["completion"].strip()
    assert out["stop_reason"] in ("stop_sequence", "max_tokens")


def test_anthropic_tool_use_body(runtime):
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
        "tools": [
            {
                "name": "get_weather",
                "description": "Get the current weather for a city.",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            }
        ],
        "tool_choice": {"type": "tool", "name": "get_weather"},
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
    }
    out = json.loads(runtime.invoke_model(modelId=SONNET_PROFILE, body=json.dumps(body))["body"].read())
    assert out["stop_reason"] == "tool_use"
    uses = [c for c in out["content"] if c["type"] == "tool_use"]
    assert len(uses) == 1 and uses[0]["name"] == "get_weather" and uses[0]["id"]
    assert isinstance(uses[0]["input"]["city"], str)


def test_anthropic_image_to_text_model_is_a_validation_exception(runtime):
    body = dict(ANTHROPIC.body)
    body["messages"] = [
        {
            "role": "user",
            "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_1X1_B64}},
                {"type": "text", "text": "What is in this image?"},
            ],
        }
    ]
    with pytest.raises(ClientError) as e:
        runtime.invoke_model(modelId=HAIKU, body=json.dumps(body))
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_malformed_body_is_a_validation_exception(runtime):
    body = {"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "hi"}]}  # no max_tokens
    with pytest.raises(ClientError) as e:
        runtime.invoke_model(modelId=HAIKU, body=json.dumps(body))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"].startswith("Malformed input request")
