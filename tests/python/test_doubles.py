"""The test-double layer as a test suite uses it, with boto3 only (plus the standard library
for the control API, which is plain JSON over HTTP under /_bedrock_local/).

This file is also the example README points to: script an answer, inject a throttle that
boto3's own retries get through, assert on what the code under test sent, and record a call
once to replay it later without the model.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import _SERVER_ENV_DROP, HAIKU, REGION, _binary, _wait_listening


def control(server, method: str, path: str, body=None):
    """Calls the control API; returns the decoded JSON answer (or text for .jsonl)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{server.base}/_bedrock_local/{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        text = resp.read().decode()
    return text if path.endswith(".jsonl") else json.loads(text)


@pytest.fixture(autouse=True)
def clean(server):
    """Every test starts and ends with no rules and an empty history."""
    control(server, "POST", "reset")
    yield
    control(server, "POST", "reset")


def client(server, attempts: int):
    return client_at(server.base, attempts)


def client_at(base: str, attempts: int = 1):
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=base,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}, read_timeout=300),
    )


def ask(runtime, text: str, model: str = HAIKU) -> dict:
    return runtime.converse(
        modelId=model,
        messages=[{"role": "user", "content": [{"text": text}]}],
        inferenceConfig={"maxTokens": 16, "temperature": 0},
    )


def answer(response: dict) -> str:
    return "".join(b.get("text", "") for b in response["output"]["message"]["content"])


def test_a_scripted_answer_a_retried_throttle_and_the_call_history(server):
    runtime = client(server, attempts=3)
    control(
        server,
        "POST",
        "rules",
        [
            # Two throttles for the next call (boto3's standard mode retries them)...
            {"id": "throttle", "respond": {"error": {"code": "ThrottlingException"}}, "times": 2},
            # ...then the scripted answer for prompts about the weather.
            {"id": "weather", "prompt": {"contains": "weather"}, "respond": {"text": "Sunny, 24 degrees."}},
        ],
    )
    response = ask(runtime, "What is the weather in Paris?")
    assert answer(response) == "Sunny, 24 degrees."
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert response["usage"]["inputTokens"] > 0 and response["usage"]["outputTokens"] > 0

    # Other prompts still reach the real model.
    real = ask(runtime, "Say hello.")
    assert answer(real) and answer(real) != "Sunny, 24 degrees."

    calls = control(server, "GET", "calls")["calls"]
    assert [c["rule"] for c in calls] == ["throttle", "throttle", "weather", None]
    assert [(c["error"] or {}).get("code") for c in calls] == [
        "ThrottlingException",
        "ThrottlingException",
        None,
        None,
    ]
    # What the code sent, as Bedrock received it.
    assert calls[2]["request"]["messages"][0]["content"][0]["text"] == "What is the weather in Paris?"
    assert calls[2]["api"] == "Converse" and calls[2]["model_id"] == HAIKU
    assert calls[3]["local_model"] == "qwen2.5-coder-0.5b-instruct"
    assert calls[3]["output_tokens"] == real["usage"]["outputTokens"]

    # The history exports as JSON Lines and filters by model.
    lines = control(server, "GET", "calls.jsonl").splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["seq"] < json.loads(lines[3])["seq"]
    assert control(server, "GET", "calls?model=anthropic.*&limit=1")["calls"][0]["rule"] is None


def test_a_throttle_that_does_not_stop_reaches_the_caller(server):
    runtime = client(server, attempts=2)
    control(server, "POST", "rules", {"respond": {"error": {"code": "ThrottlingException", "message": "slow down"}}})
    with pytest.raises(ClientError) as err:
        ask(runtime, "Hello")
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
    assert err.value.response["Error"]["Message"] == "slow down"
    assert len(control(server, "GET", "calls")["calls"]) == 2


def test_streams_are_scripted_in_word_chunks_and_can_fail_mid_way(server):
    runtime = client(server, attempts=1)
    control(server, "POST", "rules", {"api": "ConverseStream", "respond": {"text": "One two three."}, "times": 1})
    stream = runtime.converse_stream(
        modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "Count."}]}]
    )["stream"]
    deltas = [e["contentBlockDelta"]["delta"]["text"] for e in stream if "contentBlockDelta" in e]
    assert deltas == ["One ", "two ", "three."]

    control(
        server,
        "POST",
        "rules",
        {"api": "ConverseStream", "respond": {"error": {"code": "ServiceUnavailableException", "after_chunks": 1}}},
    )
    stream = runtime.converse_stream(
        modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "Tell me a story."}]}]
    )["stream"]
    seen = 0
    with pytest.raises(Exception) as err:
        for event in stream:
            seen += "contentBlockDelta" in event
    assert seen == 1
    assert "serviceUnavailableException" in str(err.value) or "ServiceUnavailable" in str(err.value)


def test_the_echo_model_and_added_latency(server):
    runtime = client(server, attempts=1)
    response = ask(runtime, "ping", model="local.echo")
    assert answer(response) == "ping"
    control(server, "POST", "rules", {"model": "local.echo", "delay_ms": 400, "respond": "passthrough"})
    started = time.monotonic()
    assert answer(ask(runtime, "pong", model="local.echo")) == "pong"
    assert time.monotonic() - started >= 0.4
    assert control(server, "GET", "calls")["calls"][-1]["latency_ms"] >= 400


class Extra:
    """Another bedrock-local process (recorder or replayer) with its own data dir."""

    def __init__(self, tmp: Path, *flags: str):
        args = [str(_binary()), "serve", "--port", "0", "--data-dir", str(tmp / "data"), *flags]
        env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_DROP}
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self.base = _wait_listening(self.proc, 60)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def test_a_recorded_cassette_replays_without_the_model(server, tmp_path):
    cassettes = tmp_path / "cassettes"
    question = "Name one colour."
    # Record: a second instance forwards to the session server (standing in for real
    # Bedrock, which would be `--upstream real`) and writes the exchange down.
    recorder = Extra(tmp_path / "rec", "--record", str(cassettes), "--upstream", server.base)
    try:
        recorded = ask(client_at(recorder.base), question)
    finally:
        recorder.stop()
    assert len(list(cassettes.glob("converse-*.json"))) == 1
    assert len(control(server, "GET", "calls")["calls"]) == 1  # the model ran once

    # Replay: no model involved; the same request gets the same answer.
    replayer = Extra(tmp_path / "rep", "--replay", str(cassettes))
    try:
        replayed = ask(client_at(replayer.base), question)
        assert replayed["output"] == recorded["output"]
        assert replayed["usage"] == recorded["usage"]
        # A request nobody recorded fails loudly instead of reaching a model.
        with pytest.raises(ClientError) as err:
            ask(client_at(replayer.base), "Something else.")
        assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert "no cassette matches" in err.value.response["Error"]["Message"]
        calls = control(replayer, "GET", "calls")["calls"]
        assert [c["cassette"].startswith("converse-") for c in calls] == [True]
    finally:
        replayer.stop()
    assert len(control(server, "GET", "calls")["calls"]) == 1
