"""Embeddings with the real MiniLM model: boto3 InvokeModel with Titan and Cohere bodies, and
langchain-aws `BedrockEmbeddings`, as a RAG application calls them."""

from __future__ import annotations

import json
import math

import botocore.exceptions
import pytest
from langchain_aws import BedrockEmbeddings

from conftest import REGION, client_config

TITAN_V1 = "amazon.titan-embed-text-v1"
TITAN_V2 = "amazon.titan-embed-text-v2:0"
COHERE_EN = "cohere.embed-english-v3"
COHERE_MULTI = "cohere.embed-multilingual-v3"

CAT = "A cat is sleeping on the sofa."
CAT_PARAPHRASE = "There is a cat asleep on the couch."
UNRELATED = "The central bank raised interest rates by half a percent."


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def invoke(runtime, model: str, body: dict) -> tuple[dict, dict]:
    r = runtime.invoke_model(modelId=model, body=json.dumps(body), contentType="application/json", accept="application/json")
    return json.loads(r["body"].read()), r["ResponseMetadata"]["HTTPHeaders"]


def test_titan_v2_dimensions_normalize_and_binary(runtime):
    out, headers = invoke(runtime, TITAN_V2, {"inputText": CAT})
    assert len(out["embedding"]) == 1024
    assert abs(norm(out["embedding"]) - 1.0) < 1e-4
    assert out["inputTextTokenCount"] > 0
    assert int(headers["x-amzn-bedrock-input-token-count"]) == out["inputTextTokenCount"]
    assert out["embeddingsByType"]["float"] == out["embedding"]

    for dims in (256, 512):
        out, _ = invoke(runtime, TITAN_V2, {"inputText": CAT, "dimensions": dims, "embeddingTypes": ["float", "binary"]})
        assert len(out["embedding"]) == dims
        bits = out["embeddingsByType"]["binary"]
        assert bits == [1 if x > 0 else 0 for x in out["embedding"]]

    raw, _ = invoke(runtime, TITAN_V2, {"inputText": CAT, "normalize": False})
    assert abs(norm(raw["embedding"]) - 1.0) > 1e-3
    unit, _ = invoke(runtime, TITAN_V2, {"inputText": CAT})
    assert cosine(raw["embedding"], unit["embedding"]) > 0.9999


def test_titan_v1_shape(runtime):
    out, _ = invoke(runtime, TITAN_V1, {"inputText": CAT})
    assert len(out["embedding"]) == 1536
    assert set(out) == {"embedding", "inputTextTokenCount"}


def test_semantic_similarity_survives_every_dimension(runtime):
    for model, body in [
        (TITAN_V2, lambda t: {"inputText": t, "dimensions": 256}),
        (TITAN_V2, lambda t: {"inputText": t}),
        (TITAN_V1, lambda t: {"inputText": t}),
    ]:
        cat, para, other = (invoke(runtime, model, body(t))[0]["embedding"] for t in (CAT, CAT_PARAPHRASE, UNRELATED))
        assert cosine(cat, para) > cosine(cat, other) + 0.2, model
    out, _ = invoke(runtime, COHERE_EN, {"texts": [CAT, CAT_PARAPHRASE, UNRELATED], "input_type": "search_document"})
    cat, para, other = out["embeddings"]
    assert cosine(cat, para) > cosine(cat, other) + 0.2


def test_cohere_types_and_batch(runtime):
    texts = [CAT, CAT_PARAPHRASE, UNRELATED, "café naïve 東京"]
    out, headers = invoke(
        runtime,
        COHERE_MULTI,
        {"texts": texts, "input_type": "clustering", "embedding_types": ["float", "int8", "uint8", "binary", "ubinary"]},
    )
    assert out["response_type"] == "embeddings_by_type"
    assert out["texts"] == texts
    by = out["embeddings"]
    assert len(by["float"]) == 4 and len(by["float"][0]) == 1024
    assert all(abs(norm(v) - 1.0) < 1e-4 for v in by["float"])
    assert all(-128 <= x <= 127 for v in by["int8"] for x in v)
    assert all(0 <= x <= 255 for v in by["uint8"] for x in v)
    assert len(by["ubinary"][0]) == 128 and len(by["binary"][0]) == 128
    # int8 keeps the geometry.
    assert abs(cosine(by["int8"][0], by["int8"][1]) - cosine(by["float"][0], by["float"][1])) < 0.02
    assert int(headers["x-amzn-bedrock-input-token-count"]) > 0

    # The same text alone or in a batch gives the same vector.
    alone, _ = invoke(runtime, COHERE_MULTI, {"texts": [UNRELATED], "input_type": "clustering"})
    assert cosine(alone["embeddings"][0], by["float"][2]) > 0.99999


def test_cohere_truncation(runtime):
    text = " ".join(["ab"] * 650)  # 650 tokens (over Cohere v3's 512) in 1949 characters (under 2048)
    assert len(text) <= 2048
    with pytest.raises(botocore.exceptions.ClientError) as e:
        invoke(runtime, COHERE_EN, {"texts": [text], "input_type": "search_query"})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "650 tokens" in e.value.response["Error"]["Message"]
    for side in ("START", "END"):
        out, headers = invoke(runtime, COHERE_EN, {"texts": [text], "input_type": "search_query", "truncate": side})
        assert len(out["embeddings"][0]) == 1024
        assert int(headers["x-amzn-bedrock-input-token-count"]) == 512


def test_embedding_models_refuse_converse_and_streams(runtime):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        runtime.converse(modelId=TITAN_V2, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        runtime.invoke_model_with_response_stream(modelId=TITAN_V2, body=json.dumps({"inputText": "hi"}))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == "The model is unsupported for streaming."
    with pytest.raises(botocore.exceptions.ClientError) as e:
        invoke(runtime, "amazon.titan-text-express-v1", {"texts": ["hi"], "input_type": "search_query"})
    assert e.value.response["Error"]["Code"] == "ValidationException"


def embeddings(server, model: str, **kwargs) -> BedrockEmbeddings:
    return BedrockEmbeddings(
        model_id=model,
        endpoint_url=server.base,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=client_config(),
        **kwargs,
    )


@pytest.mark.parametrize("model", [TITAN_V2, COHERE_EN])
def test_langchain_bedrock_embeddings(server, model):
    emb = embeddings(server, model)
    docs = emb.embed_documents([CAT, UNRELATED])
    query = emb.embed_query(CAT_PARAPHRASE)
    assert len(docs) == 2 and len(docs[0]) == len(query) == 1024
    assert cosine(query, docs[0]) > cosine(query, docs[1])


def test_langchain_titan_dimensions(server):
    emb = embeddings(server, TITAN_V2, model_kwargs={"dimensions": 256})
    assert len(emb.embed_query(CAT)) == 256
