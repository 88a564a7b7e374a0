//! Streaming on the real default model (runs when `BEDROCK_LOCAL_TEST_REAL=1`, as
//! `scripts/test.sh` sets): deltas arrive while the model is still generating, and greedy
//! streamed text equals the unary answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseOutput, ConverseStreamOutput,
    InferenceConfiguration, Message,
};

#[tokio::test(flavor = "multi_thread")]
async fn real_converse_stream_is_incremental_and_equals_converse() {
    if std::env::var("BEDROCK_LOCAL_TEST_REAL").ok().as_deref() != Some("1") {
        eprintln!("skipped: set BEDROCK_LOCAL_TEST_REAL=1 (scripts/test.sh does)");
        return;
    }
    let server = common::start(&["serve", "--port", "0"], &[], None);
    let config = common::sdk_config(&server).await;
    let client = aws_sdk_bedrockruntime::Client::new(&config);
    let message = Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(
            "Write a short poem about the sea.".into(),
        ))
        .build()
        .unwrap();
    let config = InferenceConfiguration::builder()
        .max_tokens(48)
        .temperature(0.0)
        .build();
    let model = "us.anthropic.claude-3-5-sonnet-20241022-v2:0";

    let unary = client
        .converse()
        .model_id(model)
        .messages(message.clone())
        .inference_config(config.clone())
        .send()
        .await
        .unwrap();
    let ConverseOutput::Message(answer) = unary.output().unwrap() else {
        panic!("no message");
    };
    let ContentBlock::Text(expected) = &answer.content()[0] else {
        panic!("no text");
    };

    let started = Instant::now();
    let mut stream = client
        .converse_stream()
        .model_id(model)
        .messages(message)
        .inference_config(config)
        .send()
        .await
        .unwrap()
        .stream;
    let mut first_delta = None;
    let mut text = String::new();
    let mut deltas = 0;
    while let Some(event) = stream.recv().await.unwrap() {
        if let ConverseStreamOutput::ContentBlockDelta(d) = &event {
            if let Some(ContentBlockDelta::Text(t)) = d.delta() {
                first_delta.get_or_insert_with(|| started.elapsed());
                text.push_str(t);
                deltas += 1;
            }
        }
    }
    let total = started.elapsed();
    assert_eq!(&text, expected);
    assert!(deltas > 10, "{deltas} deltas");
    // Not buffered: the first delta arrives long before the end of a 48-token answer.
    let first = first_delta.unwrap();
    assert!(
        first * 2 < total,
        "first delta after {first:?} of {total:?}"
    );
}
