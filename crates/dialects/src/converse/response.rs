//! The Converse response body (bedrock-wire §4.6) and the values it shares with the stream.
//!
//! Always the four required members `output`, `stopReason`, `usage`, `metrics` (the Rust SDK
//! fails on a missing one), then `performanceConfig` / `serviceTier` when the request had them.

use bedrock_local_core::{StopReason, Usage};
use serde_json::{json, Map, Value};

use super::ResponseEcho;
use crate::Completion;

const BASE62: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// 22 base62 digits of a 128-bit number, most significant first. 62^22 > 2^128, so distinct
/// numbers give distinct digits. Shared with the Anthropic ids (`msg_bdrk_01…`).
pub(crate) fn base62_22(mut n: u128) -> String {
    let mut digits = [0u8; 22];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    digits.iter().map(|&b| b as char).collect()
}

/// A Converse tool-use id, `tooluse_` + 22 base62 characters (`tooluse_kZJMlvQmRJ6eAyJE5GIl7Q`),
/// from 128 random bits the caller supplies (so tests can fix them); every input gives a
/// distinct id.
pub fn tool_use_id(random: u128) -> String {
    format!("tooluse_{}", base62_22(random))
}

/// The Converse `stopReason` string (§4.8) for a core stop reason.
pub fn stop_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::EndTurn => "end_turn",
        StopReason::MaxTokens => "max_tokens",
        StopReason::StopSequence(_) => "stop_sequence",
        StopReason::ToolUse => "tool_use",
    }
}

/// `stopReason` of a completion: `tool_use` whenever it ends with tool calls.
pub(crate) fn completion_stop_reason(completion: &Completion) -> &'static str {
    if completion.tool_calls.is_empty() {
        stop_reason(&completion.stop_reason)
    } else {
        "tool_use"
    }
}

/// Every token of the request: prompt (uncached, read from and written to the cache) and
/// output. Converse's and Nova's `totalTokens`.
pub(crate) fn total_tokens(usage: Usage) -> u64 {
    u64::from(usage.input_tokens)
        + u64::from(usage.output_tokens)
        + u64::from(usage.cache_read_input_tokens)
        + u64::from(usage.cache_write_input_tokens)
}

/// `{"inputTokens", "outputTokens", "totalTokens"}`, plus `cacheReadInputTokens` and
/// `cacheWriteInputTokens` when the request had a cache point (`prompt_caching`). As on
/// Bedrock, `inputTokens` is then only the prompt tokens neither read from nor written to the
/// cache, and `totalTokens` is the sum of all four.
pub(crate) fn usage_json(usage: Usage, prompt_caching: bool) -> Value {
    let mut value = json!({
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "totalTokens": total_tokens(usage),
    });
    if let (true, Some(object)) = (prompt_caching, value.as_object_mut()) {
        object.insert(
            "cacheReadInputTokens".into(),
            usage.cache_read_input_tokens.into(),
        );
        object.insert(
            "cacheWriteInputTokens".into(),
            usage.cache_write_input_tokens.into(),
        );
    }
    value
}

/// Adds `performanceConfig` / `serviceTier` to a response or `metadata` event.
pub(super) fn add_echo(object: &mut Map<String, Value>, echo: &ResponseEcho) {
    if let Some(latency) = &echo.performance_latency {
        object.insert("performanceConfig".into(), json!({ "latency": latency }));
    }
    if let Some(tier) = &echo.service_tier {
        object.insert("serviceTier".into(), json!({ "type": tier }));
    }
}

/// A tool input for the wire: the JSON document itself (`{}` when empty). Text that is not
/// JSON is kept as a JSON string rather than dropped.
pub(crate) fn tool_input(input_json: &str) -> Value {
    if input_json.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(input_json).unwrap_or_else(|_| Value::String(input_json.to_owned()))
}

/// The opaque `signature` of a reasoning text: base64 of its SHA-256, so a client that sends
/// the block back in a later turn sends back a value tied to that text.
pub fn reasoning_signature(reasoning: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(reasoning.as_bytes()))
}

/// The `output.message.content` blocks of a completion (shared with the Nova body): a
/// `reasoningContent` block first when the request enabled extended thinking; the text block is
/// always present (possibly empty) unless the model answered only with tool calls.
pub(crate) fn output_content(completion: &Completion) -> Vec<Value> {
    let mut content = Vec::with_capacity(2 + completion.tool_calls.len());
    if let Some(reasoning) = &completion.reasoning {
        content.push(json!({
            "reasoningContent": { "reasoningText": {
                "text": reasoning,
                "signature": reasoning_signature(reasoning),
            } }
        }));
    }
    if !completion.text.is_empty() || completion.tool_calls.is_empty() {
        content.push(json!({ "text": completion.text }));
    }
    for (id, name, input_json) in &completion.tool_calls {
        content.push(json!({
            "toolUse": { "toolUseId": id, "name": name, "input": tool_input(input_json) }
        }));
    }
    content
}

/// The Converse response body, echoing `echo`. The text block is always present (possibly empty) unless the
/// model answered only with tool calls, so `content[0].text` works for plain answers.
pub fn encode_response_with(completion: &Completion, echo: &ResponseEcho) -> Vec<u8> {
    let content = output_content(completion);
    let mut object = Map::new();
    object.insert(
        "output".into(),
        json!({ "message": { "role": "assistant", "content": content } }),
    );
    object.insert(
        "stopReason".into(),
        Value::from(completion_stop_reason(completion)),
    );
    object.insert(
        "usage".into(),
        usage_json(completion.usage, echo.prompt_caching),
    );
    object.insert(
        "metrics".into(),
        json!({ "latencyMs": completion.latency_ms }),
    );
    add_echo(&mut object, echo);
    Value::Object(object).to_string().into_bytes()
}
