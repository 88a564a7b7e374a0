//! ConverseStream event payloads (bedrock-wire §3.4), as `(event type, JSON)` pairs that
//! `aws::eventstream::event_message` frames. The event name travels only in `:event-type`,
//! never inside the JSON. The optional `p` padding member is not emitted.
//!
//! A text answer is `messageStart`, `contentBlockDelta`s at index 0, `contentBlockStop`,
//! `messageStop`, `metadata`; a tool call adds `contentBlockStart` (text blocks have none),
//! `toolUse` input deltas and a stop, at the next index.

use bedrock_local_core::{StopReason, Usage};
use serde_json::{json, Map, Value};

use super::response::{add_echo, stop_reason, usage_json};
use super::ResponseEcho;

/// One event: the `:event-type` header value and the JSON payload.
pub type StreamEvent = (&'static str, Vec<u8>);

fn event(event_type: &'static str, payload: Value) -> StreamEvent {
    (event_type, payload.to_string().into_bytes())
}

/// `messageStart {"role":"assistant"}`, always first.
pub fn message_start() -> StreamEvent {
    event("messageStart", json!({ "role": "assistant" }))
}

/// `contentBlockDelta` with a piece of text.
pub fn text_delta(index: u32, text: &str) -> StreamEvent {
    event(
        "contentBlockDelta",
        json!({ "contentBlockIndex": index, "delta": { "text": text } }),
    )
}

/// `contentBlockStart` opening a tool-use block.
pub fn tool_use_start(index: u32, tool_use_id: &str, name: &str) -> StreamEvent {
    event(
        "contentBlockStart",
        json!({
            "contentBlockIndex": index,
            "start": { "toolUse": { "toolUseId": tool_use_id, "name": name } }
        }),
    )
}

/// `contentBlockDelta` with a fragment of a tool's input JSON text (fragments concatenate to
/// the whole document; send `{}` for a call without arguments).
pub fn tool_use_delta(index: u32, input_fragment: &str) -> StreamEvent {
    event(
        "contentBlockDelta",
        json!({ "contentBlockIndex": index, "delta": { "toolUse": { "input": input_fragment } } }),
    )
}

/// `contentBlockStop`, closing a block before the next one starts.
pub fn content_block_stop(index: u32) -> StreamEvent {
    event("contentBlockStop", json!({ "contentBlockIndex": index }))
}

/// `messageStop` with the stop reason (pass [`StopReason::ToolUse`] when the message ended
/// with a tool call).
pub fn message_stop(reason: &StopReason) -> StreamEvent {
    event("messageStop", json!({ "stopReason": stop_reason(reason) }))
}

/// `metadata`, the last event: usage, latency, and the echoed request members.
pub fn metadata(usage: Usage, latency_ms: u64, echo: &ResponseEcho) -> StreamEvent {
    let mut object = Map::new();
    object.insert("usage".into(), usage_json(usage));
    object.insert("metrics".into(), json!({ "latencyMs": latency_ms }));
    add_echo(&mut object, echo);
    event("metadata", Value::Object(object))
}
