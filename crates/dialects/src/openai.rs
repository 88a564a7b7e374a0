//! The OpenAI gpt-oss InvokeModel body (`openai.gpt-oss-20b-1:0`, `openai.gpt-oss-120b-1:0`).
//!
//! Mirrors "OpenAI models" in the Amazon Bedrock user guide and bedrock-wire §5.12: the body is
//! an OpenAI **Chat Completions** request and the response a chat completion object.
//!
//! - request: `messages`* (roles `system`, `developer` → the system prompt; `user`;
//!   `assistant` with `content` and/or `tool_calls`; `tool` with `tool_call_id`), content a
//!   string or an array of parts (`text` only: the models are text-in/text-out),
//!   `max_completion_tokens` (or the older `max_tokens`), `temperature`, `top_p`, `stop`
//!   (string or array), `tools` (`function`), `tool_choice` (`none` | `auto` | `required` |
//!   `{"type": "function", "function": {"name"}}`), `n` (1 only), `reasoning_effort`
//!   (accepted; the local model does not reason), `stream`, `stream_options.include_usage`,
//!   `model`. Other Chat Completions members are ignored, as OpenAI-compatible servers do;
//! - response `{"id": "chatcmpl-…", "object": "chat.completion", "created", "model",
//!   "choices": [{"index": 0, "message": {"role": "assistant", "content", "tool_calls"?},
//!   "finish_reason": "stop" | "length" | "tool_calls"}], "usage": {prompt_tokens,
//!   completion_tokens, total_tokens}}`;
//! - stream chunks: `chat.completion.chunk` objects with a `delta` (`role` first, then
//!   `content` pieces and `tool_calls`), a last chunk with `finish_reason`, then a usage chunk
//!   (`choices: []`) when `stream_options.include_usage`; the last chunk carries
//!   `amazon-bedrock-invocationMetrics` (chunk details **unconfirmed**).
//!
//! **Errors.** Observed gpt-oss errors are the Rust model server's own serde messages
//! (`Failed to deserialize the JSON body into the target type: reasoning_effort: invalid type:
//! map, expected a string at line 1 column 187`, bedrock-wire §2.4 style), so the body is
//! decoded with serde and the failure reported in that form (the path prefix and position come
//! from `serde_path_to_error`/`serde_json`; the type names in them are ours). Range and `n`
//! messages are **unconfirmed**.
//!
//! **What `decode` cannot check.** Bedrock requires `model`, when present, to equal the model
//! id of the path, and `stream` to match the operation (`false` for InvokeModel). Neither is
//! known to `decode`, so it records both in [`Decoded::echo`](crate::Decoded::echo):
//! [`InvokeDialect::check_model`], which the facade calls with the operation, checks both
//! through [`check_invocation`].

use bedrock_local_core::{ContentPart, Role, SamplingParams, ToolChoice, ToolSpec};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::chat_completion::{self, DeltaChunks, Envelope};
use crate::chat_turns::Turns;
use crate::{
    ChunkEncoder, Completion, Decoded, DialectError, InvokeDialect, ModelTraits, ResponseCtx,
    Result,
};

/// `temperature` when the body has none (OpenAI's default).
pub const DEFAULT_TEMPERATURE: f32 = 1.0;
/// `top_p` when the body has none (OpenAI's default).
pub const DEFAULT_TOP_P: f32 = 1.0;

#[derive(Debug, Deserialize)]
struct ChatCompletionRequest {
    messages: Vec<Message>,
    model: Option<String>,
    max_completion_tokens: Option<u32>,
    max_tokens: Option<u32>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    stop: Option<Stop>,
    n: Option<u32>,
    tools: Option<Vec<Tool>>,
    tool_choice: Option<ToolChoiceParam>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
    /// Accepted and ignored (a string, as the observed error shows).
    #[serde(rename = "reasoning_effort")]
    _reasoning_effort: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum Message {
    System {
        content: Content,
    },
    Developer {
        content: Content,
    },
    User {
        content: Content,
    },
    Assistant {
        content: Option<Content>,
        tool_calls: Option<Vec<ToolCall>>,
    },
    Tool {
        content: Content,
        tool_call_id: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part {
    Text { text: String },
    Refusal { refusal: String },
    ImageUrl {},
    InputAudio {},
    File {},
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct ToolCall {
    id: String,
    function: FunctionCall,
}

#[derive(Debug, Deserialize)]
struct FunctionCall {
    name: String,
    arguments: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum FunctionType {
    Function,
}

#[derive(Debug, Deserialize)]
struct Tool {
    #[serde(rename = "type")]
    _kind: FunctionType,
    function: FunctionDef,
}

#[derive(Debug, Deserialize)]
struct FunctionDef {
    name: String,
    description: Option<String>,
    parameters: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ToolChoiceParam {
    Mode(ToolMode),
    Named { function: FunctionName },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ToolMode {
    None,
    Auto,
    Required,
}

#[derive(Debug, Deserialize)]
struct FunctionName {
    name: String,
}

#[derive(Debug, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

/// The OpenAI gpt-oss dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAi;

fn invalid(message: impl Into<String>) -> DialectError {
    DialectError::Validation(message.into())
}

/// Deserializes the body, reporting failures as the model server does.
fn parse(body: &[u8]) -> Result<ChatCompletionRequest> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let report = |e: serde_path_to_error::Error<serde_json::Error>| {
        let what = match e.inner().classify() {
            serde_json::error::Category::Data => {
                "Failed to deserialize the JSON body into the target type"
            }
            _ => "Failed to parse the request body as JSON",
        };
        invalid(format!("{what}: {e}"))
    };
    let request: ChatCompletionRequest =
        serde_path_to_error::deserialize(&mut de).map_err(report)?;
    de.end()
        .map_err(|e| invalid(format!("Failed to parse the request body as JSON: {e}")))?;
    Ok(request)
}

/// The text of a message's content; non-text parts are refused (text-only models).
fn text(content: Content) -> Result<String> {
    let parts = match content {
        Content::Text(text) => return Ok(text),
        Content::Parts(parts) => parts,
    };
    let mut texts = Vec::with_capacity(parts.len());
    for part in parts {
        let kind = match part {
            Part::Text { text } | Part::Refusal { refusal: text } => {
                texts.push(text);
                continue;
            }
            Part::ImageUrl {} => "image_url",
            Part::InputAudio {} => "input_audio",
            Part::File {} => "file",
        };
        // Unconfirmed wording, modelled on Converse's.
        return Err(DialectError::Unsupported(format!("This model doesn't support the {kind} content block that you provided. Try again with a supported content block.")));
    }
    Ok(texts.join("\n"))
}

fn conversation(messages: Vec<Message>) -> Result<Turns> {
    let mut turns = Turns::default();
    for message in messages {
        match message {
            Message::System { content } | Message::Developer { content } => {
                turns.system(text(content)?)
            }
            Message::User { content } => turns.text(Role::User, text(content)?),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let said = content.map(text).transpose()?.unwrap_or_default();
                let calls = tool_calls.unwrap_or_default();
                if !said.is_empty() || calls.is_empty() {
                    turns.text(Role::Assistant, said);
                }
                for call in calls {
                    turns.push(
                        Role::Assistant,
                        ContentPart::ToolUse {
                            id: call.id,
                            name: call.function.name,
                            input_json: call.function.arguments,
                        },
                    );
                }
            }
            Message::Tool {
                content,
                tool_call_id,
            } => turns.push(
                Role::User,
                ContentPart::ToolResult {
                    id: tool_call_id,
                    content: text(content)?,
                    is_error: false,
                },
            ),
        }
    }
    Ok(turns)
}

fn tools(
    request_tools: Option<Vec<Tool>>,
    choice: Option<ToolChoiceParam>,
) -> Result<(Vec<ToolSpec>, ToolChoice)> {
    let specs: Vec<ToolSpec> = request_tools
        .unwrap_or_default()
        .into_iter()
        .map(|t| ToolSpec {
            name: t.function.name,
            description: t.function.description,
            input_schema_json: t
                .function
                .parameters
                .unwrap_or_else(|| json!({"type": "object", "properties": {}}))
                .to_string(),
        })
        .collect();
    let choice = match choice {
        Some(ToolChoiceParam::Mode(ToolMode::None)) => return Ok((Vec::new(), ToolChoice::Auto)),
        None | Some(ToolChoiceParam::Mode(ToolMode::Auto)) => ToolChoice::Auto,
        _ if specs.is_empty() => ToolChoice::Auto,
        Some(ToolChoiceParam::Mode(ToolMode::Required)) => ToolChoice::Any,
        Some(ToolChoiceParam::Named { function }) => {
            if !specs.iter().any(|s| s.name == function.name) {
                // Unconfirmed wording.
                return Err(invalid(format!("tool_choice names the function {}, which is not in tools. Add it to tools and try again.", function.name)));
            }
            ToolChoice::Tool(function.name)
        }
    };
    Ok((specs, choice))
}

impl InvokeDialect for OpenAi {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn decode(&self, body: &[u8], traits: &ModelTraits) -> Result<Decoded> {
        let request = parse(body)?;
        if request.messages.is_empty() {
            return Err(invalid("messages: must contain at least one message")); // unconfirmed
        }
        let max_tokens = match request.max_completion_tokens.or(request.max_tokens) {
            // Unconfirmed wording.
            Some(0) => return Err(invalid("max_completion_tokens must be at least 1")),
            Some(n) if n > traits.max_output_tokens => {
                let limit = traits.max_output_tokens;
                return Err(invalid(format!("The maximum tokens you requested exceeds the model limit of {limit}. Try again with a maximum tokens value that is lower than {limit}.")));
            }
            Some(n) => n,
            None => traits
                .default_max_tokens
                .clamp(1, traits.max_output_tokens.max(1)),
        };
        let temperature = request.temperature.unwrap_or(DEFAULT_TEMPERATURE);
        if !(0.0..=2.0).contains(&temperature) {
            return Err(invalid("temperature must be between 0 and 2")); // unconfirmed
        }
        let top_p = request.top_p.unwrap_or(DEFAULT_TOP_P);
        if !(0.0..=1.0).contains(&top_p) {
            return Err(invalid("top_p must be between 0 and 1")); // unconfirmed
        }
        match request.n {
            Some(0) => return Err(invalid("n must be at least 1")), // unconfirmed
            // Unconfirmed wording: the local engine generates one choice per request.
            Some(n) if n > 1 => {
                return Err(DialectError::Unsupported(
                    "This model doesn't support n greater than 1. Try again with n set to 1."
                        .to_owned(),
                ))
            }
            _ => {}
        }
        let (specs, tool_choice) = tools(request.tools, request.tool_choice)?;
        let stop_sequences = match request.stop {
            None => Vec::new(),
            Some(Stop::One(s)) => vec![s],
            Some(Stop::Many(list)) => list,
        };
        let include_usage = request.stream_options.is_some_and(|o| o.include_usage);
        Ok(Decoded {
            prompt: conversation(request.messages)?.into_prompt(specs, tool_choice),
            max_tokens,
            sampling: SamplingParams {
                temperature,
                top_p: Some(top_p),
                top_k: None,
                seed: 0,
            },
            stop_sequences: stop_sequences
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
            cache_point: None,
            echo: json!({"model": request.model, "stream": request.stream, "include_usage": include_usage}),
            reasoning_budget: None,
        })
    }

    /// The `model` and `stream` members against the call ([`check_invocation`]).
    fn check_model(&self, model_id: &str, streaming: bool, decoded: &Decoded) -> Result<()> {
        check_invocation(&decoded.echo, model_id, streaming)
    }

    fn encode(&self, ctx: &ResponseCtx, completion: &Completion) -> Vec<u8> {
        json!({
            "id": completion_id(ctx),
            "object": "chat.completion",
            "created": ctx.created_unix,
            "model": ctx.model_id,
            "choices": [chat_completion::choice_json(completion, false)],
            "usage": chat_completion::usage_json(completion.usage),
        })
        .to_string()
        .into_bytes()
    }

    fn chunk_encoder(&self, ctx: &ResponseCtx) -> Box<dyn ChunkEncoder> {
        let include_usage = ctx.echo.get("include_usage").and_then(Value::as_bool) == Some(true);
        Box::new(DeltaChunks::new(
            completion_id(ctx),
            Envelope::OpenAi {
                created: ctx.created_unix,
                model: ctx.model_id.clone(),
                include_usage,
            },
        ))
    }
}

/// Bedrock's checks of `model` and `stream` (see the module docs): `echo` is the
/// [`Decoded::echo`] of an `openai.*` body, `model_id` the path's model id without geo prefix,
/// `streaming` true for InvokeModelWithResponseStream. The messages are **unconfirmed**.
pub fn check_invocation(echo: &Value, model_id: &str, streaming: bool) -> Result<()> {
    check_model_member(echo, model_id)?;
    match echo.get("stream").and_then(Value::as_bool) {
        Some(true) if !streaming => Err(invalid("The stream field must be false for InvokeModel. Omit it or set it to false, and try again.")),
        Some(false) if streaming => Err(invalid("The stream field must be true for InvokeModelWithResponseStream. Omit it or set it to true, and try again.")),
        _ => Ok(()),
    }
}

/// `model`, when present, must be the path's model id.
fn check_model_member(echo: &Value, model_id: &str) -> Result<()> {
    match echo.get("model").and_then(Value::as_str) {
        Some(model) if model != model_id => Err(invalid(format!("The model field in the request body ({model}) doesn't match the model ID {model_id}. Omit the model field or set it to the model ID, and try again."))),
        _ => Ok(()),
    }
}

/// `chatcmpl-` and the response id.
fn completion_id(ctx: &ResponseCtx) -> String {
    format!("chatcmpl-{}", ctx.response_id)
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod tests;
