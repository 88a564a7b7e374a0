//! The Meta Llama InvokeModel body (`meta.*` model ids).
//!
//! Mirrors "Meta Llama models" in the Amazon Bedrock user guide (inference parameters) and
//! bedrock-wire §5.4:
//!
//! - request `{"prompt"*: string, "temperature": 0..1 (0.5), "top_p": 0..1 (0.9),
//!   "max_gen_len": 1..2048 (512)}`; any other key (including `images`, which only the vision
//!   models accept; our local model is text-only) is an extraneous key;
//! - response `{"generation", "prompt_token_count", "generation_token_count", "stop_reason"}`
//!   with `stop_reason` `stop` (end of turn or a stop sequence) or `length` (`max_gen_len`);
//! - stream chunks of the same shape, `prompt_token_count` on the first chunk only, a
//!   cumulative `generation_token_count`, and `amazon-bedrock-invocationMetrics` on the last.
//!
//! Schema violations use the validator wording of `everit.rs` (`Malformed input request:
//! #: required key [prompt] not found, please reformat your input and try again.`).
//!
//! **Raw prompts.** Bedrock passes `prompt` to Llama verbatim, so callers write Llama chat
//! markup into it. Our local model is not Llama, so a prompt that is well-formed Llama 3
//! (`<|start_header_id|>role<|end_header_id|>…<|eot_id|>`) or Llama 2 (`[INST]`, `<<SYS>>`)
//! markup is parsed back into a chat ([`crate::markup`]) and rendered by the local model's own
//! template; a trailing open assistant header is the generation prompt, a trailing partial
//! assistant message is kept as a prefill. A prompt without markup is fed verbatim
//! ([`Prompt::Raw`](bedrock_local_core::Prompt::Raw)).

use bedrock_local_core::{SamplingParams, StopReason, Usage};
use serde_json::{json, Value};

use crate::everit::{self, Kind, Property, Schema};
use crate::{
    markup, ChunkEncoder, Completion, Decoded, InvocationMetrics, InvokeDialect, ModelTraits,
    ResponseCtx, Result,
};

/// `temperature` when the body has none.
pub const DEFAULT_TEMPERATURE: f32 = 0.5;
/// `top_p` when the body has none.
pub const DEFAULT_TOP_P: f32 = 0.9;
/// `max_gen_len` when the body has none.
pub const DEFAULT_MAX_GEN_LEN: u32 = 512;
/// The largest `max_gen_len` the body schema accepts.
pub const MAX_GEN_LEN: u32 = 2048;

const SCHEMA: Schema = Schema {
    required: &["prompt"],
    properties: &[
        Property {
            name: "prompt",
            // An empty prompt is refused (unconfirmed: whether Bedrock's schema has minLength).
            kind: Kind::String {
                min_length: Some(1),
            },
        },
        Property {
            name: "temperature",
            kind: Kind::Number {
                min: Some(0.0),
                max: Some(1.0),
            },
        },
        Property {
            name: "top_p",
            kind: Kind::Number {
                min: Some(0.0),
                max: Some(1.0),
            },
        },
        Property {
            name: "max_gen_len",
            kind: Kind::Integer {
                min: Some(1),
                max: Some(MAX_GEN_LEN as i64),
            },
        },
    ],
};

/// The Meta Llama dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct Meta;

/// Llama's `stop_reason` for a core stop reason: `length` when the budget ran out, else `stop`.
pub fn stop_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "length",
        StopReason::EndTurn | StopReason::StopSequence(_) | StopReason::ToolUse => "stop",
    }
}

impl InvokeDialect for Meta {
    fn name(&self) -> &'static str {
        "meta"
    }

    /// Decodes a Llama body. The limits are the body schema's own (`max_gen_len` ≤ 2048), not
    /// the catalog's, since that is what Bedrock checks for this body.
    fn decode(&self, body: &[u8], _traits: &ModelTraits) -> Result<Decoded> {
        let object = everit::validate(body, &SCHEMA)?;
        let prompt = object.get("prompt").and_then(Value::as_str).unwrap_or("");
        let number = |key: &str, default: f32| everit::number_or(&object, key, default);
        let max_tokens = everit::count(&object, "max_gen_len").unwrap_or(DEFAULT_MAX_GEN_LEN);
        Ok(Decoded {
            prompt: markup::parse_chat_markup(prompt),
            max_tokens,
            sampling: SamplingParams {
                temperature: number("temperature", DEFAULT_TEMPERATURE),
                top_p: Some(number("top_p", DEFAULT_TOP_P)),
                top_k: None,
                seed: 0,
            },
            stop_sequences: Vec::new(),
            cache_point: None,
            echo: Value::Null,
            reasoning_budget: None,
        })
    }

    fn encode(&self, _ctx: &ResponseCtx, completion: &Completion) -> Vec<u8> {
        json!({
            "generation": completion.text,
            "prompt_token_count": completion.usage.input_tokens,
            "generation_token_count": completion.usage.output_tokens,
            "stop_reason": stop_reason(&completion.stop_reason),
        })
        .to_string()
        .into_bytes()
    }

    fn chunk_encoder(&self, _ctx: &ResponseCtx) -> Box<dyn ChunkEncoder> {
        Box::new(MetaChunks::default())
    }
}

/// One Llama stream chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaChunk<'a> {
    /// The new text.
    pub generation: &'a str,
    /// Prompt tokens; `Some` only on the first chunk, `null` afterwards.
    pub prompt_token_count: Option<u32>,
    /// Tokens generated so far (cumulative).
    pub generation_token_count: u32,
    /// `Some("stop" | "length")` on the last chunk, `null` before.
    pub stop_reason: Option<&'static str>,
    /// Bedrock's metrics, on the last chunk only.
    pub metrics: Option<InvocationMetrics>,
}

/// The JSON of one stream chunk (§5.4 streaming shape).
pub fn encode_chunk(chunk: &MetaChunk<'_>) -> Vec<u8> {
    let mut value = json!({
        "generation": chunk.generation,
        "prompt_token_count": chunk.prompt_token_count,
        "generation_token_count": chunk.generation_token_count,
        "stop_reason": chunk.stop_reason,
    });
    if let (Some(metrics), Value::Object(map)) = (&chunk.metrics, &mut value) {
        map.insert(
            "amazon-bedrock-invocationMetrics".into(),
            crate::invocation_metrics_json(metrics),
        );
    }
    value.to_string().into_bytes()
}

/// Stream state: the prompt count waits for the first chunk; text events are counted as
/// tokens (the engine emits about one text event per token; the final chunk carries the exact
/// count from the tokenizer).
#[derive(Debug, Default)]
struct MetaChunks {
    pending_prompt_tokens: Option<u32>,
    generated: u32,
}

impl ChunkEncoder for MetaChunks {
    fn start(&mut self, prompt_tokens: u32) -> Vec<Vec<u8>> {
        self.pending_prompt_tokens = Some(prompt_tokens);
        Vec::new()
    }

    fn text(&mut self, text: &str) -> Vec<Vec<u8>> {
        if text.is_empty() {
            return Vec::new();
        }
        self.generated += 1;
        vec![encode_chunk(&MetaChunk {
            generation: text,
            prompt_token_count: self.pending_prompt_tokens.take(),
            generation_token_count: self.generated,
            stop_reason: None,
            metrics: None,
        })]
    }

    fn tool_call(&mut self, _id: &str, _name: &str, _input_json: &str) -> Vec<Vec<u8>> {
        // The Llama body has no tool calls.
        Vec::new()
    }

    fn finish(
        &mut self,
        reason: &StopReason,
        usage: Usage,
        metrics: &InvocationMetrics,
    ) -> Vec<Vec<u8>> {
        vec![encode_chunk(&MetaChunk {
            generation: "",
            prompt_token_count: self.pending_prompt_tokens.take(),
            generation_token_count: usage.output_tokens,
            stop_reason: Some(stop_reason(reason)),
            metrics: Some(*metrics),
        })]
    }
}

#[cfg(test)]
#[path = "meta_tests.rs"]
mod tests;
