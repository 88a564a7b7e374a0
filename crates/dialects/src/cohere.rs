//! The Cohere InvokeModel bodies: Command R / R+ chat (`cohere.command-r*`) and the legacy
//! Command text generation (`cohere.command-text-v14`, `cohere.command-light-text-v14`, in
//! [`command`]). [`dialect`] picks one by model id.
//!
//! Command R mirrors "Cohere Command R and Command R+ models" in the Amazon Bedrock user guide
//! and bedrock-wire §5.9 (Cohere's v1 chat API):
//!
//! - request `{"message"*, "chat_history": [{"role": "USER" | "CHATBOT" | "SYSTEM" | "TOOL",
//!   "message"}], "preamble", "documents": [{…strings}], "tools", "tool_results",
//!   "max_tokens", "temperature" 0..1 (0.3), "p" 0.01..0.99 (0.75), "k" 0..500 (0, off),
//!   "stop_sequences", "seed", "prompt_truncation", "frequency_penalty", "presence_penalty",
//!   "search_queries_only", "return_prompt", "raw_prompting"}`;
//! - response `{"response_id", "text", "generation_id", "chat_history", "finish_reason",
//!   "tool_calls"?, "meta": {"api_version", "billed_units"}}`, `finish_reason` `COMPLETE`,
//!   `MAX_TOKENS` or `STOP_SEQUENCE` (v1 reports tool calls with `COMPLETE`);
//! - stream chunks `{"is_finished": false, "event_type": "stream-start", "generation_id"}`,
//!   `text-generation` events with `text`, `tool-calls-generation` events with `tool_calls`
//!   (**unconfirmed** on Bedrock), and `{"is_finished": true, "event_type": "stream-end",
//!   "finish_reason", "response": {…}}` with `amazon-bedrock-invocationMetrics`.
//!
//! [`Decoded::echo`] keeps what the response repeats: the request's `chat_history` and
//! `message` (the response's history is them plus the answer). The response and generation
//! ids are [`ResponseCtx::response_id`] written as a UUID (and rotated, for the generation).
//!
//! **Mapping.** `preamble`, `SYSTEM` history entries and the `documents` (rendered as text)
//! form the system prompt; `USER`/`CHATBOT` entries are the turns; `tools` become tool specs
//! whose JSON schema is built from `parameter_definitions` (Python type names mapped to JSON
//! types); `tool_results` (and `TOOL` history entries) become an assistant tool-use turn
//! followed by the results, paired by call name and parameters under synthetic ids
//! (`cohere_call_N`). `seed` sets the sampling seed. Accepted but without effect:
//! `prompt_truncation`, the penalties, `return_prompt` (no `prompt` in the response).
//! `raw_prompting: true` feeds `message` verbatim. `search_queries_only: true` is refused as
//! unsupported (wording **unconfirmed**): the local model does not produce search queries.

#[path = "cohere_chat.rs"]
mod chat;
#[path = "cohere_command.rs"]
pub mod command;

use bedrock_local_core::{SamplingParams, StopReason, Usage};
use serde_json::{json, Map, Value};

use crate::everit::{self, array_of, integer, prop, Kind, Schema};
use crate::{
    invocation_metrics_json, ChunkEncoder, Completion, Decoded, DialectError, InvocationMetrics,
    InvokeDialect, ModelTraits, ResponseCtx, Result,
};

/// `temperature` when the body has none.
pub const DEFAULT_TEMPERATURE: f32 = 0.3;
/// `p` when the body has none.
pub const DEFAULT_P: f32 = 0.75;

const UNIT: Kind = Kind::Number {
    min: Some(0.0),
    max: Some(1.0),
};
const STRING: Kind = Kind::String { min_length: None };

const HISTORY_ENTRY: Schema = Schema {
    required: &["role"],
    properties: &[
        prop("role", Kind::Enum(&["USER", "CHATBOT", "SYSTEM", "TOOL"])),
        prop("message", STRING),
        prop("tool_calls", array_of(&Kind::AnyObject, None)),
        prop("tool_results", array_of(&Kind::Object(&TOOL_RESULT), None)),
    ],
};

const TOOL: Schema = Schema {
    required: &["name", "description"],
    properties: &[
        prop("name", STRING),
        prop("description", STRING),
        prop("parameter_definitions", Kind::AnyObject),
    ],
};

const TOOL_CALL: Schema = Schema {
    required: &["name", "parameters"],
    properties: &[prop("name", STRING), prop("parameters", Kind::AnyObject)],
};

const TOOL_RESULT: Schema = Schema {
    required: &["call", "outputs"],
    properties: &[
        prop("call", Kind::Object(&TOOL_CALL)),
        prop("outputs", array_of(&Kind::AnyObject, None)),
    ],
};

const SCHEMA: Schema = Schema {
    required: &["message"],
    properties: &[
        prop("message", STRING),
        prop(
            "chat_history",
            array_of(&Kind::Object(&HISTORY_ENTRY), None),
        ),
        prop("documents", array_of(&Kind::AnyObject, None)),
        prop("search_queries_only", Kind::Boolean),
        prop("preamble", STRING),
        prop("max_tokens", integer(Some(1), None)),
        prop("temperature", UNIT),
        prop(
            "p",
            Kind::Number {
                min: Some(0.01),
                max: Some(0.99),
            },
        ),
        prop(
            "k",
            Kind::Number {
                min: Some(0.0),
                max: Some(500.0),
            },
        ),
        prop(
            "prompt_truncation",
            Kind::Enum(&["OFF", "AUTO_PRESERVE_ORDER"]),
        ),
        prop("frequency_penalty", UNIT),
        prop("presence_penalty", UNIT),
        prop("seed", integer(None, None)),
        prop("return_prompt", Kind::Boolean),
        prop("tools", array_of(&Kind::Object(&TOOL), None)),
        prop("tool_results", array_of(&Kind::Object(&TOOL_RESULT), None)),
        prop("stop_sequences", array_of(&STRING, None)),
        prop("raw_prompting", Kind::Boolean),
    ],
};

/// The Cohere dialect for a provider model id: Command R / R+ chat, legacy Command, or `None`
/// (Embed and Rerank bodies are not text generation).
pub fn dialect(provider_model_id: &str) -> Option<&'static dyn InvokeDialect> {
    if provider_model_id.starts_with("cohere.command-r") {
        Some(&CohereChat)
    } else if provider_model_id.starts_with("cohere.command-text")
        || provider_model_id.starts_with("cohere.command-light")
    {
        Some(&command::CohereCommand)
    } else {
        None
    }
}

/// The Command R / R+ chat dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct CohereChat;

/// Cohere's `finish_reason` for a core stop reason.
pub fn finish_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "MAX_TOKENS",
        StopReason::StopSequence(_) => "STOP_SEQUENCE",
        StopReason::EndTurn | StopReason::ToolUse => "COMPLETE",
    }
}

/// A 32-hex-digit id written as a UUID (`8-4-4-4-12`); other ids are returned unchanged.
pub fn uuid_text(hex: &str) -> String {
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex.to_owned();
    }
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The generation id of a response: its response id with the halves swapped, as a UUID.
pub fn generation_id(response_id: &str) -> String {
    match (response_id.get(16..), response_id.get(..16)) {
        (Some(tail), Some(head)) if response_id.len() == 32 => uuid_text(&format!("{tail}{head}")),
        _ => response_id.to_owned(),
    }
}

/// The max-token check against the model's maximum, after the schema's own checks.
pub(crate) fn check_max_tokens(
    object: &Map<String, Value>,
    traits: &ModelTraits,
    violations: &mut Vec<String>,
) {
    if let Some(n) = object.get("max_tokens").and_then(Value::as_i64) {
        let max = i64::from(traits.max_output_tokens);
        if n > max {
            violations.push(format!("#/max_tokens: {n} is not less or equal to {max}"));
        }
    }
}

/// Sampling from Cohere's `temperature`, `p` and `k` (`k` 0 means off).
pub(crate) fn sampling(object: &Map<String, Value>, temperature: f32, p: f32) -> SamplingParams {
    let number = |key: &str, default: f32| everit::number_or(object, key, default);
    SamplingParams {
        temperature: number("temperature", temperature),
        top_p: Some(number("p", p)),
        top_k: object
            .get("k")
            .and_then(Value::as_f64)
            .map(|k| k as usize)
            .filter(|k| *k > 0),
        seed: 0,
    }
}

impl InvokeDialect for CohereChat {
    fn name(&self) -> &'static str {
        "cohere"
    }

    fn decode(&self, body: &[u8], traits: &ModelTraits) -> Result<Decoded> {
        let object = everit::parse_object(body)?;
        let mut violations = Vec::new();
        everit::check_object("#", &object, &SCHEMA, &mut violations);
        check_max_tokens(&object, traits, &mut violations);
        everit::finish(&violations)?;
        if object.get("search_queries_only") == Some(&Value::Bool(true)) {
            return Err(DialectError::Unsupported(
                "This model doesn't support search_queries_only. Remove it and try again."
                    .to_owned(),
            ));
        }
        let message = object.get("message").and_then(Value::as_str).unwrap_or("");
        let prompt = if object.get("raw_prompting") == Some(&Value::Bool(true)) {
            bedrock_local_core::Prompt::Raw(message.to_owned())
        } else {
            chat::prompt(&object)?
        };
        let mut sampling = sampling(&object, DEFAULT_TEMPERATURE, DEFAULT_P);
        if let Some(seed) = object.get("seed").and_then(Value::as_i64) {
            sampling.seed = seed as u64;
        }
        Ok(Decoded {
            prompt,
            max_tokens: everit::count(&object, "max_tokens").unwrap_or(traits.default_max_tokens),
            sampling,
            stop_sequences: everit::strings(object.get("stop_sequences")),
            cache_point: None,
            echo: json!({
                "chat_history": object.get("chat_history").cloned().unwrap_or(json!([])),
                "message": message,
            }),
            reasoning_budget: None,
        })
    }

    fn encode(&self, ctx: &ResponseCtx, completion: &Completion) -> Vec<u8> {
        chat_response(
            ctx,
            &completion.text,
            &completion.tool_calls,
            &completion.stop_reason,
            completion.usage,
        )
        .to_string()
        .into_bytes()
    }

    fn chunk_encoder(&self, ctx: &ResponseCtx) -> Box<dyn ChunkEncoder> {
        Box::new(ChatChunks {
            ctx: ctx.clone(),
            text: String::new(),
            tool_calls: Vec::new(),
        })
    }
}

/// Cohere's `tool_calls`: `[{"name", "parameters": {…}}]` (arguments that are not JSON are
/// kept as a string).
fn tool_calls_json(calls: &[(String, String, String)]) -> Value {
    calls
        .iter()
        .map(|(_, name, input)| {
            let parameters = serde_json::from_str::<Value>(input).unwrap_or_else(|_| json!(input));
            json!({"name": name, "parameters": parameters})
        })
        .collect()
}

/// The Command R response object (also the `response` of the stream-end event).
fn chat_response(
    ctx: &ResponseCtx,
    text: &str,
    tool_calls: &[(String, String, String)],
    reason: &StopReason,
    usage: Usage,
) -> Value {
    let mut history = ctx.echo["chat_history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    match ctx.echo["message"].as_str() {
        Some(m) if !m.is_empty() => history.push(json!({"role": "USER", "message": m})),
        _ => {}
    }
    let mut answer = json!({"role": "CHATBOT", "message": text});
    if !tool_calls.is_empty() {
        answer["tool_calls"] = tool_calls_json(tool_calls);
    }
    history.push(answer);
    let mut response = json!({
        "response_id": uuid_text(&ctx.response_id),
        "text": text,
        "generation_id": generation_id(&ctx.response_id),
        "chat_history": history,
        "finish_reason": finish_reason(reason),
    });
    if !tool_calls.is_empty() {
        response["tool_calls"] = tool_calls_json(tool_calls);
    }
    response["meta"] = json!({
        "api_version": {"version": "1"},
        "billed_units": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
    });
    response
}

/// Stream state: the text and tool calls so far, for the stream-end `response`.
struct ChatChunks {
    ctx: ResponseCtx,
    text: String,
    tool_calls: Vec<(String, String, String)>,
}

impl ChunkEncoder for ChatChunks {
    fn start(&mut self, _prompt_tokens: u32) -> Vec<Vec<u8>> {
        let start = json!({
            "is_finished": false,
            "event_type": "stream-start",
            "generation_id": generation_id(&self.ctx.response_id),
        });
        vec![start.to_string().into_bytes()]
    }

    fn text(&mut self, text: &str) -> Vec<Vec<u8>> {
        if text.is_empty() {
            return Vec::new();
        }
        self.text.push_str(text);
        let event = json!({"is_finished": false, "event_type": "text-generation", "text": text});
        vec![event.to_string().into_bytes()]
    }

    fn tool_call(&mut self, id: &str, name: &str, input_json: &str) -> Vec<Vec<u8>> {
        let call = (id.to_owned(), name.to_owned(), input_json.to_owned());
        let event = json!({
            "is_finished": false,
            "event_type": "tool-calls-generation",
            "tool_calls": tool_calls_json(std::slice::from_ref(&call)),
        });
        self.tool_calls.push(call);
        vec![event.to_string().into_bytes()]
    }

    fn finish(
        &mut self,
        reason: &StopReason,
        usage: Usage,
        metrics: &InvocationMetrics,
    ) -> Vec<Vec<u8>> {
        let response = chat_response(&self.ctx, &self.text, &self.tool_calls, reason, usage);
        let end = json!({
            "is_finished": true,
            "event_type": "stream-end",
            "finish_reason": finish_reason(reason),
            "response": response,
            "amazon-bedrock-invocationMetrics": invocation_metrics_json(metrics),
        });
        vec![end.to_string().into_bytes()]
    }
}

#[cfg(test)]
#[path = "cohere_tests.rs"]
mod tests;
