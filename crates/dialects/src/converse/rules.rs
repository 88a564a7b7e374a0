//! Steps 2–6 of Converse validation (bedrock-wire §4.9), after the shape check, and the
//! conversion of a valid body into a [`Decoded`] request.
//!
//! Order: empty content and blank text (step 2), the conversation (3), tool blocks (4),
//! per-model feature gates (5), the model's output limit (6). The first failure wins.
//! Messages quoted in §2.4 as observed are used verbatim; the others are marked unconfirmed
//! where they are produced.

use std::collections::HashSet;

use bedrock_local_core::{
    CachePoint, ChatMessage, ContentPart, Prompt, Role, SamplingParams, ToolChoice,
};
use serde_json::Value;

use super::shape::{Block, Body, Msg};
use super::{DEFAULT_TEMPERATURE, DEFAULT_TOP_P};
use crate::everit;
use crate::{Decoded, DialectError, ModelTraits, Result};

fn invalid(message: impl Into<String>) -> DialectError {
    DialectError::Validation(message.into())
}

fn unsupported(message: impl Into<String>) -> DialectError {
    DialectError::Unsupported(message.into())
}

/// The refusal of tools for a model without tool use (observed in client reports for Converse;
/// shared by the InvokeModel bodies that take tools).
pub(crate) fn tools_unsupported() -> DialectError {
    unsupported("This model doesn't support tool use.")
}

/// The refusal of a content block kind (`image`, `document`, …) the local text-only model
/// cannot take. Unconfirmed wording; shared by the InvokeModel bodies with content blocks.
pub(crate) fn content_unsupported(kind: &str) -> DialectError {
    unsupported(format!("This model doesn't support the {kind} content block that you provided. Try again with a supported content block."))
}

/// The refusal of an output budget above the model's limit (observed for Converse and for
/// Claude InvokeModel bodies).
pub(crate) fn max_tokens_over_limit(limit: u32) -> DialectError {
    invalid(format!("The maximum tokens you requested exceeds the model limit of {limit}. Try again with a maximum tokens value that is lower than {limit}."))
}

/// Keys of `additionalModelRequestFields` that turn on reasoning in some provider.
const REASONING_KEYS: [&str; 5] = [
    "thinking",
    "reasoning_config",
    "reasoningConfig",
    "reasoning_effort",
    "reasoningEffort",
];

/// Keys of `additionalModelRequestFields` that set top-k, by provider (`top_k` Claude/Mistral,
/// `topK` Nova, `k` Cohere).
const TOP_K_KEYS: [&str; 3] = ["top_k", "topK", "k"];

/// Applies the semantic rules and builds the request.
pub(crate) fn decode(body: Body, traits: &ModelTraits) -> Result<Decoded> {
    let Some(messages) = body.messages.as_deref() else {
        // Not `required` in the model (prompt ARNs supply messages); needed for a model id.
        return Err(invalid(
            "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null",
        ));
    };
    // Step 2: every message has content, text blocks are not blank.
    for (i, m) in messages.iter().enumerate() {
        if m.blocks.is_empty() {
            // Unconfirmed wording (§2.4 "not confirmed").
            return Err(invalid(format!("The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again.")));
        }
        for (j, block) in m.blocks.iter().enumerate() {
            if matches!(block, Block::Text(t) if t.trim().is_empty()) {
                // Unconfirmed wording (§2.4 "not confirmed").
                return Err(invalid(format!("The text field in the ContentBlock object at messages.{i}.content.{j} is blank. Add text to the text field, and try again.")));
            }
        }
    }
    // Step 3: the conversation.
    let Some(first) = messages.first() else {
        // Unconfirmed wording: Coral's format for a list below its minimum length.
        return Err(invalid("1 validation error detected: Value '[]' at 'messages' failed to satisfy constraint: Member must have length greater than or equal to 1"));
    };
    if first.role != Role::User {
        // Unconfirmed wording (§2.4 "not confirmed").
        return Err(invalid("A conversation must start with a user message. Try again with a conversation that starts with a user message."));
    }
    if messages.windows(2).any(|w| w[0].role == w[1].role) {
        return Err(invalid("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."));
    }
    // Step 4: tool blocks.
    check_tool_blocks(messages, body.tools.is_some())?;
    // Step 5: feature gates.
    if !body.system.is_empty() && !traits.supports_system {
        return Err(unsupported("This model doesn't support system messages. Try again without a system message or use a model that supports system messages."));
    }
    if let Some(tools) = &body.tools {
        if !traits.supports_tools {
            return Err(tools_unsupported());
        }
        if tools.system_tool {
            // Unconfirmed wording, modelled on the toolChoice message of §2.4.
            return Err(unsupported("This model doesn't support the toolConfig.tools.systemTool field. Remove toolConfig.tools.systemTool and try again."));
        }
        if let ToolChoice::Tool(name) = &tools.choice {
            if !tools.specs.iter().any(|s| &s.name == name) {
                // Unconfirmed wording.
                return Err(invalid(format!("The tool {name} in toolConfig.toolChoice.tool is not defined in toolConfig.tools. Add the tool to toolConfig.tools and try again.")));
            }
        }
    }
    if let Some(kind) = messages.iter().find_map(|m| {
        m.blocks.iter().find_map(|b| match b {
            Block::Unsupported(kind) => Some(*kind),
            // Earlier reasoning goes back to a reasoning model in an assistant turn only.
            Block::Reasoning if !traits.supports_reasoning || m.role != Role::Assistant => {
                Some("reasoningContent")
            }
            _ => None,
        })
    }) {
        return Err(content_unsupported(kind));
    }
    if body.output_config {
        // Unconfirmed wording, modelled on the toolChoice message of §2.4.
        return Err(unsupported(
            "This model doesn't support the outputConfig field. Remove outputConfig and try again.",
        ));
    }
    let AdditionalFields {
        top_k,
        reasoning_budget,
    } = additional_fields(body.additional_fields.as_ref(), traits)?;
    // Step 6: the model's output limit.
    let max_tokens = match body.max_tokens {
        Some(n) if n > traits.max_output_tokens => {
            let limit = traits.max_output_tokens;
            return Err(max_tokens_over_limit(limit));
        }
        Some(n) => n,
        None => traits
            .default_max_tokens
            .min(traits.max_output_tokens)
            .max(1),
    };

    let mut temperature = body.temperature.unwrap_or(DEFAULT_TEMPERATURE);
    if let Some(budget) = reasoning_budget {
        check_thinking(budget, max_tokens, body.temperature, top_k)?;
        // Claude samples at temperature 1 while thinking (the only value it accepts then).
        temperature = 1.0;
    }
    let cache_point = cache_point(&body);
    let system = (!body.system.is_empty()).then(|| body.system.join("\n"));
    let (tools, tool_choice) = body.tools.map(|t| (t.specs, t.choice)).unwrap_or_default();
    Ok(Decoded {
        prompt: Prompt::Chat {
            system,
            messages: messages.iter().map(chat_message).collect(),
            tools,
            tool_choice,
        },
        max_tokens,
        sampling: SamplingParams {
            temperature,
            top_p: Some(body.top_p.unwrap_or(DEFAULT_TOP_P)),
            top_k,
            seed: 0,
        },
        stop_sequences: body.stop_sequences,
        cache_point,
        echo: serde_json::Value::Null,
        reasoning_budget,
    })
}

/// The last `cachePoint` of the body in prompt order (tools, system, messages). Messages
/// become the engine's messages one for one, so a message's index is kept.
fn cache_point(body: &Body) -> Option<CachePoint> {
    let in_messages = body.messages.as_deref().and_then(|messages| {
        messages
            .iter()
            .rposition(|m| m.blocks.contains(&Block::CachePoint))
    });
    if let Some(i) = in_messages {
        Some(CachePoint::Message(i))
    } else if body.system_cache_point {
        Some(CachePoint::System)
    } else if body.tools.as_ref().is_some_and(|t| t.cache_point) {
        Some(CachePoint::Tools)
    } else {
        None
    }
}

/// `toolUse` only from the assistant, `toolResult` only from the user answering the previous
/// assistant turn, and a `toolConfig` whenever either appears.
fn check_tool_blocks(messages: &[Msg], has_tool_config: bool) -> Result<()> {
    let mut previous_ids: HashSet<&str> = HashSet::new();
    let mut any_tool_block = false;
    for (i, m) in messages.iter().enumerate() {
        let mut ids = HashSet::new();
        for (j, block) in m.blocks.iter().enumerate() {
            match (block, m.role) {
                (Block::ToolUse { id, .. }, Role::Assistant) => {
                    any_tool_block = true;
                    ids.insert(id.as_str());
                }
                (Block::ToolResult { id, .. }, Role::User) => {
                    any_tool_block = true;
                    if has_tool_config && !previous_ids.contains(id.as_str()) {
                        // Unconfirmed wording.
                        return Err(invalid(format!("The toolResult block at messages.{i}.content.{j} has toolUseId {id}, which doesn't match a toolUse block in the previous assistant message. Try again with a matching toolUseId.")));
                    }
                }
                (Block::ToolUse { .. }, Role::User) => {
                    // Unconfirmed wording.
                    return Err(invalid(format!("The toolUse block at messages.{i}.content.{j} is in a user message. toolUse blocks are only allowed in assistant messages.")));
                }
                (Block::ToolResult { .. }, Role::Assistant) => {
                    // Unconfirmed wording.
                    return Err(invalid(format!("The toolResult block at messages.{i}.content.{j} is in an assistant message. toolResult blocks are only allowed in user messages.")));
                }
                _ => {}
            }
        }
        previous_ids = ids;
    }
    if any_tool_block && !has_tool_config {
        return Err(invalid(
            "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
        ));
    }
    Ok(())
}

/// What `additionalModelRequestFields` sets.
#[derive(Debug, Default)]
struct AdditionalFields {
    top_k: Option<usize>,
    /// Claude's `thinking` `budget_tokens`, when enabled on a reasoning model.
    reasoning_budget: Option<u32>,
}

/// Smallest `thinking.budget_tokens` Claude accepts.
pub(crate) const MIN_THINKING_BUDGET: u64 = 1024;

/// Claude's `thinking` object: `{"type": "enabled", "budget_tokens": N}` (N ≥ 1024) or
/// `{"type": "disabled"}`. Returns the budget when enabled. Shared with the Claude body.
pub(crate) fn thinking(value: &Value, field: &str) -> Result<Option<u32>> {
    // Unconfirmed wording: Claude's own messages, wrapped as Bedrock wraps native errors.
    let native = |detail: String| {
        invalid(format!(
            "The model returned the following errors: {field}: {detail}"
        ))
    };
    let kind = value.get("type").and_then(Value::as_str);
    match kind {
        Some("disabled") => Ok(None),
        Some("enabled") => {
            let budget = value
                .get("budget_tokens")
                .and_then(Value::as_u64)
                .ok_or_else(|| native("budget_tokens: Field required".into()))?;
            if budget < MIN_THINKING_BUDGET {
                return Err(native(format!(
                    "budget_tokens: Input should be greater than or equal to {MIN_THINKING_BUDGET}"
                )));
            }
            Ok(Some(u32::try_from(budget).unwrap_or(u32::MAX)))
        }
        _ => Err(native(
            "type: Input should be 'enabled' or 'disabled'".into(),
        )),
    }
}

/// The constraints Claude puts on a thinking request. Shared with the Claude body.
pub(crate) fn check_thinking(
    budget: u32,
    max_tokens: u32,
    temperature: Option<f32>,
    top_k: Option<usize>,
) -> Result<()> {
    // Unconfirmed wording (Claude's messages, wrapped).
    if budget >= max_tokens {
        return Err(invalid(format!("The model returned the following errors: `max_tokens` must be greater than `thinking.budget_tokens`. max_tokens is {max_tokens} and thinking.budget_tokens is {budget}.")));
    }
    if temperature.is_some_and(|t| (t - 1.0).abs() > f32::EPSILON) {
        return Err(invalid("The model returned the following errors: `temperature` may only be set to 1 when thinking is enabled."));
    }
    if top_k.is_some() {
        return Err(invalid("The model returned the following errors: `top_k` must be unset when thinking is enabled."));
    }
    Ok(())
}

/// Reads `additionalModelRequestFields`: the top-k knob and Claude's `thinking` (reasoning
/// models only; every other reasoning switch is refused). Other keys are ignored (real Bedrock
/// forwards them to the model, whose native schema may refuse them; with a local model there
/// is nothing to forward to).
fn additional_fields(fields: Option<&Value>, traits: &ModelTraits) -> Result<AdditionalFields> {
    let Some(fields) = fields else {
        return Ok(AdditionalFields::default());
    };
    let Value::Object(map) = fields else {
        // Unconfirmed wording (§4.9: native errors are wrapped like this).
        return Err(invalid(format!(
            "The model returned the following errors: {}",
            everit::MALFORMED
        )));
    };
    let mut reasoning_budget = None;
    if let (true, Some(value)) = (traits.supports_reasoning, map.get("thinking")) {
        reasoning_budget = thinking(value, "thinking")?;
    }
    if let Some(key) = REASONING_KEYS
        .iter()
        .find(|k| map.contains_key(**k) && !(traits.supports_reasoning && **k == "thinking"))
    {
        // Unconfirmed wording.
        return Err(unsupported(format!("This model doesn't support reasoning. Remove {key} from additionalModelRequestFields and try again.")));
    }
    let mut top_k = None;
    for key in TOP_K_KEYS {
        let Some(value) = map.get(key) else {
            continue;
        };
        match value.as_u64() {
            Some(0) => top_k = None,
            Some(k) => top_k = usize::try_from(k).ok(),
            None => {
                // Unconfirmed wrapping of the native schema error (§4.9).
                let detail = format!(
                    "#/{key}: expected type: Integer, found: {}",
                    everit::found_type(value)
                );
                return Err(invalid(format!(
                    "The model returned the following errors: Malformed input request: {detail}, please reformat your input and try again."
                )));
            }
        }
    }
    Ok(AdditionalFields {
        top_k,
        reasoning_budget,
    })
}

/// One message for the engine: adjacent text blocks are joined with `\n` into one part (so a
/// template that concatenates parts does not glue words together); cache points are dropped.
fn chat_message(m: &Msg) -> ChatMessage {
    let mut content: Vec<ContentPart> = Vec::with_capacity(m.blocks.len());
    for block in &m.blocks {
        let part = match block {
            Block::Text(text) => {
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
            } => ContentPart::ToolResult {
                id: id.clone(),
                content: content.clone(),
                is_error: *is_error,
            },
            Block::CachePoint | Block::Reasoning | Block::Unsupported(_) => continue,
        };
        content.push(part);
    }
    ChatMessage {
        role: m.role,
        content,
    }
}
