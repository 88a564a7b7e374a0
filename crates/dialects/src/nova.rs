//! The Amazon Nova InvokeModel body (`amazon.nova-micro/lite/pro/premier/2-lite…` ids).
//!
//! Mirrors "Complete request schema" / "Using the Invoke API" in the Amazon Nova user guide
//! and bedrock-wire §5.7. The body is the Converse request with base64 strings for bytes:
//!
//! - request `{"schemaVersion": "messages-v1", "system": [{text}], "messages"*: [{role,
//!   content: [text | image | video | toolUse | toolResult | …]}], "inferenceConfig":
//!   {maxTokens | max_new_tokens, temperature, topP | top_p, topK | top_k, stopSequences,
//!   reasoningConfig}, "toolConfig": {tools, toolChoice}}`. Both `inferenceConfig` spellings
//!   appear in AWS examples (camelCase now, snake_case in the first Nova guide), so both are
//!   accepted;
//! - response `{"output": {"message": {"role": "assistant", "content": [{text} | {toolUse}]}},
//!   "stopReason": "end_turn" | "max_tokens" | "stop_sequence" | "tool_use", "usage":
//!   {inputTokens, outputTokens, totalTokens, cacheReadInputTokenCount,
//!   cacheWriteInputTokenCount}}`;
//! - stream chunks: the ConverseStream events, each wrapped in an object named after the
//!   event (`{"contentBlockDelta": {…}}`), the last (`metadata`) carrying
//!   `amazon-bedrock-invocationMetrics`.
//!
//! **Validation.** Bedrock checks Nova bodies with its JSON-schema validator (observed:
//! `#: required key [messages] not found`, `#: extraneous key [top_p] is not permitted`), so
//! the shape is checked with `everit` schemas (every object closed; the exact Nova schema is
//! unpublished, so which nested keys it allows is **unconfirmed**). A content block with no
//! or several members is `N subschemas matched instead of one` (everit's `oneOf` text,
//! **unconfirmed**). The rest — conversation order, tool blocks, content the text-only local
//! model cannot take, the output limit — are the Converse rules (`converse::rules`) with
//! their messages, since the body is Converse's. Defaults when absent: temperature 0.7,
//! topP 0.9 (the Nova guide's), `maxTokens` the catalog default, no top-k.

use bedrock_local_core::{Role, StopReason, ToolChoice, ToolSpec, Usage};
use serde_json::{json, Map, Value};

use crate::converse::{self, Block, Body, Msg, Tools};
use crate::everit::{self, Kind, Property, Schema};
use crate::{
    ChunkEncoder, Completion, Decoded, DialectError, InvocationMetrics, InvokeDialect, ModelTraits,
    ResponseCtx, Result,
};

/// `temperature` when the body has none.
pub const DEFAULT_TEMPERATURE: f32 = 0.7;
/// `topP` when the body has none.
pub const DEFAULT_TOP_P: f32 = 0.9;

const TEXT: Kind = Kind::String { min_length: None };
const fn prop(name: &'static str, kind: Kind) -> Property {
    Property { name, kind }
}
const fn list(item: &'static Kind) -> Kind {
    Kind::Array {
        items: Some(item),
        max_items: None,
    }
}

const EMPTY: Schema = Schema {
    required: &[],
    properties: &[],
};
const CACHE_POINT: Schema = Schema {
    required: &["type"],
    properties: &[prop("type", Kind::Enum(&["default"]))],
};
const TOOL_USE: Schema = Schema {
    required: &["toolUseId", "name", "input"],
    properties: &[
        prop("toolUseId", TEXT),
        prop("name", TEXT),
        prop("input", Kind::AnyObject),
    ],
};
/// Members of a `toolResult` content item.
const RESULT_MEMBERS: [&str; 5] = ["text", "json", "image", "video", "document"];
const RESULT_ITEM: Schema = Schema {
    required: &[],
    properties: &[
        prop("text", TEXT),
        prop("json", Kind::Any),
        prop("image", Kind::AnyObject),
        prop("video", Kind::AnyObject),
        prop("document", Kind::AnyObject),
    ],
};
const TOOL_RESULT: Schema = Schema {
    required: &["toolUseId", "content"],
    properties: &[
        prop("toolUseId", TEXT),
        prop("content", list(&Kind::Object(&RESULT_ITEM))),
        prop("status", Kind::Enum(&["success", "error"])),
    ],
};
/// Members of a message content block.
const BLOCK_MEMBERS: [&str; 9] = [
    "text",
    "image",
    "video",
    "document",
    "audio",
    "toolUse",
    "toolResult",
    "reasoningContent",
    "cachePoint",
];
const BLOCK: Schema = Schema {
    required: &[],
    properties: &[
        prop("text", TEXT),
        prop("image", Kind::AnyObject),
        prop("video", Kind::AnyObject),
        prop("document", Kind::AnyObject),
        prop("audio", Kind::AnyObject),
        prop("toolUse", Kind::Object(&TOOL_USE)),
        prop("toolResult", Kind::Object(&TOOL_RESULT)),
        prop("reasoningContent", Kind::AnyObject),
        prop("cachePoint", Kind::Object(&CACHE_POINT)),
    ],
};
const MESSAGE: Schema = Schema {
    required: &["role", "content"],
    properties: &[
        prop("role", Kind::Enum(&["user", "assistant"])),
        prop("content", list(&Kind::Object(&BLOCK))),
    ],
};
const SYSTEM_MEMBERS: [&str; 2] = ["text", "cachePoint"];
const SYSTEM_BLOCK: Schema = Schema {
    required: &[],
    properties: &[
        prop("text", TEXT),
        prop("cachePoint", Kind::Object(&CACHE_POINT)),
    ],
};
const REASONING: Schema = Schema {
    required: &["type"],
    properties: &[
        prop("type", Kind::Enum(&["enabled", "disabled"])),
        prop("maxReasoningEffort", Kind::Enum(&["low", "medium", "high"])),
    ],
};
const POSITIVE: Kind = Kind::Integer {
    min: Some(1),
    max: None,
};
const NATURAL: Kind = Kind::Integer {
    min: Some(0),
    max: None,
};
const UNIT: Kind = Kind::Number {
    min: Some(0.0),
    max: Some(1.0),
};
const INFERENCE: Schema = Schema {
    required: &[],
    properties: &[
        prop("maxTokens", POSITIVE),
        prop("max_new_tokens", POSITIVE),
        prop("temperature", UNIT),
        prop("topP", UNIT),
        prop("top_p", UNIT),
        prop("topK", NATURAL),
        prop("top_k", NATURAL),
        prop("stopSequences", list(&TEXT)),
        prop("reasoningConfig", Kind::Object(&REASONING)),
    ],
};
const INPUT_SCHEMA: Schema = Schema {
    required: &["json"],
    properties: &[prop("json", Kind::AnyObject)],
};
const TOOL_SPEC: Schema = Schema {
    required: &["name", "inputSchema"],
    properties: &[
        prop("name", TEXT),
        prop("description", TEXT),
        prop("inputSchema", Kind::Object(&INPUT_SCHEMA)),
    ],
};
const TOOL_MEMBERS: [&str; 3] = ["toolSpec", "systemTool", "cachePoint"];
const TOOL: Schema = Schema {
    required: &[],
    properties: &[
        prop("toolSpec", Kind::Object(&TOOL_SPEC)),
        prop("systemTool", Kind::AnyObject),
        prop("cachePoint", Kind::Object(&CACHE_POINT)),
    ],
};
const NAMED: Schema = Schema {
    required: &["name"],
    properties: &[prop("name", TEXT)],
};
const CHOICE_MEMBERS: [&str; 3] = ["auto", "any", "tool"];
const TOOL_CHOICE: Schema = Schema {
    required: &[],
    properties: &[
        prop("auto", Kind::Object(&EMPTY)),
        prop("any", Kind::Object(&EMPTY)),
        prop("tool", Kind::Object(&NAMED)),
    ],
};
const TOOL_CONFIG: Schema = Schema {
    required: &["tools"],
    properties: &[
        prop("tools", list(&Kind::Object(&TOOL))),
        prop("toolChoice", Kind::Object(&TOOL_CHOICE)),
    ],
};
const SCHEMA: Schema = Schema {
    required: &["messages"],
    properties: &[
        prop("schemaVersion", Kind::Enum(&["messages-v1"])),
        prop("system", list(&Kind::Object(&SYSTEM_BLOCK))),
        prop("messages", list(&Kind::Object(&MESSAGE))),
        prop("inferenceConfig", Kind::Object(&INFERENCE)),
        prop("toolConfig", Kind::Object(&TOOL_CONFIG)),
    ],
};

/// The Amazon Nova (understanding models) dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nova;

/// Whether a provider model id speaks this body: the Nova understanding models, not Canvas,
/// Reel, Sonic or the embedding models.
pub fn handles(provider_model_id: &str) -> bool {
    provider_model_id.starts_with("amazon.nova-")
        && !["canvas", "reel", "sonic", "embed"]
            .iter()
            .any(|family| provider_model_id.contains(family))
}

fn items(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn text_of(value: Option<&Value>) -> String {
    value.and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The one member of a union object present, or a `oneOf` violation at `at`.
fn member<'a>(
    value: &'a Value,
    at: &str,
    members: &[&'static str],
    out: &mut Vec<String>,
) -> Option<(&'static str, &'a Value)> {
    let object = value.as_object()?;
    let present: Vec<_> = members
        .iter()
        .filter_map(|m| object.get(*m).map(|v| (*m, v)))
        .collect();
    if let [only] = present[..] {
        return Some(only);
    }
    let n = present.len();
    out.push(format!("{at}: {n} subschemas matched instead of one"));
    None
}

fn block(value: &Value, at: &str, out: &mut Vec<String>) -> Option<Block> {
    let (kind, inner) = member(value, at, &BLOCK_MEMBERS, out)?;
    Some(match kind {
        "text" => Block::Text(text_of(Some(inner))),
        "toolUse" => Block::ToolUse {
            id: text_of(inner.get("toolUseId")),
            name: text_of(inner.get("name")),
            input_json: inner.get("input").map(Value::to_string).unwrap_or_default(),
        },
        "toolResult" => {
            let mut parts = Vec::new();
            let mut unsupported = None;
            for (k, item) in items(inner.get("content")).iter().enumerate() {
                let item_at = format!("{at}/toolResult/content/{k}");
                match member(item, &item_at, &RESULT_MEMBERS, out) {
                    Some(("text", t)) => parts.push(text_of(Some(t))),
                    Some(("json", j)) => parts.push(j.to_string()),
                    Some((other, _)) => unsupported = unsupported.or(Some(other)),
                    None => {}
                }
            }
            match unsupported {
                Some(kind) => Block::Unsupported(kind),
                None => Block::ToolResult {
                    id: text_of(inner.get("toolUseId")),
                    content: parts.join("\n"),
                    is_error: inner.get("status").and_then(Value::as_str) == Some("error"),
                },
            }
        }
        "cachePoint" => Block::CachePoint,
        other => Block::Unsupported(other),
    })
}

fn tools(config: &Map<String, Value>, out: &mut Vec<String>) -> Tools {
    let mut tools = Tools::default();
    for (i, tool) in items(config.get("tools")).iter().enumerate() {
        match member(tool, &format!("#/toolConfig/tools/{i}"), &TOOL_MEMBERS, out) {
            Some(("toolSpec", spec)) => tools.specs.push(ToolSpec {
                name: text_of(spec.get("name")),
                description: spec
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                input_schema_json: spec
                    .get("inputSchema")
                    .and_then(|s| s.get("json"))
                    .map(Value::to_string)
                    .unwrap_or_else(|| "{}".to_owned()),
            }),
            Some(("systemTool", _)) => tools.system_tool = true,
            Some(("cachePoint", _)) => tools.cache_point = true,
            _ => {}
        }
    }
    if let Some(choice) = config.get("toolChoice") {
        tools.choice = match member(choice, "#/toolConfig/toolChoice", &CHOICE_MEMBERS, out) {
            Some(("any", _)) => ToolChoice::Any,
            Some(("tool", named)) => ToolChoice::Tool(text_of(named.get("name"))),
            _ => ToolChoice::Auto,
        };
    }
    tools
}

/// Walks a schema-valid body into the Converse [`Body`] (plus top-k), collecting `oneOf`
/// violations.
fn body(object: &Map<String, Value>, out: &mut Vec<String>) -> (Body, Option<usize>) {
    let mut messages = Vec::new();
    for (i, m) in items(object.get("messages")).iter().enumerate() {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("assistant") => Role::Assistant,
            _ => Role::User,
        };
        let blocks = items(m.get("content"))
            .iter()
            .enumerate()
            .filter_map(|(j, b)| block(b, &format!("#/messages/{i}/content/{j}"), out))
            .collect();
        messages.push(Msg { role, blocks });
    }
    let mut system = Vec::new();
    let mut system_cache_point = false;
    for (i, s) in items(object.get("system")).iter().enumerate() {
        match member(s, &format!("#/system/{i}"), &SYSTEM_MEMBERS, out) {
            Some(("text", t)) => system.push(text_of(Some(t))),
            Some(("cachePoint", _)) => system_cache_point = true,
            _ => {}
        }
    }
    let config = object.get("inferenceConfig");
    let get = |a: &str, b: &str| config.and_then(|c| c.get(a).or_else(|| c.get(b)));
    let float = |a, b, default: f32| {
        get(a, b)
            .and_then(Value::as_f64)
            .map_or(default, |v| v as f32)
    };
    let body = Body {
        messages: Some(messages),
        system,
        system_cache_point,
        // Beyond u32 is beyond any limit: let the output-limit rule refuse it.
        max_tokens: get("maxTokens", "max_new_tokens")
            .and_then(Value::as_u64)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        temperature: Some(float("temperature", "temperature", DEFAULT_TEMPERATURE)),
        top_p: Some(float("topP", "top_p", DEFAULT_TOP_P)),
        stop_sequences: items(get("stopSequences", "stopSequences"))
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        tools: object
            .get("toolConfig")
            .and_then(Value::as_object)
            .map(|c| tools(c, out)),
        ..Body::default()
    };
    let top_k = get("topK", "top_k")
        .and_then(Value::as_u64)
        .filter(|k| *k > 0)
        .and_then(|k| usize::try_from(k).ok());
    (body, top_k)
}

impl InvokeDialect for Nova {
    fn name(&self) -> &'static str {
        "nova"
    }

    fn decode(&self, body_bytes: &[u8], traits: &ModelTraits) -> Result<Decoded> {
        let object = everit::validate(body_bytes, &SCHEMA)?;
        let mut unions = Vec::new();
        let (body, top_k) = body(&object, &mut unions);
        everit::finish(&unions)?;
        let reasoning = object
            .get("inferenceConfig")
            .and_then(|c| c.get("reasoningConfig"))
            .and_then(|r| r.get("type"))
            .and_then(Value::as_str);
        let mut decoded = converse::decode_body(body, traits)?;
        if reasoning == Some("enabled") {
            // Unconfirmed wording: the local model does not reason.
            return Err(DialectError::Unsupported("This model doesn't support reasoning. Remove reasoningConfig from inferenceConfig or set its type to disabled, and try again.".to_owned()));
        }
        decoded.sampling.top_k = top_k;
        Ok(decoded)
    }

    fn encode(&self, _ctx: &ResponseCtx, completion: &Completion) -> Vec<u8> {
        json!({
            "output": {"message": {"role": "assistant", "content": converse::output_content(completion)}},
            "stopReason": converse::completion_stop_reason(completion),
            "usage": usage_json(completion.usage, true),
        })
        .to_string()
        .into_bytes()
    }

    fn chunk_encoder(&self, _ctx: &ResponseCtx) -> Box<dyn ChunkEncoder> {
        Box::new(NovaChunks::default())
    }
}

/// Nova's `usage`; the stream's `metadata.usage` has neither the total nor the cache counts.
/// The cache counts are 0 unless the request had a `cachePoint`; `totalTokens` counts them.
fn usage_json(usage: Usage, full: bool) -> Value {
    if full {
        json!({
            "inputTokens": usage.input_tokens,
            "outputTokens": usage.output_tokens,
            "totalTokens": converse::total_tokens(usage),
            "cacheReadInputTokenCount": usage.cache_read_input_tokens,
            "cacheWriteInputTokenCount": usage.cache_write_input_tokens,
        })
    } else {
        json!({"inputTokens": usage.input_tokens, "outputTokens": usage.output_tokens})
    }
}

/// Stream state: the ConverseStream event sequence (`converse::stream::Encoder`), each event
/// wrapped as `{"<event>": payload}`, with Nova's own `metadata` chunk last.
#[derive(Debug, Default)]
struct NovaChunks {
    events: converse::stream::Encoder,
}

/// `{"<event type>": <payload>}` without re-parsing the payload.
fn wrap(events: Vec<converse::stream::StreamEvent>) -> Vec<Vec<u8>> {
    events
        .into_iter()
        .map(|(event_type, payload)| {
            let mut chunk = Vec::with_capacity(payload.len() + event_type.len() + 5);
            chunk.extend_from_slice(b"{\"");
            chunk.extend_from_slice(event_type.as_bytes());
            chunk.extend_from_slice(b"\":");
            chunk.extend_from_slice(&payload);
            chunk.push(b'}');
            chunk
        })
        .collect()
}

impl ChunkEncoder for NovaChunks {
    fn start(&mut self, _prompt_tokens: u32) -> Vec<Vec<u8>> {
        wrap(self.events.start())
    }

    fn text(&mut self, text: &str) -> Vec<Vec<u8>> {
        wrap(self.events.text(text))
    }

    fn tool_call(&mut self, id: &str, name: &str, input_json: &str) -> Vec<Vec<u8>> {
        wrap(self.events.tool_call(id, name, input_json))
    }

    fn finish(
        &mut self,
        reason: &StopReason,
        usage: Usage,
        metrics: &InvocationMetrics,
    ) -> Vec<Vec<u8>> {
        let mut events = self
            .events
            .finish(reason, usage, metrics.invocation_latency_ms);
        events.retain(|(event_type, _)| *event_type != "metadata");
        let mut chunks = wrap(events);
        chunks.push(
            json!({
                "metadata": {"usage": usage_json(usage, false), "metrics": {}, "trace": {}},
                "amazon-bedrock-invocationMetrics": crate::invocation_metrics_json(metrics),
            })
            .to_string()
            .into_bytes(),
        );
        chunks
    }
}

#[cfg(test)]
#[path = "nova_tests.rs"]
mod tests;
