//! Converse and ConverseStream: the one request body every text model accepts, and its
//! response and stream events.
//!
//! Mirrors the Bedrock API reference pages `API_runtime_Converse` and
//! `API_runtime_ConverseStream` (shapes from botocore's `bedrock-runtime` 2023-09-30 model) and
//! bedrock-wire §4 (request, response, validation order §4.9) and §3.4 (stream events).
//!
//! - [`decode_request`]: validates a request body in the order of §4.9 — shapes and Coral constraints
//!   first (`shape.rs`), then content, conversation, tool, feature and limit rules (`rules.rs`) —
//!   and returns a [`ConverseRequest`]: the neutral [`Decoded`] plus what the response echoes.
//! - [`encode_response`]: the Converse response JSON for a completion of a request.
//! - [`stream`]: the ConverseStream event payloads (`messageStart`, `contentBlockDelta`, …) as
//!   `(event type, JSON)` pairs for `aws::eventstream` to frame.
//!
//! Decisions: unknown top-level members are accepted silently (restJson1 servers ignore
//! unknown members for forward compatibility; whether real Converse does is unconfirmed).
//! When `temperature`/`topP` are absent we use 0.5/0.9 (the Meta Llama defaults of the
//! LocalStack guide's model; each real provider has its own). `maxTokens` defaults to
//! [`ModelTraits::default_max_tokens`].
//!
//! Prompt caching: the last valid `cachePoint` (in `toolConfig.tools`, `system` or a message's
//! content, in that prompt order) becomes [`Decoded::cache_point`]. Only then does `usage`
//! carry `cacheReadInputTokens` and `cacheWriteInputTokens` (both, even when 0); as the
//! Bedrock prompt-caching guide describes, `inputTokens` is then the prompt tokens neither
//! read from nor written to the cache, and `totalTokens` adds all four counts.

mod coral;
mod count_tokens;
mod response;
mod rules;
mod shape;
pub mod stream;
mod tool_config;

pub use count_tokens::{decode_count_tokens, CountTokensInput};
pub use response::{encode_response_with, reasoning_signature, stop_reason, tool_use_id};
// Shared with the Nova InvokeModel body, whose messages and rules are Converse's.
pub(crate) use response::{completion_stop_reason, output_content, total_tokens};
// Shared with the Anthropic InvokeModel body (ids, tool inputs, Bedrock's refusals).
pub(crate) use response::{base62_22, tool_input};
pub(crate) use rules::decode as decode_body;
pub(crate) use rules::{
    check_thinking, content_unsupported, max_tokens_over_limit, thinking, tools_unsupported,
};
pub(crate) use shape::{Block, Body, Msg};
pub(crate) use tool_config::Tools;

use crate::{Completion, Decoded, ModelTraits, Result};

/// `temperature` when `inferenceConfig` has none.
pub const DEFAULT_TEMPERATURE: f32 = 0.5;
/// `topP` when `inferenceConfig` has none.
pub const DEFAULT_TOP_P: f32 = 0.9;

/// Request members the response repeats back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseEcho {
    /// `performanceConfig.latency` (`standard` | `optimized`) when the request had a
    /// `performanceConfig` (`standard` if it named no latency).
    pub performance_latency: Option<String>,
    /// `serviceTier.type` (`priority` | `default` | `flex` | `reserved`) when given.
    pub service_tier: Option<String>,
    /// The request had a `cachePoint`: `usage` then carries `cacheReadInputTokens` and
    /// `cacheWriteInputTokens` (and `totalTokens` counts them).
    pub prompt_caching: bool,
}

/// A validated Converse request.
#[derive(Debug, Clone, PartialEq)]
pub struct ConverseRequest {
    /// What to generate (always a [`Prompt::Chat`](bedrock_local_core::Prompt::Chat)).
    pub decoded: Decoded,
    /// What the response repeats.
    pub echo: ResponseEcho,
}

/// Validates and decodes a Converse (or ConverseStream) request body for a model with these
/// traits. Every failure is a `ValidationException` message.
pub fn decode_request(body: &[u8], traits: &ModelTraits) -> Result<ConverseRequest> {
    let body = shape::walk(body)?;
    let mut echo = body.echo.clone();
    let decoded = rules::decode(body, traits)?;
    echo.prompt_caching = decoded.cache_point.is_some();
    Ok(ConverseRequest { decoded, echo })
}

/// The Converse response body for `completion`, echoing what `request` asked to be echoed.
pub fn encode_response(request: &ConverseRequest, completion: &Completion) -> Vec<u8> {
    encode_response_with(completion, &request.echo)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
