#!/usr/bin/env python3
"""End-to-end latency of the runtime APIs through boto3, against a running server.

    target/release/bedrock-local serve &          # or any running instance
    python3 benches/runtime_latency.py [ENDPOINT] [RUNS]

For each API it reports the median over RUNS of: time to the first content event (streams),
total time, output tokens and tokens/s. Every request is greedy with the same prompt, so the
unary and streamed rows do the same work; the difference is what streaming costs. Needs
boto3 (tests/requirements.txt).
"""
import base64
import json
import statistics
import sys
import time

import boto3

ENDPOINT = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:4566"
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
PROMPT = "Write a short poem about the sea."
MAX_TOKENS = 64

rt = boto3.client("bedrock-runtime", endpoint_url=ENDPOINT, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
MESSAGES = [{"role": "user", "content": [{"text": PROMPT}]}]
CONFIG = {"maxTokens": MAX_TOKENS, "temperature": 0}
ANTHROPIC_BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": MAX_TOKENS,
                             "temperature": 0, "messages": [{"role": "user", "content": PROMPT}]})
WEATHER = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Current weather in a city.",
           "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}},
                                    "required": ["city"]}}}}]}


def converse():
    r = rt.converse(modelId=MODEL, messages=MESSAGES, inferenceConfig=CONFIG)
    return None, r["usage"]["outputTokens"]


def converse_stream():
    started, first, tokens = time.perf_counter(), None, 0
    for event in rt.converse_stream(modelId=MODEL, messages=MESSAGES, inferenceConfig=CONFIG)["stream"]:
        if "contentBlockDelta" in event and first is None:
            first = time.perf_counter() - started
        if "metadata" in event:
            tokens = event["metadata"]["usage"]["outputTokens"]
    return first, tokens


def invoke():
    r = rt.invoke_model(modelId=MODEL, body=ANTHROPIC_BODY)
    return None, json.loads(r["body"].read())["usage"]["output_tokens"]


def invoke_stream():
    started, first, tokens = time.perf_counter(), None, 0
    for event in rt.invoke_model_with_response_stream(modelId=MODEL, body=ANTHROPIC_BODY)["body"]:
        doc = json.loads(event["chunk"]["bytes"])
        if doc["type"] == "content_block_delta" and first is None:
            first = time.perf_counter() - started
        if doc["type"] == "message_stop":
            tokens = doc["amazon-bedrock-invocationMetrics"]["outputTokenCount"]
    return first, tokens


def tool_call(choice):
    def run():
        config = dict(WEATHER, toolChoice=choice) if choice else WEATHER
        r = rt.converse(modelId=MODEL, toolConfig=config, inferenceConfig=CONFIG,
                        messages=[{"role": "user", "content": [{"text": "What's the weather in Paris?"}]}])
        assert r["stopReason"] == "tool_use", r
        return None, r["usage"]["outputTokens"]
    return run


def converse_thinking():
    # Extended thinking: the local model reasons (phase 1), then answers (phase 2).
    r = rt.converse(modelId="anthropic.claude-3-7-sonnet-20250219-v1:0", messages=MESSAGES,
                    inferenceConfig={"maxTokens": 1024 + MAX_TOKENS},
                    additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1024}})
    assert "reasoningContent" in r["output"]["message"]["content"][0], r
    return None, r["usage"]["outputTokens"]


control = boto3.client("bedrock", endpoint_url=ENDPOINT, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")


def list_inference_profiles():
    control.list_inference_profiles()
    return None, 0


def count_tokens():
    rt.count_tokens(modelId=MODEL, input={"invokeModel": {"body": ANTHROPIC_BODY.encode()}})
    return None, 0


def measure(name, fn):
    fn()  # warm-up (model load, caches)
    firsts, totals, tokens = [], [], 0
    for _ in range(RUNS):
        started = time.perf_counter()
        first, tokens = fn()
        totals.append(time.perf_counter() - started)
        if first is not None:
            firsts.append(first)
    total = statistics.median(totals)
    first = f"{statistics.median(firsts) * 1000:8.0f}" if firsts else "       -"
    rate = f"{tokens / total:7.1f}" if tokens else "      -"
    print(f"{name:32} {first} {total * 1000:9.0f} {tokens:6} {rate}")


print(f"{'api':32} {'first ms':>8} {'total ms':>9} {'tokens':>6} {'tok/s':>7}   (median of {RUNS})")
measure("Converse", converse)
measure("ConverseStream", converse_stream)
measure("InvokeModel (anthropic)", invoke)
measure("InvokeModelWithResponseStream", invoke_stream)
measure("Converse tool call (auto)", tool_call(None))
measure("Converse tool call (tool)", tool_call({"tool": {"name": "get_weather"}}))
measure("Converse + thinking (Claude 3.7)", converse_thinking)
measure("CountTokens", count_tokens)
measure("ListInferenceProfiles", list_inference_profiles)
