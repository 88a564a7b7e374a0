//! The Anthropic Claude InvokeModel bodies (`anthropic.*` model ids): the Messages API and the
//! legacy Text Completions API, unstreamed and streamed.
//!
//! Mirrors "Anthropic Claude Messages API" and "Anthropic Claude Text Completions API" in the
//! Amazon Bedrock user guide and bedrock-wire §5.2, §5.3, §3.5:
//!
//! - **Messages** (a body with a `messages` key): `anthropic_version` (`bedrock-2023-05-31`),
//!   `max_tokens`, `messages` with string or block content (`text`, `tool_use`, `tool_result`;
//!   `image`/`document` are refused because the local model is text-only), `system`,
//!   `stop_sequences`, `temperature`/`top_p`/`top_k`, `tools` and `tool_choice`. The response is
//!   a `message` object whose id is `msg_bdrk_…` and whose `model` is Anthropic's model name;
//!   the stream is `message_start` … `message_stop`.
//! - **Text Completions** (any other body): `prompt` in `\n\nHuman: … \n\nAssistant:` form and
//!   `max_tokens_to_sample` → `{"type":"completion","completion","stop_reason","stop"}`. The
//!   prompt is parsed back into a chat so the local model's own template renders it.
//!
//! Which format a request used travels in [`Decoded::echo`](crate::Decoded::echo) (see
//! [`BodyFormat`]) so the encoders answer in the same one.
//!
//! Validation happens in two layers, like the real service: Bedrock's JSON schema first
//! (`schema.rs`, everit wording: `Malformed input request: #: subject must not be valid against
//! schema {"required":["messages"]}#: required key [max_tokens] not found, …`), then Claude's own
//! checks, whose messages Bedrock passes through verbatim (`messages: roles must alternate …`).
//! Wording we had to choose is marked "unconfirmed" where it is produced.
//!
//! Files: `schema.rs` (the body schemas), `content.rs` (content blocks), `messages.rs` (the
//! Messages body), `legacy.rs` (Text Completions), `response.rs` and `stream.rs` (encoding).

mod content;
mod legacy;
mod messages;
mod response;
mod schema;
mod stream;

use serde_json::Value;

use crate::{
    converse, ChunkEncoder, Completion, Decoded, DialectError, InvokeDialect, ModelTraits,
    ResponseCtx, Result,
};

/// The only `anthropic_version` Bedrock accepts.
pub const ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// Messages API `temperature` when the body has none (AWS user guide: default 1).
pub const DEFAULT_TEMPERATURE: f32 = 1.0;
/// Messages API `top_p` when the body has none (AWS user guide: default 0.999).
pub const DEFAULT_TOP_P: f32 = 0.999;
/// Text Completions `temperature` when the body has none (AWS user guide: default 0.5).
pub const LEGACY_DEFAULT_TEMPERATURE: f32 = 0.5;
/// Text Completions `top_p` when the body has none (AWS user guide: default 1).
pub const LEGACY_DEFAULT_TOP_P: f32 = 1.0;
/// Text Completions `top_k` when the body has none (AWS user guide: default 250).
pub const LEGACY_DEFAULT_TOP_K: usize = 250;

/// The Claude models that speak the Text Completions API (Anthropic's names).
const TEXT_COMPLETION_MODELS: [&str; 3] = ["claude-2.0", "claude-2.1", "claude-instant-1.2"];

/// Which of the two request bodies a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// The Messages API (`messages`, `max_tokens`).
    Messages,
    /// The legacy Text Completions API (`prompt`, `max_tokens_to_sample`).
    TextCompletions,
}

impl BodyFormat {
    /// The [`Decoded::echo`] value recording this format: `{"format": "messages"}` or
    /// `{"format": "text_completions"}`.
    pub fn echo(self) -> Value {
        let name = match self {
            BodyFormat::Messages => "messages",
            BodyFormat::TextCompletions => "text_completions",
        };
        serde_json::json!({ "format": name })
    }

    /// The format recorded in an echo; Messages when the echo says nothing (`Value::Null`).
    pub fn from_echo(echo: &Value) -> Self {
        match echo.get("format").and_then(Value::as_str) {
            Some("text_completions") => BodyFormat::TextCompletions,
            _ => BodyFormat::Messages,
        }
    }
}

/// The Anthropic Claude dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct Anthropic;

impl InvokeDialect for Anthropic {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    /// Decodes either body, chosen by shape: a body with a `messages` key is a Messages body,
    /// anything else is checked as a Text Completions body (as Bedrock's schema does).
    fn decode(&self, body: &[u8], traits: &ModelTraits) -> Result<Decoded> {
        let object = schema::parse(body)?;
        if object.contains_key("messages") {
            messages::decode(&object, traits)
        } else {
            legacy::decode(&object, traits)
        }
    }

    fn check_model(&self, model_id: &str, _streaming: bool, decoded: &Decoded) -> Result<()> {
        check_model(model_id, decoded)
    }

    fn encode(&self, ctx: &ResponseCtx, completion: &Completion) -> Vec<u8> {
        match BodyFormat::from_echo(&ctx.echo) {
            BodyFormat::Messages => response::encode(ctx, completion),
            BodyFormat::TextCompletions => legacy::encode(completion),
        }
    }

    fn chunk_encoder(&self, ctx: &ResponseCtx) -> Box<dyn ChunkEncoder> {
        match BodyFormat::from_echo(&ctx.echo) {
            BodyFormat::Messages => Box::new(stream::MessageChunks::new(ctx)),
            BodyFormat::TextCompletions => Box::new(legacy::CompletionChunks),
        }
    }
}

/// Anthropic's model name for a Bedrock model id, as responses carry it in `model`:
/// `anthropic.claude-3-haiku-20240307-v1:0` → `claude-3-haiku-20240307`. The Bedrock version
/// suffix (`-v1:0`, `-v2:0:200k`) is dropped; a geo prefix or ARN in front is tolerated; the
/// legacy ids map to Anthropic's names (`claude-v2:1` → `claude-2.1`, `claude-v2` →
/// `claude-2.0`, `claude-instant-v1` → `claude-instant-1.2`).
pub fn model_name(model_id: &str) -> String {
    let id = model_id.rsplit('/').next().unwrap_or(model_id);
    let id = id
        .find("anthropic.")
        .map_or(id, |at| &id[at + "anthropic.".len()..]);
    match id {
        "claude-v2" | "claude-v2:0" => return "claude-2.0".to_owned(),
        "claude-v2:1" => return "claude-2.1".to_owned(),
        "claude-instant-v1" | "claude-instant-v1:2" => return "claude-instant-1.2".to_owned(),
        _ => {}
    }
    if let Some(at) = id.rfind("-v") {
        let suffix = &id[at + 2..];
        let is_version = suffix.split(':').enumerate().all(|(i, part)| {
            let digits = if i > 0 {
                part.trim_end_matches('k')
            } else {
                part
            };
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        });
        if is_version {
            return id[..at].to_owned();
        }
    }
    id.to_owned()
}

/// A 128-bit number from an id string: the value of 32 hex digits (a [`ResponseCtx`]
/// response id), or else an FNV-1a hash of the text, so any id maps deterministically.
fn id_number(id: &str) -> u128 {
    if id.len() == 32 {
        if let Ok(n) = u128::from_str_radix(id, 16) {
            return n;
        }
    }
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013B;
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in id.bytes() {
        hash ^= u128::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash
}

/// The message id of a response: `msg_bdrk_01` + 22 base62 digits derived from
/// [`ResponseCtx::response_id`] (real ids look like `msg_bdrk_012GBPzpcoMCLP1b2pcJsSHk`).
pub fn message_id(response_id: &str) -> String {
    format!("msg_bdrk_01{}", converse::base62_22(id_number(response_id)))
}

/// The Anthropic id of a tool call whose facade id is `id`.
///
/// The facade mints Converse ids (`tooluse_` + 22 base62 digits); Claude on Bedrock answers
/// with `toolu_bdrk_01…` ids. The mapping is deterministic so the same call has the same id in
/// the unstreamed and the streamed response: `tooluse_X` → `toolu_bdrk_01X`; an id already in
/// `toolu_` form is kept; any other id becomes `toolu_bdrk_01` + the id with characters
/// outside `[A-Za-z0-9_-]` replaced by `_`. The client sends the id back in its next
/// `tool_result`, where it only has to match the `tool_use` block of the same request, so no
/// reverse mapping is needed.
pub fn tool_use_id(id: &str) -> String {
    if id.starts_with("toolu_") {
        return id.to_owned();
    }
    let rest = id.strip_prefix("tooluse_").unwrap_or(id);
    let cleaned: String = rest
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("toolu_bdrk_01{cleaned}")
}

/// What Claude itself refuses for a model, once the model id is known (the facade calls it
/// after [`InvokeDialect::decode`], which sees only the body): a Text Completions body sent
/// to a model that only speaks the Messages API (Claude 3 and later) gets Anthropic's
/// `"claude-3-haiku-20240307" is not supported on this API. Please use the Messages API
/// instead.` (observed).
pub fn check_model(model_id: &str, decoded: &Decoded) -> Result<()> {
    if BodyFormat::from_echo(&decoded.echo) != BodyFormat::TextCompletions {
        return Ok(());
    }
    let name = model_name(model_id);
    if TEXT_COMPLETION_MODELS.contains(&name.as_str()) {
        Ok(())
    } else {
        Err(DialectError::Validation(format!(
            "\"{name}\" is not supported on this API. Please use the Messages API instead."
        )))
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
