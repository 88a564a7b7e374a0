//! `POST /model/{modelId}/converse` and `/converse-stream`: one body for every model.

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bedrock_local_core::{StopReason, Usage};
use bedrock_local_dialects::converse::{self, stream::Encoder};
use bedrock_local_doubles::Api;

use crate::error::ApiError;
use crate::routes::RequestCtx;
use crate::runtime::stream::{self, Framer, LogFields, Timing};
use crate::runtime::{ensure_streaming, ensure_text, generate, model_traits, Caller};
use crate::state::AppState;

/// Converse: resolve, decode, generate, encode.
pub async fn converse(
    state: &AppState,
    ctx: &RequestCtx,
    model_id: &str,
    body: Bytes,
) -> Result<Response, ApiError> {
    let resolved = crate::runtime::resolve(state, model_id)?;
    ensure_text(&resolved)?;
    let traits = model_traits(state, &resolved);
    let request = converse::decode_request(&body, &traits)?;
    let completion = generate(
        state,
        &resolved,
        request.decoded.clone(),
        ctx.started,
        Caller::interactive("converse", Api::Converse),
        &body,
    )
    .await?;
    let body = converse::encode_response(&request, &completion);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// ConverseStream: the same validation as Converse, then the events of §3.4 as tokens arrive.
pub async fn converse_stream(
    state: &AppState,
    ctx: &RequestCtx,
    model_id: &str,
    body: Bytes,
) -> Result<Response, ApiError> {
    let resolved = crate::runtime::resolve(state, model_id)?;
    ensure_streaming(&resolved)?;
    ensure_text(&resolved)?;
    let traits = model_traits(state, &resolved);
    let request = converse::decode_request(&body, &traits)?;
    let generation = stream::start(
        state,
        &resolved,
        request.decoded,
        ctx.started,
        Api::ConverseStream,
        &body,
    )
    .await?;
    let log = LogFields {
        api: "converse-stream",
        model_id: resolved.requested.clone(),
        local: resolved.local.to_string(),
    };
    Ok(stream::response(
        generation,
        ConverseFramer(Encoder::new(request.echo)),
        log,
        &[],
    ))
}

/// ConverseStream frames: the dialect's event payloads, framed.
struct ConverseFramer(Encoder);

fn frames(events: Vec<converse::stream::StreamEvent>) -> Vec<Vec<u8>> {
    events
        .into_iter()
        .map(|(event_type, payload)| stream::frame(event_type, &payload))
        .collect()
}

impl Framer for ConverseFramer {
    fn start(&mut self, _prompt_tokens: u32) -> Vec<Vec<u8>> {
        frames(self.0.start())
    }

    fn text(&mut self, text: &str) -> Vec<Vec<u8>> {
        frames(self.0.text(text))
    }

    fn reasoning(&mut self, text: &str) -> Vec<Vec<u8>> {
        frames(self.0.reasoning(text))
    }

    fn tool_call(&mut self, id: &str, name: &str, input_json: &str) -> Vec<Vec<u8>> {
        frames(self.0.tool_call(id, name, input_json))
    }

    fn finish(&mut self, stop_reason: &StopReason, usage: Usage, timing: Timing) -> Vec<Vec<u8>> {
        frames(self.0.finish(stop_reason, usage, timing.total_ms))
    }

    fn has_model_timeout(&self) -> bool {
        false
    }
}
