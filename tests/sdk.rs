//! The server driven by the AWS SDK for Rust (aws-sdk-bedrock, aws-sdk-bedrockruntime), as a
//! user's code would: catalog calls, Converse and InvokeModel on tiny random-weight models.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_bedrock::types::{InferenceType, ModelModality};
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, InferenceConfiguration, Message, SystemContentBlock,
};

#[tokio::test(flavor = "multi_thread")]
async fn catalog_lists_and_filters_real_bedrock_ids() {
    let server = common::start_tiny();
    let config = common::sdk_config(&server).await;
    let client = aws_sdk_bedrock::Client::new(&config);

    let all = client.list_foundation_models().send().await.unwrap();
    let models = all.model_summaries();
    assert!(models.len() >= 40, "only {} models", models.len());
    assert!(models
        .iter()
        .any(|m| m.model_id() == "meta.llama3-8b-instruct-v1:0"));
    for m in models {
        assert_eq!(
            m.model_arn(),
            format!(
                "arn:aws:bedrock:us-east-1::foundation-model/{}",
                m.model_id()
            )
        );
    }

    let meta = client
        .list_foundation_models()
        .by_provider("meta")
        .send()
        .await
        .unwrap();
    assert!(!meta.model_summaries().is_empty());
    assert!(meta
        .model_summaries()
        .iter()
        .all(|m| m.provider_name() == Some("Meta")));

    let embeddings = client
        .list_foundation_models()
        .by_output_modality(ModelModality::Embedding)
        .by_inference_type(InferenceType::OnDemand)
        .send()
        .await
        .unwrap();
    assert!(!embeddings.model_summaries().is_empty());
    assert!(embeddings
        .model_summaries()
        .iter()
        .all(|m| m.output_modalities().contains(&ModelModality::Embedding)));

    let one = client
        .get_foundation_model()
        .model_identifier(
            "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0",
        )
        .send()
        .await
        .unwrap();
    let details = one.model_details().unwrap();
    assert_eq!(details.model_id(), "meta.llama3-8b-instruct-v1:0");
    assert_eq!(details.provider_name(), Some("Meta"));

    let err = client
        .get_foundation_model()
        .model_identifier("nope.not-a-model-v1:0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("ValidationException")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn converse_returns_bedrock_shape_with_real_usage() {
    let server = common::start_tiny();
    let config = common::sdk_config(&server).await;
    let client = aws_sdk_bedrockruntime::Client::new(&config);

    let out = client
        .converse()
        .model_id("meta.llama3-8b-instruct-v1:0")
        .system(SystemContentBlock::Text("You only say Hello!".into()))
        .messages(
            Message::builder()
                .role(ConversationRole::User)
                .content(ContentBlock::Text("Say Hello!".into()))
                .build()
                .unwrap(),
        )
        .inference_config(
            InferenceConfiguration::builder()
                .max_tokens(5)
                .temperature(0.0)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let usage = out.usage().unwrap();
    assert!(usage.input_tokens() > 0);
    assert!(usage.output_tokens() <= 5);
    assert_eq!(
        usage.total_tokens(),
        usage.input_tokens() + usage.output_tokens()
    );
    let message = out.output().unwrap().as_message().unwrap();
    assert_eq!(message.role(), &ConversationRole::Assistant);
    assert!(matches!(message.content()[0], ContentBlock::Text(_)));
    assert!(matches!(
        out.stop_reason().as_str(),
        "end_turn" | "max_tokens"
    ));
    assert!(out.metrics().is_some());

    // Multi-turn, inference profile id, greedy determinism.
    let ask = || {
        client
            .converse()
            .model_id("us.meta.llama3-1-8b-instruct-v1:0")
            .messages(
                Message::builder()
                    .role(ConversationRole::User)
                    .content(ContentBlock::Text("Hi".into()))
                    .build()
                    .unwrap(),
            )
            .messages(
                Message::builder()
                    .role(ConversationRole::Assistant)
                    .content(ContentBlock::Text("Hello.".into()))
                    .build()
                    .unwrap(),
            )
            .messages(
                Message::builder()
                    .role(ConversationRole::User)
                    .content(ContentBlock::Text("Count to three".into()))
                    .build()
                    .unwrap(),
            )
            .inference_config(
                InferenceConfiguration::builder()
                    .max_tokens(8)
                    .temperature(0.0)
                    .build(),
            )
            .send()
    };
    let a = ask().await.unwrap();
    let b = ask().await.unwrap();
    assert_eq!(
        format!("{:?}", a.output().unwrap()),
        format!("{:?}", b.output().unwrap())
    );

    // A Bedrock error surfaces as the SDK's typed exception.
    let err = client
        .converse()
        .model_id("meta.llama3-8b-instruct-v1:0")
        .messages(
            Message::builder()
                .role(ConversationRole::Assistant)
                .content(ContentBlock::Text("I start".into()))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_validation_exception());
}

#[tokio::test(flavor = "multi_thread")]
async fn invoke_model_meta_body() {
    let server = common::start_tiny();
    let config = common::sdk_config(&server).await;
    let client = aws_sdk_bedrockruntime::Client::new(&config);
    let body = serde_json::json!({
        "prompt": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nSay Hello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        "max_gen_len": 2,
        "temperature": 0.9
    });
    let out = client
        .invoke_model()
        .model_id("meta.llama3-8b-instruct-v1:0")
        .body(Blob::new(serde_json::to_vec(&body).unwrap()))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(out.body().as_ref()).unwrap();
    assert!(v["generation"].is_string());
    assert!(v["prompt_token_count"].as_u64().unwrap() > 0);
    assert!(v["generation_token_count"].as_u64().unwrap() <= 2);
    assert!(matches!(v["stop_reason"].as_str(), Some("stop" | "length")));
    assert_eq!(out.content_type(), "application/json");
}
