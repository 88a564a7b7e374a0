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

/// `contentBlockDelta` with a piece of reasoning text (extended thinking).
pub fn reasoning_delta(index: u32, text: &str) -> StreamEvent {
    event(
        "contentBlockDelta",
        json!({ "contentBlockIndex": index, "delta": { "reasoningContent": { "text": text } } }),
    )
}

/// `contentBlockDelta` with the signature that closes a reasoning block.
pub fn reasoning_signature_delta(index: u32, signature: &str) -> StreamEvent {
    event(
        "contentBlockDelta",
        json!({ "contentBlockIndex": index, "delta": { "reasoningContent": { "signature": signature } } }),
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
    object.insert("usage".into(), usage_json(usage, echo.prompt_caching));
    object.insert("metrics".into(), json!({ "latencyMs": latency_ms }));
    add_echo(&mut object, echo);
    event("metadata", Value::Object(object))
}

/// The ConverseStream event sequence of one response, built incrementally from generation
/// events. Keeps the rules clients rely on (§3.4): one `messageStart` first; block indexes from
/// 0, each block stopped before the next starts; text blocks opened by their first delta, tool
/// blocks by `contentBlockStart`; `messageStop` (`tool_use` when a tool was called) then
/// `metadata` last.
#[derive(Debug, Clone, Default)]
pub struct Encoder {
    echo: ResponseEcho,
    next_index: u32,
    open_text: Option<u32>,
    /// The open reasoning block and its text so far (for the signature).
    open_reasoning: Option<(u32, String)>,
    tool_used: bool,
}

impl Encoder {
    /// An encoder whose `metadata` repeats `echo`.
    pub fn new(echo: ResponseEcho) -> Self {
        Self {
            echo,
            ..Self::default()
        }
    }

    /// `messageStart`.
    pub fn start(&mut self) -> Vec<StreamEvent> {
        vec![message_start()]
    }

    /// A reasoning delta, in the open reasoning block or a new one (reasoning comes first).
    pub fn reasoning(&mut self, text: &str) -> Vec<StreamEvent> {
        if text.is_empty() {
            return Vec::new();
        }
        let index = match &mut self.open_reasoning {
            Some((index, so_far)) => {
                so_far.push_str(text);
                *index
            }
            None => {
                let index = self.next_index;
                self.next_index += 1;
                self.open_reasoning = Some((index, text.to_owned()));
                index
            }
        };
        vec![reasoning_delta(index, text)]
    }

    /// A text delta, in the open text block or a new one (closing a reasoning block first).
    pub fn text(&mut self, text: &str) -> Vec<StreamEvent> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut events = self.close_reasoning();
        let index = match self.open_text {
            Some(index) => index,
            None => {
                let index = self.next_index;
                self.next_index += 1;
                self.open_text = Some(index);
                index
            }
        };
        events.push(text_delta(index, text));
        events
    }

    /// A whole tool call as one block: start, the input as one delta (compact JSON, `{}` when
    /// empty), stop. Closes an open text block first.
    pub fn tool_call(
        &mut self,
        tool_use_id: &str,
        name: &str,
        input_json: &str,
    ) -> Vec<StreamEvent> {
        let mut events = self.close_text();
        let index = self.next_index;
        self.next_index += 1;
        self.tool_used = true;
        events.push(tool_use_start(index, tool_use_id, name));
        events.push(tool_use_delta(
            index,
            &super::response::tool_input(input_json).to_string(),
        ));
        events.push(content_block_stop(index));
        events
    }

    /// The end: closes the open block, `messageStop`, `metadata`.
    pub fn finish(
        &mut self,
        reason: &StopReason,
        usage: Usage,
        latency_ms: u64,
    ) -> Vec<StreamEvent> {
        let mut events = self.close_text();
        let reason = if self.tool_used {
            &StopReason::ToolUse
        } else {
            reason
        };
        events.push(message_stop(reason));
        events.push(metadata(usage, latency_ms, &self.echo));
        events
    }

    /// Closes whatever block is open: a reasoning block with its signature delta first.
    fn close_text(&mut self) -> Vec<StreamEvent> {
        let mut events = self.close_reasoning();
        if let Some(index) = self.open_text.take() {
            events.push(content_block_stop(index));
        }
        events
    }

    fn close_reasoning(&mut self) -> Vec<StreamEvent> {
        match self.open_reasoning.take() {
            Some((index, text)) => vec![
                reasoning_signature_delta(index, &super::response::reasoning_signature(&text)),
                content_block_stop(index),
            ],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(events: &[StreamEvent]) -> Vec<&'static str> {
        events.iter().map(|(t, _)| *t).collect()
    }

    #[test]
    fn text_then_tool_then_finish() {
        let mut e = Encoder::new(ResponseEcho::default());
        let mut all = e.start();
        all.extend(e.text(""));
        all.extend(e.text("Let me check"));
        all.extend(e.text(" the weather."));
        all.extend(e.tool_call("tooluse_x", "get_weather", r#"{"city": "Paris"}"#));
        all.extend(e.finish(&StopReason::EndTurn, Usage::default(), 5));
        assert_eq!(
            names(&all),
            [
                "messageStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "contentBlockStart",
                "contentBlockDelta",
                "contentBlockStop",
                "messageStop",
                "metadata"
            ]
        );
        let payload = |i: usize| String::from_utf8(all[i].1.clone()).unwrap();
        assert_eq!(payload(3), r#"{"contentBlockIndex":0}"#);
        assert!(payload(4).contains(r#""contentBlockIndex":1"#));
        assert_eq!(
            payload(5),
            r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":\"Paris\"}"}}}"#
        );
        assert_eq!(payload(7), r#"{"stopReason":"tool_use"}"#);
    }

    #[test]
    fn reasoning_block_comes_first_and_closes_with_its_signature() {
        let mut e = Encoder::new(ResponseEcho::default());
        let mut all = e.start();
        all.extend(e.reasoning("First, "));
        all.extend(e.reasoning("think."));
        all.extend(e.text("Paris."));
        all.extend(e.finish(&StopReason::EndTurn, Usage::default(), 5));
        assert_eq!(
            names(&all),
            [
                "messageStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "contentBlockDelta",
                "contentBlockStop",
                "messageStop",
                "metadata"
            ]
        );
        let payload = |i: usize| String::from_utf8(all[i].1.clone()).unwrap();
        assert_eq!(
            payload(1),
            r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"First, "}}}"#
        );
        let signature = crate::converse::reasoning_signature("First, think.");
        assert_eq!(
            payload(3),
            format!(
                r#"{{"contentBlockIndex":0,"delta":{{"reasoningContent":{{"signature":"{signature}"}}}}}}"#
            )
        );
        assert_eq!(
            payload(5),
            r#"{"contentBlockIndex":1,"delta":{"text":"Paris."}}"#
        );
    }

    #[test]
    fn empty_answer_has_no_blocks_and_empty_tool_input_is_an_object() {
        let mut e = Encoder::new(ResponseEcho::default());
        let mut all = e.start();
        all.extend(e.finish(&StopReason::MaxTokens, Usage::default(), 1));
        assert_eq!(names(&all), ["messageStart", "messageStop", "metadata"]);
        let mut e = Encoder::new(ResponseEcho::default());
        let call = e.tool_call("tooluse_y", "now", "");
        assert_eq!(
            String::from_utf8(call[1].1.clone()).unwrap(),
            r#"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{}"}}}"#
        );
    }
}
