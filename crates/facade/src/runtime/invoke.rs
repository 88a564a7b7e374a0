//! `POST /model/{modelId}/invoke` and `/invoke-with-response-stream`: the provider's own body
//! format, chosen by the model id.

use axum::body::Bytes;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bedrock_local_core::{Priority, StopReason, Usage};
use bedrock_local_dialects::{
    ChunkEncoder, Decoded, InvocationMetrics, InvokeDialect, ResponseCtx,
};
use bedrock_local_doubles::Api;
use bedrock_local_registry::Resolved;

use crate::error::ApiError;
use crate::routes::RequestCtx;
use crate::runtime::embed;
use crate::runtime::stream::{self, Framer, LogFields, Timing};
use crate::runtime::{ensure_streaming, ensure_text, generate, model_traits, response_ctx, Caller};
use crate::state::AppState;

/// The body format local names (`ollama.x`, `local.x`) speak: they have no provider, so they
/// take the Meta Llama body (`prompt`, `max_gen_len`, ...), the simplest prompt format.
const LOCAL_NAME_DIALECT: &str = "meta.llama3-8b-instruct-v1:0";

/// A request resolved and decoded by its provider's dialect.
pub struct DecodedInvoke {
    /// The model the id resolved to.
    pub resolved: Resolved,
    /// The dialect of the model id's provider.
    pub dialect: &'static dyn InvokeDialect,
    /// The decoded body (its `echo` moved into `response`).
    pub decoded: Decoded,
    /// The identity of the response this body gets.
    pub response: ResponseCtx,
}

/// Decodes `body` with the dialect of the resolved model's provider (`streaming`: for
/// InvokeModelWithResponseStream, which some models refuse).
pub fn decode(
    state: &AppState,
    resolved: Resolved,
    body: &[u8],
    streaming: bool,
) -> Result<DecodedInvoke, ApiError> {
    if streaming {
        ensure_streaming(&resolved)?;
    }
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
    let mut decoded = dialect.decode(body, &traits)?;
    dialect.check_model(&dialect_id, streaming, &decoded)?;
    let response = response_ctx(
        &dialect_id,
        std::mem::take(&mut decoded.echo),
        decoded.cache_point.is_some(),
    );
    Ok(DecodedInvoke {
        resolved,
        dialect,
        decoded,
        response,
    })
}

/// InvokeModel: resolve, decode with the provider's dialect, generate (or embed, for
/// embedding models), encode, add the token-count and latency headers real Bedrock sends.
pub async fn invoke(
    state: &AppState,
    ctx: &RequestCtx,
    model_id: &str,
    body: Bytes,
) -> Result<Response, ApiError> {
    let resolved = crate::runtime::resolve(state, model_id)?;
    if embed::is_embedding(&resolved) {
        let out = embed::run(state, &resolved, &body, Priority::Interactive).await?;
        let latency_ms = ctx.started.elapsed().as_millis() as u64;
        tracing::info!(
            api = "invoke-embed",
            model_id = %resolved.requested,
            local = %resolved.local,
            input_tokens = out.input_tokens,
            latency_ms,
            "embedded"
        );
        return Ok(json_response(
            out.body,
            &[
                (
                    "X-Amzn-Bedrock-Input-Token-Count",
                    u64::from(out.input_tokens),
                ),
                ("X-Amzn-Bedrock-Invocation-Latency", latency_ms),
            ],
        ));
    }
    let DecodedInvoke {
        resolved,
        dialect,
        decoded,
        response,
    } = decode(state, resolved, &body, false)?;
    let completion = generate(
        state,
        &resolved,
        decoded,
        ctx.started,
        Caller::interactive("invoke", Api::InvokeModel),
        &body,
    )
    .await?;
    let usage = completion.usage;
    let mut headers = vec![
        (
            "X-Amzn-Bedrock-Input-Token-Count",
            u64::from(usage.input_tokens),
        ),
        (
            "X-Amzn-Bedrock-Output-Token-Count",
            u64::from(usage.output_tokens),
        ),
        ("X-Amzn-Bedrock-Invocation-Latency", completion.latency_ms),
    ];
    if response.prompt_caching {
        headers.push((
            "X-Amzn-Bedrock-Cache-Read-Input-Token-Count",
            u64::from(usage.cache_read_input_tokens),
        ));
        headers.push((
            "X-Amzn-Bedrock-Cache-Write-Input-Token-Count",
            u64::from(usage.cache_write_input_tokens),
        ));
    }
    Ok(json_response(
        dialect.encode(&response, &completion),
        &headers,
    ))
}

/// A JSON body with Bedrock's numeric headers.
fn json_response(body: Vec<u8>, headers: &[(&'static str, u64)]) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(*name, HeaderValue::from(*value));
    }
    response
}

/// InvokeModelWithResponseStream: the provider's own stream chunks, each base64-encoded into
/// one `chunk` event, the last carrying `amazon-bedrock-invocationMetrics`.
pub async fn invoke_stream(
    state: &AppState,
    ctx: &RequestCtx,
    model_id: &str,
    body: Bytes,
) -> Result<Response, ApiError> {
    let DecodedInvoke {
        resolved,
        dialect,
        decoded,
        response,
    } = decode(
        state,
        crate::runtime::resolve(state, model_id)?,
        &body,
        true,
    )?;
    let encoder = dialect.chunk_encoder(&response);
    let prompt_caching = response.prompt_caching;
    let generation = stream::start(
        state,
        &resolved,
        decoded,
        ctx.started,
        Api::InvokeModelWithResponseStream,
        &body,
    )
    .await?;
    let log = LogFields {
        api: "invoke-stream",
        model_id: resolved.requested.clone(),
        local: resolved.local.to_string(),
    };
    Ok(stream::response(
        generation,
        ChunkFramer {
            encoder,
            prompt_caching,
        },
        log,
        &[("X-Amzn-Bedrock-Content-Type", "application/json")],
    ))
}

/// InvokeModelWithResponseStream frames: `chunk` events around the dialect's documents.
struct ChunkFramer {
    encoder: Box<dyn ChunkEncoder>,
    /// The request had a cache point: the invocation metrics carry the cache counts.
    prompt_caching: bool,
}

/// One `chunk` event: `{"bytes": base64(document)}`.
fn chunks(documents: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    documents
        .into_iter()
        .map(|doc| {
            let payload = serde_json::json!({
                "bytes": base64::engine::general_purpose::STANDARD.encode(doc)
            });
            stream::frame("chunk", payload.to_string().as_bytes())
        })
        .collect()
}

impl Framer for ChunkFramer {
    fn start(&mut self, prompt_tokens: u32) -> Vec<Vec<u8>> {
        chunks(self.encoder.start(prompt_tokens))
    }

    fn text(&mut self, text: &str) -> Vec<Vec<u8>> {
        chunks(self.encoder.text(text))
    }

    fn reasoning(&mut self, text: &str) -> Vec<Vec<u8>> {
        chunks(self.encoder.reasoning(text))
    }

    fn tool_call(&mut self, id: &str, name: &str, input_json: &str) -> Vec<Vec<u8>> {
        chunks(self.encoder.tool_call(id, name, input_json))
    }

    fn finish(&mut self, stop_reason: &StopReason, usage: Usage, timing: Timing) -> Vec<Vec<u8>> {
        let metrics = InvocationMetrics::new(
            usage,
            self.prompt_caching,
            timing.total_ms,
            timing.first_byte_ms,
        );
        chunks(self.encoder.finish(stop_reason, usage, &metrics))
    }

    fn has_model_timeout(&self) -> bool {
        true
    }
}
