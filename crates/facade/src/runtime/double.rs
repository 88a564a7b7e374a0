//! The test-double layer in front of the engine: every runtime generation (Converse,
//! ConverseStream, InvokeModel, InvokeModelWithResponseStream, in every body dialect) starts
//! here, at the core-types level, so rules see one shape whatever the API.
//!
//! Per call: the first matching rule (`bedrock_local_doubles::Rules`) decides; without one,
//! the echo models answer themselves and every other id goes to the engine. A rule may answer
//! with scripted text or a tool call (token counts from the local model's real tokenizer), an
//! AWS error (as the HTTP response, or in-stream after N text chunks on the streaming APIs),
//! a dropped connection, added latency, or pass through to the model. Every call, answered or
//! failed, is recorded in the call history with the rule that matched.

use std::time::Instant;

use bedrock_local_aws::error::AwsErrorCode;
use bedrock_local_core::{
    BackendError, ContentPart, GenerateRequest, GenerationEvent, GenerationStream, Prompt, Role,
    StopReason, Usage,
};
use bedrock_local_doubles::{
    chunks, Api, Call, CallError, CallRecord, Respond, ECHO_MODEL_ID, ECHO_REQUEST_MODEL_ID,
};
use bedrock_local_registry::Resolved;

use crate::error::ApiError;
use crate::state::AppState;

/// Events buffered between the engine (or a script) and the HTTP response.
const BUFFER: usize = 32;

/// One runtime call as the layer sees it.
pub struct Invocation<'a> {
    /// Which API.
    pub api: Api,
    /// The resolved model id (`requested` is what the caller sent).
    pub resolved: &'a Resolved,
    /// The request body, recorded in the history.
    pub body: &'a [u8],
    /// Extended thinking's budget, when the request enabled it (the model then reasons first).
    pub reasoning_budget: Option<u32>,
}

/// Whether `model_id` names one of the echo models.
pub fn is_echo(model_id: &str) -> bool {
    model_id == ECHO_MODEL_ID || model_id == ECHO_REQUEST_MODEL_ID
}

/// Starts a generation through the rules. Errors a rule asks for up front, and the engine's
/// own refusals, come back as `Err` (and are recorded).
pub async fn generate(
    state: &AppState,
    inv: Invocation<'_>,
    request: GenerateRequest,
) -> Result<GenerationStream, ApiError> {
    let started = Instant::now();
    let (last_user, whole) = prompt_texts(&request.prompt);
    let call = Call {
        api: inv.api,
        model_id: &inv.resolved.requested,
        last_user: &last_user,
        prompt: &whole,
    };
    let decision = state.doubles.rules.decide(&call);
    let rule = decision.as_ref().map(|d| d.rule_id.clone());
    let echo = is_echo(&inv.resolved.requested);
    let streaming = inv.api.streaming();
    // Whether the local model generates for this call (the history names it only then).
    let uses_model = !echo
        && match decision.as_ref().map(|d| &d.respond) {
            None | Some(Respond::Passthrough) => true,
            Some(Respond::Error { after_chunks, .. }) => after_chunks.is_some() && streaming,
            Some(Respond::Drop { after_chunks }) => after_chunks.unwrap_or(0) > 0 && streaming,
            Some(Respond::Text(_) | Respond::ToolCall { .. }) => false,
        };
    let mut record = CallRecord::new(inv.api, inv.resolved.requested.clone());
    record.local_model = uses_model.then(|| inv.resolved.local.to_string());
    record.request = body_json(inv.body);
    record.rule = rule;
    let recorder = Recorder {
        state: state.clone(),
        record,
        started,
    };
    if let Some(delay) = decision.as_ref().and_then(|d| d.delay) {
        tokio::time::sleep(delay).await;
    }
    let respond = decision.map_or(Respond::Passthrough, |d| d.respond);
    // What "the model" is for this call: the echo script or the engine.
    let model = |request: GenerateRequest| async {
        if echo {
            let text = echo_text(&inv.resolved.requested, &last_user, &request);
            scripted(state, request, Script::Text(text)).await
        } else {
            super::reasoning::model_stream(state, request, inv.reasoning_budget)
        }
    };
    let (inner, cut) = match respond {
        Respond::Passthrough => (model(request).await, None),
        Respond::Text(text) => (scripted(state, request, Script::Text(text)).await, None),
        Respond::ToolCall { name, input } => (
            scripted(state, request, Script::Tool(name, input.to_string())).await,
            None,
        ),
        Respond::Error {
            code,
            message,
            after_chunks: Some(n),
        } if streaming => (
            model(request).await,
            Some((n, injected(&code, message.as_deref()))),
        ),
        Respond::Error { code, message, .. } => (
            Err(ApiError::from(injected(&code, message.as_deref()))),
            None,
        ),
        Respond::Drop {
            after_chunks: Some(n),
        } if streaming && n > 0 => (model(request).await, Some((n, BackendError::Disconnected))),
        Respond::Drop { .. } => (Err(ApiError::from(BackendError::Disconnected)), None),
    };
    match inner {
        Ok(stream) => Ok(recorded(stream, recorder, cut)),
        Err(e) => {
            recorder.failed(&e);
            Err(e)
        }
    }
}

/// The error a rule names (its code was validated when the rule was added).
fn injected(code: &str, message: Option<&str>) -> BackendError {
    BackendError::Injected {
        code: code.to_string(),
        message: message.map_or_else(|| default_message(code), str::to_string),
    }
}

/// The real service's wording for the injectable codes.
fn default_message(code: &str) -> String {
    match AwsErrorCode::from_name(code) {
        Some(AwsErrorCode::Throttling) => "Too many requests, please wait before trying again.",
        Some(AwsErrorCode::ModelTimeout) => {
            "Model has timed out in processing the request. Try your request again."
        }
        Some(AwsErrorCode::ServiceUnavailable) => "Service Unavailable. Please try again later.",
        Some(AwsErrorCode::ModelNotReady) => {
            "Model is not ready to serve inference requests. Try again later."
        }
        _ => "Injected by a bedrock-local rule.",
    }
    .to_string()
}

/// The last user message's text and the whole prompt as text (what rules match).
fn prompt_texts(prompt: &Prompt) -> (String, String) {
    match prompt {
        Prompt::Raw(text) => (text.clone(), text.clone()),
        Prompt::Chat {
            system, messages, ..
        } => {
            let text_of = |content: &[ContentPart]| {
                content
                    .iter()
                    .filter_map(|p| match p {
                        ContentPart::Text(t) => Some(t.as_str()),
                        ContentPart::ToolResult { content, .. } => Some(content.as_str()),
                        ContentPart::ToolUse { .. } => None,
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let last_user = messages
                .iter()
                .rev()
                .find(|m| m.role == Role::User)
                .map(|m| text_of(&m.content))
                .unwrap_or_default();
            let whole = system
                .iter()
                .cloned()
                .chain(messages.iter().map(|m| text_of(&m.content)))
                .collect::<Vec<_>>()
                .join("\n");
            (last_user, whole)
        }
    }
}

/// What an echo model answers: the last user message, or a JSON description of the request.
fn echo_text(model_id: &str, last_user: &str, request: &GenerateRequest) -> String {
    if model_id != ECHO_REQUEST_MODEL_ID {
        return last_user.to_string();
    }
    let (system, messages, tools) = match &request.prompt {
        Prompt::Raw(text) => (
            None,
            vec![serde_json::json!({"role": "user", "text": text})],
            0,
        ),
        Prompt::Chat {
            system,
            messages,
            tools,
            ..
        } => (
            system.clone(),
            messages
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "role": if m.role == Role::User { "user" } else { "assistant" },
                        "text": prompt_texts(&Prompt::Chat {
                            system: None,
                            messages: vec![m.clone()],
                            tools: Vec::new(),
                            tool_choice: Default::default(),
                        }).1,
                    })
                })
                .collect(),
            tools.len(),
        ),
    };
    serde_json::json!({
        "system": system,
        "messages": messages,
        "tools": tools,
        "max_tokens": request.max_tokens,
        "temperature": request.sampling.temperature,
        "stop_sequences": request.stop_sequences,
    })
    .to_string()
}

/// A scripted answer.
enum Script {
    Text(String),
    /// Tool name and input JSON.
    Tool(String, String),
}

/// A stream of scripted events with real token counts from the local model's tokenizer: the
/// prompt as the model would render it, the answer as raw text.
async fn scripted(
    state: &AppState,
    request: GenerateRequest,
    script: Script,
) -> Result<GenerationStream, ApiError> {
    let backend = state.backend.clone();
    let local = request.model.clone();
    let prompt = request.prompt;
    let answer = match &script {
        Script::Text(t) => t.clone(),
        Script::Tool(name, input) => format!("{name} {input}"),
    };
    let counts = tokio::task::spawn_blocking(move || {
        let input = backend.count_tokens(&local, &prompt)?.prompt_tokens;
        if answer.is_empty() {
            return Ok::<_, BackendError>((input, 0));
        }
        // A raw text may be counted with the model's BOS token: "a" is one token plus it.
        let bos = backend
            .count_tokens(&local, &Prompt::Raw("a".into()))?
            .prompt_tokens
            .saturating_sub(1);
        let output = backend.count_tokens(&local, &Prompt::Raw(answer))?;
        Ok((input, output.prompt_tokens.saturating_sub(bos)))
    })
    .await
    .map_err(ApiError::internal)??;
    let (input_tokens, output_tokens) = counts;
    let (tx, stream) = GenerationStream::channel(BUFFER);
    tokio::spawn(async move {
        let mut events = vec![GenerationEvent::Started {
            prompt_tokens: input_tokens,
        }];
        let stop_reason = match script {
            Script::Text(text) => {
                events.extend(chunks(&text).into_iter().map(GenerationEvent::Text));
                StopReason::EndTurn
            }
            Script::Tool(name, input_json) => {
                events.push(GenerationEvent::ToolCall { name, input_json });
                StopReason::ToolUse
            }
        };
        events.push(GenerationEvent::Finished {
            stop_reason,
            usage: Usage {
                input_tokens,
                output_tokens,
                ..Usage::default()
            },
        });
        for event in events {
            if tx.send(Ok(event)).await.is_err() {
                return;
            }
        }
    });
    Ok(stream)
}

/// Forwards `inner`, recording the outcome; with `cut = (n, error)`, ends with `error` after
/// `n` text chunks (the model's generation is cancelled by dropping `inner`).
fn recorded(
    mut inner: GenerationStream,
    recorder: Recorder,
    cut: Option<(u32, BackendError)>,
) -> GenerationStream {
    let (tx, outer) = GenerationStream::channel(BUFFER);
    tokio::spawn(async move {
        let mut outcome = Outcome::default();
        while let Some(event) = inner.next().await {
            let is_text = matches!(event, Ok(GenerationEvent::Text(_)));
            outcome.see(&event);
            // Only `Finished` and an error end a generation; any other event may follow.
            let finished = matches!(event, Ok(GenerationEvent::Finished { .. }) | Err(_));
            if tx.send(event).await.is_err() {
                outcome.error = Some(("Cancelled".into(), "the caller went away".into()));
                break;
            }
            if finished {
                break;
            }
            if let Some((n, error)) = &cut {
                if is_text && outcome.chunks >= *n {
                    outcome.see(&Err(error.clone()));
                    let _ = tx.send(Err(error.clone())).await;
                    break;
                }
            }
        }
        recorder.finish(outcome);
    });
    outer
}

/// What a forwarded stream produced.
#[derive(Default)]
struct Outcome {
    text: String,
    chunks: u32,
    tool_calls: Vec<serde_json::Value>,
    stop_reason: Option<StopReason>,
    usage: Option<Usage>,
    input_tokens: Option<u32>,
    error: Option<(String, String)>,
}

impl Outcome {
    fn see(&mut self, event: &Result<GenerationEvent, BackendError>) {
        match event {
            Ok(GenerationEvent::Started { prompt_tokens }) => {
                self.input_tokens = Some(*prompt_tokens)
            }
            Ok(GenerationEvent::Text(t)) => {
                self.text.push_str(t);
                self.chunks += 1;
            }
            // The history keeps the answer; reasoning is the model's working.
            Ok(GenerationEvent::Reasoning(_)) => {}
            Ok(GenerationEvent::ToolCall { name, input_json }) => {
                let input = serde_json::from_str(input_json)
                    .unwrap_or_else(|_| serde_json::Value::String(input_json.clone()));
                self.tool_calls
                    .push(serde_json::json!({"name": name, "input": input}));
            }
            Ok(GenerationEvent::Finished { stop_reason, usage }) => {
                self.stop_reason = Some(stop_reason.clone());
                self.usage = Some(*usage);
            }
            Err(e) => {
                let api = ApiError::from(e.clone());
                self.error = Some((api.code_name().to_string(), api.message));
            }
        }
    }
}

/// Builds and files one history record.
struct Recorder {
    state: AppState,
    record: CallRecord,
    started: Instant,
}

impl Recorder {
    fn failed(mut self, error: &ApiError) {
        self.record.error = Some(CallError {
            code: error.code_name().to_string(),
            message: error.message.clone(),
        });
        self.file();
    }

    fn finish(mut self, outcome: Outcome) {
        self.record.input_tokens = outcome
            .usage
            .map(|u| u.input_tokens + u.cache_read_input_tokens + u.cache_write_input_tokens)
            .or(outcome.input_tokens);
        self.record.output_tokens = outcome.usage.map(|u| u.output_tokens);
        self.record.response = Some(serde_json::json!({
            "text": outcome.text,
            "tool_calls": outcome.tool_calls,
            "stop_reason": outcome.stop_reason.as_ref().map(stop_reason_name),
        }));
        self.record.error = outcome
            .error
            .map(|(code, message)| CallError { code, message });
        self.file();
    }

    fn file(mut self) {
        self.record.latency_ms = self.started.elapsed().as_millis() as u64;
        self.state.doubles.history.push(self.record);
    }
}

fn stop_reason_name(reason: &StopReason) -> String {
    match reason {
        StopReason::EndTurn => "end_turn".into(),
        StopReason::MaxTokens => "max_tokens".into(),
        StopReason::StopSequence(s) => format!("stop_sequence:{s}"),
        StopReason::ToolUse => "tool_use".into(),
    }
}

/// The body as JSON, or as a JSON string when it is not JSON.
pub(crate) fn body_json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}
