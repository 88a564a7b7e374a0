//! `POST /model/{modelId}/invoke`: the provider's own body format, chosen by the model id.

use axum::body::Bytes;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::routes::RequestCtx;
use crate::runtime::{ensure_text, generate, model_traits, response_ctx};
use crate::state::AppState;

/// The body format local names (`ollama.x`, `local.x`) speak: they have no provider, so they
/// take the Meta Llama body (`prompt`, `max_gen_len`, ...), the simplest prompt format.
const LOCAL_NAME_DIALECT: &str = "meta.llama3-8b-instruct-v1:0";

/// InvokeModel: resolve, decode with the provider's dialect, generate, encode, add the
/// token-count and latency headers real Bedrock sends.
pub async fn invoke(
    state: &AppState,
    ctx: &RequestCtx,
    model_id: &str,
    body: Bytes,
) -> Result<Response, ApiError> {
    let resolved = state.registry.resolve(model_id)?;
    ensure_text(&resolved)?;
    let dialect_id = resolved
        .provider_model_id
        .clone()
        .unwrap_or_else(|| LOCAL_NAME_DIALECT.to_string());
    let Some(dialect) = bedrock_local_dialects::invoke_dialect(&dialect_id) else {
        return Err(ApiError::not_implemented(format!(
            "bedrock-local does not implement the InvokeModel body format of {dialect_id} yet; use Converse for this model."
        )));
    };
    let traits = model_traits(state, &resolved);
    let mut decoded = dialect.decode(&body, &traits)?;
    let decoded_echo = std::mem::take(&mut decoded.echo);
    let completion = generate(state, &resolved, decoded, ctx.started, "invoke").await?;
    let body = dialect.encode(&response_ctx(&dialect_id, decoded_echo), &completion);
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (
            "X-Amzn-Bedrock-Input-Token-Count",
            completion.usage.input_tokens as u64,
        ),
        (
            "X-Amzn-Bedrock-Output-Token-Count",
            completion.usage.output_tokens as u64,
        ),
        ("X-Amzn-Bedrock-Invocation-Latency", completion.latency_ms),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
    Ok(response)
}
