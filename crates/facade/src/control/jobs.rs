//! CreateModelInvocationJob, GetModelInvocationJob, ListModelInvocationJobs and
//! StopModelInvocationJob: thin handlers over the batch service.

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bedrock_local_batch::Batch;

use crate::error::ApiError;
use crate::routes::RequestCtx;
use crate::state::AppState;

fn batch(state: &AppState) -> Result<&Batch, ApiError> {
    state.batch.as_ref().ok_or_else(|| {
        ApiError::not_implemented("Batch inference jobs are not enabled in this server.")
    })
}

/// `POST /model-invocation-job`.
pub fn create(state: &AppState, ctx: &RequestCtx, body: &Bytes) -> Result<Response, ApiError> {
    Ok(Json(batch(state)?.create(body, &ctx.region)?).into_response())
}

/// `GET /model-invocation-job/{jobIdentifier}`.
pub fn get(state: &AppState, id: &str) -> Result<Response, ApiError> {
    Ok(Json(batch(state)?.get(id)?).into_response())
}

/// `GET /model-invocation-jobs`.
pub fn list(state: &AppState, ctx: &RequestCtx) -> Result<Response, ApiError> {
    Ok(Json(batch(state)?.list(&ctx.query)?).into_response())
}

/// `POST /model-invocation-job/{jobIdentifier}/stop`: `200 {}`.
pub fn stop(state: &AppState, id: &str) -> Result<Response, ApiError> {
    batch(state)?.stop(id)?;
    Ok(Json(serde_json::json!({})).into_response())
}
