//! Prompt caching across the dialects that have it: where a request's last cache breakpoint
//! is (Converse/Nova `cachePoint`, Claude `cache_control`), and the cache counts in the
//! responses (present exactly when the request had a breakpoint).

use bedrock_local_core::{CachePoint, StopReason, Usage};
use serde_json::{json, Value};

use crate::anthropic::Anthropic;
use crate::converse::{self, stream::Encoder, ResponseEcho};
use crate::nova::Nova;
use crate::{Completion, Decoded, InvocationMetrics, InvokeDialect, ModelTraits, ResponseCtx};

const TRAITS: ModelTraits = ModelTraits {
    max_output_tokens: 4096,
    default_max_tokens: 512,
    supports_system: true,
    supports_tools: true,
    supports_reasoning: false,
};

const CACHE: &str = r#"{"cachePoint":{"type":"default"}}"#;
const TOOL: &str =
    r#"{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}}"#;

/// A Converse body: four alternating text messages, with `cachePoint` blocks after the tools
/// (`tools`), the system text (`system`) and the text of the messages listed in `messages`.
fn converse_body(tools: bool, system: bool, messages: &[usize]) -> String {
    let mut msgs = Vec::new();
    for i in 0..4 {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        let mut content = vec![format!(r#"{{"text":"m{i}"}}"#)];
        if messages.contains(&i) {
            content.push(CACHE.to_owned());
        }
        msgs.push(format!(
            r#"{{"role":"{role}","content":[{}]}}"#,
            content.join(",")
        ));
    }
    let system = if system {
        format!(r#"[{{"text":"Be terse."}},{CACHE}]"#)
    } else {
        r#"[{"text":"Be terse."}]"#.to_owned()
    };
    let tools = if tools {
        format!("[{TOOL},{CACHE}]")
    } else {
        format!("[{TOOL}]")
    };
    format!(
        r#"{{"messages":[{}],"system":{system},"toolConfig":{{"tools":{tools}}}}}"#,
        msgs.join(",")
    )
}

fn converse_point(tools: bool, system: bool, messages: &[usize]) -> Option<CachePoint> {
    let body = converse_body(tools, system, messages);
    let request = converse::decode_request(body.as_bytes(), &TRAITS).unwrap();
    assert_eq!(
        request.echo.prompt_caching,
        request.decoded.cache_point.is_some()
    );
    request.decoded.cache_point
}

#[test]
fn converse_cache_point_is_the_last_breakpoint() {
    assert_eq!(converse_point(false, false, &[]), None);
    assert_eq!(converse_point(true, false, &[]), Some(CachePoint::Tools));
    assert_eq!(converse_point(false, true, &[]), Some(CachePoint::System));
    assert_eq!(converse_point(true, true, &[]), Some(CachePoint::System));
    assert_eq!(
        converse_point(false, false, &[1]),
        Some(CachePoint::Message(1))
    );
    assert_eq!(
        converse_point(true, true, &[0, 2]),
        Some(CachePoint::Message(2))
    );
}

#[test]
fn converse_invalid_cache_point_is_refused() {
    let body = converse_body(false, false, &[]).replace(
        r#"{"text":"m0"}"#,
        r#"{"text":"m0"},{"cachePoint":{"type":"forever"}}"#,
    );
    assert!(converse::decode_request(body.as_bytes(), &TRAITS).is_err());
}

fn cached_usage() -> Usage {
    Usage {
        input_tokens: 5,
        output_tokens: 7,
        cache_read_input_tokens: 100,
        cache_write_input_tokens: 20,
    }
}

fn completion(usage: Usage) -> Completion {
    Completion {
        reasoning: None,
        text: "Hi".into(),
        tool_calls: vec![],
        stop_reason: StopReason::EndTurn,
        usage,
        latency_ms: 3,
    }
}

fn echo(prompt_caching: bool) -> ResponseEcho {
    ResponseEcho {
        prompt_caching,
        ..ResponseEcho::default()
    }
}

#[test]
fn converse_usage_has_cache_counts_only_with_a_cache_point() {
    let body = converse::encode_response_with(&completion(cached_usage()), &echo(true));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["usage"],
        json!({"inputTokens": 5, "outputTokens": 7, "totalTokens": 132,
               "cacheReadInputTokens": 100, "cacheWriteInputTokens": 20})
    );

    let plain = Usage {
        input_tokens: 125,
        output_tokens: 7,
        ..Usage::default()
    };
    let body = converse::encode_response_with(&completion(plain), &echo(false));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["usage"],
        json!({"inputTokens": 125, "outputTokens": 7, "totalTokens": 132})
    );
    // With a cache point, zero counts are still reported.
    let body = converse::encode_response_with(&completion(plain), &echo(true));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["usage"]["cacheReadInputTokens"], 0);
    assert_eq!(v["usage"]["cacheWriteInputTokens"], 0);
}

fn metadata_usage(prompt_caching: bool) -> Value {
    let mut encoder = Encoder::new(echo(prompt_caching));
    encoder.start();
    let events = encoder.finish(&StopReason::EndTurn, cached_usage(), 3);
    let (kind, payload) = events.last().unwrap();
    assert_eq!(*kind, "metadata");
    serde_json::from_slice::<Value>(payload).unwrap()["usage"].clone()
}

#[test]
fn converse_stream_metadata_has_cache_counts_only_with_a_cache_point() {
    assert_eq!(
        metadata_usage(true),
        json!({"inputTokens": 5, "outputTokens": 7, "totalTokens": 132,
               "cacheReadInputTokens": 100, "cacheWriteInputTokens": 20})
    );
    let usage = metadata_usage(false);
    assert!(usage.get("cacheReadInputTokens").is_none());
    assert!(usage.get("cacheWriteInputTokens").is_none());
}

fn anthropic(messages: &str, rest: &str) -> Decoded {
    let sep = if rest.is_empty() { "" } else { "," };
    let body = format!(
        r#"{{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":{messages}{sep}{rest}}}"#
    );
    Anthropic.decode(body.as_bytes(), &TRAITS).unwrap()
}

const EPHEMERAL: &str = r#""cache_control":{"type":"ephemeral"}"#;

#[test]
fn anthropic_cache_control_positions() {
    let plain = r#"[{"role":"user","content":"Hi"}]"#;
    let tool = |marked: bool| {
        let extra = if marked {
            EPHEMERAL
        } else {
            r#""description":"d""#
        };
        format!(r#""tools":[{{"name":"f","input_schema":{{"type":"object"}},{extra}}}]"#)
    };
    assert_eq!(anthropic(plain, "").cache_point, None);
    assert_eq!(anthropic(plain, &tool(false)).cache_point, None);
    assert_eq!(
        anthropic(plain, &tool(true)).cache_point,
        Some(CachePoint::Tools)
    );
    let system = format!(r#""system":[{{"type":"text","text":"Be terse.",{EPHEMERAL}}}]"#);
    assert_eq!(
        anthropic(plain, &format!("{},{system}", tool(true))).cache_point,
        Some(CachePoint::System)
    );
    let messages = format!(
        r#"[{{"role":"user","content":[{{"type":"text","text":"a",{EPHEMERAL}}}]}},
            {{"role":"assistant","content":"b"}},
            {{"role":"user","content":[{{"type":"text","text":"c",{EPHEMERAL}}},{{"type":"text","text":"d"}}]}}]"#
    );
    assert_eq!(
        anthropic(&messages, &system).cache_point,
        Some(CachePoint::Message(2))
    );
    // A null `cache_control` is no breakpoint.
    let null = r#"[{"role":"user","content":[{"type":"text","text":"a","cache_control":null}]}]"#;
    assert_eq!(anthropic(null, "").cache_point, None);
}

#[test]
fn anthropic_cache_control_in_tool_results_and_dropped_messages() {
    let tools = r#""tools":[{"name":"f","input_schema":{"type":"object"}}]"#;
    let messages = format!(
        r#"[{{"role":"user","content":"Weather?"}},
            {{"role":"assistant","content":[{{"type":"tool_use","id":"t1","name":"f","input":{{}}}}]}},
            {{"role":"user","content":[{{"type":"tool_result","tool_use_id":"t1","content":[{{"type":"text","text":"sunny",{EPHEMERAL}}}]}}]}}]"#
    );
    assert_eq!(
        anthropic(&messages, tools).cache_point,
        Some(CachePoint::Message(2))
    );
    // An assistant message left empty (only thinking) is dropped: its breakpoint is the end of
    // the message before it, in the engine's message vector.
    let messages = format!(
        r#"[{{"role":"user","content":"Hi"}},
            {{"role":"assistant","content":[{{"type":"thinking","thinking":"hm","signature":"s",{EPHEMERAL}}}]}}]"#
    );
    let d = anthropic(&messages, "");
    let bedrock_local_core::Prompt::Chat { messages, .. } = &d.prompt else {
        panic!("not a chat");
    };
    assert_eq!(messages.len(), 1);
    assert_eq!(d.cache_point, Some(CachePoint::Message(0)));
}

fn ctx(prompt_caching: bool) -> ResponseCtx {
    ResponseCtx {
        model_id: "anthropic.claude-3-haiku-20240307-v1:0".into(),
        response_id: "0123456789abcdef0123456789abcdef".into(),
        created_unix: 1_700_000_000,
        echo: json!({"format": "messages"}),
        prompt_caching,
    }
}

#[test]
fn anthropic_usage_has_cache_counts_only_with_cache_control() {
    let v: Value =
        serde_json::from_slice(&Anthropic.encode(&ctx(true), &completion(cached_usage()))).unwrap();
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 5, "cache_creation_input_tokens": 20,
               "cache_read_input_tokens": 100, "output_tokens": 7})
    );
    let v: Value =
        serde_json::from_slice(&Anthropic.encode(&ctx(false), &completion(cached_usage())))
            .unwrap();
    assert_eq!(v["usage"], json!({"input_tokens": 5, "output_tokens": 7}));
}

/// The decoded chunks of an Anthropic stream: start (125 prompt tokens), "Hi", finish.
fn anthropic_stream(prompt_caching: bool) -> Vec<Value> {
    let mut encoder = Anthropic.chunk_encoder(&ctx(prompt_caching));
    let usage = cached_usage();
    let metrics = InvocationMetrics::new(usage, prompt_caching, 30, 10);
    let mut chunks = encoder.start(125);
    chunks.extend(encoder.text("Hi"));
    chunks.extend(encoder.finish(&StopReason::EndTurn, usage, &metrics));
    chunks
        .iter()
        .map(|c| serde_json::from_slice(c).unwrap())
        .collect()
}

#[test]
fn anthropic_stream_reports_cache_counts_at_the_end() {
    let chunks = anthropic_stream(true);
    assert_eq!(
        chunks[0]["message"]["usage"],
        json!({"input_tokens": 125, "output_tokens": 1})
    );
    let delta = &chunks[chunks.len() - 2];
    assert_eq!(delta["type"], "message_delta");
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 5, "cache_creation_input_tokens": 20,
               "cache_read_input_tokens": 100, "output_tokens": 7})
    );
    let stop = &chunks[chunks.len() - 1];
    assert_eq!(
        stop["amazon-bedrock-invocationMetrics"],
        json!({"inputTokenCount": 5, "outputTokenCount": 7, "invocationLatency": 30,
               "firstByteLatency": 10, "cacheReadInputTokenCount": 100,
               "cacheWriteInputTokenCount": 20})
    );

    let chunks = anthropic_stream(false);
    assert_eq!(
        chunks[chunks.len() - 2]["usage"],
        json!({"output_tokens": 7})
    );
    assert_eq!(
        chunks[chunks.len() - 1]["amazon-bedrock-invocationMetrics"],
        json!({"inputTokenCount": 5, "outputTokenCount": 7, "invocationLatency": 30,
               "firstByteLatency": 10})
    );
}

fn nova_point(body: &str) -> Option<CachePoint> {
    Nova.decode(body.as_bytes(), &TRAITS).unwrap().cache_point
}

#[test]
fn nova_cache_point_positions() {
    let tools = format!(r#""toolConfig":{{"tools":[{TOOL},{CACHE}]}}"#);
    let system = format!(r#""system":[{{"text":"Be terse."}},{CACHE}]"#);
    let plain = r#""messages":[{"role":"user","content":[{"text":"Hi"}]}]"#;
    let marked = format!(
        r#""messages":[{{"role":"user","content":[{{"text":"Hi"}},{CACHE}]}},{{"role":"assistant","content":[{{"text":"Yo"}}]}},{{"role":"user","content":[{{"text":"Go"}}]}}]"#
    );
    assert_eq!(nova_point(&format!("{{{plain}}}")), None);
    assert_eq!(
        nova_point(&format!("{{{plain},{tools}}}")),
        Some(CachePoint::Tools)
    );
    assert_eq!(
        nova_point(&format!("{{{plain},{tools},{system}}}")),
        Some(CachePoint::System)
    );
    assert_eq!(
        nova_point(&format!("{{{marked},{system}}}")),
        Some(CachePoint::Message(0))
    );
}

#[test]
fn nova_usage_fills_the_cache_counts() {
    let mut ctx = ctx(true);
    ctx.model_id = "amazon.nova-lite-v1:0".into();
    let v: Value = serde_json::from_slice(&Nova.encode(&ctx, &completion(cached_usage()))).unwrap();
    assert_eq!(
        v["usage"],
        json!({"inputTokens": 5, "outputTokens": 7, "totalTokens": 132,
               "cacheReadInputTokenCount": 100, "cacheWriteInputTokenCount": 20})
    );
}

#[test]
fn invocation_metrics_cache_counts_follow_the_cache_point() {
    let with = InvocationMetrics::new(cached_usage(), true, 30, 10);
    assert_eq!(with.cache_read_input_token_count, Some(100));
    assert_eq!(with.cache_write_input_token_count, Some(20));
    let without = InvocationMetrics::new(cached_usage(), false, 30, 10);
    assert_eq!(without.cache_read_input_token_count, None);
    assert_eq!(
        crate::invocation_metrics_json(&without),
        json!({"inputTokenCount": 5, "outputTokenCount": 7, "invocationLatency": 30,
               "firstByteLatency": 10})
    );
}
