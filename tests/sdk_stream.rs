//! The streaming runtime APIs and CountTokens driven by the AWS SDK for Rust against the real
//! server on tiny random-weight models: what an SDK user's code iterates over.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConverseOutput, ConverseStreamOutput, ConverseTokensRequest,
    CountTokensInput, InvokeModelTokensRequest, ResponseStream,
};

#[tokio::test(flavor = "multi_thread")]
async fn converse_stream_equals_converse_at_temperature_zero() {
    let server = common::start_tiny();
    let config = common::sdk_config(&server).await;
    let client = aws_sdk_bedrockruntime::Client::new(&config);
    let model = "anthropic.claude-3-haiku-20240307-v1:0";

    let unary = client
        .converse()
        .model_id(model)
        .messages(common::user("Tell me a story."))
        .inference_config(common::greedy(12))
        .send()
        .await
        .unwrap();
    let ConverseOutput::Message(message) = unary.output().unwrap() else {
        panic!("no message");
    };
    let ContentBlock::Text(expected) = &message.content()[0] else {
        panic!("no text");
    };

    let mut stream = client
        .converse_stream()
        .model_id(model)
        .messages(common::user("Tell me a story."))
        .inference_config(common::greedy(12))
        .send()
        .await
        .unwrap()
        .stream;
    let mut kinds = Vec::new();
    let mut text = String::new();
    let mut usage = None;
    while let Some(event) = stream.recv().await.unwrap() {
        match &event {
            ConverseStreamOutput::MessageStart(_) => kinds.push("start"),
            ConverseStreamOutput::ContentBlockDelta(d) => {
                kinds.push("delta");
                if let Some(ContentBlockDelta::Text(t)) = d.delta() {
                    text.push_str(t);
                }
            }
            ConverseStreamOutput::ContentBlockStop(_) => kinds.push("block_stop"),
            ConverseStreamOutput::MessageStop(s) => {
                kinds.push("stop");
                assert_eq!(s.stop_reason(), unary.stop_reason());
            }
            ConverseStreamOutput::Metadata(m) => {
                kinds.push("metadata");
                usage = m.usage().cloned();
                assert!(m.metrics().is_some());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(&text, expected);
    assert_eq!(kinds.first(), Some(&"start"));
    assert_eq!(&kinds[kinds.len() - 2..], ["stop", "metadata"]);
    let usage = usage.unwrap();
    assert_eq!(usage.input_tokens(), unary.usage().unwrap().input_tokens());
    assert_eq!(
        usage.output_tokens(),
        unary.usage().unwrap().output_tokens()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invoke_model_with_response_stream_meta_chunks() {
    let server = common::start_tiny();
    let config = common::sdk_config(&server).await;
    let client = aws_sdk_bedrockruntime::Client::new(&config);
    let body =
        serde_json::json!({"prompt": "Once upon a time", "max_gen_len": 8, "temperature": 0.0});
    let unary = client
        .invoke_model()
        .model_id("meta.llama3-8b-instruct-v1:0")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    let unary: serde_json::Value = serde_json::from_slice(unary.body().as_ref()).unwrap();

    let out = client
        .invoke_model_with_response_stream()
        .model_id("meta.llama3-8b-instruct-v1:0")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(out.content_type(), "application/json");
    let mut stream = out.body;
    let mut docs = Vec::new();
    while let Some(event) = stream.recv().await.unwrap() {
        let ResponseStream::Chunk(chunk) = event else {
            panic!("unexpected {event:?}");
        };
        let doc: serde_json::Value =
            serde_json::from_slice(chunk.bytes().unwrap().as_ref()).unwrap();
        docs.push(doc);
    }
    let text: String = docs
        .iter()
        .map(|d| d["generation"].as_str().unwrap())
        .collect();
    assert_eq!(text, unary["generation"].as_str().unwrap());
    let last = docs.last().unwrap();
    assert_eq!(last["stop_reason"], unary["stop_reason"]);
    let metrics = &last["amazon-bedrock-invocationMetrics"];
    assert_eq!(metrics["inputTokenCount"], unary["prompt_token_count"]);
    assert_eq!(metrics["outputTokenCount"], unary["generation_token_count"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_validation_errors_arrive_before_the_stream() {
    let server = common::start_tiny();
    let config = common::sdk_config(&server).await;
    let client = aws_sdk_bedrockruntime::Client::new(&config);
    let err = client
        .converse_stream()
        .model_id("meta.llama3-8b-instruct-v1:0")
        .messages(common::user("hi"))
        .inference_config(common::greedy(0))
        .send()
        .await
        .unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    let err = client
        .invoke_model_with_response_stream()
        .model_id("meta.llama3-8b-instruct-v1:0")
        .body(Blob::new(r#"{"max_gen_len": 5}"#))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn count_tokens_equals_the_usage_of_the_same_request() {
    let server = common::start_tiny();
    let config = common::sdk_config(&server).await;
    let client = aws_sdk_bedrockruntime::Client::new(&config);
    let model = "anthropic.claude-3-haiku-20240307-v1:0";
    let converse = client
        .converse()
        .model_id(model)
        .messages(common::user("How many tokens is this?"))
        .inference_config(common::greedy(2))
        .send()
        .await
        .unwrap();
    let counted = client
        .count_tokens()
        .model_id(model)
        .input(CountTokensInput::Converse(
            ConverseTokensRequest::builder()
                .messages(common::user("How many tokens is this?"))
                .build(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        counted.input_tokens(),
        converse.usage().unwrap().input_tokens()
    );

    let body = r#"{"prompt": "Count me", "max_gen_len": 2}"#;
    let invoked = client
        .invoke_model()
        .model_id("meta.llama3-8b-instruct-v1:0")
        .body(Blob::new(body))
        .send()
        .await
        .unwrap();
    let invoked: serde_json::Value = serde_json::from_slice(invoked.body().as_ref()).unwrap();
    let counted = client
        .count_tokens()
        .model_id("meta.llama3-8b-instruct-v1:0")
        .input(CountTokensInput::InvokeModel(
            InvokeModelTokensRequest::builder()
                .body(Blob::new(body))
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        i64::from(counted.input_tokens()),
        invoked["prompt_token_count"].as_i64().unwrap()
    );
}
