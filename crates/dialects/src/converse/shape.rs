//! Step 2 of Converse validation: the body against the Smithy shapes of `ConverseRequest`.
//!
//! Walks the JSON once, checks every constraint botocore's `bedrock-runtime` model declares
//! for the members we read (required, enums, lengths, ranges, patterns, union arity), and
//! keeps what later steps need in a [`Body`]. Members that only matter to features we do not
//! emulate (guardrails, prompt variables, request metadata) are type-checked and dropped;
//! unknown top-level members are ignored, as restJson1 servers do.

use bedrock_local_core::Role;
use serde_json::{Map, Value};

use super::coral::{join, optional, Coral};
use super::tool_config::{self, Tools};
use super::ResponseEcho;
use crate::everit::MALFORMED;
use crate::{DialectError, Result};

/// The members of the `ContentBlock` union, in model order.
const CONTENT_MEMBERS: [&str; 12] = [
    "text",
    "image",
    "document",
    "video",
    "audio",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
    "reasoningContent",
    "citationsContent",
    "searchResult",
];
const TOOL_RESULT_MEMBERS: [&str; 6] =
    ["json", "text", "image", "document", "video", "searchResult"];
const SYSTEM_MEMBERS: [&str; 3] = ["text", "guardContent", "cachePoint"];

/// One content block, reduced to what the engine can use.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// `text`, or the text of a `guardContent` block.
    Text(String),
    /// A tool call from an earlier assistant turn.
    ToolUse {
        id: String,
        name: String,
        input_json: String,
    },
    /// A tool result from the user.
    ToolResult {
        id: String,
        content: String,
        is_error: bool,
    },
    /// A block kind the local (text-only) model cannot take: `image`, `document`, ….
    Unsupported(&'static str),
    /// A prompt-cache breakpoint (it only decides how usage is reported).
    CachePoint,
    /// A `reasoningContent` block of an earlier assistant turn (extended thinking): accepted
    /// for reasoning models, never shown to the model again.
    Reasoning,
}

/// One message as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Msg {
    pub role: Role,
    pub blocks: Vec<Block>,
}

/// Everything later validation steps and decoding need.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Body {
    /// `None` when the member is absent.
    pub messages: Option<Vec<Msg>>,
    /// Texts of the system blocks, in order.
    pub system: Vec<String>,
    /// A `system` block is a valid `cachePoint`.
    pub system_cache_point: bool,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub stop_sequences: Vec<String>,
    pub tools: Option<Tools>,
    pub additional_fields: Option<Value>,
    pub output_config: bool,
    pub echo: ResponseEcho,
}

/// Parses and shape-checks a Converse body. An empty body is an empty structure.
pub(super) fn walk(bytes: &[u8]) -> Result<Body> {
    let top = if bytes.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => map,
            // Unconfirmed wording for Converse (it is InvokeModel's schema-less message).
            _ => return Err(DialectError::Validation(MALFORMED.to_owned())),
        }
    };
    let mut c = Coral::default();
    let mut body = Body::default();
    if let Some(v) = optional(&top, "messages") {
        if let Some(items) = c.list(v, "messages") {
            let mut messages = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if let Some(m) = message(&mut c, item, &join("messages", i)) {
                    messages.push(m);
                }
            }
            body.messages = Some(messages);
        }
    }
    if let Some(v) = optional(&top, "system") {
        (body.system, body.system_cache_point) = system(&mut c, v);
    }
    if let Some(v) = optional(&top, "inferenceConfig") {
        inference_config(&mut c, v, &mut body);
    }
    if let Some(v) = optional(&top, "toolConfig") {
        body.tools = tool_config::walk(&mut c, v);
    }
    body.additional_fields = optional(&top, "additionalModelRequestFields").cloned();
    body.output_config = optional(&top, "outputConfig").is_some();
    for key in [
        "guardrailConfig",
        "promptVariables",
        "requestMetadata",
        "outputConfig",
    ] {
        if let Some(v) = optional(&top, key) {
            c.object(v, key);
        }
    }
    if let Some(v) = optional(&top, "additionalModelResponseFieldPaths") {
        if let Some(paths) = c.list(v, "additionalModelResponseFieldPaths") {
            for (i, p) in paths.iter().enumerate() {
                c.string(p, &join("additionalModelResponseFieldPaths", i));
            }
        }
    }
    if let Some(v) = optional(&top, "performanceConfig") {
        if let Some(obj) = c.object(v, "performanceConfig") {
            let latency = optional(obj, "latency").and_then(|l| {
                c.enumeration(l, "performanceConfig.latency", &["standard", "optimized"])
            });
            body.echo.performance_latency = Some(latency.unwrap_or("standard").to_owned());
        }
    }
    if let Some(v) = optional(&top, "serviceTier") {
        if let Some(obj) = c.object(v, "serviceTier") {
            body.echo.service_tier = c
                .required(obj, "type", "serviceTier")
                .and_then(|t| {
                    c.enumeration(
                        t,
                        "serviceTier.type",
                        &["priority", "default", "flex", "reserved"],
                    )
                })
                .map(str::to_owned);
        }
    }
    match c.message() {
        Some(message) => Err(DialectError::Validation(message)),
        None => Ok(body),
    }
}

fn message(c: &mut Coral, value: &Value, path: &str) -> Option<Msg> {
    let object = c.object(value, path)?;
    let role = c
        .required(object, "role", path)
        .and_then(|r| c.enumeration(r, &join(path, "role"), &["user", "assistant"]))
        .map(|r| {
            if r == "user" {
                Role::User
            } else {
                Role::Assistant
            }
        });
    let mut blocks = Vec::new();
    if let Some(content) = c.required(object, "content", path) {
        let content_path = join(path, "content");
        if let Some(items) = c.list(content, &content_path) {
            for (j, item) in items.iter().enumerate() {
                if let Some(block) = content_block(c, item, &join(&content_path, j)) {
                    blocks.push(block);
                }
            }
        }
    }
    Some(Msg {
        role: role?,
        blocks,
    })
}

fn content_block(c: &mut Coral, value: &Value, path: &str) -> Option<Block> {
    let (member, inner) = c.union(value, path, &CONTENT_MEMBERS)?;
    let inner_path = join(path, member);
    match member {
        "text" => c
            .string(inner, &inner_path)
            .map(|s| Block::Text(s.to_owned())),
        "toolUse" => tool_use(c, inner, &inner_path),
        "toolResult" => tool_result(c, inner, &inner_path),
        "guardContent" => guard_content(c, inner, &inner_path),
        "cachePoint" => cache_point(c, inner, &inner_path).then_some(Block::CachePoint),
        "reasoningContent" => c.object(inner, &inner_path).map(|_| Block::Reasoning),
        other => Some(Block::Unsupported(other)),
    }
}

/// Checks a `ToolName` or `ToolUseId` (1..64 chars of a restricted set).
fn identifier(
    c: &mut Coral,
    value: &Value,
    path: &str,
    extra: &[char],
    pattern: &str,
) -> Option<String> {
    let s = c.string(value, path)?;
    let len = s.chars().count();
    if len < 1 {
        c.violation(
            value,
            path,
            "Member must have length greater than or equal to 1",
        );
        return None;
    }
    if len > 64 {
        c.violation(
            value,
            path,
            "Member must have length less than or equal to 64",
        );
        return None;
    }
    if !s
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || extra.contains(&ch))
    {
        c.violation(
            value,
            path,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        );
        return None;
    }
    Some(s.to_owned())
}

pub(super) fn tool_name(c: &mut Coral, value: &Value, path: &str) -> Option<String> {
    identifier(c, value, path, &['_', '-'], "[a-zA-Z0-9_-]+")
}

fn tool_use_id(c: &mut Coral, value: &Value, path: &str) -> Option<String> {
    identifier(c, value, path, &['_', '.', ':', '-'], "[a-zA-Z0-9_.:-]+")
}

fn tool_use(c: &mut Coral, value: &Value, path: &str) -> Option<Block> {
    let object = c.object(value, path)?;
    let id = c
        .required(object, "toolUseId", path)
        .and_then(|v| tool_use_id(c, v, &join(path, "toolUseId")));
    let name = c
        .required(object, "name", path)
        .and_then(|v| tool_name(c, v, &join(path, "name")));
    let input = c.required(object, "input", path);
    if let Some(t) = optional(object, "type") {
        c.enumeration(t, &join(path, "type"), &["server_tool_use"]);
    }
    Some(Block::ToolUse {
        id: id?,
        name: name?,
        input_json: input?.to_string(),
    })
}

fn tool_result(c: &mut Coral, value: &Value, path: &str) -> Option<Block> {
    let object = c.object(value, path)?;
    let id = c
        .required(object, "toolUseId", path)
        .and_then(|v| tool_use_id(c, v, &join(path, "toolUseId")));
    let is_error = optional(object, "status")
        .and_then(|s| c.enumeration(s, &join(path, "status"), &["success", "error"]))
        == Some("error");
    if let Some(t) = optional(object, "type") {
        c.string(t, &join(path, "type"));
    }
    let mut parts = Vec::new();
    let mut unsupported = None;
    if let Some(content) = c.required(object, "content", path) {
        let content_path = join(path, "content");
        for (k, item) in c
            .list(content, &content_path)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let item_path = join(&content_path, k);
            match c.union(item, &item_path, &TOOL_RESULT_MEMBERS) {
                Some(("json", json)) => parts.push(json.to_string()),
                Some(("text", text)) => {
                    if let Some(s) = c.string(text, &join(&item_path, "text")) {
                        parts.push(s.to_owned());
                    }
                }
                Some((other, _)) => unsupported = unsupported.or(Some(other)),
                None => {}
            }
        }
    }
    let id = id?;
    Some(match unsupported {
        Some(kind) => Block::Unsupported(kind),
        None => Block::ToolResult {
            id,
            content: parts.join("\n"),
            is_error,
        },
    })
}

fn guard_content(c: &mut Coral, value: &Value, path: &str) -> Option<Block> {
    match c.union(value, path, &["text", "image"])? {
        ("text", text) => {
            let text_path = join(path, "text");
            let object = c.object(text, &text_path)?;
            let s = c.required(object, "text", &text_path)?;
            c.string(s, &join(&text_path, "text"))
                .map(|s| Block::Text(s.to_owned()))
        }
        _ => Some(Block::Unsupported("image")),
    }
}

/// Checks a `CachePointBlock`; true when valid.
pub(super) fn cache_point(c: &mut Coral, value: &Value, path: &str) -> bool {
    let Some(object) = c.object(value, path) else {
        return false;
    };
    let kind = c
        .required(object, "type", path)
        .and_then(|t| c.enumeration(t, &join(path, "type"), &["default"]));
    let ttl_ok = optional(object, "ttl").is_none_or(|t| {
        c.enumeration(t, &join(path, "ttl"), &["5m", "1h"])
            .is_some()
    });
    kind.is_some() && ttl_ok
}

/// The texts of `system`, and whether it holds a (valid) `cachePoint`.
fn system(c: &mut Coral, value: &Value) -> (Vec<String>, bool) {
    let mut texts = Vec::new();
    let mut cached = false;
    for (i, item) in c.list(value, "system").into_iter().flatten().enumerate() {
        let path = join("system", i);
        match c.union(item, &path, &SYSTEM_MEMBERS) {
            Some(("text", text)) => {
                let text_path = join(&path, "text");
                if let Some(s) = c.string(text, &text_path) {
                    if c.min_length(text, s, &text_path, 1) {
                        texts.push(s.to_owned());
                    }
                }
            }
            Some(("guardContent", guard)) => {
                if let Some(Block::Text(s)) = guard_content(c, guard, &join(&path, "guardContent"))
                {
                    texts.push(s);
                }
            }
            Some((_, point)) => {
                cached |= cache_point(c, point, &join(&path, "cachePoint"));
            }
            None => {}
        }
    }
    (texts, cached)
}

fn inference_config(c: &mut Coral, value: &Value, body: &mut Body) {
    const PATH: &str = "inferenceConfig";
    let Some(object) = c.object(value, PATH) else {
        return;
    };
    if let Some(v) = optional(object, "maxTokens") {
        let path = join(PATH, "maxTokens");
        match c.integer(v, &path) {
            Some(n) if n < 1 => c.violation(
                v,
                &path,
                "Member must have value greater than or equal to 1",
            ),
            Some(n) => body.max_tokens = u32::try_from(n).ok(),
            None => {}
        }
    }
    for (key, slot) in [
        ("temperature", &mut body.temperature),
        ("topP", &mut body.top_p),
    ] {
        let Some(v) = optional(object, key) else {
            continue;
        };
        let path = join(PATH, key);
        match c.number(v, &path) {
            Some(x) if x < 0.0 => c.violation(
                v,
                &path,
                "Member must have value greater than or equal to 0",
            ),
            Some(x) if x > 1.0 => {
                c.violation(v, &path, "Member must have value less than or equal to 1")
            }
            Some(x) => *slot = Some(x as f32),
            None => {}
        }
    }
    if let Some(v) = optional(object, "stopSequences") {
        let path = join(PATH, "stopSequences");
        if let Some(items) = c.list(v, &path) {
            if items.len() > 2500 {
                c.violation(
                    v,
                    &path,
                    "Member must have length less than or equal to 2500",
                );
            }
            for (i, item) in items.iter().enumerate() {
                let item_path = join(&path, i);
                if let Some(s) = c.string(item, &item_path) {
                    if c.min_length(item, s, &item_path, 1) {
                        body.stop_sequences.push(s.to_owned());
                    }
                }
            }
        }
    }
}
