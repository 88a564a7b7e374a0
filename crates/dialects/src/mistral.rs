//! The Mistral AI InvokeModel bodies (`mistral.*` model ids): text completion and chat.
//!
//! Mirrors "Mistral AI models" (text completion, chat completion, Mistral Large 24.07) in the
//! Amazon Bedrock user guide and bedrock-wire §5.5. The body's shape picks the format, and
//! [`Decoded::echo`] records it (`{"format": "text" | "chat"}`) so the response matches:
//!
//! - **text** `{"prompt"*, "max_tokens", "stop" (≤ 10), "temperature" 0..1 (0.5), "top_p"
//!   0..1 (0.9), "top_k" 1..200}` → `{"outputs": [{"text", "stop_reason": "stop" | "length"}]}`;
//!   stream chunks `{"outputs": [{"text", "stop_reason": null}]}`, the last one with the stop
//!   reason and `amazon-bedrock-invocationMetrics`;
//! - **chat** (any body with `messages`) `{"messages"*, "tools", "tool_choice": "auto" | "any" |
//!   "none", "max_tokens", "temperature" 0..1 (0.7), "top_p" 0..1 (1)}` →
//!   `{"choices": [{"index": 0, "message": {"role": "assistant", "content", "tool_calls"?},
//!   "stop_reason": "stop" | "length" | "tool_calls"}]}`; stream chunks carry one `choices`
//!   element of the same shape with `stop_reason: null`, the last one the stop reason, the
//!   tool calls and the metrics. The response and stream shapes are **unconfirmed** in detail
//!   (§5.5), as is our acceptance of `stop` in chat bodies (the guide lists it for text only).
//!
//! Defaults are the guide's: 0.5 / 0.9 for text bodies (Mistral 7B, Mixtral), 0.7 / 1 for chat
//! bodies (Mistral Large); `max_tokens` defaults to the catalog's per-model default and may not
//! exceed its maximum. Schema violations use the validator wording of `everit.rs`.
//!
//! **Raw prompts** go through [`crate::markup`]: Mistral's `<s>[INST] … [/INST]` markup is
//! parsed into a chat for the local model's own template; anything else is fed verbatim.
//!
//! **Chat mapping.** `system` messages become the system prompt (joined by a blank line);
//! `tool` messages become tool results in a user turn, assistant `tool_calls` become tool uses;
//! consecutive turns of one role are merged. As in Mistral's own server, the last message must
//! be `user` or `tool`, or `assistant` with `"prefix": true` (a prefill the model continues).
//! `tool_choice: "none"` offers no tools. Tool-call ids in responses are the facade's minted id
//! without its `tooluse_` prefix (22 base62 characters, like the guide's example ids).

use bedrock_local_core::{SamplingParams, StopReason, Usage};
use serde_json::{json, Value};

use crate::everit::{self, array_of, integer, prop, Kind, Property, Schema};
use crate::{
    invocation_metrics_json, markup, ChunkEncoder, Completion, Decoded, InvocationMetrics,
    InvokeDialect, ModelTraits, ResponseCtx, Result,
};

/// `temperature` of a text body that has none (Mistral 7B, Mixtral).
pub const TEXT_DEFAULT_TEMPERATURE: f32 = 0.5;
/// `top_p` of a text body that has none.
pub const TEXT_DEFAULT_TOP_P: f32 = 0.9;
/// `temperature` of a chat body that has none (Mistral Large).
pub const CHAT_DEFAULT_TEMPERATURE: f32 = 0.7;
/// `top_p` of a chat body that has none.
pub const CHAT_DEFAULT_TOP_P: f32 = 1.0;
/// The most stop sequences a body may give.
pub const MAX_STOP_SEQUENCES: usize = 10;

const UNIT: Kind = Kind::Number {
    min: Some(0.0),
    max: Some(1.0),
};
const STRING: Kind = Kind::String { min_length: None };
const STOP: Property = prop("stop", array_of(&STRING, Some(MAX_STOP_SEQUENCES)));
const MAX_TOKENS: Property = prop("max_tokens", integer(Some(1), None));

const TEXT_SCHEMA: Schema = Schema {
    required: &["prompt"],
    properties: &[
        // An empty prompt is refused (unconfirmed: whether Bedrock's schema has minLength).
        prop(
            "prompt",
            Kind::String {
                min_length: Some(1),
            },
        ),
        MAX_TOKENS,
        STOP,
        prop("temperature", UNIT),
        prop("top_p", UNIT),
        prop("top_k", integer(Some(1), Some(200))),
    ],
};

const FUNCTION_CALL: Schema = Schema {
    required: &["name", "arguments"],
    properties: &[
        prop("name", STRING),
        // A JSON text per the guide; an object is accepted too (Mistral's API takes both).
        prop("arguments", Kind::Any),
    ],
};

const TOOL_CALL: Schema = Schema {
    required: &["function"],
    properties: &[
        prop("id", STRING),
        prop("type", Kind::Enum(&["function"])),
        prop("function", Kind::Object(&FUNCTION_CALL)),
    ],
};

const MESSAGE: Schema = Schema {
    required: &["role"],
    properties: &[
        prop("role", Kind::Enum(&["system", "user", "assistant", "tool"])),
        prop("content", Kind::Any),
        prop("tool_calls", array_of(&Kind::Object(&TOOL_CALL), None)),
        prop("tool_call_id", STRING),
        prop("name", STRING),
        prop("prefix", Kind::Boolean),
    ],
};

const FUNCTION: Schema = Schema {
    required: &["name"],
    properties: &[
        prop("name", STRING),
        prop("description", STRING),
        prop("parameters", Kind::AnyObject),
    ],
};

const TOOL: Schema = Schema {
    required: &["function"],
    properties: &[
        prop("type", Kind::Enum(&["function"])),
        prop("function", Kind::Object(&FUNCTION)),
    ],
};

const CHAT_SCHEMA: Schema = Schema {
    required: &["messages"],
    properties: &[
        prop("messages", array_of(&Kind::Object(&MESSAGE), None)),
        prop("tools", array_of(&Kind::Object(&TOOL), None)),
        prop("tool_choice", Kind::Enum(&["auto", "any", "none"])),
        MAX_TOKENS,
        prop("temperature", UNIT),
        prop("top_p", UNIT),
        STOP,
    ],
};

/// Which Mistral body a request used; the response has the same format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `prompt` → `outputs[]`.
    Text,
    /// `messages` → `choices[]`.
    Chat,
}

impl Format {
    /// The format a [`ResponseCtx::echo`] written by [`Mistral::decode`] names (text when none).
    pub fn from_echo(echo: &Value) -> Self {
        if echo["format"] == "chat" {
            Format::Chat
        } else {
            Format::Text
        }
    }

    fn echo(self) -> Value {
        json!({ "format": if self == Format::Chat { "chat" } else { "text" } })
    }
}

/// The Mistral AI dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mistral;

/// `stop_reason` of a text response: `length` when the budget ran out, else `stop`.
pub fn text_stop_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "length",
        StopReason::EndTurn | StopReason::StopSequence(_) | StopReason::ToolUse => "stop",
    }
}

/// `stop_reason` of a chat response: `tool_calls` whenever it ends with tool calls.
pub fn chat_stop_reason(reason: &StopReason, has_tool_calls: bool) -> &'static str {
    if has_tool_calls || *reason == StopReason::ToolUse {
        "tool_calls"
    } else {
        text_stop_reason(reason)
    }
}

impl InvokeDialect for Mistral {
    fn name(&self) -> &'static str {
        "mistral"
    }

    fn decode(&self, body: &[u8], traits: &ModelTraits) -> Result<Decoded> {
        let object = everit::parse_object(body)?;
        let chat = object.contains_key("messages");
        let mut violations = Vec::new();
        let schema = if chat { &CHAT_SCHEMA } else { &TEXT_SCHEMA };
        everit::check_object("#", &object, schema, &mut violations);
        if let Some(n) = object.get("max_tokens").and_then(Value::as_i64) {
            let max = i64::from(traits.max_output_tokens);
            if n > max {
                violations.push(format!("#/max_tokens: {n} is not less or equal to {max}"));
            }
        }
        everit::finish(&violations)?;
        let number = |key: &str, default: f32| everit::number_or(&object, key, default);
        let (prompt, format, temperature, top_p) = if chat {
            (
                chat::chat_prompt(&object)?,
                Format::Chat,
                number("temperature", CHAT_DEFAULT_TEMPERATURE),
                number("top_p", CHAT_DEFAULT_TOP_P),
            )
        } else {
            let prompt = object.get("prompt").and_then(Value::as_str).unwrap_or("");
            (
                markup::parse_chat_markup(prompt),
                Format::Text,
                number("temperature", TEXT_DEFAULT_TEMPERATURE),
                number("top_p", TEXT_DEFAULT_TOP_P),
            )
        };
        Ok(Decoded {
            prompt,
            max_tokens: everit::count(&object, "max_tokens").unwrap_or(traits.default_max_tokens),
            sampling: SamplingParams {
                temperature,
                top_p: Some(top_p),
                top_k: object
                    .get("top_k")
                    .and_then(Value::as_u64)
                    .map(|k| k as usize),
                seed: 0,
            },
            stop_sequences: everit::strings(object.get("stop")),
            cache_point: None,
            echo: format.echo(),
            reasoning_budget: None,
        })
    }

    fn encode(&self, ctx: &ResponseCtx, completion: &Completion) -> Vec<u8> {
        let value = match Format::from_echo(&ctx.echo) {
            Format::Text => json!({"outputs": [{
                "text": completion.text,
                "stop_reason": text_stop_reason(&completion.stop_reason),
            }]}),
            Format::Chat => {
                let mut message = json!({"role": "assistant", "content": completion.text});
                if !completion.tool_calls.is_empty() {
                    message["tool_calls"] = tool_calls_json(&completion.tool_calls);
                }
                json!({"choices": [{
                    "index": 0,
                    "message": message,
                    "stop_reason": chat_stop_reason(
                        &completion.stop_reason,
                        !completion.tool_calls.is_empty(),
                    ),
                }]})
            }
        };
        value.to_string().into_bytes()
    }

    fn chunk_encoder(&self, ctx: &ResponseCtx) -> Box<dyn ChunkEncoder> {
        Box::new(MistralChunks {
            format: Format::from_echo(&ctx.echo),
            tool_calls: Vec::new(),
        })
    }
}

/// The `tool_calls` array of a response or chunk.
fn tool_calls_json(calls: &[(String, String, String)]) -> Value {
    calls
        .iter()
        .map(|(id, name, arguments)| {
            json!({
                "id": id.strip_prefix("tooluse_").unwrap_or(id),
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            })
        })
        .collect()
}

/// Stream state: tool calls wait for the last chunk, which carries them with `tool_calls`.
struct MistralChunks {
    format: Format,
    tool_calls: Vec<(String, String, String)>,
}

impl MistralChunks {
    fn chunk(&self, text: &str, stop_reason: Option<&str>, tool_calls: Option<Value>) -> Value {
        match self.format {
            Format::Text => json!({"outputs": [{"text": text, "stop_reason": stop_reason}]}),
            Format::Chat => {
                let mut message = json!({"role": "assistant", "content": text});
                if let Some(calls) = tool_calls {
                    message["tool_calls"] = calls;
                }
                json!({"choices": [{"index": 0, "message": message, "stop_reason": stop_reason}]})
            }
        }
    }
}

impl ChunkEncoder for MistralChunks {
    fn start(&mut self, _prompt_tokens: u32) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn text(&mut self, text: &str) -> Vec<Vec<u8>> {
        if text.is_empty() {
            return Vec::new();
        }
        vec![self.chunk(text, None, None).to_string().into_bytes()]
    }

    fn tool_call(&mut self, id: &str, name: &str, input_json: &str) -> Vec<Vec<u8>> {
        if self.format == Format::Chat {
            self.tool_calls
                .push((id.to_owned(), name.to_owned(), input_json.to_owned()));
        }
        Vec::new()
    }

    fn finish(
        &mut self,
        reason: &StopReason,
        _usage: Usage,
        metrics: &InvocationMetrics,
    ) -> Vec<Vec<u8>> {
        let has_calls = !self.tool_calls.is_empty();
        let stop = match self.format {
            Format::Text => text_stop_reason(reason),
            Format::Chat => chat_stop_reason(reason, has_calls),
        };
        let calls = has_calls.then(|| tool_calls_json(&self.tool_calls));
        let mut last = self.chunk("", Some(stop), calls);
        last["amazon-bedrock-invocationMetrics"] = invocation_metrics_json(metrics);
        vec![last.to_string().into_bytes()]
    }
}

#[path = "mistral_chat.rs"]
mod chat;

#[cfg(test)]
#[path = "mistral_tests.rs"]
mod tests;
