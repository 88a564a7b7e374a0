//! Prompt caching through the facade against a fake backend: the request's cache point
//! reaches the backend, and the backend's cache counts reach the response (only when the
//! request asked for caching).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use bedrock_local_core::{
    BackendError, CachePoint, EmbedRequest, Embeddings, GenerateRequest, GenerationEvent,
    GenerationStream, InferenceBackend, LocalModelName, ModelStatus, Prompt, StopReason,
    TokenCount, Usage,
};
use bedrock_local_facade::router;
use serde_json::{json, Value};

/// Answers "ok" and reports the prompt as 124 tokens: with a cache point, 100 read from the
/// cache, 20 written to it and 4 fresh. Records the cache point of every request.
#[derive(Default)]
struct Caching {
    seen: Mutex<Vec<Option<CachePoint>>>,
}

impl InferenceBackend for Caching {
    fn generate(&self, request: GenerateRequest) -> Result<GenerationStream, BackendError> {
        self.seen.lock().unwrap().push(request.cache_point);
        let usage = if request.cache_point.is_some() {
            Usage {
                input_tokens: 4,
                output_tokens: 2,
                cache_read_input_tokens: 100,
                cache_write_input_tokens: 20,
            }
        } else {
            Usage {
                input_tokens: 124,
                output_tokens: 2,
                ..Usage::default()
            }
        };
        let (tx, stream) = GenerationStream::channel(3);
        let _ = tx.try_send(Ok(GenerationEvent::Started { prompt_tokens: 124 }));
        let _ = tx.try_send(Ok(GenerationEvent::Text("ok".into())));
        let _ = tx.try_send(Ok(GenerationEvent::Finished {
            stop_reason: StopReason::EndTurn,
            usage,
        }));
        Ok(stream)
    }

    fn count_tokens(&self, _: &LocalModelName, _: &Prompt) -> Result<TokenCount, BackendError> {
        Ok(TokenCount {
            prompt_tokens: 124,
            context_length: 8192,
        })
    }

    fn embed(&self, _: EmbedRequest) -> Result<Embeddings, BackendError> {
        Err(BackendError::Unsupported("no embeddings here".into()))
    }

    fn load(&self, _: &LocalModelName) -> Result<(), BackendError> {
        Ok(())
    }

    fn status(&self) -> Vec<ModelStatus> {
        Vec::new()
    }
}

fn app() -> (axum::Router, Arc<Caching>, tempfile::TempDir) {
    let backend = Arc::new(Caching::default());
    let (state, dir) = common::state_with(backend.clone());
    (router(state), backend, dir)
}

async fn post(app: &axum::Router, uri: &str, body: &Value) -> (StatusCode, HeaderMap, Vec<u8>) {
    let (status, headers, bytes) =
        common::send(app, "POST", uri, "us-east-1", body.to_string()).await;
    (status, headers, bytes.to_vec())
}

/// The payloads of an event stream, with their `:event-type`.
fn events(bytes: Vec<u8>) -> Vec<(String, Value)> {
    use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
    use aws_smithy_types::event_stream::HeaderValue;

    let mut bytes = axum::body::Bytes::from(bytes);
    let mut decoder = MessageFrameDecoder::new();
    let mut out = Vec::new();
    while let DecodedFrame::Complete(message) = decoder.decode_frame(&mut bytes).unwrap() {
        let event_type = message
            .headers()
            .iter()
            .find(|h| h.name().as_str() == ":event-type")
            .map(|h| match h.value() {
                HeaderValue::String(s) => s.as_str().to_owned(),
                other => panic!("{other:?}"),
            })
            .unwrap();
        out.push((
            event_type,
            serde_json::from_slice(message.payload()).unwrap(),
        ));
    }
    out
}

const CONVERSE: &str = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
const CONVERSE_STREAM: &str = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream";
const INVOKE: &str = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke";
const INVOKE_STREAM: &str =
    "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream";

fn converse_body(cached: bool) -> Value {
    let mut system = vec![json!({"text": "You answer in one word."})];
    if cached {
        system.push(json!({"cachePoint": {"type": "default"}}));
    }
    json!({
        "system": system,
        "messages": [{"role": "user", "content": [{"text": "Hello"}]}],
    })
}

#[tokio::test]
async fn converse_reports_the_backend_cache_counts() {
    let (app, backend, _dir) = app();
    let (status, _, body) = post(&app, CONVERSE, &converse_body(true)).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["usage"],
        json!({"inputTokens": 4, "outputTokens": 2, "totalTokens": 126,
               "cacheReadInputTokens": 100, "cacheWriteInputTokens": 20})
    );

    let (status, _, body) = post(&app, CONVERSE, &converse_body(false)).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["usage"],
        json!({"inputTokens": 124, "outputTokens": 2, "totalTokens": 126})
    );
    assert_eq!(
        *backend.seen.lock().unwrap(),
        [Some(CachePoint::System), None]
    );
}

#[tokio::test]
async fn converse_stream_metadata_reports_the_cache_counts() {
    let (app, _backend, _dir) = app();
    let (status, _, body) = post(&app, CONVERSE_STREAM, &converse_body(true)).await;
    assert_eq!(status, 200);
    let events = events(body);
    let (kind, metadata) = events.last().unwrap();
    assert_eq!(kind, "metadata");
    assert_eq!(metadata["usage"]["cacheReadInputTokens"], 100);
    assert_eq!(metadata["usage"]["cacheWriteInputTokens"], 20);
    assert_eq!(metadata["usage"]["totalTokens"], 126);
}

fn claude_body(cached: bool) -> Value {
    let mut block = json!({"type": "text", "text": "Hello"});
    if cached {
        block["cache_control"] = json!({"type": "ephemeral"});
    }
    json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": [block]}],
    })
}

#[tokio::test]
async fn invoke_model_claude_reports_the_cache_counts_and_headers() {
    let (app, backend, _dir) = app();
    let (status, headers, body) = post(&app, INVOKE, &claude_body(true)).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 4, "cache_creation_input_tokens": 20,
               "cache_read_input_tokens": 100, "output_tokens": 2})
    );
    assert_eq!(headers["x-amzn-bedrock-input-token-count"], "4");
    assert_eq!(
        headers["x-amzn-bedrock-cache-read-input-token-count"],
        "100"
    );
    assert_eq!(
        headers["x-amzn-bedrock-cache-write-input-token-count"],
        "20"
    );

    let (status, headers, body) = post(&app, INVOKE, &claude_body(false)).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["usage"], json!({"input_tokens": 124, "output_tokens": 2}));
    assert!(!headers.contains_key("x-amzn-bedrock-cache-read-input-token-count"));
    assert!(!headers.contains_key("x-amzn-bedrock-cache-write-input-token-count"));
    assert_eq!(
        *backend.seen.lock().unwrap(),
        [Some(CachePoint::Message(0)), None]
    );
}

/// The decoded provider documents of an InvokeModelWithResponseStream response.
fn documents(body: Vec<u8>) -> Vec<Value> {
    events(body)
        .into_iter()
        .map(|(kind, payload)| {
            assert_eq!(kind, "chunk");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(payload["bytes"].as_str().unwrap())
                .unwrap();
            serde_json::from_slice(&bytes).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn invoke_stream_claude_reports_the_cache_counts_at_the_end() {
    let (app, _backend, _dir) = app();
    let (status, _, body) = post(&app, INVOKE_STREAM, &claude_body(true)).await;
    assert_eq!(status, 200);
    let chunks = documents(body);
    let delta = &chunks[chunks.len() - 2];
    assert_eq!(delta["type"], "message_delta");
    assert_eq!(delta["usage"]["cache_read_input_tokens"], 100);
    assert_eq!(delta["usage"]["cache_creation_input_tokens"], 20);
    let metrics = &chunks[chunks.len() - 1]["amazon-bedrock-invocationMetrics"];
    assert_eq!(metrics["inputTokenCount"], 4);
    assert_eq!(metrics["cacheReadInputTokenCount"], 100);
    assert_eq!(metrics["cacheWriteInputTokenCount"], 20);

    let (_, _, body) = post(&app, INVOKE_STREAM, &claude_body(false)).await;
    let chunks = documents(body);
    let metrics = &chunks[chunks.len() - 1]["amazon-bedrock-invocationMetrics"];
    assert_eq!(metrics["inputTokenCount"], 124);
    assert!(metrics.get("cacheReadInputTokenCount").is_none());
}
