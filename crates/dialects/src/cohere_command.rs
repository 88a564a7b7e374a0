//! The legacy Cohere Command text-generation body (`cohere.command-text-v14`,
//! `cohere.command-light-text-v14`; both end-of-life on Bedrock).
//!
//! Mirrors "Cohere Command models" in the Amazon Bedrock user guide and bedrock-wire §5.9:
//!
//! - request `{"prompt"*, "temperature" 0..5 (0.9), "p" 0..1 (0.75), "k" 0..500 (0, off),
//!   "max_tokens" (the catalog default, 20), "stop_sequences" (≤ 4), "return_likelihoods":
//!   "GENERATION" | "ALL" | "NONE", "stream": bool, "num_generations" 1..5, "logit_bias",
//!   "truncate": "NONE" | "START" | "END"}`;
//! - response `{"generations": [{"id", "text", "finish_reason": "COMPLETE" | "MAX_TOKENS"}],
//!   "id", "prompt"}`.
//!
//! **Streaming** depends on the body's `stream` flag, which [`Decoded::echo`] records: with
//! `"stream": true` the chunks are Cohere's own generate stream, `{"text", "is_finished":
//! false}` per piece and `{"is_finished": true, "finish_reason", "response": {…}}` last (what
//! LangChain and LiteLLM parse, and what they set the flag for); without it the model does not
//! stream, and the one chunk is the whole response (what the AWS SDK examples read as
//! `generations[0].text`). Both readings are **unconfirmed** against the live service.
//!
//! The `prompt` is an instruction, which Command answers: it becomes one user message for the
//! local model's chat template. `num_generations` above 1 is refused as unsupported (wording
//! **unconfirmed**); likelihoods, `logit_bias` and `truncate` are accepted without effect.

use bedrock_local_core::{ChatMessage, Prompt, Role, StopReason, ToolChoice, Usage};
use serde_json::{json, Value};

use super::{check_max_tokens, finish_reason, generation_id, sampling, uuid_text};
use crate::everit::{self, array_of, integer, prop, Kind, Schema};
use crate::{
    invocation_metrics_json, ChunkEncoder, Completion, Decoded, DialectError, InvocationMetrics,
    InvokeDialect, ModelTraits, ResponseCtx, Result,
};

/// `temperature` when the body has none.
pub const DEFAULT_TEMPERATURE: f32 = 0.9;
/// `p` when the body has none.
pub const DEFAULT_P: f32 = 0.75;

const SCHEMA: Schema = Schema {
    required: &["prompt"],
    properties: &[
        prop("prompt", Kind::String { min_length: None }),
        prop(
            "temperature",
            Kind::Number {
                min: Some(0.0),
                max: Some(5.0),
            },
        ),
        prop(
            "p",
            Kind::Number {
                min: Some(0.0),
                max: Some(1.0),
            },
        ),
        prop(
            "k",
            Kind::Number {
                min: Some(0.0),
                max: Some(500.0),
            },
        ),
        prop("max_tokens", integer(Some(1), None)),
        prop(
            "stop_sequences",
            array_of(&Kind::String { min_length: None }, Some(4)),
        ),
        prop(
            "return_likelihoods",
            Kind::Enum(&["GENERATION", "ALL", "NONE"]),
        ),
        prop("stream", Kind::Boolean),
        prop("num_generations", integer(Some(1), Some(5))),
        prop("logit_bias", Kind::AnyObject),
        prop("truncate", Kind::Enum(&["NONE", "START", "END"])),
    ],
};

/// The legacy Command dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct CohereCommand;

/// The `finish_reason` of a legacy generation: a stop sequence counts as `COMPLETE`.
pub fn command_finish_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::StopSequence(_) => "COMPLETE",
        other => finish_reason(other),
    }
}

impl InvokeDialect for CohereCommand {
    fn name(&self) -> &'static str {
        "cohere-command"
    }

    fn decode(&self, body: &[u8], traits: &ModelTraits) -> Result<Decoded> {
        let object = everit::parse_object(body)?;
        let mut violations = Vec::new();
        everit::check_object("#", &object, &SCHEMA, &mut violations);
        check_max_tokens(&object, traits, &mut violations);
        everit::finish(&violations)?;
        if object.get("num_generations").and_then(Value::as_i64) > Some(1) {
            return Err(DialectError::Unsupported(
                "This model doesn't support num_generations greater than 1. Remove it and try again."
                    .to_owned(),
            ));
        }
        let prompt = object.get("prompt").and_then(Value::as_str).unwrap_or("");
        Ok(Decoded {
            prompt: Prompt::Chat {
                system: None,
                messages: vec![ChatMessage::text(Role::User, prompt)],
                tools: Vec::new(),
                tool_choice: ToolChoice::Auto,
            },
            max_tokens: everit::count(&object, "max_tokens").unwrap_or(traits.default_max_tokens),
            sampling: sampling(&object, DEFAULT_TEMPERATURE, DEFAULT_P),
            stop_sequences: everit::strings(object.get("stop_sequences")),
            cache_point: None,
            echo: json!({
                "prompt": prompt,
                "stream": object.get("stream") == Some(&Value::Bool(true)),
            }),
            reasoning_budget: None,
        })
    }

    fn encode(&self, ctx: &ResponseCtx, completion: &Completion) -> Vec<u8> {
        response(ctx, &completion.text, &completion.stop_reason)
            .to_string()
            .into_bytes()
    }

    fn chunk_encoder(&self, ctx: &ResponseCtx) -> Box<dyn ChunkEncoder> {
        Box::new(CommandChunks {
            ctx: ctx.clone(),
            streaming: ctx.echo["stream"] == true,
            text: String::new(),
        })
    }
}

/// The legacy response object (also the `response` of the last stream chunk).
fn response(ctx: &ResponseCtx, text: &str, reason: &StopReason) -> Value {
    json!({
        "generations": [{
            "id": generation_id(&ctx.response_id),
            "text": text,
            "finish_reason": command_finish_reason(reason),
        }],
        "id": uuid_text(&ctx.response_id),
        "prompt": ctx.echo["prompt"].as_str().unwrap_or_default(),
    })
}

/// Stream state: the text so far, for the final response.
struct CommandChunks {
    ctx: ResponseCtx,
    streaming: bool,
    text: String,
}

impl ChunkEncoder for CommandChunks {
    fn start(&mut self, _prompt_tokens: u32) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn text(&mut self, text: &str) -> Vec<Vec<u8>> {
        self.text.push_str(text);
        if !self.streaming || text.is_empty() {
            return Vec::new();
        }
        let piece = json!({"text": text, "is_finished": false});
        vec![piece.to_string().into_bytes()]
    }

    fn tool_call(&mut self, _id: &str, _name: &str, _input_json: &str) -> Vec<Vec<u8>> {
        // The legacy body has no tools.
        Vec::new()
    }

    fn finish(
        &mut self,
        reason: &StopReason,
        _usage: Usage,
        metrics: &InvocationMetrics,
    ) -> Vec<Vec<u8>> {
        let full = response(&self.ctx, &self.text, reason);
        let mut last = if self.streaming {
            json!({
                "is_finished": true,
                "finish_reason": command_finish_reason(reason),
                "response": full,
            })
        } else {
            full
        };
        last["amazon-bedrock-invocationMetrics"] = invocation_metrics_json(metrics);
        vec![last.to_string().into_bytes()]
    }
}
