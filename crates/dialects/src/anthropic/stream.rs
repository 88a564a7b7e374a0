//! The Messages API stream (bedrock-wire §3.5, §5.2): one Claude event per chunk.
//!
//! `message_start` (with `usage.input_tokens`) when the prompt is accepted; a text block is
//! opened (`content_block_start` with empty text) only when text arrives, then carries
//! `text_delta`s; each tool call closes any open block and is a whole block of its own
//! (`content_block_start` with `input: {}`, one `input_json_delta` with the arguments,
//! `content_block_stop`); the end closes the open block, then `message_delta` (stop reason,
//! stop sequence, `usage.output_tokens`) and `message_stop` carrying
//! `amazon-bedrock-invocationMetrics`. With `cache_control` in the request, `message_start`
//! still counts the whole prompt in `input_tokens` (the engine's first event carries only the
//! prompt size; how it splits between cache and fresh tokens is known at the end), and
//! `message_delta.usage` carries the final `input_tokens`, `cache_creation_input_tokens` and
//! `cache_read_input_tokens` before `output_tokens` (Claude's API also repeats these counts
//! there; the Anthropic SDK's stream accumulator takes them from it). Key order follows the captured Bedrock stream (its
//! `message_start` names `model` first). `ping` events are not sent (none in the capture).

use bedrock_local_core::{StopReason, Usage};
use serde_json::{json, Value};

use super::response::{stop_reason, stop_sequence, usage_json};
use super::{message_id, model_name, tool_use_id};
use crate::{converse, invocation_metrics_json, ChunkEncoder, InvocationMetrics, ResponseCtx};

fn chunk(value: Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// Stream state of one Messages response.
#[derive(Debug)]
pub(super) struct MessageChunks {
    id: String,
    model: String,
    /// The index the next content block gets.
    next_index: u32,
    /// The index of the text block being written, if one is open.
    open_text: Option<u32>,
    /// The open thinking block and its text so far (for the signature).
    open_thinking: Option<(u32, String)>,
    /// Whether a tool call was streamed (the stop reason is then `tool_use`).
    called_tool: bool,
    /// The request had `cache_control`: the final usage carries the cache counts.
    prompt_caching: bool,
}

impl MessageChunks {
    /// A fresh stream for the response identified by `ctx`.
    pub(super) fn new(ctx: &ResponseCtx) -> Self {
        Self {
            id: message_id(&ctx.response_id),
            model: model_name(&ctx.model_id),
            next_index: 0,
            open_text: None,
            open_thinking: None,
            called_tool: false,
            prompt_caching: ctx.prompt_caching,
        }
    }

    /// Closes the open thinking block (its `signature_delta` first), if any.
    fn close_thinking(&mut self, out: &mut Vec<Vec<u8>>) {
        if let Some((index, text)) = self.open_thinking.take() {
            out.push(chunk(json!({
                "type": "content_block_delta",
                "index": index,
                "delta": { "type": "signature_delta", "signature": converse::reasoning_signature(&text) },
            })));
            out.push(chunk(
                json!({ "type": "content_block_stop", "index": index }),
            ));
        }
    }

    /// Closes the open block, if any.
    fn close_text(&mut self, out: &mut Vec<Vec<u8>>) {
        self.close_thinking(out);
        if let Some(index) = self.open_text.take() {
            out.push(chunk(
                json!({ "type": "content_block_stop", "index": index }),
            ));
        }
    }

    fn take_index(&mut self) -> u32 {
        let index = self.next_index;
        self.next_index += 1;
        index
    }
}

impl ChunkEncoder for MessageChunks {
    fn start(&mut self, prompt_tokens: u32) -> Vec<Vec<u8>> {
        // `output_tokens` is 1 in message_start, as in the real stream.
        vec![chunk(json!({
            "type": "message_start",
            "message": {
                "model": self.model,
                "id": self.id,
                "type": "message",
                "role": "assistant",
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": { "input_tokens": prompt_tokens, "output_tokens": 1 },
            },
        }))]
    }

    fn reasoning(&mut self, text: &str) -> Vec<Vec<u8>> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(2);
        let index = match &mut self.open_thinking {
            Some((index, so_far)) => {
                so_far.push_str(text);
                *index
            }
            None => {
                let index = self.take_index();
                self.open_thinking = Some((index, text.to_owned()));
                out.push(chunk(json!({
                    "type": "content_block_start",
                    "index": index,
                    "content_block": { "type": "thinking", "thinking": "" },
                })));
                index
            }
        };
        out.push(chunk(json!({
            "type": "content_block_delta",
            "index": index,
            "delta": { "type": "thinking_delta", "thinking": text },
        })));
        out
    }

    fn text(&mut self, text: &str) -> Vec<Vec<u8>> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(4);
        self.close_thinking(&mut out);
        let index = match self.open_text {
            Some(index) => index,
            None => {
                let index = self.take_index();
                self.open_text = Some(index);
                out.push(chunk(json!({
                    "type": "content_block_start",
                    "index": index,
                    "content_block": { "type": "text", "text": "" },
                })));
                index
            }
        };
        out.push(chunk(json!({
            "type": "content_block_delta",
            "index": index,
            "delta": { "type": "text_delta", "text": text },
        })));
        out
    }

    fn tool_call(&mut self, id: &str, name: &str, input_json: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(4);
        self.close_text(&mut out);
        self.called_tool = true;
        let index = self.take_index();
        out.push(chunk(json!({
            "type": "content_block_start",
            "index": index,
            "content_block": { "type": "tool_use", "id": tool_use_id(id), "name": name, "input": {} },
        })));
        out.push(chunk(json!({
            "type": "content_block_delta",
            "index": index,
            "delta": { "type": "input_json_delta", "partial_json": converse::tool_input(input_json).to_string() },
        })));
        out.push(chunk(
            json!({ "type": "content_block_stop", "index": index }),
        ));
        out
    }

    fn finish(
        &mut self,
        reason: &StopReason,
        usage: Usage,
        metrics: &InvocationMetrics,
    ) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(3);
        self.close_text(&mut out);
        out.push(chunk(json!({
            "type": "message_delta",
            "delta": {
                "stop_reason": stop_reason(reason, self.called_tool),
                "stop_sequence": stop_sequence(reason),
            },
            "usage": if self.prompt_caching {
                usage_json(usage, true)
            } else {
                json!({ "output_tokens": usage.output_tokens })
            },
        })));
        out.push(chunk(json!({
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": invocation_metrics_json(metrics),
        })));
        out
    }
}
