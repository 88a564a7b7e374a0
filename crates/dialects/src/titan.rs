//! The Amazon Titan Text InvokeModel body (`amazon.titan-text-*`, `amazon.titan-tg1-*`).
//!
//! Mirrors "Amazon Titan Text models" in the Amazon Bedrock user guide and bedrock-wire §5.6:
//!
//! - request `{"inputText"*: string, "textGenerationConfig": {"temperature": 0..1 (0.7),
//!   "topP": 0..1 (0.9), "maxTokenCount": 0..model max (the catalog default, 512),
//!   "stopSequences": [string]}}`; any other key, at either level, is an extraneous key;
//! - response `{"inputTextTokenCount", "results": [{"tokenCount", "outputText",
//!   "completionReason"}]}` with `FINISH` (the guide's `FINISHED` is a typo; real responses
//!   say `FINISH`), `LENGTH` (`maxTokenCount`) or `STOP_CRITERIA_MET` (a stop sequence);
//! - stream chunks `{"outputText", "index": 0, "totalOutputTextTokenCount",
//!   "completionReason": null, "inputTextTokenCount"}`, the last one with the completion
//!   reason and `amazon-bedrock-invocationMetrics`. `inputTextTokenCount` is on the first chunk
//!   only (`null` afterwards) and the output count is cumulative, like the Llama stream; both,
//!   and `index` being the result index (always 0), are **unconfirmed**.
//!
//! Schema violations use the validator wording of `everit.rs`; members of
//! `textGenerationConfig` are reported at their nested pointer
//! (`#/textGenerationConfig/stopSequences: expected type: JSONArray, found: String`).
//! bedrock-wire §5.6 quotes `#/stopSequences` for that case; that flat pointer is everit's for
//! a top-level member (as in AI21 Jurassic bodies), so we keep everit's nesting
//! (**unconfirmed** either way).
//!
//! **The `User:`/`Bot:` convention.** The guide asks for conversational prompts as
//! `User: {prompt}\nBot:`, a convention of Titan's own training. Our local model does not share
//! it, so an `inputText` that *ends* with an open `Bot:` turn and whose turns all start at the
//! beginning of a line with `User:` or `Bot:` is parsed into a chat: text before the first turn
//! becomes the system prompt, each turn a message (trimmed; consecutive turns of one speaker
//! merged). Anything else — no trailing `Bot:`, an empty turn, a conversation that does not
//! start with the user — is fed verbatim ([`Prompt::Raw`]), as Bedrock would.

use bedrock_local_core::{
    ChatMessage, ContentPart, Prompt, Role, SamplingParams, StopReason, ToolChoice, Usage,
};
use serde_json::{json, Value};

use crate::everit::{self, array_of, integer, prop, Kind, Schema};
use crate::{
    invocation_metrics_json, ChunkEncoder, Completion, Decoded, InvocationMetrics, InvokeDialect,
    ModelTraits, ResponseCtx, Result,
};

/// `temperature` when the body has none.
pub const DEFAULT_TEMPERATURE: f32 = 0.7;
/// `topP` when the body has none.
pub const DEFAULT_TOP_P: f32 = 0.9;

const UNIT: Kind = Kind::Number {
    min: Some(0.0),
    max: Some(1.0),
};

const CONFIG: Schema = Schema {
    required: &[],
    properties: &[
        prop("temperature", UNIT),
        prop("topP", UNIT),
        prop("maxTokenCount", integer(Some(0), None)),
        prop(
            "stopSequences",
            array_of(&Kind::String { min_length: None }, None),
        ),
    ],
};

const SCHEMA: Schema = Schema {
    required: &["inputText"],
    properties: &[
        // An empty prompt is refused (unconfirmed: whether Bedrock's schema has minLength).
        prop(
            "inputText",
            Kind::String {
                min_length: Some(1),
            },
        ),
        prop("textGenerationConfig", Kind::Object(&CONFIG)),
    ],
};

/// Whether a provider model id is a Titan Text model (and not Nova, Titan Embeddings or
/// Titan Image, which share the `amazon` provider).
pub fn handles(provider_model_id: &str) -> bool {
    provider_model_id.starts_with("amazon.titan-text")
        || provider_model_id.starts_with("amazon.titan-tg1")
}

/// The Amazon Titan Text dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct Titan;

/// Titan's `completionReason` for a core stop reason.
pub fn completion_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::MaxTokens => "LENGTH",
        StopReason::StopSequence(_) => "STOP_CRITERIA_MET",
        StopReason::EndTurn | StopReason::ToolUse => "FINISH",
    }
}

impl InvokeDialect for Titan {
    fn name(&self) -> &'static str {
        "titan"
    }

    /// Decodes a Titan Text body; `maxTokenCount` may not exceed the model's maximum
    /// (4096 Lite, 8192 Express, 3072 Premier, from the catalog).
    fn decode(&self, body: &[u8], traits: &ModelTraits) -> Result<Decoded> {
        let object = everit::parse_object(body)?;
        let mut violations = Vec::new();
        everit::check_object("#", &object, &SCHEMA, &mut violations);
        let config = object.get("textGenerationConfig").unwrap_or(&Value::Null);
        if let Some(n) = config.get("maxTokenCount").and_then(Value::as_i64) {
            let max = i64::from(traits.max_output_tokens);
            if n > max {
                violations.push(format!(
                    "#/textGenerationConfig/maxTokenCount: {n} is not less or equal to {max}"
                ));
            }
        }
        everit::finish(&violations)?;
        let number = |key: &str, default: f32| {
            config
                .get(key)
                .and_then(Value::as_f64)
                .map_or(default, |v| v as f32)
        };
        let input = object
            .get("inputText")
            .and_then(Value::as_str)
            .unwrap_or("");
        Ok(Decoded {
            prompt: parse_user_bot(input),
            max_tokens: config
                .get("maxTokenCount")
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(traits.default_max_tokens),
            sampling: SamplingParams {
                temperature: number("temperature", DEFAULT_TEMPERATURE),
                top_p: Some(number("topP", DEFAULT_TOP_P)),
                top_k: None,
                seed: 0,
            },
            stop_sequences: config
                .get("stopSequences")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            cache_point: None,
            echo: Value::Null,
            reasoning_budget: None,
        })
    }

    fn encode(&self, _ctx: &ResponseCtx, completion: &Completion) -> Vec<u8> {
        json!({
            "inputTextTokenCount": completion.usage.input_tokens,
            "results": [{
                "tokenCount": completion.usage.output_tokens,
                "outputText": completion.text,
                "completionReason": completion_reason(&completion.stop_reason),
            }],
        })
        .to_string()
        .into_bytes()
    }

    fn chunk_encoder(&self, _ctx: &ResponseCtx) -> Box<dyn ChunkEncoder> {
        Box::new(TitanChunks::default())
    }
}

/// One turn marker at the start of a line, and who speaks after it.
const MARKERS: [(&str, Role); 2] = [("User:", Role::User), ("Bot:", Role::Assistant)];

/// Parses the `User: …\nBot:` convention into a chat, or returns the text as
/// [`Prompt::Raw`] when it does not follow it (see the module documentation).
pub fn parse_user_bot(input: &str) -> Prompt {
    parse_turns(input).unwrap_or_else(|| Prompt::Raw(input.to_owned()))
}

fn parse_turns(input: &str) -> Option<Prompt> {
    let body = input.trim_end().strip_suffix("Bot:")?;
    // Split at every line that starts with a marker; the text before the first is the system.
    let mut system = String::new();
    let mut turns: Vec<(Role, String)> = Vec::new();
    for line in body.split_inclusive('\n') {
        let marker = MARKERS
            .iter()
            .find_map(|(m, role)| line.strip_prefix(m).map(|rest| (*role, rest)));
        match (marker, turns.last_mut()) {
            (Some((role, rest)), _) => turns.push((role, rest.to_owned())),
            (None, Some((_, text))) => text.push_str(line),
            (None, None) => system.push_str(line),
        }
    }
    // The final open `Bot:` must start a line of its own.
    if !(body.is_empty() || body.ends_with('\n')) {
        return None;
    }
    let mut messages: Vec<ChatMessage> = Vec::new();
    for (role, text) in turns {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        match messages.last_mut().filter(|m| m.role == role) {
            Some(ChatMessage { content, .. }) => {
                if let Some(ContentPart::Text(prev)) = content.last_mut() {
                    prev.push('\n');
                    prev.push_str(text);
                }
            }
            None => messages.push(ChatMessage::text(role, text)),
        }
    }
    if messages.first()?.role != Role::User {
        return None;
    }
    let system = system.trim();
    Some(Prompt::Chat {
        system: (!system.is_empty()).then(|| system.to_owned()),
        messages,
        tools: Vec::new(),
        tool_choice: ToolChoice::Auto,
    })
}

/// Stream state: the prompt count waits for the first chunk; text events are counted as
/// tokens (about one per event; the last chunk carries the tokenizer's exact count).
#[derive(Debug, Default)]
struct TitanChunks {
    pending_prompt_tokens: Option<u32>,
    generated: u32,
}

impl TitanChunks {
    fn chunk(&mut self, text: &str, total: u32, reason: Option<&str>) -> Value {
        json!({
            "outputText": text,
            "index": 0,
            "totalOutputTextTokenCount": total,
            "completionReason": reason,
            "inputTextTokenCount": self.pending_prompt_tokens.take(),
        })
    }
}

impl ChunkEncoder for TitanChunks {
    fn start(&mut self, prompt_tokens: u32) -> Vec<Vec<u8>> {
        self.pending_prompt_tokens = Some(prompt_tokens);
        Vec::new()
    }

    fn text(&mut self, text: &str) -> Vec<Vec<u8>> {
        if text.is_empty() {
            return Vec::new();
        }
        self.generated += 1;
        let total = self.generated;
        vec![self.chunk(text, total, None).to_string().into_bytes()]
    }

    fn tool_call(&mut self, _id: &str, _name: &str, _input_json: &str) -> Vec<Vec<u8>> {
        // The Titan Text body has no tool calls.
        Vec::new()
    }

    fn finish(
        &mut self,
        reason: &StopReason,
        usage: Usage,
        metrics: &InvocationMetrics,
    ) -> Vec<Vec<u8>> {
        let mut last = self.chunk("", usage.output_tokens, Some(completion_reason(reason)));
        last["amazon-bedrock-invocationMetrics"] = invocation_metrics_json(metrics);
        vec![last.to_string().into_bytes()]
    }
}

#[cfg(test)]
#[path = "titan_tests.rs"]
mod tests;
