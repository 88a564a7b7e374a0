//! Claude's checks of content blocks, `system`, `tools` and `tool_choice`, and their reduction
//! to what the engine can use.
//!
//! These run after Bedrock's schema (`schema.rs`), so every value here already has the right
//! JSON type at the levels the schema covers (messages are `{role, content}` objects, content
//! is a string or a non-empty array of objects). Claude reports its own failures in the style
//! of its Python validator, with dotted locations that name the block type
//! (`tools.7.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`, observed from
//! the Anthropic API, whose messages Bedrock passes through). The other texts here follow the
//! same style and are **unconfirmed**.

use bedrock_local_core::{Role, ToolSpec};
use serde_json::{Map, Value};

use crate::{DialectError, Result};

/// Block types a message may carry.
const BLOCK_TAGS: &str =
    "'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'";

fn invalid(message: String) -> DialectError {
    DialectError::Validation(message)
}

/// One content block, reduced.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Block {
    /// A `text` block, or string content (`from_string`).
    Text { text: String, from_string: bool },
    /// A tool call from an earlier assistant turn.
    ToolUse {
        id: String,
        name: String,
        input_json: String,
    },
    /// A tool result; `unsupported` names a block kind inside it the local model cannot take.
    ToolResult {
        id: String,
        content: String,
        is_error: bool,
        unsupported: Option<&'static str>,
    },
    /// `image` or `document`: the local model is text-only.
    Unsupported(&'static str),
    /// `thinking` / `redacted_thinking` from an earlier turn: dropped, as Claude drops earlier
    /// turns' thinking when thinking is off.
    Thinking,
}

/// One message as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Msg {
    pub role: Role,
    pub blocks: Vec<Block>,
}

/// A tool of `tools`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tool {
    /// A custom tool (`{name, description, input_schema}`).
    Custom(ToolSpec),
    /// An Anthropic-defined tool (`computer_20241022`, `bash_20241022`, …), by type.
    Builtin(String),
}

/// `tool_choice`, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) enum Choice {
    /// `{"type":"auto"}` or absent.
    #[default]
    Auto,
    /// `{"type":"any"}`.
    Any,
    /// `{"type":"tool","name":…}`.
    Tool(String),
    /// `{"type":"none"}`.
    None,
}

/// A required string member `key` of `object`, located at `loc` (`messages.0.content.1.text`).
fn string(object: &Map<String, Value>, key: &str, loc: &str) -> Result<String> {
    match object.get(key) {
        None => Err(invalid(format!("{loc}.{key}: Field required"))),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(invalid(format!(
            "{loc}.{key}: Input should be a valid string"
        ))),
    }
}

/// The `type` tag of a block at `loc`.
fn tag<'a>(object: &'a Map<String, Value>, loc: &str) -> Result<&'a str> {
    object.get("type").and_then(Value::as_str).ok_or_else(|| {
        invalid(format!(
            "{loc}: Unable to extract tag using discriminator 'type'"
        ))
    })
}

fn is_identifier(s: &str, max_len: usize) -> bool {
    (1..=max_len).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The content of message `i`: a string, or an array of block objects.
pub(super) fn message_content(i: usize, content: &Value) -> Result<Vec<Block>> {
    match content {
        Value::String(text) => Ok(vec![Block::Text {
            text: text.clone(),
            from_string: true,
        }]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(j, item)| block(&format!("messages.{i}.content.{j}"), item))
            .collect(),
        // The schema admits nothing else.
        _ => Ok(Vec::new()),
    }
}

fn block(loc: &str, value: &Value) -> Result<Block> {
    let Value::Object(object) = value else {
        return Err(invalid(format!(
            "{loc}: Input should be a valid dictionary"
        )));
    };
    match tag(object, loc)? {
        "text" => Ok(Block::Text {
            text: string(object, "text", &format!("{loc}.text"))?,
            from_string: false,
        }),
        "image" => Ok(Block::Unsupported("image")),
        "document" => Ok(Block::Unsupported("document")),
        "tool_use" => tool_use(object, &format!("{loc}.tool_use")),
        "tool_result" => tool_result(object, &format!("{loc}.tool_result")),
        "thinking" | "redacted_thinking" => Ok(Block::Thinking),
        other => Err(invalid(format!(
            "{loc}: Input tag '{other}' found using 'type' does not match any of the expected tags: {BLOCK_TAGS}"
        ))),
    }
}

fn tool_use(object: &Map<String, Value>, loc: &str) -> Result<Block> {
    let id = string(object, "id", loc)?;
    if !is_identifier(&id, usize::MAX) {
        return Err(invalid(format!(
            "{loc}.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
        )));
    }
    let name = string(object, "name", loc)?;
    let input = match object.get("input") {
        None => return Err(invalid(format!("{loc}.input: Field required"))),
        Some(input @ Value::Object(_)) => input.to_string(),
        Some(_) => {
            return Err(invalid(format!(
                "{loc}.input: Input should be a valid dictionary"
            )))
        }
    };
    Ok(Block::ToolUse {
        id,
        name,
        input_json: input,
    })
}

fn tool_result(object: &Map<String, Value>, loc: &str) -> Result<Block> {
    let id = string(object, "tool_use_id", loc)?;
    let is_error = match object.get("is_error") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(invalid(format!(
                "{loc}.is_error: Input should be a valid boolean"
            )))
        }
    };
    let mut texts = Vec::new();
    let mut unsupported = None;
    match object.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => texts.push(s.clone()),
        Some(Value::Array(items)) => {
            for (k, item) in items.iter().enumerate() {
                let item_loc = format!("{loc}.content.{k}");
                match block(&item_loc, item)? {
                    Block::Text { text, .. } => texts.push(text),
                    Block::Unsupported(kind) => unsupported = unsupported.or(Some(kind)),
                    _ => {
                        // Only text, image and document blocks may be a tool's result.
                        let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
                        return Err(invalid(format!(
                            "{item_loc}: Input tag '{kind}' found using 'type' does not match any of the expected tags: 'text', 'image', 'document'"
                        )));
                    }
                }
            }
        }
        Some(_) => {
            return Err(invalid(format!(
                "{loc}.content: Input should be a valid list"
            )))
        }
    }
    Ok(Block::ToolResult {
        id,
        content: texts.join("\n"),
        is_error,
        unsupported,
    })
}

/// `system`: a string, or text blocks (joined with `\n`). `None` when empty.
pub(super) fn system(value: Option<&Value>) -> Result<Option<String>> {
    let texts = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            let mut texts = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let loc = format!("system.{i}");
                let Value::Object(object) = item else {
                    return Err(invalid(format!(
                        "{loc}: Input should be a valid dictionary"
                    )));
                };
                if object.get("type").and_then(Value::as_str) != Some("text") {
                    return Err(invalid(format!("{loc}.type: Input should be 'text'")));
                }
                let text = string(object, "text", &loc)?;
                if text.is_empty() {
                    return Err(invalid(
                        "system: text content blocks must be non-empty".to_owned(),
                    ));
                }
                texts.push(text);
            }
            texts
        }
        Some(_) => Vec::new(),
    };
    let joined = texts.join("\n");
    Ok((!joined.is_empty()).then_some(joined))
}

/// `tools`: custom tools and Anthropic-defined ones, names unique.
pub(super) fn tools(value: Option<&Value>) -> Result<Vec<Tool>> {
    let Some(Value::Array(items)) = value else {
        return Ok(Vec::new());
    };
    let mut tools = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(object) = item else {
            continue;
        };
        let tool = match object.get("type") {
            None | Some(Value::Null) => custom_tool(object, &format!("tools.{i}.custom"))?,
            Some(Value::String(t)) if t == "custom" => {
                custom_tool(object, &format!("tools.{i}.custom"))?
            }
            Some(Value::String(t)) => Tool::Builtin(t.clone()),
            Some(_) => {
                return Err(invalid(format!(
                    "tools.{i}: Unable to extract tag using discriminator 'type'"
                )))
            }
        };
        tools.push(tool);
    }
    let names: Vec<&str> = tools
        .iter()
        .filter_map(|t| match t {
            Tool::Custom(spec) => Some(spec.name.as_str()),
            Tool::Builtin(_) => None,
        })
        .collect();
    if names
        .iter()
        .enumerate()
        .any(|(i, n)| names[..i].contains(n))
    {
        return Err(invalid("tools: Tool names must be unique.".to_owned()));
    }
    Ok(tools)
}

fn custom_tool(object: &Map<String, Value>, loc: &str) -> Result<Tool> {
    let name = string(object, "name", loc)?;
    if !is_identifier(&name, 64) {
        return Err(invalid(format!(
            "{loc}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
        )));
    }
    let description = match object.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(invalid(format!(
                "{loc}.description: Input should be a valid string"
            )))
        }
    };
    let schema = match object.get("input_schema") {
        None => return Err(invalid(format!("{loc}.input_schema: Field required"))),
        Some(schema @ Value::Object(_)) => schema.to_string(),
        Some(_) => {
            return Err(invalid(format!(
                "{loc}.input_schema: Input should be a valid dictionary"
            )))
        }
    };
    Ok(Tool::Custom(ToolSpec {
        name,
        description,
        input_schema_json: schema,
    }))
}

/// `tool_choice`: `{"type": "auto" | "any" | "tool" (with `name`) | "none"}`.
pub(super) fn tool_choice(value: Option<&Value>) -> Result<Option<Choice>> {
    let Some(Value::Object(object)) = value else {
        return Ok(None);
    };
    let choice = match tag(object, "tool_choice")? {
        "auto" => Choice::Auto,
        "any" => Choice::Any,
        "none" => Choice::None,
        "tool" => Choice::Tool(string(object, "name", "tool_choice.tool")?),
        other => {
            return Err(invalid(format!(
                "tool_choice: Input tag '{other}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
            )))
        }
    };
    if let Some(v) = object.get("disable_parallel_tool_use") {
        if !v.is_boolean() {
            return Err(invalid(format!(
                "tool_choice.{}.disable_parallel_tool_use: Input should be a valid boolean",
                tag(object, "tool_choice")?
            )));
        }
    }
    Ok(Some(choice))
}

/// Where a Messages body asks for prompt caching: `cache_control` (any non-null value) on a
/// tool, on a `system` block, on a block of a message (or inside a `tool_result`'s content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct CacheMarks {
    /// Some tool has `cache_control`.
    pub tools: bool,
    /// Some `system` block has `cache_control`.
    pub system: bool,
    /// The last message (index into `messages` as written) with a marked block.
    pub last_message: Option<usize>,
}

fn has_cache_control(value: &Value) -> bool {
    value.get("cache_control").is_some_and(|c| !c.is_null())
}

/// Blocks of an array (a message's `content`, `system`, `tools`), or nothing.
fn array_items(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The `cache_control` marks of a Messages body.
pub(super) fn cache_marks(object: &Map<String, Value>) -> CacheMarks {
    let marked = |blocks: &[Value]| {
        blocks.iter().any(|b| {
            has_cache_control(b) || array_items(b.get("content")).iter().any(has_cache_control)
        })
    };
    CacheMarks {
        tools: array_items(object.get("tools"))
            .iter()
            .any(has_cache_control),
        system: marked(array_items(object.get("system"))),
        last_message: array_items(object.get("messages"))
            .iter()
            .rposition(|m| marked(array_items(m.get("content")))),
    }
}
