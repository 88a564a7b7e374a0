"""boto3 (bedrock): inference profiles. An application profile made for cost tracking answers
Converse by its ARN with the real default model, is listed and described, and is deleted."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import HAIKU, REGION


def test_system_profiles_are_listed_with_their_regions(bedrock):
    pages = bedrock.get_paginator("list_inference_profiles").paginate(
        typeEquals="SYSTEM_DEFINED", PaginationConfig={"PageSize": 10}
    )
    profiles = [p for page in pages for p in page["inferenceProfileSummaries"]]
    ids = [p["inferenceProfileId"] for p in profiles]
    assert len(ids) == len(set(ids)) > 20
    us_haiku = next(p for p in profiles if p["inferenceProfileId"] == f"us.{HAIKU}")
    assert us_haiku["type"] == "SYSTEM_DEFINED" and us_haiku["status"] == "ACTIVE"
    assert any(f"{REGION}::foundation-model/{HAIKU}" in m["modelArn"] for m in us_haiku["models"])
    got = bedrock.get_inference_profile(inferenceProfileIdentifier=us_haiku["inferenceProfileArn"])
    assert got["inferenceProfileName"] == us_haiku["inferenceProfileName"]


def test_application_profile_answers_converse_by_arn(bedrock, runtime):
    # Application profiles persist in the data dir: clear one an interrupted run left behind.
    for p in bedrock.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]:
        if p["inferenceProfileName"] == "pytest-app-profile":
            bedrock.delete_inference_profile(inferenceProfileIdentifier=p["inferenceProfileArn"])
    created = bedrock.create_inference_profile(
        inferenceProfileName="pytest-app-profile",
        description="Cost tracking in a test.",
        modelSource={"copyFrom": f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}"},
        tags=[{"key": "suite", "value": "pytest"}],
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    arn = created["inferenceProfileArn"]
    try:
        assert ":application-inference-profile/" in arn
        r = runtime.converse(
            modelId=arn,
            messages=[{"role": "user", "content": [{"text": "What is the capital of France? One word."}]}],
            inferenceConfig={"maxTokens": 16, "temperature": 0},
        )
        assert "paris" in r["output"]["message"]["content"][0]["text"].lower()
        listed = bedrock.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
        assert arn in [p["inferenceProfileArn"] for p in listed]
        got = bedrock.get_inference_profile(inferenceProfileIdentifier=arn)
        assert got["type"] == "APPLICATION" and got["description"] == "Cost tracking in a test."
        with pytest.raises(ClientError) as dup:
            bedrock.create_inference_profile(
                inferenceProfileName="pytest-app-profile",
                modelSource={"copyFrom": f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}"},
            )
        assert dup.value.response["Error"]["Code"] == "ConflictException"
    finally:
        bedrock.delete_inference_profile(inferenceProfileIdentifier=arn)
    with pytest.raises(ClientError) as gone:
        bedrock.get_inference_profile(inferenceProfileIdentifier=arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_anthropic_sdk_streams_through_an_application_profile(server, bedrock):
    """The Anthropic SDK puts the ARN (with its `/`) in the path of InvokeModel and its stream;
    the body is Claude's because the profile's source is a Claude model."""
    from anthropic import AnthropicBedrock

    arn = bedrock.create_inference_profile(
        inferenceProfileName="pytest-anthropic-profile",
        modelSource={"copyFrom": f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}"},
    )["inferenceProfileArn"]
    try:
        client = AnthropicBedrock(
            base_url=server.base, aws_access_key="test", aws_secret_key="test", aws_region=REGION, max_retries=0
        )
        question = [{"role": "user", "content": "What is the capital of France? One word."}]
        message = client.messages.create(model=arn, max_tokens=16, extra_body={"temperature": 0}, messages=question)
        assert "paris" in message.content[0].text.lower()
        with client.messages.stream(model=arn, max_tokens=16, extra_body={"temperature": 0}, messages=question) as stream:
            streamed = "".join(stream.text_stream)
        assert streamed == message.content[0].text
    finally:
        bedrock.delete_inference_profile(inferenceProfileIdentifier=arn)
