//! The facade against a fake backend: routing, error mapping, response shapes, panic safety,
//! with no candle in the build (the backend is reached only through `InferenceBackend`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use bedrock_local_core::{
    BackendError, EmbedRequest, Embeddings, GenerateRequest, GenerationEvent, GenerationStream,
    InferenceBackend, LocalModelName, ModelStatus, Prompt, StopReason, TokenCount, Truncate, Usage,
};
use bedrock_local_facade::{record_invoker, router, AppState};

/// Answers with the last user message, word by word; special prompts trigger failures.
struct Echo;

impl InferenceBackend for Echo {
    fn generate(&self, request: GenerateRequest) -> Result<GenerationStream, BackendError> {
        let text = match &request.prompt {
            Prompt::Raw(t) => t.clone(),
            Prompt::Chat { messages, .. } => {
                messages.last().map(|m| m.joined_text()).unwrap_or_default()
            }
        };
        match text.as_str() {
            "which priority?" => {
                let answer = format!("{:?}", request.priority);
                let (tx, stream) = GenerationStream::channel(3);
                let _ = tx.try_send(Ok(GenerationEvent::Started { prompt_tokens: 2 }));
                let _ = tx.try_send(Ok(GenerationEvent::Text(answer)));
                let _ = tx.try_send(Ok(GenerationEvent::Finished {
                    stop_reason: StopReason::EndTurn,
                    usage: Usage {
                        input_tokens: 2,
                        output_tokens: 1,
                        ..Default::default()
                    },
                }));
                return Ok(stream);
            }
            "overload" => return Err(BackendError::Overloaded(request.model.to_string())),
            "panic" => panic!("boom"),
            "too long" => {
                let (tx, stream) = GenerationStream::channel(1);
                let _ = tx.try_send(Err(BackendError::ContextOverflow {
                    prompt_tokens: 9000,
                    limit: 8191,
                }));
                return Ok(stream);
            }
            "fail midway" => {
                let (tx, stream) = GenerationStream::channel(4);
                let _ = tx.try_send(Ok(GenerationEvent::Started { prompt_tokens: 3 }));
                let _ = tx.try_send(Ok(GenerationEvent::Text("fail ".into())));
                let _ = tx.try_send(Err(BackendError::Internal("the model fell over".into())));
                return Ok(stream);
            }
            "call a tool" => {
                let (tx, stream) = GenerationStream::channel(4);
                let _ = tx.try_send(Ok(GenerationEvent::Started { prompt_tokens: 3 }));
                let _ = tx.try_send(Ok(GenerationEvent::Text("Checking.".into())));
                let _ = tx.try_send(Ok(GenerationEvent::ToolCall {
                    name: "get_weather".into(),
                    input_json: r#"{"city":"Paris"}"#.into(),
                }));
                let _ = tx.try_send(Ok(GenerationEvent::Finished {
                    stop_reason: StopReason::ToolUse,
                    usage: Usage {
                        input_tokens: 3,
                        output_tokens: 9,
                        ..Default::default()
                    },
                }));
                return Ok(stream);
            }
            _ => {}
        }
        let words: Vec<String> = text.split(' ').map(|w| format!("{w} ")).collect();
        let (tx, stream) = GenerationStream::channel(words.len() + 2);
        let _ = tx.try_send(Ok(GenerationEvent::Started { prompt_tokens: 3 }));
        let n = words.len().min(request.max_tokens as usize);
        for w in &words[..n] {
            let _ = tx.try_send(Ok(GenerationEvent::Text(w.clone())));
        }
        let stop_reason = if n < words.len() {
            StopReason::MaxTokens
        } else {
            StopReason::EndTurn
        };
        let _ = tx.try_send(Ok(GenerationEvent::Finished {
            stop_reason,
            usage: Usage {
                input_tokens: 3,
                output_tokens: n as u32,
                ..Default::default()
            },
        }));
        Ok(stream)
    }

    fn count_tokens(&self, _: &LocalModelName, _: &Prompt) -> Result<TokenCount, BackendError> {
        Ok(TokenCount {
            prompt_tokens: 3,
            context_length: 8192,
        })
    }

    /// One token per word; a 384-d vector per text from its words (texts sharing words point
    /// in similar directions).
    fn embed(&self, request: EmbedRequest) -> Result<Embeddings, BackendError> {
        if request.model.as_str() != "all-minilm-l6-v2" {
            return Err(BackendError::Unsupported("not an embedding model".into()));
        }
        let mut vectors = Vec::new();
        let mut token_counts = Vec::new();
        for text in &request.texts {
            let mut words: Vec<&str> = text.split_whitespace().collect();
            if let Some(limit) = request.max_input_tokens.map(|l| l as usize) {
                if words.len() > limit {
                    match request.truncate {
                        Truncate::None => {
                            return Err(BackendError::ContextOverflow {
                                prompt_tokens: words.len() as u32,
                                limit: limit as u32,
                            })
                        }
                        Truncate::Start => words.drain(..words.len() - limit).for_each(drop),
                        Truncate::End => words.truncate(limit),
                    }
                }
            }
            let mut v = vec![0f32; 384];
            for w in &words {
                let h = w
                    .bytes()
                    .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
                v[(h % 384) as usize] += 1.0;
                v[((h / 384) % 384) as usize] -= 0.5;
            }
            vectors.push(v);
            token_counts.push(words.len() as u32);
        }
        Ok(Embeddings {
            vectors,
            token_counts,
        })
    }

    fn load(&self, _: &LocalModelName) -> Result<(), BackendError> {
        Ok(())
    }

    fn status(&self) -> Vec<ModelStatus> {
        Vec::new()
    }
}

fn state() -> (AppState, tempfile::TempDir) {
    common::state_with(Arc::new(Echo))
}

fn app() -> (axum::Router, tempfile::TempDir) {
    let (state, dir) = state();
    (router(state), dir)
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let (status, headers, bytes) =
        common::send(app, method, uri, "eu-west-1", body.to_string()).await;
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

fn chat(text: &str, max_tokens: u32) -> String {
    serde_json::json!({
        "messages": [{"role": "user", "content": [{"text": text}]}],
        "inferenceConfig": {"maxTokens": max_tokens}
    })
    .to_string()
}

#[tokio::test]
async fn converse_shape_and_stop_reasons() {
    let (app, _dir) = app();
    let (status, headers, v) = call(
        &app,
        "POST",
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
        &chat("one two three", 10),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(headers.contains_key("x-amzn-requestid"));
    assert_eq!(v["output"]["message"]["role"], "assistant");
    assert_eq!(
        v["output"]["message"]["content"][0]["text"],
        "one two three "
    );
    assert_eq!(v["stopReason"], "end_turn");
    assert_eq!(v["usage"]["inputTokens"], 3);
    assert_eq!(v["usage"]["outputTokens"], 3);
    assert_eq!(v["usage"]["totalTokens"], 6);
    assert!(v["metrics"]["latencyMs"].is_u64());

    let (_, _, v) = call(
        &app,
        "POST",
        "/model/anthropic.claude-3-haiku-20240307-v1:0/converse",
        &chat("one two three", 2),
    )
    .await;
    assert_eq!(v["stopReason"], "max_tokens");
}

#[tokio::test]
async fn backend_errors_map_to_aws_errors() {
    let (app, _dir) = app();
    let uri = "/model/meta.llama3-8b-instruct-v1%3A0/converse";
    let (status, headers, v) = call(&app, "POST", uri, &chat("overload", 5)).await;
    assert_eq!(status, 429);
    assert_eq!(headers["x-amzn-errortype"], "ThrottlingException");
    let (status, _, error) = call_stream(
        &app,
        "/model/amazon.titan-embed-text-v2%3A0/invoke-with-response-stream",
        r#"{"inputText": "hi"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        error[0].2["message"],
        "The model is unsupported for streaming."
    );
    assert!(v["message"].as_str().unwrap().contains("Too many requests"));

    let (status, headers, v) = call(&app, "POST", uri, &chat("too long", 5)).await;
    assert_eq!(status, 400);
    assert_eq!(headers["x-amzn-errortype"], "ValidationException");
    assert!(v["message"]
        .as_str()
        .unwrap()
        .starts_with("Input is too long for requested model."));

    // A panicking backend is a 500 InternalServerException, and the app keeps serving.
    let (status, headers, _) = call(&app, "POST", uri, &chat("panic", 5)).await;
    assert_eq!(status, 500);
    assert_eq!(headers["x-amzn-errortype"], "InternalServerException");
    let (status, _, _) = call(&app, "POST", uri, &chat("still here", 5)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn routing_by_scope_and_path() {
    let (app, _dir) = app();
    // The region of minted ARNs comes from the credential scope.
    let (status, _, v) = call(&app, "GET", "/foundation-models?byProvider=Meta", "").await;
    assert_eq!(status, 200);
    let first = &v["modelSummaries"][0];
    assert!(first["modelArn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:bedrock:eu-west-1::foundation-model/meta."));

    let (status, headers, _) =
        call(&app, "GET", "/foundation-models?byOutputModality=SOUND", "").await;
    assert_eq!(status, 400);
    assert_eq!(headers["x-amzn-errortype"], "ValidationException");

    // Embedding models cannot converse.
    let (status, _, v) = call(
        &app,
        "POST",
        "/model/amazon.titan-embed-text-v2%3A0/converse",
        &chat("hi", 5),
    )
    .await;
    assert_eq!(status, 400);
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("doesn't support the model"));

    // Known-but-later operations are a clear 501; unknown paths a 404.
    let (status, headers, _) = call(
        &app,
        "POST",
        "/model/meta.llama3-8b-instruct-v1%3A0/invoke-with-bidirectional-stream",
        &chat("hi", 5),
    )
    .await;
    assert_eq!(status, 501);
    assert_eq!(headers["x-amzn-errortype"], "NotImplementedException");
    let (status, headers, _) = call(&app, "GET", "/nothing/here", "").await;
    assert_eq!(status, 404);
    assert_eq!(headers["x-amzn-errortype"], "UnknownOperationException");
}

/// Calls a streaming operation and decodes every event-stream message:
/// `(message type, event or exception type, payload JSON)`.
async fn call_stream(
    app: &axum::Router,
    uri: &str,
    body: &str,
) -> (
    StatusCode,
    axum::http::HeaderMap,
    Vec<(String, String, serde_json::Value)>,
) {
    use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
    use aws_smithy_types::event_stream::HeaderValue;

    let (status, headers, mut bytes) =
        common::send(app, "POST", uri, "us-east-1", body.to_string()).await;
    if status != StatusCode::OK {
        return (
            status,
            headers,
            vec![(
                "error".into(),
                String::new(),
                serde_json::from_slice(&bytes).unwrap(),
            )],
        );
    }
    let mut decoder = MessageFrameDecoder::new();
    let mut messages = Vec::new();
    while let DecodedFrame::Complete(message) = decoder.decode_frame(&mut bytes).unwrap() {
        let header = |name: &str| {
            message
                .headers()
                .iter()
                .find(|h| h.name().as_str() == name)
                .map(|h| match h.value() {
                    HeaderValue::String(s) => s.as_str().to_owned(),
                    other => panic!("{other:?}"),
                })
        };
        let kind = header(":message-type").unwrap();
        let name = header(":event-type")
            .or_else(|| header(":exception-type"))
            .unwrap();
        messages.push((
            kind,
            name,
            serde_json::from_slice(message.payload()).unwrap(),
        ));
    }
    assert!(bytes.is_empty(), "trailing bytes after the last message");
    (status, headers, messages)
}

#[tokio::test]
async fn converse_stream_events_match_converse() {
    let (app, _dir) = app();
    let uri = "/model/meta.llama3-8b-instruct-v1%3A0/converse-stream";
    let (status, headers, events) = call_stream(&app, uri, &chat("one two three", 10)).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "application/vnd.amazon.eventstream"
    );
    let names: Vec<&str> = events.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    let text: String = events
        .iter()
        .filter_map(|(_, _, v)| v["delta"]["text"].as_str())
        .collect();
    let (_, _, unary) = call(
        &app,
        "POST",
        "/model/meta.llama3-8b-instruct-v1%3A0/converse",
        &chat("one two three", 10),
    )
    .await;
    assert_eq!(
        text,
        unary["output"]["message"]["content"][0]["text"]
            .as_str()
            .unwrap()
    );
    assert_eq!(events[5].2, serde_json::json!({"stopReason": "end_turn"}));
    assert_eq!(
        events[6].2["usage"],
        serde_json::json!({"inputTokens": 3, "outputTokens": 3, "totalTokens": 6})
    );
    assert!(events[6].2["metrics"]["latencyMs"].is_u64());

    // A tool call: its own block with a start, one input delta, and stopReason tool_use.
    let (_, _, events) = call_stream(&app, uri, &chat("call a tool", 10)).await;
    let names: Vec<&str> = events.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockStop",
            "contentBlockStart",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    assert_eq!(events[3].2["start"]["toolUse"]["name"], "get_weather");
    assert!(events[3].2["start"]["toolUse"]["toolUseId"]
        .as_str()
        .unwrap()
        .starts_with("tooluse_"));
    assert_eq!(
        events[4].2["delta"]["toolUse"]["input"],
        r#"{"city":"Paris"}"#
    );
    assert_eq!(events[6].2["stopReason"], "tool_use");
}

#[tokio::test]
async fn stream_errors_before_and_after_the_first_byte() {
    let (app, _dir) = app();
    let uri = "/model/meta.llama3-8b-instruct-v1%3A0/converse-stream";
    // Found before the stream starts: a plain JSON error with its status.
    let (status, headers, _) = call_stream(&app, uri, &chat("too long", 10)).await;
    assert_eq!(status, 400);
    assert_eq!(headers["x-amzn-errortype"], "ValidationException");
    let (status, headers, _) = call_stream(&app, uri, &chat("overload", 10)).await;
    assert_eq!(status, 429);
    assert_eq!(headers["x-amzn-errortype"], "ThrottlingException");
    let (status, _, error) = call_stream(
        &app,
        "/model/amazon.titan-embed-text-v2%3A0/invoke-with-response-stream",
        r#"{"inputText": "hi"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        error[0].2["message"],
        "The model is unsupported for streaming."
    );
    // After: the events so far, then one exception message, then the end of the body.
    let (status, _, events) = call_stream(&app, uri, &chat("fail midway", 10)).await;
    assert_eq!(status, 200);
    let last = events.last().unwrap();
    assert_eq!(last.0, "exception");
    assert_eq!(last.1, "internalServerException");
    assert!(last.2["message"]
        .as_str()
        .unwrap()
        .contains("internal error"));
    assert_eq!(events[1].2["delta"]["text"], "fail ");

    // InvokeModelWithResponseStream: the same, as chunks.
    let body = serde_json::json!({"prompt": "fail midway"}).to_string();
    let (status, _, events) = call_stream(
        &app,
        "/model/meta.llama3-8b-instruct-v1%3A0/invoke-with-response-stream",
        &body,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(events.last().unwrap().1, "internalServerException");
}

#[tokio::test]
async fn invoke_stream_chunks_carry_provider_json() {
    use base64::Engine as _;
    let (app, _dir) = app();
    let body = serde_json::json!({"prompt": "Hello there", "max_gen_len": 10}).to_string();
    let (status, headers, events) = call_stream(
        &app,
        "/model/meta.llama3-8b-instruct-v1%3A0/invoke-with-response-stream",
        &body,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-amzn-bedrock-content-type"], "application/json");
    let docs: Vec<serde_json::Value> = events
        .iter()
        .map(|(kind, name, v)| {
            assert_eq!((kind.as_str(), name.as_str()), ("event", "chunk"));
            let raw = base64::engine::general_purpose::STANDARD
                .decode(v["bytes"].as_str().unwrap())
                .unwrap();
            serde_json::from_slice(&raw).unwrap()
        })
        .collect();
    let text: String = docs
        .iter()
        .map(|d| d["generation"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Hello there ");
    assert_eq!(docs[0]["prompt_token_count"], 3);
    let last = docs.last().unwrap();
    assert_eq!(last["stop_reason"], "stop");
    assert_eq!(
        last["amazon-bedrock-invocationMetrics"]["inputTokenCount"],
        3
    );
    assert_eq!(
        last["amazon-bedrock-invocationMetrics"]["outputTokenCount"],
        2
    );
}

#[tokio::test]
async fn count_tokens_for_both_inputs() {
    use base64::Engine as _;
    let (app, _dir) = app();
    let uri = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/count-tokens";
    let converse = serde_json::json!({"input": {"converse": {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}}});
    let (status, _, v) = call(&app, "POST", uri, &converse.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(v, serde_json::json!({"inputTokens": 3}));
    let body = base64::engine::general_purpose::STANDARD.encode(br#"{"prompt":"hi"}"#);
    let invoke = serde_json::json!({"input": {"invokeModel": {"body": body}}});
    let (status, _, v) = call(
        &app,
        "POST",
        "/model/meta.llama3-8b-instruct-v1%3A0/count-tokens",
        &invoke.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["inputTokens"], 3);
    let (status, headers, _) = call(&app, "POST", uri, "{}").await;
    assert_eq!(status, 400);
    assert_eq!(headers["x-amzn-errortype"], "ValidationException");
}

/// Batch-job records reach the engine as batch work (served after interactive requests);
/// HTTP callers as interactive.
#[tokio::test]
async fn batch_records_queue_behind_interactive_calls() {
    let (state, _dir) = state();
    let invoker = record_invoker(&state);
    let model = "anthropic.claude-3-haiku-20240307-v1:0";
    let body = serde_json::json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "which priority?"}]
    })
    .to_string();
    let out = invoker
        .invoke(model, false, body.clone().into_bytes())
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(json["content"][0]["text"], "Batch");
    let out = invoker
        .invoke(model, true, chat("which priority?", 10).into_bytes())
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(json["output"]["message"]["content"][0]["text"], "Batch");

    let app = router(state);
    let (status, _, json) = call(&app, "POST", &format!("/model/{model}/invoke"), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["content"][0]["text"], "Interactive");
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64) * (*y as f64))
        .sum();
    let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

/// Embedding ids take the embeddings path: Titan and Cohere shapes, headers, errors.
#[tokio::test]
async fn embeddings_through_invoke_model() {
    let (app, _dir) = app();
    let (status, headers, v) = call(
        &app,
        "POST",
        "/model/amazon.titan-embed-text-v2:0/invoke",
        r#"{"inputText": "the cat sat on the mat", "dimensions": 512}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["embedding"].as_array().unwrap().len(), 512);
    assert_eq!(v["inputTextTokenCount"], 6);
    assert_eq!(headers["x-amzn-bedrock-input-token-count"], "6");
    assert!(headers.contains_key("x-amzn-bedrock-invocation-latency"));

    let (status, _, v) = call(
        &app,
        "POST",
        "/model/cohere.embed-english-v3/invoke",
        r#"{"texts": ["the cat sat", "the cat sat down", "stock prices fell"], "input_type": "search_document"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let e: Vec<Vec<f32>> = v["embeddings"]
        .as_array()
        .unwrap()
        .iter()
        .map(floats)
        .collect();
    assert_eq!(e.len(), 3);
    assert_eq!(e[0].len(), 1024);
    assert!(cosine(&e[0], &e[1]) > cosine(&e[0], &e[2]));

    // A local embedding name speaks Titan V2.
    let (status, _, v) = call(
        &app,
        "POST",
        "/model/all-minilm-l6-v2/invoke",
        r#"{"inputText": "hello"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["embedding"].as_array().unwrap().len(), 1024);

    // Too long for Titan: its error; Cohere truncates when asked.
    let long = vec!["word"; 9000].join(" ");
    let (status, _, v) = call(
        &app,
        "POST",
        "/model/amazon.titan-embed-text-v2:0/invoke",
        &format!(r#"{{"inputText": "{long}"}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("Max input tokens: 8192, request input token count: 9000"));
    let long = vec!["a"; 600].join(" ");
    let (status, headers, _) = call(
        &app,
        "POST",
        "/model/cohere.embed-english-v3/invoke",
        &format!(r#"{{"texts": ["{long}"], "input_type": "clustering", "truncate": "END"}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-amzn-bedrock-input-token-count"], "512");
}

#[tokio::test]
async fn embedding_and_text_models_refuse_each_others_calls() {
    let (app, _dir) = app();
    let cases = [
        // Converse on an embedding model.
        (
            "/model/amazon.titan-embed-text-v2:0/converse",
            chat("hello", 10),
            "This action doesn't support the model that you provided",
        ),
        // Streaming an embedding model.
        (
            "/model/cohere.embed-english-v3/invoke-with-response-stream",
            r#"{"texts": ["a"], "input_type": "clustering"}"#.to_string(),
            "The model is unsupported for streaming.",
        ),
        // A text model with an embeddings body.
        (
            "/model/amazon.titan-text-express-v1/invoke",
            r#"{"texts": ["a"], "input_type": "clustering"}"#.to_string(),
            "required key [inputText] not found",
        ),
        // An embedding model with a text body.
        (
            "/model/amazon.titan-embed-text-v1/invoke",
            r#"{"inputText": "a", "textGenerationConfig": {"maxTokenCount": 5}}"#.to_string(),
            "extraneous key [textGenerationConfig] is not permitted",
        ),
        (
            "/model/cohere.embed-english-v3/invoke",
            r#"{"inputText": "hello"}"#.to_string(),
            "#: required key [texts] not found#: required key [input_type] not found#: extraneous key [inputText] is not permitted",
        ),
    ];
    for (uri, body, message) in cases {
        let (status, headers, v) = call(&app, "POST", uri, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert_eq!(headers["x-amzn-errortype"], "ValidationException", "{uri}");
        assert!(
            v["message"].as_str().unwrap().contains(message),
            "{uri}: {v}"
        );
    }
}
