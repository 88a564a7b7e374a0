//! Which handler serves a request.
//!
//! Stage 1 tells S3 from Bedrock by the SigV4 credential scope (every Bedrock API signs as
//! `bedrock`; S3 as `s3`). Stage 2 matches whole raw path segments, each percent-decoded
//! after splitting: botocore sends `%3A` inside model ids, the Anthropic SDK a raw `:`, and a
//! model ARN arrives as one segment with `%2F` in it. Handlers get decoded segments and bytes.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use bedrock_local_aws::sigv4::Auth;

use crate::error::ApiError;
use crate::state::AppState;
use crate::{control, doubles_api, health, record, runtime};

/// What a handler knows about its request besides the body.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    /// Region from the credential scope, else the configured one.
    pub region: String,
    /// Query parameters (last value wins).
    pub query: HashMap<String, String>,
    /// When the request arrived.
    pub started: std::time::Instant,
}

/// Control-plane path prefixes we recognise but do not implement yet: they get a clear
/// error instead of falling through to "unknown operation".
const UNIMPLEMENTED_CONTROL: &[&str] = &[
    "guardrails",
    "custom-models",
    "model-customization-jobs",
    "model-import-jobs",
    "imported-models",
    "model-copy-jobs",
    "provisioned-model-throughput",
    "provisioned-model-throughputs",
    "evaluation-job",
    "evaluation-jobs",
    "logging",
    "prompt-routers",
    "marketplace-model",
    "automated-reasoning-policies",
    "async-invoke",
    "guardrail",
];

/// The one entry point of the router.
pub async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    match route(state, request).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn route(state: AppState, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // Signatures are never verified; a malformed Authorization header is simply no scope.
    let auth = Auth::from_request(authorization, parts.uri.query()).unwrap_or(Auth::None);
    let region = auth
        .scope()
        .map(|s| s.region.clone())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| state.config.region.clone());
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let ctx = RequestCtx {
        region,
        query,
        started: std::time::Instant::now(),
    };

    if is_s3(&auth, &parts.headers) {
        return Ok(match &state.s3 {
            Some(s3) => s3
                .handle(Request::from_parts(parts, body))
                .await
                .map(Body::new),
            None => s3_not_implemented(),
        });
    }

    let segments = bedrock_local_aws::path::split_path(parts.uri.path())
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = parts.method.clone();

    match (&method, segs.as_slice()) {
        (&Method::GET, [] | ["health"] | ["_localstack", "health"]) => {
            Ok(health::health(&state).into_response())
        }
        (_, ["_bedrock_local", rest @ ..]) => {
            let body = read_body(body, None, state.config.max_body_bytes).await?;
            Ok(doubles_api::handle(
                &state, &method, rest, &ctx.query, &body,
            ))
        }
        (&Method::GET, ["foundation-models"]) => control::models::list(&state, &ctx),
        (&Method::GET, ["foundation-models", id]) => control::models::get(&state, &ctx, id),
        (&Method::GET, ["inference-profiles"]) => control::profiles::list(&state, &ctx),
        (&Method::POST, ["inference-profiles"]) => {
            let body = read_body(body, None, state.config.max_body_bytes).await?;
            control::profiles::create(&state, &ctx, &body)
        }
        (&Method::GET, ["inference-profiles", id]) => control::profiles::get(&state, &ctx, id),
        (&Method::DELETE, ["inference-profiles", id]) => control::profiles::delete(&state, id),
        (_, ["inference-profiles", ..]) => Err(unknown_operation()),
        (&Method::POST, [op @ ("tagResource" | "untagResource" | "listTagsForResource")]) => {
            let body = read_body(body, None, state.config.max_body_bytes).await?;
            match *op {
                "tagResource" => control::tags::tag(&state, &body),
                "untagResource" => control::tags::untag(&state, &body),
                _ => control::tags::list(&state, &body),
            }
        }
        (&Method::POST, ["model-invocation-job"]) => {
            let body = read_body(body, None, state.config.max_body_bytes).await?;
            control::jobs::create(&state, &ctx, &body)
        }
        (&Method::GET, ["model-invocation-job", id]) => control::jobs::get(&state, id),
        (&Method::POST, ["model-invocation-job", id, "stop"]) => control::jobs::stop(&state, id),
        (&Method::GET, ["model-invocation-jobs"]) => control::jobs::list(&state, &ctx),
        (_, ["model-invocation-job" | "model-invocation-jobs", ..]) => Err(unknown_operation()),
        (&Method::POST, ["model", id, op]) => {
            let id = id.to_string();
            let op = op.to_string();
            let content_length = parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            let body = read_body(body, content_length, state.config.max_body_bytes).await?;
            if let Some(response) =
                record::intercept(&state, &ctx, &parts.headers, &id, &op, &body).await?
            {
                return Ok(response);
            }
            match op.as_str() {
                "invoke" => runtime::invoke::invoke(&state, &ctx, &id, body).await,
                "converse" => runtime::converse::converse(&state, &ctx, &id, body).await,
                "invoke-with-response-stream" => {
                    runtime::invoke::invoke_stream(&state, &ctx, &id, body).await
                }
                "converse-stream" => {
                    runtime::converse::converse_stream(&state, &ctx, &id, body).await
                }
                "count-tokens" => {
                    runtime::count_tokens::count_tokens(&state, &ctx, &id, body).await
                }
                "invoke-with-bidirectional-stream" => Err(not_implemented(&op)),
                _ => Err(unknown_operation()),
            }
        }
        (_, [first, ..]) if UNIMPLEMENTED_CONTROL.contains(first) => Err(not_implemented(first)),
        _ => Err(unknown_operation()),
    }
}

/// Bytes of an oversized body we still read (and discard) before answering, so a client that
/// is still sending sees the 4xx instead of a broken pipe. Beyond this the connection drops.
const OVERSIZE_DRAIN_CAP: usize = 64 * 1024 * 1024;

/// Reads the body, refusing more than `limit` bytes with a clean ValidationException.
async fn read_body(
    body: Body,
    content_length: Option<usize>,
    limit: usize,
) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;

    let too_large = || {
        ApiError::validation(format!(
            "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to {limit}"
        ))
    };
    let mut body = body;
    let mut buffer = Vec::with_capacity(content_length.unwrap_or(0).min(limit));
    let mut seen = 0usize;
    let mut oversized = content_length.is_some_and(|len| len > limit);
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(ApiError::validation(
                "The request body could not be read completely.",
            ));
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > limit {
            oversized = true;
        }
        if oversized {
            if seen > limit.saturating_add(OVERSIZE_DRAIN_CAP) {
                break;
            }
            continue;
        }
        buffer.extend_from_slice(&data);
    }
    if oversized {
        return Err(too_large());
    }
    Ok(Bytes::from(buffer))
}

fn not_implemented(what: &str) -> ApiError {
    ApiError::not_implemented(format!(
        "The operation behind '{what}' is not implemented by bedrock-local yet."
    ))
}

fn unknown_operation() -> ApiError {
    ApiError::unknown_operation()
}

/// Stage 1 of routing (bedrock-wire §1.6): the credential scope decides; without one, a Bearer
/// token means Bedrock, an S3 host name (`<bucket>.localhost`, `s3.…`) means S3, and
/// botocore's S3 client is recognised by `x-amz-content-sha256`.
fn is_s3(auth: &Auth, headers: &axum::http::HeaderMap) -> bool {
    match auth {
        Auth::SigV4(scope) => scope.service == "s3",
        Auth::Bearer => false,
        Auth::None => {
            let s3_host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|h| {
                    bedrock_local_store::classify_host(h) != bedrock_local_store::S3HostKind::Other
                });
            s3_host || headers.contains_key("x-amz-content-sha256")
        }
    }
}

/// S3 requests when no S3 endpoint is attached (tests that build a bare AppState).
fn s3_not_implemented() -> Response {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NotImplemented</Code><Message>bedrock-local does not serve S3 yet.</Message></Error>";
    (
        axum::http::StatusCode::NOT_IMPLEMENTED,
        [(header::CONTENT_TYPE, "application/xml")],
        body,
    )
        .into_response()
}
