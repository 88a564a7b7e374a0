//! The legacy Text Completions body (bedrock-wire §5.3): `prompt` in `\n\nHuman: …
//! \n\nAssistant:` form, `max_tokens_to_sample` → `{"type":"completion","completion",
//! "stop_reason","stop"}`, streamed as `{"completion","stop_reason","stop"}` chunks.
//!
//! **The prompt becomes a chat.** Claude was trained on the Human/Assistant turns; the local
//! model has its own chat template. So the prompt is split at its `\n\nHuman:` and
//! `\n\nAssistant:` markers: text before the first Human turn is the system prompt, turns
//! become messages (consecutive turns of one role merged, empty assistant turns dropped), and
//! text after the final `\n\nAssistant:` is a prefill the model continues.
//!
//! Claude validates the turns (Anthropic's "prompt validation": the first turn is Human after
//! an optional system prompt, the last is Assistant) after light sanitising: trailing white
//! space is removed and a prompt starting with `Human:` gets its missing blank line. The
//! first message is observed (`prompt must start with "\n\nHuman:" turn after an optional
//! system prompt`, with real newlines); the second is **unconfirmed**.
//!
//! A natural end of turn is reported as Claude's legacy API does: `stop_reason`
//! `stop_sequence` with `stop` `\n\nHuman:` (the turn marker Claude would have produced).

use bedrock_local_core::{
    ChatMessage, Prompt, Role, SamplingParams, StopReason, ToolChoice, Usage,
};
use serde_json::{json, Map, Value};

use super::messages::{stop_sequences, top_k};
use super::{
    schema, BodyFormat, ANTHROPIC_VERSION, LEGACY_DEFAULT_TEMPERATURE, LEGACY_DEFAULT_TOP_K,
    LEGACY_DEFAULT_TOP_P,
};
use crate::{
    converse, invocation_metrics_json, ChunkEncoder, Completion, Decoded, DialectError,
    InvocationMetrics, ModelTraits, Result,
};

const HUMAN: &str = "\n\nHuman:";
const ASSISTANT: &str = "\n\nAssistant:";

fn invalid(message: impl Into<String>) -> DialectError {
    DialectError::Validation(message.into())
}

/// Validates and decodes a Text Completions body (one without `messages`).
pub(super) fn decode(object: &Map<String, Value>, traits: &ModelTraits) -> Result<Decoded> {
    schema::check_text_completions_body(object)?;
    if let Some(version) = object.get("anthropic_version").and_then(Value::as_str) {
        if version != ANTHROPIC_VERSION {
            // Observed for Messages bodies; assumed the same here.
            return Err(invalid(format!("Invalid API version: {version}")));
        }
    }
    let max_tokens = object
        .get("max_tokens_to_sample")
        .and_then(Value::as_u64)
        .map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX));
    if max_tokens > traits.max_output_tokens {
        return Err(converse::max_tokens_over_limit(traits.max_output_tokens));
    }
    let prompt = object.get("prompt").and_then(Value::as_str).unwrap_or("");
    let (system, messages) = parse_prompt(prompt)?;
    let number = |key: &str, default: f32| crate::everit::number_or(object, key, default);
    let top_k = if object.contains_key("top_k") {
        top_k(object)
    } else {
        Some(LEGACY_DEFAULT_TOP_K)
    };
    Ok(Decoded {
        prompt: Prompt::Chat {
            system,
            messages,
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
        },
        max_tokens,
        sampling: SamplingParams {
            temperature: number("temperature", LEGACY_DEFAULT_TEMPERATURE),
            top_p: Some(number("top_p", LEGACY_DEFAULT_TOP_P)),
            top_k,
            seed: 0,
        },
        stop_sequences: stop_sequences(object),
        cache_point: None,
        echo: BodyFormat::TextCompletions.echo(),
        reasoning_budget: None,
    })
}

/// The next turn marker at or after `from`: its position and role.
fn next_marker(text: &str, from: usize) -> Option<(usize, Role)> {
    let human = text[from..].find(HUMAN).map(|p| (from + p, Role::User));
    let assistant = text[from..]
        .find(ASSISTANT)
        .map(|p| (from + p, Role::Assistant));
    match (human, assistant) {
        (Some(h), Some(a)) => Some(if h.0 < a.0 { h } else { a }),
        (h, a) => h.or(a),
    }
}

fn marker_len(role: Role) -> usize {
    match role {
        Role::User => HUMAN.len(),
        Role::Assistant => ASSISTANT.len(),
    }
}

/// Splits a Human/Assistant prompt into a system prompt and chat messages (see the module
/// docs), or Claude's validation error.
pub(super) fn parse_prompt(prompt: &str) -> Result<(Option<String>, Vec<ChatMessage>)> {
    let trimmed = prompt.trim_end();
    let sanitized;
    let text = if trimmed.starts_with("Human:") {
        sanitized = format!("\n\n{trimmed}");
        sanitized.as_str()
    } else {
        trimmed
    };
    let start_error = || {
        invalid(format!(
            "prompt must start with \"{HUMAN}\" turn after an optional system prompt"
        ))
    };
    let Some((first, Role::User)) = next_marker(text, 0) else {
        return Err(start_error());
    };
    let system = text[..first].trim();
    let mut turns: Vec<(Role, &str)> = Vec::new();
    let mut at = Some((first, Role::User));
    while let Some((pos, role)) = at {
        let body_start = pos + marker_len(role);
        at = next_marker(text, body_start);
        let body_end = at.map_or(text.len(), |(next, _)| next);
        turns.push((role, text[body_start..body_end].trim()));
    }
    let Some(&(Role::Assistant, prefill)) = turns.last() else {
        // Unconfirmed wording (Anthropic's rule, the text modelled on the observed one).
        return Err(invalid(format!(
            "prompt must end with \"{ASSISTANT}\" turn"
        )));
    };
    turns.pop();
    let mut messages: Vec<ChatMessage> = Vec::with_capacity(turns.len() + 1);
    for (role, body) in turns {
        if role == Role::Assistant && body.is_empty() {
            continue;
        }
        push_merged(&mut messages, role, body);
    }
    if !prefill.is_empty() {
        push_merged(&mut messages, Role::Assistant, prefill);
    }
    Ok(((!system.is_empty()).then(|| system.to_owned()), messages))
}

/// Appends a turn, joining it to the previous message (blank line between) when that one has
/// the same role, so templates see alternating turns.
fn push_merged(messages: &mut Vec<ChatMessage>, role: Role, text: &str) {
    if let Some(last) = messages.last_mut().filter(|m| m.role == role) {
        let joined = format!("{}\n\n{text}", last.joined_text());
        *last = ChatMessage::text(role, joined);
    } else {
        messages.push(ChatMessage::text(role, text));
    }
}

/// `stop_reason` and `stop` of a legacy response.
fn stop_fields(reason: &StopReason) -> (&'static str, Option<String>) {
    match reason {
        StopReason::MaxTokens => ("max_tokens", None),
        StopReason::StopSequence(s) => ("stop_sequence", Some(s.clone())),
        StopReason::EndTurn | StopReason::ToolUse => ("stop_sequence", Some(HUMAN.to_owned())),
    }
}

/// The Text Completions response body.
pub(super) fn encode(completion: &Completion) -> Vec<u8> {
    let (stop_reason, stop) = stop_fields(&completion.stop_reason);
    json!({
        "type": "completion",
        "completion": completion.text,
        "stop_reason": stop_reason,
        "stop": stop,
    })
    .to_string()
    .into_bytes()
}

/// The Text Completions stream: one `{"completion", "stop_reason": null, "stop": null}` chunk
/// per piece of text, then a last chunk with empty text, the stop fields and Bedrock's metrics.
#[derive(Debug, Default)]
pub(super) struct CompletionChunks;

impl ChunkEncoder for CompletionChunks {
    fn start(&mut self, _prompt_tokens: u32) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn text(&mut self, text: &str) -> Vec<Vec<u8>> {
        if text.is_empty() {
            return Vec::new();
        }
        let chunk = json!({ "completion": text, "stop_reason": null, "stop": null });
        vec![chunk.to_string().into_bytes()]
    }

    fn tool_call(&mut self, _id: &str, _name: &str, _input_json: &str) -> Vec<Vec<u8>> {
        // The Text Completions body has no tools.
        Vec::new()
    }

    fn finish(
        &mut self,
        reason: &StopReason,
        _usage: Usage,
        metrics: &InvocationMetrics,
    ) -> Vec<Vec<u8>> {
        let (stop_reason, stop) = stop_fields(reason);
        let chunk = json!({
            "completion": "",
            "stop_reason": stop_reason,
            "stop": stop,
            "amazon-bedrock-invocationMetrics": invocation_metrics_json(metrics),
        });
        vec![chunk.to_string().into_bytes()]
    }
}
