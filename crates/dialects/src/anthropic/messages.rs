//! The Messages API body: validation in the real service's order and the conversion to a
//! [`Decoded`] chat.
//!
//! Order: Bedrock's schema (`schema.rs`); `anthropic_version`; Claude's field checks
//! (`content.rs`: tools, tool_choice, system, blocks); Claude's conversation rules (roles,
//! empty content, tool_use/tool_result pairing, tool_choice against tools); then what the local
//! model cannot do (thinking, Anthropic-defined tools, tools at all, images and documents);
//! then the model's output limit. The first failure wins.

use std::collections::HashSet;

use bedrock_local_core::{
    CachePoint, ChatMessage, ContentPart, Prompt, Role, SamplingParams, ToolChoice, ToolSpec,
};
use serde_json::{Map, Value};

use super::content::{self, Block, Choice, Msg, Tool};
use super::{schema, BodyFormat, ANTHROPIC_VERSION, DEFAULT_TEMPERATURE, DEFAULT_TOP_P};
use crate::{converse, Decoded, DialectError, ModelTraits, Result};

fn invalid(message: impl Into<String>) -> DialectError {
    DialectError::Validation(message.into())
}

fn unsupported(message: impl Into<String>) -> DialectError {
    DialectError::Unsupported(message.into())
}

/// Checks `anthropic_version`: required (`anthropic_version: Field required`, observed on newer
/// Claude models) and a version string (`Invalid API version: <value>`, observed for a model id
/// in its place). Besides [`ANTHROPIC_VERSION`], dated versions (`2023-06-01`, `2026-10-21`)
/// are accepted: the Anthropic SDK's Bedrock client sends its own API version there and works
/// against real Bedrock (which versions Bedrock accepts beyond its own is unconfirmed).
pub(super) fn check_version(object: &Map<String, Value>) -> Result<()> {
    match object.get("anthropic_version").and_then(Value::as_str) {
        None => Err(invalid("anthropic_version: Field required")),
        Some(version) if is_version(version) => Ok(()),
        Some(other) => Err(invalid(format!("Invalid API version: {other}"))),
    }
}

/// `bedrock-2023-05-31`, or a date `YYYY-MM-DD` with an optional `bedrock-` prefix.
fn is_version(version: &str) -> bool {
    if version == ANTHROPIC_VERSION {
        return true;
    }
    let date = version.strip_prefix("bedrock-").unwrap_or(version);
    let bytes = date.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// A number member already type-checked by the schema.
fn number(object: &Map<String, Value>, key: &str) -> Option<f32> {
    object.get(key).and_then(Value::as_f64).map(|v| v as f32)
}

/// `top_k`: 0 means disabled.
pub(super) fn top_k(object: &Map<String, Value>) -> Option<usize> {
    object
        .get("top_k")
        .and_then(Value::as_u64)
        .filter(|k| *k > 0)
        .and_then(|k| usize::try_from(k).ok())
}

/// `stop_sequences`, empty strings dropped (they would end generation at once).
pub(super) fn stop_sequences(object: &Map<String, Value>) -> Vec<String> {
    object
        .get("stop_sequences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Validates and decodes a Messages body (one with a `messages` key).
pub(super) fn decode(object: &Map<String, Value>, traits: &ModelTraits) -> Result<Decoded> {
    schema::check_messages_body(object)?;
    check_version(object)?;
    let tools = content::tools(object.get("tools"))?;
    let choice = content::tool_choice(object.get("tool_choice"))?;
    let system = content::system(object.get("system"))?;
    let mut messages = Vec::new();
    for (i, item) in object
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let role = match item.get("role").and_then(Value::as_str) {
            Some("assistant") => Role::Assistant,
            _ => Role::User,
        };
        let blocks = content::message_content(i, item.get("content").unwrap_or(&Value::Null))?;
        messages.push(Msg { role, blocks });
    }
    check_conversation(&messages)?;
    check_tool_blocks(&messages, !tools.is_empty())?;
    check_tool_choice(choice.as_ref(), &tools)?;
    check_features(object, &tools, &messages, traits)?;

    let max_tokens = object
        .get("max_tokens")
        .and_then(Value::as_u64)
        .map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX));
    if max_tokens > traits.max_output_tokens {
        return Err(converse::max_tokens_over_limit(traits.max_output_tokens));
    }
    let reasoning_budget = match object.get("thinking").filter(|_| traits.supports_reasoning) {
        Some(value) => converse::thinking(value, "thinking")?,
        None => None,
    };
    let mut temperature = number(object, "temperature").unwrap_or(DEFAULT_TEMPERATURE);
    if let Some(budget) = reasoning_budget {
        converse::check_thinking(
            budget,
            max_tokens,
            number(object, "temperature"),
            top_k(object),
        )?;
        temperature = 1.0;
    }
    let marks = content::cache_marks(object);
    let (messages, cached_message) = chat_messages(&messages, marks.last_message);
    let cache_point = if let Some(i) = cached_message {
        Some(CachePoint::Message(i))
    } else if marks.system {
        Some(CachePoint::System)
    } else if marks.tools {
        Some(CachePoint::Tools)
    } else {
        None
    };
    let (specs, tool_choice) = match choice.unwrap_or_default() {
        // The model may not call tools: it is not shown any.
        Choice::None => (Vec::new(), ToolChoice::Auto),
        Choice::Auto => (custom_specs(tools), ToolChoice::Auto),
        Choice::Any => (custom_specs(tools), ToolChoice::Any),
        Choice::Tool(name) => (custom_specs(tools), ToolChoice::Tool(name)),
    };
    Ok(Decoded {
        prompt: Prompt::Chat {
            system,
            messages,
            tools: specs,
            tool_choice,
        },
        max_tokens,
        sampling: SamplingParams {
            temperature,
            top_p: Some(number(object, "top_p").unwrap_or(DEFAULT_TOP_P)),
            top_k: top_k(object),
            seed: 0,
        },
        stop_sequences: stop_sequences(object),
        cache_point,
        echo: BodyFormat::Messages.echo(),
        reasoning_budget,
    })
}

fn custom_specs(tools: Vec<Tool>) -> Vec<ToolSpec> {
    tools
        .into_iter()
        .filter_map(|t| match t {
            Tool::Custom(spec) => Some(spec),
            Tool::Builtin(_) => None,
        })
        .collect()
}

/// True for a message that is the last one and the assistant's: a prefill.
fn is_final_assistant(messages: &[Msg], i: usize) -> bool {
    i + 1 == messages.len() && messages[i].role == Role::Assistant
}

/// Roles, empty content and text blocks.
fn check_conversation(messages: &[Msg]) -> Result<()> {
    let Some(first) = messages.first() else {
        // Observed from the Anthropic API.
        return Err(invalid("messages: at least one message is required"));
    };
    if first.role != Role::User {
        // Unconfirmed wording.
        return Err(invalid(
            "messages: first message must use the \"user\" role",
        ));
    }
    if let Some(pair) = messages.windows(2).find(|w| w[0].role == w[1].role) {
        // Observed (Claude on Bedrock).
        return Err(invalid(format!(
            "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{}\" roles in a row",
            pair[0].role.as_str()
        )));
    }
    for (i, m) in messages.iter().enumerate() {
        let prefill = is_final_assistant(messages, i);
        for block in &m.blocks {
            let Block::Text { text, from_string } = block else {
                continue;
            };
            if text.is_empty() && *from_string {
                if prefill {
                    continue;
                }
                // Observed from the Anthropic API.
                return Err(invalid(format!("messages.{i}: all messages must have non-empty content except for the optional final assistant message")));
            }
            if text.is_empty() {
                // Unconfirmed wording.
                return Err(invalid("messages: text content blocks must be non-empty"));
            }
            if text.trim().is_empty() && !prefill {
                // Unconfirmed wording.
                return Err(invalid(
                    "messages: text content blocks must contain non-whitespace text",
                ));
            }
        }
        if prefill && last_text(m).is_some_and(|t| t.ends_with(char::is_whitespace)) {
            // Unconfirmed wording.
            return Err(invalid(
                "messages: final assistant content cannot end with trailing whitespace",
            ));
        }
    }
    Ok(())
}

fn last_text(m: &Msg) -> Option<&str> {
    m.blocks.iter().rev().find_map(|b| match b {
        Block::Text { text, .. } => Some(text.as_str()),
        _ => None,
    })
}

/// `tool_use` only from the assistant, `tool_result` only from the user, each result answering
/// a call of the previous message, and every call of a non-final assistant message answered
/// at the start of the next one.
fn check_tool_blocks(messages: &[Msg], has_tools: bool) -> Result<()> {
    let any_tool_block = messages
        .iter()
        .flat_map(|m| &m.blocks)
        .any(|b| matches!(b, Block::ToolUse { .. } | Block::ToolResult { .. }));
    if any_tool_block && !has_tools {
        // Unconfirmed wording.
        return Err(invalid(
            "Requests which include `tool_use` or `tool_result` blocks must define tools.",
        ));
    }
    let mut previous_calls: Vec<&str> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        if !previous_calls.is_empty() {
            let leading = m
                .blocks
                .iter()
                .take_while(|b| matches!(b, Block::ToolResult { .. }))
                .count();
            if leading < previous_calls.len() {
                // Observed (Claude on Bedrock).
                return Err(invalid(format!("messages.{i}: Did not find {} `tool_result` block(s) at the beginning of this message. Messages following `tool_use` blocks must begin with a matching number of `tool_result` blocks.", previous_calls.len())));
            }
        }
        let mut calls = Vec::new();
        for (j, block) in m.blocks.iter().enumerate() {
            match (block, m.role) {
                (Block::ToolUse { id, .. }, Role::Assistant) => calls.push(id.as_str()),
                (Block::ToolResult { id, .. }, Role::User)
                    if !previous_calls.contains(&id.as_str()) =>
                {
                    // Observed from the Anthropic API.
                    return Err(invalid(format!("messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.")));
                }
                (Block::ToolUse { .. }, Role::User) => {
                    // Unconfirmed wording.
                    return Err(invalid(format!("messages.{i}.content.{j}: `tool_use` blocks can only be in `assistant` messages")));
                }
                (Block::ToolResult { .. }, Role::Assistant) => {
                    // Unconfirmed wording.
                    return Err(invalid(format!("messages.{i}.content.{j}: `tool_result` blocks can only be in `user` messages")));
                }
                _ => {}
            }
        }
        let mut seen = HashSet::new();
        if let Some(dup) = calls.iter().find(|id| !seen.insert(**id)) {
            // Unconfirmed wording.
            return Err(invalid(format!(
                "messages.{i}: `tool_use` ids must be unique: {dup}"
            )));
        }
        previous_calls = calls;
    }
    Ok(())
}

fn check_tool_choice(choice: Option<&Choice>, tools: &[Tool]) -> Result<()> {
    let Some(choice) = choice else {
        return Ok(());
    };
    if tools.is_empty() {
        // Unconfirmed wording.
        return Err(invalid(
            "tool_choice may only be specified while providing tools.",
        ));
    }
    if let Choice::Tool(name) = choice {
        let defined = tools
            .iter()
            .any(|t| matches!(t, Tool::Custom(spec) if &spec.name == name));
        if !defined {
            // Unconfirmed wording.
            return Err(invalid(format!(
                "tool_choice.name: Tool '{name}' not found in tools"
            )));
        }
    }
    Ok(())
}

/// What the request asks of the model that the local one cannot do.
fn check_features(
    object: &Map<String, Value>,
    tools: &[Tool],
    messages: &[Msg],
    traits: &ModelTraits,
) -> Result<()> {
    if let Some(thinking) = object
        .get("thinking")
        .filter(|_| !traits.supports_reasoning)
    {
        if thinking.get("type").and_then(Value::as_str) != Some("disabled") {
            // Unconfirmed wording, modelled on Converse's toolChoice message (§2.4).
            return Err(unsupported(
                "This model doesn't support the thinking field. Remove thinking and try again.",
            ));
        }
    }
    if let Some((i, kind)) = tools.iter().enumerate().find_map(|(i, t)| match t {
        Tool::Builtin(kind) => Some((i, kind)),
        Tool::Custom(_) => None,
    }) {
        // Unconfirmed wording.
        return Err(unsupported(format!(
            "This model doesn't support the {kind} tool. Remove tools.{i} and try again."
        )));
    }
    if !tools.is_empty() && !traits.supports_tools {
        // Converse's wording (observed in client reports); unconfirmed for this body.
        return Err(converse::tools_unsupported());
    }
    let unsupported_kind = messages
        .iter()
        .flat_map(|m| &m.blocks)
        .find_map(|b| match b {
            Block::Unsupported(kind) => Some(*kind),
            Block::ToolResult { unsupported, .. } => *unsupported,
            _ => None,
        });
    if let Some(kind) = unsupported_kind {
        // Converse's wording; unconfirmed for this body (the local model is text-only).
        return Err(converse::content_unsupported(kind));
    }
    Ok(())
}

/// The engine's messages: adjacent text blocks joined with `\n`, thinking dropped, an
/// assistant message left empty (no prefill) dropped. With them, the index in the returned
/// messages of the last one up to `messages[cached]` (the last message with `cache_control`):
/// a dropped message adds nothing to the prompt, so the cached prefix ends with the kept
/// message before it.
fn chat_messages(messages: &[Msg], cached: Option<usize>) -> (Vec<ChatMessage>, Option<usize>) {
    let mut out = Vec::with_capacity(messages.len());
    let mut cached_out = None;
    for (i, m) in messages.iter().enumerate() {
        let mut content: Vec<ContentPart> = Vec::with_capacity(m.blocks.len());
        for block in &m.blocks {
            let part = match block {
                Block::Text { text, .. } => {
                    if text.is_empty() {
                        continue;
                    }
                    if let Some(ContentPart::Text(prev)) = content.last_mut() {
                        prev.push('\n');
                        prev.push_str(text);
                        continue;
                    }
                    ContentPart::Text(text.clone())
                }
                Block::ToolUse {
                    id,
                    name,
                    input_json,
                } => ContentPart::ToolUse {
                    id: id.clone(),
                    name: name.clone(),
                    input_json: input_json.clone(),
                },
                Block::ToolResult {
                    id,
                    content,
                    is_error,
                    ..
                } => ContentPart::ToolResult {
                    id: id.clone(),
                    content: content.clone(),
                    is_error: *is_error,
                },
                Block::Unsupported(_) | Block::Thinking => continue,
            };
            content.push(part);
        }
        if !content.is_empty() || m.role != Role::Assistant {
            out.push(ChatMessage {
                role: m.role,
                content,
            });
        }
        if cached == Some(i) {
            cached_out = out.len().checked_sub(1);
        }
    }
    (out, cached_out)
}
