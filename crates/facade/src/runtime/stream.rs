//! The streaming half of the runtime: ConverseStream and InvokeModelWithResponseStream share
//! one pump from engine events to event-stream frames.
//!
//! Order of failure reporting (bedrock-wire §3.3): everything that can be checked before the
//! first byte (model id, body, context overflow, queue full, model load) is a normal JSON
//! error response, because [`start`] waits for the engine's `Started` event before the 200 is
//! sent. A failure after that becomes one in-stream exception message of the matching type
//! ([`exception_frame`]) and ends the body; the body is never cut short silently.
//!
//! Frames leave as the engine produces them: the body is a stream over the engine's event
//! channel, so each token is framed and flushed on its own. Dropping the body (the client went
//! away) drops the engine stream, which cancels the generation at its next step.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use bedrock_local_aws::error::{AwsErrorCode, ErrorBody};
use bedrock_local_aws::eventstream;
use bedrock_local_core::{
    BackendError, GenerationEvent, GenerationStream, Priority, StopReason, Usage,
};
use bedrock_local_dialects::Decoded;
use bedrock_local_doubles::Api;
use bedrock_local_registry::Resolved;

use crate::error::{ApiError, ErrorCode};
use crate::runtime::{build_request, double};
use crate::state::AppState;

/// A generation whose prompt the engine accepted.
pub struct Started {
    stream: GenerationStream,
    prompt_tokens: u32,
    /// When the HTTP request arrived.
    started: Instant,
}

/// Starts generating and waits until the engine has accepted the prompt, so that every error
/// the engine finds up front is still a plain error response.
pub async fn start(
    state: &AppState,
    resolved: &Resolved,
    decoded: Decoded,
    started: Instant,
    api: Api,
    body: &[u8],
) -> Result<Started, ApiError> {
    let reasoning_budget = decoded.reasoning_budget;
    let request = build_request(state, resolved, decoded, Priority::Interactive);
    let call = double::Invocation {
        api,
        resolved,
        body,
        reasoning_budget,
    };
    let mut stream = double::generate(state, call, request).await?;
    match stream.next().await {
        Some(Ok(GenerationEvent::Started { prompt_tokens })) => Ok(Started {
            stream,
            prompt_tokens,
            started,
        }),
        Some(Ok(other)) => Err(ApiError::internal(format!(
            "the engine sent {other:?} before Started"
        ))),
        Some(Err(e)) => Err(e.into()),
        None => Err(ApiError::internal("the generation ended before it started")),
    }
}

/// Timing of one streamed response, for metrics.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Milliseconds from the request to the first content frame (the whole latency when none).
    pub first_byte_ms: u64,
    /// Milliseconds from the request to the end.
    pub total_ms: u64,
}

/// One API's encoding of engine events as event-stream frames. Each method returns complete
/// frames ([`eventstream::event_message`] bytes).
pub trait Framer: Send + 'static {
    /// Opening frames, once the prompt is accepted.
    fn start(&mut self, prompt_tokens: u32) -> Vec<Vec<u8>>;
    /// New text.
    fn text(&mut self, text: &str) -> Vec<Vec<u8>>;
    /// New reasoning text (extended thinking). Only APIs whose dialect enables thinking get
    /// any, so the others keep this default.
    fn reasoning(&mut self, _text: &str) -> Vec<Vec<u8>> {
        Vec::new()
    }
    /// A complete tool call with its minted id.
    fn tool_call(&mut self, id: &str, name: &str, input_json: &str) -> Vec<Vec<u8>>;
    /// Closing frames.
    fn finish(&mut self, stop_reason: &StopReason, usage: Usage, timing: Timing) -> Vec<Vec<u8>>;
    /// Whether this stream's union has `modelTimeoutException` (only InvokeModelWithResponseStream).
    fn has_model_timeout(&self) -> bool;
}

/// Frames an event, or an internal-error exception when the payload cannot be framed (a
/// payload over the 24 MiB client limit).
pub fn frame(event_type: &str, payload: &[u8]) -> Vec<u8> {
    eventstream::event_message(event_type, payload).unwrap_or_else(|e| {
        exception_frame(
            &ApiError::internal(format!("framing {event_type}: {e}")),
            false,
        )
    })
}

/// The in-stream exception for an error found after the stream started: its own type when the
/// stream union has one, otherwise `modelStreamErrorException` carrying the original status
/// and message.
pub fn exception_frame(error: &ApiError, has_model_timeout: bool) -> Vec<u8> {
    let streamable = match error.code {
        ErrorCode::Aws(AwsErrorCode::ModelTimeout) => has_model_timeout,
        ErrorCode::Aws(code) => code.in_stream_name().is_some(),
        ErrorCode::NotImplemented | ErrorCode::UnknownOperation | ErrorCode::Disconnect => false,
    };
    let body = match error.code {
        ErrorCode::Aws(code) if streamable => ErrorBody::new(code, error.message.clone()),
        _ => ErrorBody::new(
            AwsErrorCode::ModelStreamError,
            "The model encountered an error while streaming.",
        )
        .with_original_status_code(error.status().as_u16())
        .with_original_message(error.message.clone()),
    };
    // Both shapes above are stream members, so this cannot fail; an empty frame would be the
    // worst case, and the body ends right after it either way.
    eventstream::exception_message(&body).unwrap_or_default()
}

/// What the pump logs when the stream ends.
#[derive(Debug, Clone)]
pub struct LogFields {
    /// `converse-stream` or `invoke-stream`.
    pub api: &'static str,
    /// The model id the caller sent.
    pub model_id: String,
    /// The local model that answered.
    pub local: String,
}

struct Pump<F: Framer> {
    generation: Started,
    framer: F,
    first_byte_ms: Option<u64>,
    opened: bool,
    done: bool,
    /// A test-double rule dropped the connection: the body fails instead of ending.
    abort: bool,
    log: LogFields,
}

impl<F: Framer> Pump<F> {
    fn elapsed_ms(&self) -> u64 {
        self.generation.started.elapsed().as_millis() as u64
    }

    /// The frames of the next engine event; `None` at the end of the body.
    async fn next_frames(&mut self) -> Option<Vec<Vec<u8>>> {
        if self.done {
            return None;
        }
        if !self.opened {
            self.opened = true;
            return Some(self.framer.start(self.generation.prompt_tokens));
        }
        let event = self.generation.stream.next().await;
        let frames = match event {
            Some(Ok(GenerationEvent::Text(text))) => {
                self.first_byte_ms
                    .get_or_insert_with(|| self.generation.started.elapsed().as_millis() as u64);
                self.framer.text(&text)
            }
            Some(Ok(GenerationEvent::Reasoning(text))) => {
                self.first_byte_ms
                    .get_or_insert_with(|| self.generation.started.elapsed().as_millis() as u64);
                self.framer.reasoning(&text)
            }
            Some(Ok(GenerationEvent::ToolCall { name, input_json })) => {
                self.first_byte_ms
                    .get_or_insert_with(|| self.generation.started.elapsed().as_millis() as u64);
                let id = super::new_tool_use_id();
                self.framer.tool_call(&id, &name, &input_json)
            }
            Some(Ok(GenerationEvent::Started { .. })) => Vec::new(),
            Some(Ok(GenerationEvent::Finished { stop_reason, usage })) => {
                self.done = true;
                let total_ms = self.elapsed_ms();
                tracing::info!(
                    api = self.log.api,
                    model_id = %self.log.model_id,
                    local = %self.log.local,
                    prompt_tokens = usage.input_tokens,
                    cache_read_tokens = usage.cache_read_input_tokens,
                    cache_write_tokens = usage.cache_write_input_tokens,
                    output_tokens = usage.output_tokens,
                    stop_reason = ?stop_reason,
                    latency_ms = total_ms,
                    "streamed"
                );
                let timing = Timing {
                    first_byte_ms: self.first_byte_ms.unwrap_or(total_ms),
                    total_ms,
                };
                self.framer.finish(&stop_reason, usage, timing)
            }
            Some(Err(BackendError::Disconnected)) => {
                self.done = true;
                self.abort = true;
                tracing::info!(
                    api = self.log.api,
                    "connection dropped by a test-double rule"
                );
                Vec::new()
            }
            Some(Err(e)) => {
                self.done = true;
                let error = ApiError::from(e);
                tracing::warn!(api = self.log.api, code = error.code_name(), message = %error.message, "stream failed after start");
                vec![exception_frame(&error, self.framer.has_model_timeout())]
            }
            None => {
                self.done = true;
                let error = ApiError::internal("the generation ended without a result");
                vec![exception_frame(&error, self.framer.has_model_timeout())]
            }
        };
        Some(frames)
    }
}

/// The 200 response whose body streams `generation` through `framer`. `extra` headers are
/// added (InvokeModelWithResponseStream's `X-Amzn-Bedrock-Content-Type`).
pub fn response<F: Framer>(
    generation: Started,
    framer: F,
    log: LogFields,
    extra: &[(&'static str, &'static str)],
) -> Response {
    let pump = Pump {
        generation,
        framer,
        first_byte_ms: None,
        opened: false,
        done: false,
        abort: false,
        log,
    };
    let frames = futures::stream::unfold(pump, |mut pump| async move {
        loop {
            let frames = pump.next_frames().await?;
            if pump.abort {
                pump.abort = false;
                let dropped = std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "connection dropped by a test-double rule",
                );
                return Some((Err(dropped), pump));
            }
            if frames.is_empty() {
                continue;
            }
            let bytes = Bytes::from(frames.concat());
            return Some((Ok::<Bytes, std::io::Error>(bytes), pump));
        }
    });
    let mut response = Body::from_stream(frames).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(eventstream::CONTENT_TYPE),
    );
    for (name, value) in extra {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    response
}
