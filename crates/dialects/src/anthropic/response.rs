//! The Messages API response body (bedrock-wire §5.2) and the values the stream shares.
//!
//! `{"id":"msg_bdrk_…","type":"message","role":"assistant","model":"claude-…","content":[…],
//! "stop_reason":…,"stop_sequence":…,"usage":{"input_tokens","output_tokens"}}` (with the two
//! cache counts in `usage` when the request had `cache_control`). The content
//! has a text block (possibly empty) unless the model answered only with tool calls, then one
//! `tool_use` block per call with its `toolu_bdrk_` id.

use bedrock_local_core::{StopReason, Usage};
use serde_json::{json, Map, Value};

use super::{message_id, model_name, tool_use_id};
use crate::{converse, Completion, ResponseCtx};

/// Claude's `stop_reason` (the same four strings as Converse's `stopReason`): `tool_use`
/// whenever the message ends with tool calls.
pub(super) fn stop_reason(reason: &StopReason, has_tool_calls: bool) -> &'static str {
    if has_tool_calls {
        "tool_use"
    } else {
        converse::stop_reason(reason)
    }
}

/// `stop_sequence`: the matched string, or `null`.
pub(super) fn stop_sequence(reason: &StopReason) -> Value {
    match reason {
        StopReason::StopSequence(s) => Value::String(s.clone()),
        _ => Value::Null,
    }
}

/// The Messages response body.
pub(super) fn encode(ctx: &ResponseCtx, completion: &Completion) -> Vec<u8> {
    let mut content = Vec::with_capacity(2 + completion.tool_calls.len());
    if let Some(reasoning) = &completion.reasoning {
        content.push(json!({
            "type": "thinking",
            "thinking": reasoning,
            "signature": converse::reasoning_signature(reasoning),
        }));
    }
    if !completion.text.is_empty() || completion.tool_calls.is_empty() {
        content.push(json!({ "type": "text", "text": completion.text }));
    }
    for (id, name, input_json) in &completion.tool_calls {
        content.push(json!({
            "type": "tool_use",
            "id": tool_use_id(id),
            "name": name,
            "input": converse::tool_input(input_json),
        }));
    }
    json!({
        "id": message_id(&ctx.response_id),
        "type": "message",
        "role": "assistant",
        "model": model_name(&ctx.model_id),
        "content": content,
        "stop_reason": stop_reason(&completion.stop_reason, !completion.tool_calls.is_empty()),
        "stop_sequence": stop_sequence(&completion.stop_reason),
        "usage": usage_json(completion.usage, ctx.prompt_caching),
    })
    .to_string()
    .into_bytes()
}

/// Claude's `usage`: `input_tokens`, then `cache_creation_input_tokens` and
/// `cache_read_input_tokens` when the request had `cache_control` (`prompt_caching`; as in
/// Claude's API, `input_tokens` then excludes both), then `output_tokens`.
pub(super) fn usage_json(usage: Usage, prompt_caching: bool) -> Value {
    let mut object = Map::new();
    object.insert("input_tokens".into(), usage.input_tokens.into());
    if prompt_caching {
        object.insert(
            "cache_creation_input_tokens".into(),
            usage.cache_write_input_tokens.into(),
        );
        object.insert(
            "cache_read_input_tokens".into(),
            usage.cache_read_input_tokens.into(),
        );
    }
    object.insert("output_tokens".into(), usage.output_tokens.into());
    Value::Object(object)
}
