//! `POST /model/{modelId}/count-tokens`: the exact prompt size, from the real tokenizer.
//!
//! The input is decoded by the same code as the call it stands for (Converse rules, or the
//! provider's InvokeModel dialect), and counted by the backend on the prompt exactly as a
//! generation would render it (chat template, tools, forced tool-call prefix), so the count
//! equals the `inputTokens` that Converse/InvokeModel report for the same input. Every local
//! text model supports it (real Bedrock supports a subset of Claude models; an emulator that
//! refused the rest would only get in the way of tests).

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bedrock_local_dialects::converse::{self, CountTokensInput};

use crate::error::ApiError;
use crate::routes::RequestCtx;
use crate::runtime::{ensure_text, invoke, model_traits};
use crate::state::AppState;

/// CountTokens: `{"inputTokens": n}`.
pub async fn count_tokens(
    state: &AppState,
    _ctx: &RequestCtx,
    model_id: &str,
    body: Bytes,
) -> Result<Response, ApiError> {
    let resolved = crate::runtime::resolve(state, model_id)?;
    ensure_text(&resolved)?;
    let traits = model_traits(state, &resolved);
    let prompt = match converse::decode_count_tokens(&body, &traits)? {
        CountTokensInput::Converse(request) => request.decoded.prompt,
        CountTokensInput::InvokeModel(bytes) => {
            invoke::decode(
                state,
                crate::runtime::resolve(state, model_id)?,
                &bytes,
                false,
            )?
            .decoded
            .prompt
        }
    };
    let backend = state.backend.clone();
    let local = resolved.local.clone();
    let count = tokio::task::spawn_blocking(move || backend.count_tokens(&local, &prompt))
        .await
        .map_err(ApiError::internal)??;
    let body = serde_json::json!({ "inputTokens": count.prompt_tokens }).to_string();
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
