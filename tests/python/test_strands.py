"""Strands Agents: an `Agent` on a `BedrockModel` pointed at the server, with one tool.

The agent loop is the real thing: the model asks for the tool (Converse toolUse), Strands runs
it, sends the toolResult back, and the model answers in a follow-up turn."""

from __future__ import annotations

import pytest
from strands import Agent, tool
from strands.models import BedrockModel

from conftest import HAIKU, REGION, client_config

MAX_TOKENS = 64  # a max_tokens stop is an error (MaxTokensReachedException) in Strands
SYSTEM = "You answer in one short sentence. Use the get_weather tool for weather questions."


def make_agent(server, calls: list[str], streaming: bool) -> Agent:
    @tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city.

        Args:
            city: The city name, e.g. Paris.
        """
        calls.append(city)
        return f"21 degrees Celsius and sunny in {city}"

    model = BedrockModel(
        model_id=HAIKU,
        endpoint_url=server.base,
        region_name=REGION,
        boto_client_config=client_config(),
        temperature=0,
        max_tokens=MAX_TOKENS,
        streaming=streaming,
    )
    return Agent(model=model, tools=[get_weather], system_prompt=SYSTEM, callback_handler=None)


@pytest.mark.parametrize("streaming", [True, False], ids=["converse_stream", "converse"])
def test_agent_calls_the_tool_and_answers(server, streaming):
    calls: list[str] = []
    agent = make_agent(server, calls, streaming)
    result = agent("What is the weather in Paris right now?")

    assert len(calls) >= 1, "the agent never ran the tool"
    assert all(isinstance(c, str) and c for c in calls)
    assert result.stop_reason == "end_turn"
    assert str(result).strip()
    # The answer comes from the tool's result, not an echo of the call.
    answer = str(result).lower()
    assert "21" in answer or "sunny" in answer, answer
    assert "get_weather" not in answer, answer

    blocks = [block for message in agent.messages for block in message["content"]]
    uses = [b["toolUse"] for b in blocks if "toolUse" in b]
    results = [b["toolResult"] for b in blocks if "toolResult" in b]
    assert uses and uses[0]["name"] == "get_weather"
    assert [r["toolUseId"] for r in results] == [u["toolUseId"] for u in uses]
    assert agent.messages[-1]["role"] == "assistant"
    assert result.metrics.accumulated_usage["inputTokens"] > 0
