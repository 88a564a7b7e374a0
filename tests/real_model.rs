//! Real-model tests on the default model (Qwen2.5-Coder-0.5B-Instruct, Q4_K_M).
//!
//! They run when `BEDROCK_LOCAL_TEST_REAL=1` (`scripts/test.sh` sets it after pulling the
//! model into the data dir); otherwise each prints why it is skipped. The server uses the
//! built-in models.toml and the normal data dir, so the model is not downloaded twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{raw, Server};

fn real_server() -> Option<Server> {
    if std::env::var("BEDROCK_LOCAL_TEST_REAL").ok().as_deref() != Some("1") {
        eprintln!(
            "skipped: set BEDROCK_LOCAL_TEST_REAL=1 (scripts/test.sh does) to run real-model tests"
        );
        return None;
    }
    Some(common::start(&["serve", "--port", "0"], &[], None))
}

fn converse(server: &Server, body: serde_json::Value) -> serde_json::Value {
    let r = raw(
        server,
        "POST",
        "/model/meta.llama3-8b-instruct-v1%3A0/converse",
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn text_of(v: &serde_json::Value) -> String {
    v["output"]["message"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn real_model_answers_hello_deterministically_and_honours_limits() {
    let Some(server) = real_server() else { return };
    let hello = serde_json::json!({
        "messages": [{"role": "user", "content": [{"text": "Say Hello!"}]}],
        "system": [{"text": "You only say Hello!"}],
        "inferenceConfig": {"maxTokens": 20, "temperature": 0}
    });
    let a = converse(&server, hello.clone());
    let b = converse(&server, hello);
    let text = text_of(&a);
    assert!(text.to_lowercase().contains("hello"), "{text:?}");
    assert_eq!(text, text_of(&b), "two greedy runs differ");
    assert_eq!(a["stopReason"], "end_turn");

    // max tokens holds.
    let long = converse(
        &server,
        serde_json::json!({
            "messages": [{"role": "user", "content": [{"text": "Write a long story about a robot."}]}],
            "inferenceConfig": {"maxTokens": 7, "temperature": 0}
        }),
    );
    assert_eq!(long["stopReason"], "max_tokens");
    assert_eq!(long["usage"]["outputTokens"], 7);

    // A stop sequence ends the text and is not included.
    let counting = serde_json::json!({
        "messages": [{"role": "user", "content": [{"text": "Count from 1 to 10, separated by commas and spaces."}]}],
        "inferenceConfig": {"maxTokens": 60, "temperature": 0, "stopSequences": ["5"]}
    });
    let stopped = converse(&server, counting);
    let text = text_of(&stopped);
    assert_eq!(stopped["stopReason"], "stop_sequence", "{text:?}");
    assert!(!text.contains('5'), "{text:?}");
    assert!(text.contains('4'), "{text:?}");

    // The guide's InvokeModel body (Llama 3 markup) gets a real answer.
    let r = raw(
        &server,
        "POST",
        "/model/meta.llama3-8b-instruct-v1%3A0/invoke",
        Some(br#"{"prompt": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nSay Hello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", "max_gen_len": 2, "temperature": 0}"#),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert!(!v["generation"].as_str().unwrap().is_empty(), "{v}");
    assert_eq!(v["generation_token_count"], 2);
}
