//! Provider body formats: pure functions between request/response bytes and core types.
//!
//! Bedrock's InvokeModel carries each provider's own JSON body (bedrock-wire §5); Converse has
//! one body for every model (§4). This crate turns those bodies into a neutral [`Decoded`]
//! request for the engine, and a neutral [`Completion`] back into the provider's response
//! bytes. It is where serde lives, and it does no IO and spawns nothing.
//!
//! - [`converse`]: Converse / ConverseStream request validation, response and stream events,
//!   and the CountTokens body, §4, §3.4, §6.1.
//! - InvokeModel bodies, one module each: [`anthropic`] (Messages and legacy Text Completions,
//!   §5.2-5.3), [`meta`] (Llama, §5.4), [`mistral`] (text and chat, §5.5), [`titan`] (Titan
//!   Text, §5.6), [`nova`] (messages-v1, §5.7), [`cohere`] (Command R and legacy Command, §5.9),
//!   [`deepseek`] (R1, §5.11), [`openai`] (gpt-oss Chat Completions, §5.12), [`ai21`] (Jamba,
//!   §5.13). Each decodes its body, encodes its response and its stream chunks (the last one
//!   with `amazon-bedrock-invocationMetrics`, §3.5).
//! - Shared pieces: `everit` (the JSON-schema validator wording Bedrock uses for InvokeModel
//!   bodies), `chat_turns` / `chat_completion` (OpenAI-style messages and chunks), [`markup`]
//!   (Llama / Mistral / DeepSeek chat markup inside raw prompts, parsed back into a chat).
//!
//! - Embeddings bodies: [`embed`] (Titan Embeddings §5.8, Cohere Embed §5.10), with the
//!   documented projection, normalisation and quantisation of the model's vectors.
//!
//! [`invoke_dialect`] picks the InvokeModel dialect from the provider prefix of a model id.
//! Every dialect implements [`InvokeDialect`]; adding a provider is one file plus one arm.
//! The messages in [`DialectError`] are Bedrock's own wording where it is known (§2.4);
//! wording we had to choose is marked "unconfirmed" next to where it is produced.

pub mod ai21;
pub mod anthropic;
mod chat_completion;
mod chat_turns;
pub mod cohere;
pub mod converse;
pub mod deepseek;
pub mod embed;
mod everit;
pub mod markup;
pub mod meta;
pub mod mistral;
pub mod nova;
pub mod openai;
pub mod titan;

use bedrock_local_core::{CachePoint, Prompt, SamplingParams, StopReason, Usage};

/// What the facade knows about a model from the registry catalog, and a dialect needs for
/// validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelTraits {
    /// The most tokens one response may have (Bedrock's per-model limit).
    pub max_output_tokens: u32,
    /// The output budget when the request gives none (Converse: the model's default).
    pub default_max_tokens: u32,
    /// Whether the model accepts a system prompt (Converse `system`).
    pub supports_system: bool,
    /// Whether the model accepts tools (Converse `toolConfig`).
    pub supports_tools: bool,
    /// Whether the model accepts extended thinking (Claude's `thinking`: Claude 3.7 and later).
    pub supports_reasoning: bool,
}

/// A request decoded from a provider body, ready to become a `GenerateRequest`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// What the model continues.
    pub prompt: Prompt,
    /// The output budget, already defaulted and range-checked.
    pub max_tokens: u32,
    /// Sampling; `seed` is left 0 for the facade to set.
    pub sampling: SamplingParams,
    /// Strings that end generation.
    pub stop_sequences: Vec<String>,
    /// The request's last prompt-cache breakpoint (Converse `cachePoint`, Claude
    /// `cache_control`), indexing `prompt`'s final messages; `None` when it asked for no
    /// caching (and always for bodies without such markers).
    pub cache_point: Option<CachePoint>,
    /// Whatever of the request the provider's response repeats (Cohere's `chat_history`, …),
    /// opaque to everyone but the dialect that wrote it; `Value::Null` when nothing.
    pub echo: serde_json::Value,
    /// Extended thinking: the most tokens the reasoning phase may write (`budget_tokens`),
    /// counted inside `max_tokens`. `None` when the request did not enable it.
    pub reasoning_budget: Option<u32>,
}

/// What a response needs besides the completion: the identity of this invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseCtx {
    /// The provider model id the caller addressed, without geo prefix or ARN
    /// (`anthropic.claude-3-haiku-20240307-v1:0`).
    pub model_id: String,
    /// A fresh random id for this response (a UUID v4 as 32 lowercase hex digits); dialects
    /// derive their provider's id format from it (`msg_bdrk_…`, `chatcmpl-…`).
    pub response_id: String,
    /// Unix time of the request, seconds (OpenAI's `created`).
    pub created_unix: u64,
    /// [`Decoded::echo`] of the request.
    pub echo: serde_json::Value,
    /// The request had a prompt-cache breakpoint ([`Decoded::cache_point`] is `Some`): the
    /// response reports the cache counts of [`Usage`] where its format has them.
    pub prompt_caching: bool,
}

/// The finished result of a generation, as a dialect encodes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The generated text (without any stop sequence).
    pub text: String,
    /// The reasoning text of an extended-thinking request (`None` without one).
    pub reasoning: Option<String>,
    /// Tool calls: `(id, name, input JSON text)`. The facade mints the ids (for Converse,
    /// `tooluse_` + 22 base62 characters, see [`converse::tool_use_id`]) so tests can fix them.
    pub tool_calls: Vec<(String, String, String)>,
    /// Why generation ended.
    pub stop_reason: StopReason,
    /// Token counts from the real tokenizer.
    pub usage: Usage,
    /// Wall-clock time of the invocation, in milliseconds.
    pub latency_ms: u64,
}

/// Bedrock's own invocation metrics, appended to the last chunk of every
/// InvokeModelWithResponseStream response as `amazon-bedrock-invocationMetrics` (§3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InvocationMetrics {
    /// `inputTokenCount`.
    pub input_token_count: u32,
    /// `outputTokenCount`.
    pub output_token_count: u32,
    /// `invocationLatency`, milliseconds.
    pub invocation_latency_ms: u64,
    /// `firstByteLatency`, milliseconds.
    pub first_byte_latency_ms: u64,
    /// `cacheReadInputTokenCount`: emitted only when `Some` (requests with a cache point).
    pub cache_read_input_token_count: Option<u32>,
    /// `cacheWriteInputTokenCount`: emitted only when `Some` (requests with a cache point).
    pub cache_write_input_token_count: Option<u32>,
}

impl InvocationMetrics {
    /// The metrics of a finished generation: token counts from `usage` (the cache counts only
    /// when `prompt_caching`, i.e. the request had a cache point) and the two latencies.
    pub fn new(
        usage: Usage,
        prompt_caching: bool,
        invocation_latency_ms: u64,
        first_byte_latency_ms: u64,
    ) -> Self {
        Self {
            input_token_count: usage.input_tokens,
            output_token_count: usage.output_tokens,
            invocation_latency_ms,
            first_byte_latency_ms,
            cache_read_input_token_count: prompt_caching.then_some(usage.cache_read_input_tokens),
            cache_write_input_token_count: prompt_caching.then_some(usage.cache_write_input_tokens),
        }
    }
}

/// The `amazon-bedrock-invocationMetrics` object.
pub(crate) fn invocation_metrics_json(metrics: &InvocationMetrics) -> serde_json::Value {
    let mut value = serde_json::json!({
        "inputTokenCount": metrics.input_token_count,
        "outputTokenCount": metrics.output_token_count,
        "invocationLatency": metrics.invocation_latency_ms,
        "firstByteLatency": metrics.first_byte_latency_ms,
    });
    if let (Some(read), Some(write), Some(object)) = (
        metrics.cache_read_input_token_count,
        metrics.cache_write_input_token_count,
        value.as_object_mut(),
    ) {
        object.insert("cacheReadInputTokenCount".into(), read.into());
        object.insert("cacheWriteInputTokenCount".into(), write.into());
    }
    value
}

/// Why a body was refused. Both variants become a `ValidationException` carrying the message
/// verbatim; they differ only in what the caller did wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialectError {
    /// The body breaks the API's rules (schema, ranges, conversation shape). The message is
    /// Bedrock's exact text where known.
    #[error("{0}")]
    Validation(String),
    /// The body is valid but asks for something this model does not do ("This model doesn't
    /// support …").
    #[error("{0}")]
    Unsupported(String),
}

impl DialectError {
    /// The message for the client.
    pub fn message(&self) -> &str {
        match self {
            DialectError::Validation(m) | DialectError::Unsupported(m) => m,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = DialectError> = std::result::Result<T, E>;

/// One InvokeModel body format.
///
/// Stateless; one `'static` instance per provider. Streaming goes through a fresh
/// [`ChunkEncoder`] per response because most provider streams carry state (indexes, the first
/// chunk's prompt count, cumulative counters).
pub trait InvokeDialect: Sync {
    /// A short name for logs (`meta`).
    fn name(&self) -> &'static str;

    /// Validates a request body and decodes it.
    fn decode(&self, body: &[u8], traits: &ModelTraits) -> Result<Decoded>;

    /// Checks a decoded body against the call it arrived on, for rules that depend on the model
    /// id (a legacy Claude body sent to Claude 3) or on the operation (`streaming`: true for
    /// InvokeModelWithResponseStream; OpenAI's `stream` member must match it). Most providers
    /// have none.
    fn check_model(&self, _model_id: &str, _streaming: bool, _decoded: &Decoded) -> Result<()> {
        Ok(())
    }

    /// The complete (non-streaming) response body.
    fn encode(&self, ctx: &ResponseCtx, completion: &Completion) -> Vec<u8>;

    /// A new encoder for the chunks of one InvokeModelWithResponseStream response.
    fn chunk_encoder(&self, ctx: &ResponseCtx) -> Box<dyn ChunkEncoder>;
}

/// Turns one generation's events into provider stream chunks. Each returned `Vec<u8>` is one
/// complete provider JSON document: the facade base64-encodes it into one `chunk` event.
pub trait ChunkEncoder: Send {
    /// The prompt was accepted; `prompt_tokens` is its size. May return opening chunks.
    fn start(&mut self, prompt_tokens: u32) -> Vec<Vec<u8>>;

    /// New generated text.
    fn text(&mut self, text: &str) -> Vec<Vec<u8>>;

    /// New reasoning text (extended thinking). Only bodies that enable thinking get any.
    fn reasoning(&mut self, _text: &str) -> Vec<Vec<u8>> {
        Vec::new()
    }

    /// A tool call (providers without tool support ignore it).
    fn tool_call(&mut self, id: &str, name: &str, input_json: &str) -> Vec<Vec<u8>>;

    /// The end: closing chunks, the last one carrying `amazon-bedrock-invocationMetrics`.
    fn finish(
        &mut self,
        stop_reason: &StopReason,
        usage: Usage,
        metrics: &InvocationMetrics,
    ) -> Vec<Vec<u8>>;
}

/// The InvokeModel dialect for a provider model id (`meta.llama3-8b-instruct-v1:0`), chosen by
/// its provider prefix. The caller strips geo prefixes (`us.`) and ARNs first (the registry
/// resolves them). `None` when no dialect speaks that provider's body yet.
pub fn invoke_dialect(provider_model_id: &str) -> Option<&'static dyn InvokeDialect> {
    let provider = provider_model_id.split('.').next()?;
    match provider {
        "anthropic" => Some(&anthropic::Anthropic),
        "meta" => Some(&meta::Meta),
        "ai21" if ai21::handles(provider_model_id) => Some(&ai21::Jamba),
        "openai" => Some(&openai::OpenAi),
        "deepseek" if deepseek::handles(provider_model_id) => Some(&deepseek::DeepSeek),
        "amazon" if nova::handles(provider_model_id) => Some(&nova::Nova),
        "mistral" => Some(&mistral::Mistral),
        "amazon" if titan::handles(provider_model_id) => Some(&titan::Titan),
        "cohere" => cohere::dialect(provider_model_id),
        _ => None,
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod cache_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_by_provider_prefix() {
        assert_eq!(
            invoke_dialect("meta.llama3-8b-instruct-v1:0").map(|d| d.name()),
            Some("meta")
        );
        assert_eq!(
            invoke_dialect("anthropic.claude-3-haiku-20240307-v1:0").map(|d| d.name()),
            Some("anthropic")
        );
        assert!(invoke_dialect("metaverse").is_none());
        assert!(invoke_dialect("").is_none());
    }
}
