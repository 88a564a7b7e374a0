//! The OpenAI chat-completion response shapes that gpt-oss (`openai.rs`) and AI21 Jamba
//! (`ai21.rs`) share: the assistant `message` with `tool_calls`, `finish_reason`, `usage`,
//! and the `delta` stream chunks.
//!
//! The two differ only in the chunk envelope and the end of the stream: gpt-oss chunks are
//! full `chat.completion.chunk` objects (`id`, `object`, `created`, `model`) with usage in an
//! extra `choices: []` chunk on request; Jamba chunks carry only `id` and `choices`, usage on
//! the finishing chunk, and Bedrock's metrics in a chunk of their own (see `ai21.rs`).

use bedrock_local_core::{StopReason, Usage};
use serde_json::{json, Map, Value};

use crate::{ChunkEncoder, Completion, InvocationMetrics};

/// `finish_reason`: `tool_calls` when the answer calls tools, `length` at the budget.
pub(crate) fn finish_reason(called_tools: bool, reason: &StopReason) -> &'static str {
    match reason {
        _ if called_tools => "tool_calls",
        StopReason::ToolUse => "tool_calls",
        StopReason::MaxTokens => "length",
        StopReason::EndTurn | StopReason::StopSequence(_) => "stop",
    }
}

/// `{prompt_tokens, completion_tokens, total_tokens}`.
pub(crate) fn usage_json(usage: Usage) -> Value {
    json!({
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": u64::from(usage.input_tokens) + u64::from(usage.output_tokens),
    })
}

/// One `tool_calls` entry (`index` only in stream deltas); `arguments` is JSON text (`{}` for
/// a call without arguments).
pub(crate) fn tool_call_json(index: Option<u32>, id: &str, name: &str, args: &str) -> Value {
    let arguments = if args.trim().is_empty() { "{}" } else { args };
    let mut call = Map::new();
    if let Some(index) = index {
        call.insert("index".into(), json!(index));
    }
    call.insert("id".into(), json!(id));
    call.insert("type".into(), json!("function"));
    call.insert(
        "function".into(),
        json!({"name": name, "arguments": arguments}),
    );
    Value::Object(call)
}

/// The response's first choice: `{"index": 0, "message": {"role": "assistant", "content",
/// "tool_calls"}, "finish_reason"}`. `content` is `null` for an answer made only of tool
/// calls; `tool_calls` is omitted when there are none unless `null_tool_calls` asks for an
/// explicit `null`.
pub(crate) fn choice_json(completion: &Completion, null_tool_calls: bool) -> Value {
    let calls = &completion.tool_calls;
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    let content = if completion.text.is_empty() && !calls.is_empty() {
        Value::Null
    } else {
        Value::from(completion.text.as_str())
    };
    message.insert("content".into(), content);
    if !calls.is_empty() {
        let list = calls
            .iter()
            .map(|(id, name, args)| tool_call_json(None, id, name, args));
        message.insert("tool_calls".into(), Value::Array(list.collect()));
    } else if null_tool_calls {
        message.insert("tool_calls".into(), Value::Null);
    }
    json!({
        "index": 0,
        "message": message,
        "finish_reason": finish_reason(!calls.is_empty(), &completion.stop_reason),
    })
}

/// How a stream's chunks look (see the module docs).
#[derive(Debug, Clone)]
pub(crate) enum Envelope {
    /// gpt-oss: `id`, `object: chat.completion.chunk`, `created`, `model`; usage in a final
    /// `choices: []` chunk when asked for; metrics on the last chunk.
    OpenAi {
        created: u64,
        model: String,
        include_usage: bool,
    },
    /// Jamba: `id` and `choices`; usage on the finishing chunk; metrics in their own chunk.
    Jamba,
}

/// The `delta` chunks of one response.
#[derive(Debug)]
pub(crate) struct DeltaChunks {
    id: String,
    envelope: Envelope,
    tool_calls: u32,
}

impl DeltaChunks {
    /// A stream whose chunks all carry `id`.
    pub fn new(id: String, envelope: Envelope) -> Self {
        Self {
            id,
            envelope,
            tool_calls: 0,
        }
    }

    fn chunk(&self, choices: Value) -> Map<String, Value> {
        let mut chunk = Map::new();
        chunk.insert("id".into(), json!(self.id));
        if let Envelope::OpenAi { created, model, .. } = &self.envelope {
            chunk.insert("object".into(), json!("chat.completion.chunk"));
            chunk.insert("created".into(), json!(created));
            chunk.insert("model".into(), json!(model));
        }
        chunk.insert("choices".into(), choices);
        chunk
    }

    fn delta(&self, delta: Value) -> Vec<u8> {
        let choice = json!([{"index": 0, "delta": delta, "finish_reason": null}]);
        Value::Object(self.chunk(choice)).to_string().into_bytes()
    }
}

impl ChunkEncoder for DeltaChunks {
    fn start(&mut self, _prompt_tokens: u32) -> Vec<Vec<u8>> {
        vec![self.delta(json!({"role": "assistant", "content": ""}))]
    }

    fn text(&mut self, text: &str) -> Vec<Vec<u8>> {
        if text.is_empty() {
            return Vec::new();
        }
        vec![self.delta(json!({ "content": text }))]
    }

    fn tool_call(&mut self, id: &str, name: &str, input_json: &str) -> Vec<Vec<u8>> {
        let call = tool_call_json(Some(self.tool_calls), id, name, input_json);
        self.tool_calls += 1;
        vec![self.delta(json!({ "tool_calls": [call] }))]
    }

    fn finish(
        &mut self,
        reason: &StopReason,
        usage: Usage,
        metrics: &InvocationMetrics,
    ) -> Vec<Vec<u8>> {
        let reason = finish_reason(self.tool_calls > 0, reason);
        let choice = json!([{"index": 0, "delta": {}, "finish_reason": reason}]);
        let mut finishing = self.chunk(choice);
        let metrics_json = crate::invocation_metrics_json(metrics);
        let mut chunks = Vec::with_capacity(2);
        match &self.envelope {
            Envelope::OpenAi { include_usage, .. } => {
                chunks.push(finishing);
                if *include_usage {
                    let mut usage_chunk = self.chunk(json!([]));
                    usage_chunk.insert("usage".into(), usage_json(usage));
                    chunks.push(usage_chunk);
                }
                if let Some(last) = chunks.last_mut() {
                    last.insert("amazon-bedrock-invocationMetrics".into(), metrics_json);
                }
            }
            Envelope::Jamba => {
                finishing.insert("usage".into(), usage_json(usage));
                chunks.push(finishing);
                let mut own = Map::new();
                own.insert("amazon-bedrock-invocationMetrics".into(), metrics_json);
                chunks.push(own);
            }
        }
        chunks
            .into_iter()
            .map(|c| Value::Object(c).to_string().into_bytes())
            .collect()
    }
}
