//! Bad input gets Bedrock's error code, status and message, never a crash or a 500.
//! Raw HTTP so the exact wire shape (`x-amzn-ErrorType`, `{"message"}`) is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{alive, raw, Server};

fn converse(server: &Server, model: &str, body: &str) -> common::Raw {
    raw(
        server,
        "POST",
        &format!("/model/{model}/converse"),
        Some(body.as_bytes()),
    )
}

fn assert_error(r: &common::Raw, status: u16, code: &str, message_part: &str) {
    assert_eq!(r.status, status, "body: {}", r.body);
    assert_eq!(r.error_type.as_deref(), Some(code), "body: {}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "body: {}",
        r.body
    );
    assert!(r.header("x-amzn-requestid").is_some());
    let msg = r.message();
    assert!(
        msg.contains(message_part),
        "message {msg:?} does not contain {message_part:?}"
    );
}

const LLAMA: &str = "meta.llama3-8b-instruct-v1%3A0";

#[test]
fn converse_validation_errors() {
    let server = common::start_tiny();
    let cases: &[(&str, &str)] = &[
        ("{not json", "Malformed"),
        ("[]", ""),
        (r#"{"messages": "hi"}"#, "messages"),
        (r#"{"messages": []}"#, ""),
        (
            r#"{"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]}"#,
            "A conversation must start with a user message",
        ),
        (
            r#"{"messages": [{"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}]}"#,
            "A conversation must alternate between user and assistant roles",
        ),
        (
            r#"{"messages": [{"role": "user", "content": []}]}"#,
            "content",
        ),
        (
            r#"{"messages": [{"role": "robot", "content": [{"text": "a"}]}]}"#,
            "role",
        ),
        (
            r#"{"messages": [{"role": "user", "content": [{"text": "a"}]}], "inferenceConfig": {"maxTokens": 0}}"#,
            "maxTokens",
        ),
        (
            r#"{"messages": [{"role": "user", "content": [{"text": "a"}]}], "inferenceConfig": {"maxTokens": 100000000}}"#,
            "maximum tokens",
        ),
        (
            r#"{"messages": [{"role": "user", "content": [{"text": "a"}]}], "inferenceConfig": {"temperature": 7}}"#,
            "temperature",
        ),
        (
            r#"{"messages": [{"role": "user", "content": [{"text": "a"}]}], "inferenceConfig": {"maxTokens": "ten"}}"#,
            "maxTokens",
        ),
    ];
    for (body, part) in cases {
        let r = converse(&server, LLAMA, body);
        assert_error(&r, 400, "ValidationException", part);
    }
    assert!(alive(&server));
}

#[test]
fn unknown_model_ids_get_bedrocks_message() {
    let server = common::start_tiny();
    let ok_body = r#"{"messages": [{"role": "user", "content": [{"text": "a"}]}], "inferenceConfig": {"maxTokens": 1}}"#;
    for model in [
        "nope.model-v1%3A0",
        "anthropic.claude-9-v1%3A0",
        "ollama.nonexistent",
    ] {
        let r = converse(&server, model, ok_body);
        assert_error(
            &r,
            400,
            "ValidationException",
            "The provided model identifier is invalid.",
        );
    }
    // Every accepted spelling of a model id reaches the model.
    for model in [
        "meta.llama3-8b-instruct-v1:0",
        "meta.llama3-8b-instruct-v1%3A0",
        "meta.llama3-8b-instruct-v1%3a0",
        "arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fmeta.llama3-8b-instruct-v1%3A0",
        "us.meta.llama3-1-8b-instruct-v1%3A0",
        "ollama.tiny-gemma3",
        "local.tiny-llama%3Alatest",
    ] {
        let r = converse(&server, model, ok_body);
        assert_eq!(r.status, 200, "{model}: {}", r.body);
    }
}

#[test]
fn invoke_model_meta_validation() {
    let server = common::start_tiny();
    let invoke = |body: &str| {
        raw(
            &server,
            "POST",
            &format!("/model/{LLAMA}/invoke"),
            Some(body.as_bytes()),
        )
    };
    assert_error(
        &invoke("nope"),
        400,
        "ValidationException",
        "Malformed input request",
    );
    assert_error(
        &invoke(r#"{"max_gen_len": 5}"#),
        400,
        "ValidationException",
        "required key [prompt] not found",
    );
    assert_error(
        &invoke(r#"{"prompt": "hi", "stream": true}"#),
        400,
        "ValidationException",
        "extraneous key [stream] is not permitted",
    );
    assert_error(
        &invoke(r#"{"prompt": "hi", "temperature": "hot"}"#),
        400,
        "ValidationException",
        "temperature",
    );
    assert_error(
        &invoke(r#"{"prompt": "hi", "max_gen_len": 0}"#),
        400,
        "ValidationException",
        "max_gen_len",
    );
    assert_error(
        &invoke(r#"{"prompt": "hi", "max_gen_len": 5000}"#),
        400,
        "ValidationException",
        "max_gen_len",
    );
    let ok = invoke(r#"{"prompt": "hi", "max_gen_len": 3, "temperature": 0}"#);
    assert_eq!(ok.status, 200, "{}", ok.body);
    for header in [
        "X-Amzn-Bedrock-Input-Token-Count",
        "X-Amzn-Bedrock-Output-Token-Count",
        "X-Amzn-Bedrock-Invocation-Latency",
    ] {
        let v = ok
            .header(header)
            .unwrap_or_else(|| panic!("missing {header}"));
        v.parse::<u64>().unwrap();
    }
    let v = ok.json();
    assert_eq!(
        ok.header("X-Amzn-Bedrock-Input-Token-Count").unwrap(),
        v["prompt_token_count"].to_string()
    );
    assert!(alive(&server));
}

#[test]
fn long_prompts_are_rejected_not_truncated_and_big_bodies_get_a_clean_4xx() {
    let server = common::start_tiny_with(&["--max-context", "64", "--max-body-bytes", "20000"]);
    let long = "word ".repeat(500);
    let body = serde_json::json!({
        "messages": [{"role": "user", "content": [{"text": long}]}],
        "inferenceConfig": {"maxTokens": 4}
    });
    let r = converse(&server, LLAMA, &body.to_string());
    assert_error(&r, 400, "ValidationException", "Input is too long");

    let r = raw(
        &server,
        "POST",
        &format!("/model/{LLAMA}/invoke"),
        Some(&vec![b' '; 50_000]),
    );
    assert_error(
        &r,
        400,
        "ValidationException",
        "length less than or equal to 20000",
    );
    assert!(alive(&server));
}

#[test]
fn unknown_routes_and_methods_are_clean_errors() {
    let server = common::start_tiny();
    let r = raw(&server, "GET", "/no/such/route", None);
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.error_type.is_some());
    let r = raw(&server, "DELETE", &format!("/model/{LLAMA}/converse"), None);
    assert!((400..500).contains(&r.status), "{}", r.status);
    let r = raw(
        &server,
        "POST",
        &format!("/model/{LLAMA}/dance"),
        Some(b"{}"),
    );
    assert!((400..500).contains(&r.status), "{}", r.status);
    let r = raw(&server, "POST", "/model/%FF%FE/converse", Some(b"{}"));
    assert!((400..500).contains(&r.status), "{}", r.status);
    assert!(alive(&server));
}

#[test]
fn health_reports_models() {
    let server = common::start_tiny();
    for path in ["/health", "/_localstack/health"] {
        let r = raw(&server, "GET", path, None);
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(v["status"], "ready");
        let names: Vec<&str> = v["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"tiny-qwen2"), "{names:?}");
    }
}
