//! The AI21 Labs Jamba InvokeModel body (`ai21.jamba-1-5-mini-v1:0`, `ai21.jamba-1-5-large-v1:0`,
//! `ai21.jamba-instruct-v1:0`).
//!
//! Mirrors "AI21 Labs Jamba models" in the Amazon Bedrock user guide, AI21's Jamba 1.5 chat
//! reference (the same body without `model`) and bedrock-wire §5.13:
//!
//! - request `{"messages"*: [{role: system | user | assistant | tool, content, tool_calls?,
//!   tool_call_id?}], "max_tokens": 0..4096 (4096), "temperature": 0..2 (1.0), "top_p": 0..1
//!   (1.0), "stop": string | [string], "n": 1..16, "frequency_penalty", "presence_penalty",
//!   "tools": [{type: function, function: {name, description, parameters}}], "documents":
//!   [{content, id, metadata}], "response_format": {type: text | json_object}}`, checked with
//!   Bedrock's schema-validator wording (`everit`; which keys Bedrock's Jamba schema allows is
//!   **unconfirmed**, `stream` is refused as AI21's own SDK strips it for Bedrock);
//! - response `{"id": "chatcmpl-…", "choices": [{"index": 0, "message": {"role": "assistant",
//!   "content", "tool_calls"}, "finish_reason": "stop" | "length" | "tool_calls"}], "usage":
//!   {prompt_tokens, completion_tokens, total_tokens}}`;
//! - stream chunks `{"id", "choices": [{"index": 0, "delta": {…}, "finish_reason": null}]}`; the
//!   finishing chunk carries `finish_reason` and `usage`, and Bedrock's metrics follow in a chunk
//!   of their own, `{"amazon-bedrock-invocationMetrics": {…}}`. That split is what AI21's SDK
//!   expects from Bedrock (its decoder merges the chunk after the finishing one into it); the
//!   exact Bedrock chunks are **unconfirmed**.
//!
//! Local choices: `documents` are given to the model as system text; `response_format` is
//! accepted but JSON mode is not enforced; `n` above 1 is refused (one generation per request);
//! `max_tokens: 0` generates one token.

use bedrock_local_core::{ContentPart, Role, SamplingParams, ToolChoice, ToolSpec};
use serde_json::{json, Map, Value};

use crate::chat_completion::{self, DeltaChunks, Envelope};
use crate::chat_turns::Turns;
use crate::everit::{self, found_type, Kind, Property, Schema};
use crate::{
    ChunkEncoder, Completion, Decoded, DialectError, InvokeDialect, ModelTraits, ResponseCtx,
    Result,
};

/// `temperature` when the body has none (the guide's default).
pub const DEFAULT_TEMPERATURE: f32 = 1.0;
/// `top_p` when the body has none.
pub const DEFAULT_TOP_P: f32 = 1.0;
/// `max_tokens` when the body has none, and its largest value.
pub const MAX_TOKENS: u32 = 4096;

const TEXT: Kind = Kind::String { min_length: None };
const NUMBER: Kind = Kind::Number {
    min: None,
    max: None,
};
const fn prop(name: &'static str, kind: Kind) -> Property {
    Property { name, kind }
}
const fn list(item: &'static Kind) -> Kind {
    Kind::Array {
        items: Some(item),
        max_items: None,
    }
}

const FUNCTION_CALL: Schema = Schema {
    required: &["name", "arguments"],
    properties: &[prop("name", TEXT), prop("arguments", TEXT)],
};
const TOOL_CALL: Schema = Schema {
    required: &["function"],
    properties: &[
        prop("id", TEXT),
        prop("type", Kind::Enum(&["function"])),
        prop("function", Kind::Object(&FUNCTION_CALL)),
    ],
};
const MESSAGE: Schema = Schema {
    required: &["role"],
    properties: &[
        prop("role", Kind::Enum(&["system", "user", "assistant", "tool"])),
        // A string; `null` or absent only for an assistant turn with tool calls (checked below).
        prop("content", Kind::Any),
        prop("tool_calls", list(&Kind::Object(&TOOL_CALL))),
        prop("tool_call_id", TEXT),
    ],
};
const FUNCTION_DEF: Schema = Schema {
    required: &["name"],
    properties: &[
        prop("name", TEXT),
        prop("description", TEXT),
        prop("parameters", Kind::AnyObject),
    ],
};
const TOOL: Schema = Schema {
    required: &["type", "function"],
    properties: &[
        prop("type", Kind::Enum(&["function"])),
        prop("function", Kind::Object(&FUNCTION_DEF)),
    ],
};
const METADATA: Schema = Schema {
    required: &["key", "value"],
    properties: &[prop("key", TEXT), prop("value", TEXT)],
};
const DOCUMENT: Schema = Schema {
    required: &["content"],
    properties: &[
        prop("id", TEXT),
        prop("content", TEXT),
        prop("metadata", list(&Kind::Object(&METADATA))),
    ],
};
const RESPONSE_FORMAT: Schema = Schema {
    required: &["type"],
    properties: &[prop("type", Kind::Enum(&["text", "json_object"]))],
};
const SCHEMA: Schema = Schema {
    required: &["messages"],
    properties: &[
        prop("messages", list(&Kind::Object(&MESSAGE))),
        prop(
            "max_tokens",
            Kind::Integer {
                min: Some(0),
                max: Some(MAX_TOKENS as i64),
            },
        ),
        prop(
            "temperature",
            Kind::Number {
                min: Some(0.0),
                max: Some(2.0),
            },
        ),
        prop(
            "top_p",
            Kind::Number {
                min: Some(0.0),
                max: Some(1.0),
            },
        ),
        // A string or a list of strings (checked below).
        prop("stop", Kind::Any),
        prop(
            "n",
            Kind::Integer {
                min: Some(1),
                max: Some(16),
            },
        ),
        prop("frequency_penalty", NUMBER),
        prop("presence_penalty", NUMBER),
        prop("tools", list(&Kind::Object(&TOOL))),
        prop("documents", list(&Kind::Object(&DOCUMENT))),
        prop("response_format", Kind::Object(&RESPONSE_FORMAT)),
    ],
};

/// The AI21 Jamba dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct Jamba;

/// Whether a provider model id speaks this body (Jamba; the retired Jurassic-2 does not).
pub fn handles(provider_model_id: &str) -> bool {
    provider_model_id.starts_with("ai21.jamba")
}

fn items(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn string(value: Option<&Value>) -> String {
    value.and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The checks a JSON schema expresses with `oneOf`/`if`, in the same `#/pointer: text` form:
/// `content` a string (or `null`/absent on an assistant turn with tool calls), `tool_call_id`
/// on tool turns, `stop` a string or a list of strings.
fn check_conditionals(object: &Map<String, Value>, out: &mut Vec<String>) {
    for (i, m) in items(object.get("messages")).iter().enumerate() {
        let at = format!("#/messages/{i}");
        let role = m.get("role").and_then(Value::as_str);
        let calls = !items(m.get("tool_calls")).is_empty();
        match m.get("content") {
            Some(Value::String(_)) => {}
            None | Some(Value::Null) if role == Some("assistant") && calls => {}
            None => out.push(format!("{at}: required key [content] not found")),
            Some(other) => out.push(format!(
                "{at}/content: expected type: String, found: {}",
                found_type(other)
            )),
        }
        if role == Some("tool") && m.get("tool_call_id").is_none() {
            out.push(format!("{at}: required key [tool_call_id] not found"));
        }
    }
    match object.get("stop") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(list)) => {
            for (i, s) in list.iter().enumerate().filter(|(_, s)| !s.is_string()) {
                let found = found_type(s);
                out.push(format!("#/stop/{i}: expected type: String, found: {found}"));
            }
        }
        Some(other) => out.push(format!(
            "#/stop: expected type: JSONArray, found: {}",
            found_type(other)
        )),
    }
}

fn conversation(object: &Map<String, Value>) -> Turns {
    let mut turns = Turns::default();
    for m in items(object.get("messages")) {
        let content = string(m.get("content"));
        match m.get("role").and_then(Value::as_str) {
            Some("system") => turns.system(content),
            Some("assistant") => {
                let calls = items(m.get("tool_calls"));
                if !content.is_empty() || calls.is_empty() {
                    turns.text(Role::Assistant, content);
                }
                for call in calls {
                    let function = call.get("function");
                    turns.push(
                        Role::Assistant,
                        ContentPart::ToolUse {
                            id: string(call.get("id")),
                            name: string(function.and_then(|f| f.get("name"))),
                            input_json: string(function.and_then(|f| f.get("arguments"))),
                        },
                    );
                }
            }
            Some("tool") => turns.push(
                Role::User,
                ContentPart::ToolResult {
                    id: string(m.get("tool_call_id")),
                    content,
                    is_error: false,
                },
            ),
            _ => turns.text(Role::User, content),
        }
    }
    let documents: Vec<String> = items(object.get("documents"))
        .iter()
        .map(|d| string(d.get("content")))
        .collect();
    if !documents.is_empty() {
        turns.system(format!("Documents:\n\n{}", documents.join("\n\n")));
    }
    turns
}

fn tools(object: &Map<String, Value>) -> Vec<ToolSpec> {
    items(object.get("tools"))
        .iter()
        .filter_map(|t| t.get("function"))
        .map(|f| ToolSpec {
            name: string(f.get("name")),
            description: f
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            input_schema_json: f
                .get("parameters")
                .cloned()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}}))
                .to_string(),
        })
        .collect()
}

impl InvokeDialect for Jamba {
    fn name(&self) -> &'static str {
        "ai21"
    }

    /// Decodes a Jamba body. `max_tokens` is limited by the body schema (4096), as Bedrock does.
    fn decode(&self, body: &[u8], _traits: &ModelTraits) -> Result<Decoded> {
        let object = everit::validate(body, &SCHEMA)?;
        let mut violations = Vec::new();
        check_conditionals(&object, &mut violations);
        everit::finish(&violations)?;
        let is_chat = |m: &Value| m.get("role").and_then(Value::as_str) != Some("system");
        if !items(object.get("messages")).iter().any(is_chat) {
            // Unconfirmed wording (the guide: "Must have at least one user or assistant message").
            return Err(DialectError::Validation("The messages list must have at least one user or assistant message. Add one and try again.".to_owned()));
        }
        if object
            .get("n")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > 1)
        {
            // Unconfirmed wording: the local engine generates one choice per request.
            return Err(DialectError::Unsupported(
                "This model doesn't support n greater than 1. Try again with n set to 1."
                    .to_owned(),
            ));
        }
        let number = |key: &str, default: f32| everit::number_or(&object, key, default);
        let max_tokens = object
            .get("max_tokens")
            .and_then(Value::as_u64)
            .map_or(MAX_TOKENS, |n| u32::try_from(n).unwrap_or(MAX_TOKENS))
            .max(1);
        let stop_sequences = match object.get("stop") {
            Some(Value::String(s)) => vec![s.clone()],
            other => items(other)
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        };
        Ok(Decoded {
            prompt: conversation(&object).into_prompt(tools(&object), ToolChoice::Auto),
            max_tokens,
            sampling: SamplingParams {
                temperature: number("temperature", DEFAULT_TEMPERATURE),
                top_p: Some(number("top_p", DEFAULT_TOP_P)),
                top_k: None,
                seed: 0,
            },
            stop_sequences: stop_sequences
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
            cache_point: None,
            echo: Value::Null,
            reasoning_budget: None,
        })
    }

    fn encode(&self, ctx: &ResponseCtx, completion: &Completion) -> Vec<u8> {
        json!({
            "id": completion_id(ctx),
            "choices": [chat_completion::choice_json(completion, true)],
            "usage": chat_completion::usage_json(completion.usage),
        })
        .to_string()
        .into_bytes()
    }

    fn chunk_encoder(&self, ctx: &ResponseCtx) -> Box<dyn ChunkEncoder> {
        Box::new(DeltaChunks::new(completion_id(ctx), Envelope::Jamba))
    }
}

/// `chatcmpl-` and the response id.
fn completion_id(ctx: &ResponseCtx) -> String {
    format!("chatcmpl-{}", ctx.response_id)
}

#[cfg(test)]
#[path = "ai21_tests.rs"]
mod tests;
