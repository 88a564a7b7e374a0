//! Extended thinking through the AWS SDK for Rust on the tiny models: Converse and
//! ConverseStream with Claude's `thinking` on a Claude 3.7+ id answer with a reasoning block
//! (text and signature) before the answer, the stream's blocks arrive in Bedrock's order, a
//! reasoning block sent back in the next turn is accepted, and the request rules hold.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseOutput, ConverseStreamOutput,
    InferenceConfiguration, Message, ReasoningContentBlock, ReasoningContentBlockDelta,
    ReasoningTextBlock,
};
use aws_smithy_types::Document;

const SONNET_37: &str = "anthropic.claude-3-7-sonnet-20250219-v1:0";
const HAIKU_3: &str = "anthropic.claude-3-haiku-20240307-v1:0";

fn thinking(budget: i64) -> Document {
    Document::Object(
        [(
            "thinking".to_string(),
            Document::Object(
                [
                    ("type".to_string(), Document::String("enabled".into())),
                    (
                        "budget_tokens".to_string(),
                        Document::Number(aws_smithy_types::Number::PosInt(budget as u64)),
                    ),
                ]
                .into(),
            ),
        )]
        .into(),
    )
}

fn config(max_tokens: i32) -> InferenceConfiguration {
    InferenceConfiguration::builder()
        .max_tokens(max_tokens)
        .build()
}

fn message_of(output: &aws_sdk_bedrockruntime::operation::converse::ConverseOutput) -> Message {
    match output.output() {
        Some(ConverseOutput::Message(m)) => m.clone(),
        other => panic!("no message: {other:?}"),
    }
}

fn code(
    err: &aws_sdk_bedrockruntime::error::SdkError<impl std::fmt::Debug, impl std::fmt::Debug>,
) -> String {
    format!("{err:?}")
}

#[tokio::test(flavor = "multi_thread")]
async fn converse_thinks_first_and_takes_its_reasoning_back() {
    let server = common::start_tiny();
    let client = common::runtime_client(&server).await;

    let out = client
        .converse()
        .model_id(SONNET_37)
        .messages(common::user("What is 2 + 2?"))
        .inference_config(config(1400))
        .additional_model_request_fields(thinking(1024))
        .send()
        .await
        .unwrap();
    let message = message_of(&out);
    let content = message.content();
    let ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(reasoning)) =
        &content[0]
    else {
        panic!("first block is not reasoning: {content:?}");
    };
    assert!(!reasoning.text().is_empty());
    let signature = reasoning.signature().unwrap().to_string();
    assert!(!signature.is_empty());
    assert!(matches!(&content[1], ContentBlock::Text(_)), "{content:?}");
    // Output tokens count both phases: more than the answer alone.
    assert!(out.usage().unwrap().output_tokens() > 0);

    // The next turn sends the reasoning block back, as Strands and LangChain do (with a short
    // answer text: the tiny model's context is small).
    let earlier = Message::builder()
        .role(ConversationRole::Assistant)
        .content(content[0].clone())
        .content(ContentBlock::Text("4".into()))
        .build()
        .unwrap();
    let next = client
        .converse()
        .model_id(SONNET_37)
        .messages(common::user("What is 2 + 2?"))
        .messages(earlier)
        .messages(common::user("And times 3?"))
        .inference_config(config(1400))
        .additional_model_request_fields(thinking(1024))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        message_of(&next).content()[0],
        ContentBlock::ReasoningContent(_)
    ));

    // Without thinking, the same model answers with no reasoning block.
    let plain = client
        .converse()
        .model_id(SONNET_37)
        .messages(common::user("What is 2 + 2?"))
        .inference_config(common::greedy(8))
        .send()
        .await
        .unwrap();
    assert!(message_of(&plain)
        .content()
        .iter()
        .all(|b| !matches!(b, ContentBlock::ReasoningContent(_))));
}

#[tokio::test(flavor = "multi_thread")]
async fn converse_stream_sends_reasoning_then_signature_then_text() {
    let server = common::start_tiny();
    let client = common::runtime_client(&server).await;
    let mut stream = client
        .converse_stream()
        .model_id(SONNET_37)
        .messages(common::user("What is 2 + 2?"))
        .inference_config(config(1400))
        .additional_model_request_fields(thinking(1024))
        .send()
        .await
        .unwrap()
        .stream;
    let (mut reasoning, mut signature, mut text) = (String::new(), None, String::new());
    let mut order = Vec::new();
    while let Some(event) = stream.recv().await.unwrap() {
        match event {
            ConverseStreamOutput::ContentBlockDelta(d) => {
                let index = d.content_block_index();
                match d.delta().unwrap() {
                    ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(t)) => {
                        assert_eq!(index, 0);
                        assert!(signature.is_none(), "reasoning after the signature");
                        reasoning.push_str(t);
                    }
                    ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Signature(
                        s,
                    )) => {
                        assert_eq!(index, 0);
                        signature = Some(s.clone());
                    }
                    ContentBlockDelta::Text(t) => {
                        assert_eq!(index, 1);
                        assert!(signature.is_some(), "text before the reasoning closed");
                        text.push_str(t);
                    }
                    other => panic!("unexpected delta {other:?}"),
                }
            }
            ConverseStreamOutput::ContentBlockStop(s) => order.push(s.content_block_index()),
            ConverseStreamOutput::Metadata(m) => {
                assert!(m.usage().unwrap().output_tokens() > 0);
            }
            _ => {}
        }
    }
    assert!(!reasoning.is_empty());
    // base64 of a SHA-256 of the reasoning text.
    assert_eq!(signature.unwrap().len(), 44);
    assert_eq!(order[0], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn thinking_rules() {
    let server = common::start_tiny();
    let client = common::runtime_client(&server).await;
    let fails = |model: &'static str, max_tokens: i32, budget: i64, temperature: Option<f32>| {
        let client = client.clone();
        async move {
            let mut config = InferenceConfiguration::builder().max_tokens(max_tokens);
            if let Some(t) = temperature {
                config = config.temperature(t);
            }
            let err = client
                .converse()
                .model_id(model)
                .messages(common::user("Hi"))
                .inference_config(config.build())
                .additional_model_request_fields(thinking(budget))
                .send()
                .await
                .unwrap_err();
            let service = err.as_service_error().unwrap();
            assert!(service.is_validation_exception(), "{}", code(&err));
            aws_sdk_bedrockruntime::error::ProvideErrorMetadata::message(service)
                .unwrap()
                .to_string()
        }
    };
    // Claude 3 Haiku has no extended thinking.
    let m = fails(HAIKU_3, 2000, 1024, None).await;
    assert!(m.contains("doesn't support reasoning"), "{m}");
    // The budget is at least 1024 and below max_tokens; temperature stays 1.
    let m = fails(SONNET_37, 2000, 512, None).await;
    assert!(m.contains("budget_tokens"), "{m}");
    let m = fails(SONNET_37, 1024, 1024, None).await;
    assert!(m.contains("max_tokens"), "{m}");
    let m = fails(SONNET_37, 2000, 1024, Some(0.2)).await;
    assert!(m.contains("temperature"), "{m}");
    // A reasoning block in a user turn is refused.
    let err = client
        .converse()
        .model_id(SONNET_37)
        .messages(
            Message::builder()
                .role(ConversationRole::User)
                .content(ContentBlock::ReasoningContent(
                    ReasoningContentBlock::ReasoningText(
                        ReasoningTextBlock::builder().text("x").build().unwrap(),
                    ),
                ))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_validation_exception());
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_body_thinking_blocks_unary_and_streamed() {
    use aws_sdk_bedrockruntime::primitives::Blob;
    use aws_sdk_bedrockruntime::types::ResponseStream;

    let server = common::start_tiny();
    let client = common::runtime_client(&server).await;
    let body = serde_json::json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1100,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": "What is 2 + 2?"}],
    });
    let unary = client
        .invoke_model()
        .model_id("anthropic.claude-sonnet-4-20250514-v1:0")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    let unary: serde_json::Value = serde_json::from_slice(unary.body().as_ref()).unwrap();
    assert_eq!(unary["content"][0]["type"], "thinking", "{unary}");
    assert!(!unary["content"][0]["thinking"].as_str().unwrap().is_empty());
    assert_eq!(unary["content"][0]["signature"].as_str().unwrap().len(), 44);
    assert_eq!(unary["content"][1]["type"], "text");

    let mut stream = client
        .invoke_model_with_response_stream()
        .model_id("anthropic.claude-sonnet-4-20250514-v1:0")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap()
        .body;
    let mut kinds: Vec<String> = Vec::new();
    while let Some(event) = stream.recv().await.unwrap() {
        let ResponseStream::Chunk(chunk) = event else {
            panic!("unexpected {event:?}");
        };
        let doc: serde_json::Value =
            serde_json::from_slice(chunk.bytes().unwrap().as_ref()).unwrap();
        let kind = match doc["type"].as_str().unwrap() {
            "content_block_start" => {
                format!("start:{}", doc["content_block"]["type"].as_str().unwrap())
            }
            "content_block_delta" => doc["delta"]["type"].as_str().unwrap().to_string(),
            other => other.to_string(),
        };
        if kinds.last() != Some(&kind) {
            kinds.push(kind);
        }
    }
    assert_eq!(
        kinds,
        [
            "message_start",
            "start:thinking",
            "thinking_delta",
            "signature_delta",
            "content_block_stop",
            "start:text",
            "text_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
}
