//! `POST /model/{modelId}/converse`.

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bedrock_local_core::GenerateRequest;
use bedrock_local_dialects::converse;

use crate::error::ApiError;
use crate::routes::RequestCtx;
use crate::runtime::{complete, ensure_text, model_traits, request_seed};
use crate::state::AppState;

/// Converse: resolve, decode, generate, encode.
pub async fn converse(
    state: &AppState,
    ctx: &RequestCtx,
    model_id: &str,
    body: Bytes,
) -> Result<Response, ApiError> {
    let resolved = state.registry.resolve(model_id)?;
    ensure_text(&resolved)?;
    let traits = model_traits(state, &resolved);
    let request = converse::decode_request(&body, &traits)?;
    let mut sampling = request.decoded.sampling;
    sampling.seed = request_seed(state);
    let completion = complete(
        state,
        GenerateRequest {
            model: resolved.local.clone(),
            prompt: request.decoded.prompt.clone(),
            max_tokens: request.decoded.max_tokens,
            sampling,
            stop_sequences: request.decoded.stop_sequences.clone(),
        },
        ctx.started,
    )
    .await?;
    tracing::info!(
        model_id,
        local = %resolved.local,
        prompt_tokens = completion.usage.input_tokens,
        output_tokens = completion.usage.output_tokens,
        stop_reason = ?completion.stop_reason,
        "converse"
    );
    let body = converse::encode_response(&request, &completion);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
