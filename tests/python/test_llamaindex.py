"""LlamaIndex: `BedrockConverse` (chat, streaming, completion, tool calls, an application
inference profile) and `BedrockEmbedding` (Titan and Cohere) pointed at the server, answered by
the real default models."""

from __future__ import annotations

import math

from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool
from llama_index.embeddings.bedrock import BedrockEmbedding
from llama_index.llms.bedrock_converse import BedrockConverse

from conftest import HAIKU, REGION, client_config

QUESTION = "What is the capital of France? Answer with one word."


def make_llm(server, **kwargs) -> BedrockConverse:
    return BedrockConverse(
        model=HAIKU,
        endpoint_url=server.base,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        botocore_config=client_config(),
        temperature=0,
        max_tokens=kwargs.pop("max_tokens", 16),
        max_retries=1,
        **kwargs,
    )


def test_chat_and_complete(server):
    llm = make_llm(server)
    answer = llm.chat([ChatMessage(role="user", content=QUESTION)])
    assert "paris" in answer.message.content.lower()
    assert answer.raw["usage"]["outputTokens"] > 0
    assert "paris" in llm.complete(QUESTION).text.lower()


def test_stream_chat_deltas_add_up(server):
    llm = make_llm(server)
    deltas, last = [], None
    for chunk in llm.stream_chat([ChatMessage(role="user", content=QUESTION)]):
        deltas.append(chunk.delta or "")
        last = chunk
    assert len([d for d in deltas if d]) >= 1
    assert last is not None and last.message.content == "".join(deltas)
    assert "paris" in last.message.content.lower()


def test_tool_call_is_parsed(server):
    calls: list[str] = []

    def get_weather(city: str) -> str:
        """Get the current weather for a city, e.g. Paris."""
        calls.append(city)
        return f"21 degrees Celsius and sunny in {city}"

    tool = FunctionTool.from_defaults(fn=get_weather)
    llm = make_llm(server, max_tokens=64)
    response = llm.chat_with_tools(
        [tool], user_msg="What is the weather in Paris right now?", tool_required=True
    )
    tool_calls = llm.get_tool_calls_from_response(response, error_on_no_tool_call=True)
    assert tool_calls[0].tool_name == "get_weather"
    assert "paris" in str(tool_calls[0].tool_kwargs.get("city", "")).lower()
    # The agent step: LlamaIndex runs the tool from the model's arguments.
    output = llm.predict_and_call([tool], user_msg="What is the weather in Paris right now?")
    assert calls and "sunny" in str(output)


def test_application_inference_profile(server, bedrock):
    arn = bedrock.create_inference_profile(
        inferenceProfileName="llamaindex-profile",
        modelSource={"copyFrom": f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}"},
    )["inferenceProfileArn"]
    try:
        llm = make_llm(server, application_inference_profile_arn=arn)
        assert "paris" in llm.complete(QUESTION).text.lower()
    finally:
        bedrock.delete_inference_profile(inferenceProfileIdentifier=arn)


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def test_embeddings_rank_by_meaning(runtime):
    for model_name, dims in [("amazon.titan-embed-text-v2:0", 1024), ("cohere.embed-english-v3", 1024)]:
        emb = BedrockEmbedding(model_name=model_name, client=runtime)
        query = emb.get_query_embedding("How do I bake bread?")
        docs = emb.get_text_embedding_batch(
            ["A recipe for sourdough bread and baking times.", "The stock market fell sharply today."]
        )
        assert len(query) == dims and all(len(d) == dims for d in docs)
        assert cosine(query, docs[0]) > cosine(query, docs[1]), model_name
