//! The DeepSeek-R1 InvokeModel body (`deepseek.r1-v1:0`, usually as `us.deepseek.r1-v1:0`).
//!
//! Mirrors "DeepSeek models" in the Amazon Bedrock user guide and bedrock-wire §5.11:
//!
//! - request `{"prompt"*: string, "temperature": ≤ 1, "top_p": ≤ 1, "max_tokens": 1..32768,
//!   "stop": [string] (≤ 10)}`, checked with Bedrock's schema validator wording (`everit`);
//! - response `{"choices": [{"text", "stop_reason": "stop" | "length"}]}`;
//! - stream chunks `{"choices": [{"text", "stop_reason": null}]}`, the last with the stop reason
//!   and `amazon-bedrock-invocationMetrics` (the stream details are **unconfirmed**).
//!
//! **Raw prompts.** Bedrock feeds `prompt` to R1 verbatim, and AWS's examples write R1's chat
//! markup into it: `<｜begin▁of▁sentence｜>SYSTEM<｜User｜>…<｜Assistant｜><think>\n`. Our local
//! model does not know those tokens, so well-formed markup is parsed back into a conversation
//! (assistant turns end with `<｜end▁of▁sentence｜>`) and rendered by the local model's template.
//! A trailing open `<｜Assistant｜>` is the generation prompt; the `<think>` opener R1 prompts
//! end with is dropped there (the local model does not reason, and would otherwise imitate a
//! thought it never closes), while other text after it is kept as a prefill. Anything else
//! (no markup, tool-call tokens, stray special tokens) is fed verbatim.
//!
//! Defaults when absent (unpublished for Bedrock, so chosen): temperature 0.6 and top_p 0.95
//! (DeepSeek's recommended R1 settings), `max_tokens` the catalog default.

use bedrock_local_core::{Prompt, Role, SamplingParams, StopReason, ToolChoice, Usage};
use serde_json::{json, Value};

use crate::chat_turns::Turns;
use crate::everit::{self, Kind, Property, Schema};
use crate::{
    ChunkEncoder, Completion, Decoded, InvocationMetrics, InvokeDialect, ModelTraits, ResponseCtx,
    Result,
};

/// `temperature` when the body has none.
pub const DEFAULT_TEMPERATURE: f32 = 0.6;
/// `top_p` when the body has none.
pub const DEFAULT_TOP_P: f32 = 0.95;
/// The largest `max_tokens` the body schema accepts.
pub const MAX_TOKENS: u32 = 32768;

const BOS: &str = "<｜begin▁of▁sentence｜>";
const USER: &str = "<｜User｜>";
const ASSISTANT: &str = "<｜Assistant｜>";
const EOS: &str = "<｜end▁of▁sentence｜>";
/// Every DeepSeek special token starts with this.
const SPECIAL: &str = "<｜";

const UNIT: Kind = Kind::Number {
    min: Some(0.0),
    max: Some(1.0),
};
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
            kind: UNIT,
        },
        Property {
            name: "top_p",
            kind: UNIT,
        },
        Property {
            name: "max_tokens",
            kind: Kind::Integer {
                min: Some(1),
                max: Some(MAX_TOKENS as i64),
            },
        },
        Property {
            name: "stop",
            kind: Kind::Array {
                items: Some(&Kind::String { min_length: None }),
                max_items: Some(10),
            },
        },
    ],
};

/// The DeepSeek-R1 dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeepSeek;

/// Whether a provider model id speaks this body (R1; V3.1's body is not emulated).
pub fn handles(provider_model_id: &str) -> bool {
    provider_model_id.starts_with("deepseek.r1")
}

/// R1's `stop_reason`: `length` when the budget ran out, else `stop`.
pub fn stop_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "length",
        StopReason::EndTurn | StopReason::StopSequence(_) | StopReason::ToolUse => "stop",
    }
}

fn plain(text: &str) -> Option<&str> {
    (!text.contains(SPECIAL)).then_some(text)
}

/// The prefill of an open assistant turn: nothing when it is only R1's `<think>` opener.
fn prefill(open: &str) -> &str {
    match open.trim_start().strip_prefix("<think>") {
        Some(rest) if rest.trim().is_empty() => "",
        _ => open,
    }
}

/// Parses R1 chat markup into a conversation, or `None` when the prompt is not entirely
/// well-formed markup.
pub fn parse_markup(prompt: &str) -> Option<Prompt> {
    let rest = prompt.strip_prefix(BOS).unwrap_or(prompt);
    let (system, mut rest) = rest.split_once(USER)?;
    let mut turns = Turns::default();
    if !plain(system)?.trim().is_empty() {
        turns.system(system);
    }
    loop {
        let Some((user, after)) = rest.split_once(ASSISTANT) else {
            // A last user turn without the assistant header.
            turns.text(Role::User, plain(rest)?);
            break;
        };
        turns.text(Role::User, plain(user)?);
        match after.split_once(EOS) {
            Some((answer, next)) => {
                turns.text(Role::Assistant, plain(answer)?);
                let next = next.trim_start_matches(['\n', '\r', ' ']);
                if next.is_empty() {
                    break;
                }
                rest = next.strip_prefix(USER)?;
            }
            None => {
                let open = plain(prefill(after))?;
                if !open.is_empty() {
                    turns.text(Role::Assistant, open);
                }
                break;
            }
        }
    }
    Some(turns.into_prompt(Vec::new(), ToolChoice::Auto))
}

impl InvokeDialect for DeepSeek {
    fn name(&self) -> &'static str {
        "deepseek"
    }

    /// Decodes an R1 body. `max_tokens` is limited by the body schema (32768), as Bedrock does.
    fn decode(&self, body: &[u8], traits: &ModelTraits) -> Result<Decoded> {
        let object = everit::validate(body, &SCHEMA)?;
        let prompt = object.get("prompt").and_then(Value::as_str).unwrap_or("");
        let number = |key: &str, default: f32| everit::number_or(&object, key, default);
        let max_tokens = everit::count(&object, "max_tokens")
            .unwrap_or_else(|| traits.default_max_tokens.clamp(1, MAX_TOKENS));
        let stop_sequences = object
            .get("stop")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Decoded {
            prompt: parse_markup(prompt).unwrap_or_else(|| Prompt::Raw(prompt.to_owned())),
            max_tokens,
            sampling: SamplingParams {
                temperature: number("temperature", DEFAULT_TEMPERATURE),
                top_p: Some(number("top_p", DEFAULT_TOP_P)),
                top_k: None,
                seed: 0,
            },
            stop_sequences,
            cache_point: None,
            echo: Value::Null,
            reasoning_budget: None,
        })
    }

    fn encode(&self, _ctx: &ResponseCtx, completion: &Completion) -> Vec<u8> {
        json!({"choices": [{
            "text": completion.text,
            "stop_reason": stop_reason(&completion.stop_reason),
        }]})
        .to_string()
        .into_bytes()
    }

    fn chunk_encoder(&self, _ctx: &ResponseCtx) -> Box<dyn ChunkEncoder> {
        Box::new(DeepSeekChunks)
    }
}

/// One stream chunk: `{"choices": [{"text", "stop_reason"}]}` (+ metrics on the last).
fn chunk(text: &str, reason: Option<&str>, metrics: Option<&InvocationMetrics>) -> Vec<u8> {
    let mut value = json!({"choices": [{"text": text, "stop_reason": reason}]});
    if let (Some(metrics), Value::Object(map)) = (metrics, &mut value) {
        map.insert(
            "amazon-bedrock-invocationMetrics".into(),
            crate::invocation_metrics_json(metrics),
        );
    }
    value.to_string().into_bytes()
}

/// Stateless: every text event is one chunk.
#[derive(Debug)]
struct DeepSeekChunks;

impl ChunkEncoder for DeepSeekChunks {
    fn start(&mut self, _prompt_tokens: u32) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn text(&mut self, text: &str) -> Vec<Vec<u8>> {
        if text.is_empty() {
            return Vec::new();
        }
        vec![chunk(text, None, None)]
    }

    fn tool_call(&mut self, _id: &str, _name: &str, _input_json: &str) -> Vec<Vec<u8>> {
        // The R1 body has no tool calls.
        Vec::new()
    }

    fn finish(
        &mut self,
        reason: &StopReason,
        _usage: Usage,
        metrics: &InvocationMetrics,
    ) -> Vec<Vec<u8>> {
        vec![chunk("", Some(stop_reason(reason)), Some(metrics))]
    }
}

#[cfg(test)]
#[path = "deepseek_tests.rs"]
mod tests;
