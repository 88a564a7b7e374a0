//! The test-double layer through the real server and the AWS SDK for Rust: scripted answers
//! and tool calls, echo models, errors before and inside streams (and the SDK retrying
//! throttles and dropped connections), rules from a file, and the call history.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::{
    ContentBlockDelta, ConverseOutput, ConverseStreamOutput, StopReason,
};
use common::{raw, Server};
use serde_json::{json, Value};

const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

/// Adds rules through the control API; returns the added ones.
fn add_rules(server: &Server, rules: Value) -> Vec<Value> {
    let r = raw(
        server,
        "POST",
        "/_bedrock_local/rules",
        Some(rules.to_string().as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["rules"].as_array().unwrap().clone()
}

fn calls(server: &Server, query: &str) -> Vec<Value> {
    let r = raw(
        server,
        "GET",
        &format!("/_bedrock_local/calls{query}"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["calls"].as_array().unwrap().clone()
}

fn text_of(output: &aws_sdk_bedrockruntime::operation::converse::ConverseOutput) -> String {
    let Some(ConverseOutput::Message(m)) = output.output() else {
        panic!("no message");
    };
    m.content()
        .iter()
        .filter_map(|c| c.as_text().ok().cloned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn scripted_text_answers_converse_and_streams_in_word_chunks() {
    let server = common::start_tiny();
    let client = common::runtime_client(&server).await;
    let added = add_rules(
        &server,
        json!({"model": "anthropic.*", "prompt": {"contains": "weather"},
               "respond": {"text": "It is sunny in Paris."}}),
    );
    assert_eq!(added[0]["id"], "r1");

    let out = client
        .converse()
        .model_id(HAIKU)
        .messages(common::user("What is the weather like?"))
        .send()
        .await
        .unwrap();
    assert_eq!(text_of(&out), "It is sunny in Paris.");
    assert_eq!(out.stop_reason(), &StopReason::EndTurn);
    let usage = out.usage().unwrap();
    assert!(usage.input_tokens() > 0 && usage.output_tokens() > 0);

    let mut stream = client
        .converse_stream()
        .model_id(HAIKU)
        .messages(common::user("And the weather tomorrow?"))
        .send()
        .await
        .unwrap()
        .stream;
    let mut deltas = Vec::new();
    while let Some(event) = stream.recv().await.unwrap() {
        if let ConverseStreamOutput::ContentBlockDelta(d) = event {
            if let Some(ContentBlockDelta::Text(t)) = d.delta() {
                deltas.push(t.clone());
            }
        }
    }
    assert_eq!(deltas, ["It ", "is ", "sunny ", "in ", "Paris."]);

    // A prompt the rule does not match reaches the model.
    let other = client
        .converse()
        .model_id(HAIKU)
        .messages(common::user("Tell me a story."))
        .send()
        .await
        .unwrap();
    assert_ne!(text_of(&other), "It is sunny in Paris.");
    let history = calls(&server, "");
    let rules: Vec<&Value> = history.iter().map(|c| &c["rule"]).collect();
    assert_eq!(rules, [&json!("r1"), &json!("r1"), &Value::Null]);
    assert_eq!(history[2]["local_model"], "tiny-qwen2");
    assert!(history[0]["local_model"].is_null(), "a rule answered");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_call_rule_answers_with_that_call() {
    let server = common::start_tiny();
    let client = common::runtime_client(&server).await;
    add_rules(
        &server,
        json!({"respond": {"tool_call": {"name": "get_weather", "input": {"city": "Paris"}}}}),
    );
    let out = client
        .converse()
        .model_id(HAIKU)
        .messages(common::user("Weather in Paris?"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.stop_reason(), &StopReason::ToolUse);
    let Some(ConverseOutput::Message(m)) = out.output() else {
        panic!("no message");
    };
    let tool = m
        .content()
        .iter()
        .find_map(|c| c.as_tool_use().ok())
        .unwrap();
    assert_eq!(tool.name(), "get_weather");
    let input = tool.input();
    assert_eq!(
        input
            .as_object()
            .and_then(|o| o.get("city"))
            .and_then(|c| c.as_string()),
        Some("Paris")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_retries_through_two_throttles_and_a_dropped_connection() {
    let server = common::start_tiny();
    let client = common::runtime_client(&server).await;
    add_rules(
        &server,
        json!([{"respond": {"error": {"code": "ThrottlingException"}}, "times": 1},
               {"respond": {"drop": {}}, "times": 1}]),
    );
    let out = client
        .converse()
        .model_id(HAIKU)
        .messages(common::user("Hello"))
        .send()
        .await
        .unwrap();
    assert!(!text_of(&out).is_empty());
    let history = calls(&server, "");
    let codes: Vec<&Value> = history.iter().map(|c| &c["error"]["code"]).collect();
    assert_eq!(
        codes,
        [
            &json!("ThrottlingException"),
            &json!("ConnectionDropped"),
            &Value::Null
        ]
    );
    // The rules were one-shot: nothing is left.
    let r = raw(&server, "GET", "/_bedrock_local/rules", None);
    assert_eq!(r.json()["rules"], json!([]));

    // A throttle that does not stop: the SDK gives up with Bedrock's error.
    add_rules(
        &server,
        json!({"api": "Converse", "respond": {"error": {"code": "ThrottlingException", "message": "slow down"}}}),
    );
    let err = client
        .converse()
        .model_id(HAIKU)
        .messages(common::user("Hello"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"));
    assert_eq!(err.message(), Some("slow down"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_after_two_chunks_arrives_inside_the_stream() {
    let server = common::start_tiny();
    let client = common::runtime_client(&server).await;
    add_rules(
        &server,
        json!({"api": ["ConverseStream", "InvokeModelWithResponseStream"],
               "respond": {"error": {"code": "ThrottlingException", "after_chunks": 2}}}),
    );
    let mut stream = client
        .converse_stream()
        .model_id(HAIKU)
        .messages(common::user("Tell me a long story."))
        .send()
        .await
        .unwrap()
        .stream;
    let mut deltas = 0;
    let err = loop {
        match stream.recv().await {
            Ok(Some(ConverseStreamOutput::ContentBlockDelta(_))) => deltas += 1,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stream ended without the injected error"),
            Err(e) => break e,
        }
    };
    assert_eq!(deltas, 2);
    // The in-stream exception of its own type (the SDK leaves `code()` empty for those).
    assert!(
        matches!(
            err.as_service_error(),
            Some(ConverseStreamOutputError::ThrottlingException(_))
        ),
        "{err:?}"
    );
    let history = calls(&server, "?api=ConverseStream");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["error"]["code"], "ThrottlingException");
}

#[tokio::test(flavor = "multi_thread")]
async fn echo_models_answer_with_the_request() {
    let server = common::start_tiny();
    let client = common::runtime_client(&server).await;
    let out = client
        .converse()
        .model_id("local.echo")
        .messages(common::user("ping 123"))
        .send()
        .await
        .unwrap();
    assert_eq!(text_of(&out), "ping 123");
    let usage = out.usage().unwrap();
    assert!(usage.input_tokens() > 3, "{usage:?}");
    assert!(usage.output_tokens() > 0, "{usage:?}");

    // InvokeModel with a local name speaks the Meta body.
    let body = json!({"prompt": "echo this", "max_gen_len": 5});
    let out = client
        .invoke_model()
        .model_id("local.echo")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(out.body().as_ref()).unwrap();
    assert_eq!(answer["generation"], "echo this");

    let out = client
        .converse()
        .model_id("local.echo-request")
        .system(aws_sdk_bedrockruntime::types::SystemContentBlock::Text(
            "Be brief.".into(),
        ))
        .messages(common::user("hi"))
        .send()
        .await
        .unwrap();
    let described: Value = serde_json::from_str(&text_of(&out)).unwrap();
    assert_eq!(described["system"], "Be brief.");
    assert_eq!(described["messages"][0]["text"], "hi");

    let history = calls(&server, "?model=local.echo*");
    assert_eq!(history.len(), 3);
    assert!(history.iter().all(|c| c["local_model"].is_null()));
    assert_eq!(
        history[0]["request"]["messages"][0]["content"][0]["text"],
        "ping 123"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_history_filters_exports_and_clears() {
    let server = common::start_tiny();
    let client = common::runtime_client(&server).await;
    for _ in 0..3 {
        client
            .converse()
            .model_id("local.echo")
            .messages(common::user("a"))
            .send()
            .await
            .unwrap();
    }
    let all = calls(&server, "");
    let seqs: Vec<u64> = all.iter().map(|c| c["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(calls(&server, "?limit=1")[0]["seq"], 3);
    assert_eq!(calls(&server, "?after=1").len(), 2);
    assert_eq!(calls(&server, "?api=InvokeModel").len(), 0);
    let jsonl = raw(&server, "GET", "/_bedrock_local/calls.jsonl", None);
    assert_eq!(jsonl.status, 200);
    let lines: Vec<Value> = jsonl
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["api"], "Converse");
    assert_eq!(
        raw(&server, "DELETE", "/_bedrock_local/calls", None).status,
        200
    );
    assert!(calls(&server, "").is_empty());
    // Numbering goes on after a clear.
    client
        .converse()
        .model_id("local.echo")
        .messages(common::user("b"))
        .send()
        .await
        .unwrap();
    assert_eq!(calls(&server, "")[0]["seq"], 4);
}

#[test]
fn bad_rules_are_refused_and_reset_clears_everything() {
    let server = common::start_tiny();
    for (rule, needle) in [
        (
            json!({"respond": {"error": {"code": "FooException"}}}),
            "FooException",
        ),
        (
            json!({"prompt": {"regex": "("}, "respond": "passthrough"}),
            "regex",
        ),
        (
            json!({"respond": {"text": "x"}, "probability": 1.5}),
            "probability",
        ),
        (json!({"respond": {"text": "x"}, "colour": "red"}), "colour"),
    ] {
        let r = raw(
            &server,
            "POST",
            "/_bedrock_local/rules",
            Some(rule.to_string().as_bytes()),
        );
        assert_eq!(r.status, 400, "{rule}: {}", r.body);
        assert!(r.message().contains(needle), "{rule}: {}", r.message());
    }
    add_rules(&server, json!({"id": "mine", "respond": {"text": "x"}}));
    assert_eq!(
        raw(&server, "DELETE", "/_bedrock_local/rules/nope", None).status,
        404
    );
    assert_eq!(
        raw(&server, "POST", "/_bedrock_local/reset", None).status,
        200
    );
    let r = raw(&server, "GET", "/_bedrock_local/rules", None);
    assert_eq!(r.json()["rules"], json!([]));
    assert_eq!(
        raw(&server, "GET", "/_bedrock_local/nothing", None).status,
        404
    );
}

#[test]
fn rules_load_from_a_file_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.json");
    std::fs::write(
        &file,
        json!({"rules": [{"id": "greeting", "prompt": {"contains": "hello"}, "respond": {"text": "Hi!"}}]})
            .to_string(),
    )
    .unwrap();
    let server = common::start_tiny_with(&["--rules", file.to_str().unwrap()]);
    let r = raw(&server, "GET", "/_bedrock_local/rules", None);
    assert_eq!(r.json()["rules"][0]["id"], "greeting");
    let body = json!({"messages": [{"role": "user", "content": [{"text": "hello there"}]}]});
    let r = raw(
        &server,
        "POST",
        "/model/anthropic.claude-3-haiku-20240307-v1:0/converse",
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(r.json()["output"]["message"]["content"][0]["text"], "Hi!");
}

#[tokio::test(flavor = "multi_thread")]
async fn deterministic_mode_makes_sampled_requests_repeat() {
    assert_eq!(twice_sampled(&["--deterministic"]).await.len(), 1);
    // Without it, two sampled answers differ (a fresh seed per request).
    assert_eq!(twice_sampled(&[]).await.len(), 2);
}

/// Two answers at temperature 1 from a server started with `flags`, deduplicated.
async fn twice_sampled(flags: &[&str]) -> std::collections::BTreeSet<String> {
    let server = common::start_tiny_with(flags);
    let client = common::runtime_client(&server).await;
    let mut answers = std::collections::BTreeSet::new();
    for _ in 0..2 {
        let out = client
            .converse()
            .model_id(HAIKU)
            .messages(common::user("Tell me a story."))
            .inference_config(
                aws_sdk_bedrockruntime::types::InferenceConfiguration::builder()
                    .temperature(1.0)
                    .max_tokens(12)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        answers.insert(text_of(&out));
    }
    answers
}

/// Which of `n` Converse calls a probability rule answered (`true`) and which went to the
/// model, read from each answer.
async fn fired(client: &aws_sdk_bedrockruntime::Client, n: usize) -> Vec<bool> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let answer = client
            .converse()
            .model_id("local.echo")
            .messages(common::user("not scripted"))
            .send()
            .await
            .unwrap();
        out.push(text_of(&answer) == "scripted");
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn probability_rules_fire_on_some_calls_and_repeat_after_a_reset() {
    let server = common::start_tiny();
    let client = common::runtime_client(&server).await;
    let rule = json!({"model": "local.echo", "probability": 0.5, "respond": {"text": "scripted"}});

    add_rules(&server, rule.clone());
    let first = fired(&client, 24).await;
    let hits = first.iter().filter(|&&f| f).count();
    assert!((4..=20).contains(&hits), "{hits} of 24 fired: {first:?}");
    let listed = raw(&server, "GET", "/_bedrock_local/rules", None).json();
    assert_eq!(listed["rules"][0]["matched"], hits);

    // A reset reseeds the generator: the same rules give the same sequence of decisions.
    assert_eq!(
        raw(&server, "POST", "/_bedrock_local/reset", None).status,
        200
    );
    add_rules(&server, rule);
    assert_eq!(fired(&client, 24).await, first);
}
