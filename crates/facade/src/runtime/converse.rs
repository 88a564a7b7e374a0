//! `POST /model/{modelId}/converse`.

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bedrock_local_dialects::converse;

use crate::error::ApiError;
use crate::routes::RequestCtx;
use crate::runtime::{ensure_text, generate, model_traits};
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
    let completion = generate(
        state,
        &resolved,
        request.decoded.clone(),
        ctx.started,
        "converse",
    )
    .await?;
    let body = converse::encode_response(&request, &completion);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
