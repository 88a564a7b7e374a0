//! Record and replay of runtime calls, in front of every other runtime path.
//!
//! With `--record`, each of the five runtime operations is forwarded to the upstream on a
//! blocking thread (the cassette crate signs and sends it); the answer's status and kept
//! headers are returned at once and its body is passed on chunk by chunk as it arrives,
//! while the whole exchange is collected and written as a cassette before the body ends.
//! With `--replay`, the cassette for the request's key is answered byte for byte (one HTTP
//! body chunk per recorded event-stream message); a miss fails with a 404 naming the file
//! looked for, or falls through to the normal path, by policy.

use std::convert::Infallible;
use std::path::Path;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bedrock_local_aws::AwsErrorCode;
use bedrock_local_cassette::cassette::keep_header;
use bedrock_local_cassette::upstream::{forward_header, ForwardRequest};
use bedrock_local_cassette::{
    Cassette, Credentials, MissPolicy, Mode, NormalisedRequest, RecordedResponse, Upstream,
    OPERATIONS,
};
use bedrock_local_doubles::{Api, CallError, CallRecord, History};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;
use crate::routes::RequestCtx;
use crate::state::AppState;

/// Answers a runtime call from the cassettes or the upstream when the mode says so;
/// `Ok(None)` sends it down the normal path (mode off, another operation, or a replay miss
/// with the `model` policy).
pub(crate) async fn intercept(
    state: &AppState,
    ctx: &RequestCtx,
    headers: &HeaderMap,
    model_id: &str,
    operation: &str,
    body: &Bytes,
) -> Result<Option<Response>, ApiError> {
    if !OPERATIONS.contains(&operation) {
        return Ok(None);
    }
    match state.cassettes.as_ref() {
        Mode::Off => Ok(None),
        Mode::Replay { dir, miss } => {
            replay(state, ctx.started, dir, *miss, model_id, operation, body).await
        }
        Mode::Record { dir, upstream } => record(
            state, dir, upstream, ctx, headers, model_id, operation, body,
        )
        .await
        .map(Some),
    }
}

async fn replay(
    state: &AppState,
    started: std::time::Instant,
    dir: &Path,
    miss: MissPolicy,
    model_id: &str,
    operation: &str,
    body: &Bytes,
) -> Result<Option<Response>, ApiError> {
    let request = NormalisedRequest::new("POST", operation, model_id, body);
    let found = {
        let dir = dir.to_path_buf();
        let request = request.clone();
        tokio::task::spawn_blocking(move || Cassette::find(&dir, &request))
            .await
            .map_err(ApiError::internal)?
    };
    let cassette = match found {
        Ok(Some(cassette)) => cassette,
        Ok(None) if miss == MissPolicy::Model => return Ok(None),
        Ok(None) => {
            return Err(ApiError::new(
                AwsErrorCode::ResourceNotFound,
                format!(
                    "bedrock-local replay: no cassette matches this {operation} request for model {model_id} (looked for {} in {})",
                    request.file_name(),
                    dir.display()
                ),
            ))
        }
        Err(e) => {
            return Err(ApiError::new(
                AwsErrorCode::InternalServer,
                format!("bedrock-local replay: {e}"),
            ))
        }
    };
    tracing::debug!(file = %request.file_name(), "answered from a cassette");
    remember(
        &state.doubles.history,
        Exchange {
            operation,
            model_id,
            body,
            status: cassette.response.status,
            headers: &cassette.response.headers,
            answer: cassette.response.body.as_deref(),
            cassette: request.file_name(),
            latency_ms: started.elapsed().as_millis() as u64,
        },
    );
    let chunks = cassette.response.chunks().map_err(|e| {
        ApiError::new(
            AwsErrorCode::InternalServer,
            format!("bedrock-local replay: {}: {e}", request.file_name()),
        )
    })?;
    let body = if cassette.response.events.is_some() {
        Body::from_stream(futures::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<Bytes, Infallible>(Bytes::from(c))),
        ))
    } else {
        Body::from(chunks.concat())
    };
    Ok(Some(respond(
        cassette.response.status,
        &cassette.response.headers,
        body,
    )))
}

/// A response with this status, these headers (the kept ones) and body.
fn respond(status: u16, headers: &[(String, String)], body: Body) -> Response {
    let mut response = body.into_response();
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let out = response.headers_mut();
    for (name, value) in headers.iter().filter(|(k, _)| keep_header(k)) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            out.insert(name, value);
        }
    }
    response
}

/// What the forwarding thread reports before the body: the head, or why there is none.
type Head = Result<(u16, Vec<(String, String)>), bedrock_local_cassette::Error>;

#[allow(clippy::too_many_arguments)]
async fn record(
    state: &AppState,
    dir: &Path,
    upstream: &Upstream,
    ctx: &RequestCtx,
    headers: &HeaderMap,
    model_id: &str,
    operation: &str,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let forwarded: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| forward_header(k.as_str()))
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let (head_tx, head_rx) = oneshot::channel::<Head>();
    let (chunk_tx, mut chunk_rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(32);
    let job = Job {
        dir: dir.to_path_buf(),
        upstream: upstream.clone(),
        region: ctx.region.clone(),
        model_id: model_id.to_string(),
        operation: operation.to_string(),
        headers: forwarded,
        body: body.clone(),
        history: state.doubles.clone(),
        started: ctx.started,
    };
    tokio::task::spawn_blocking(move || job.run(head_tx, chunk_tx));
    let (status, upstream_headers) = match head_rx.await {
        Ok(Ok(head)) => head,
        Ok(Err(bedrock_local_cassette::Error::Credentials(why))) => {
            return Err(ApiError::new(
                AwsErrorCode::AccessDenied,
                format!("bedrock-local record mode: AWS credentials: {why}"),
            ))
        }
        Ok(Err(e)) => {
            return Err(ApiError::new(
                AwsErrorCode::ServiceUnavailable,
                format!("bedrock-local record mode: {e}"),
            ))
        }
        Err(_) => return Err(ApiError::internal("the forwarding thread ended early")),
    };
    let stream = futures::stream::poll_fn(move |cx| chunk_rx.poll_recv(cx));
    Ok(respond(
        status,
        &upstream_headers,
        Body::from_stream(stream),
    ))
}

/// One forwarded call, run on a blocking thread.
struct Job {
    dir: std::path::PathBuf,
    upstream: Upstream,
    region: String,
    model_id: String,
    operation: String,
    headers: Vec<(String, String)>,
    body: Bytes,
    /// The call history the exchange is added to.
    history: std::sync::Arc<crate::state::Doubles>,
    started: std::time::Instant,
}

impl Job {
    /// Forwards, passes the body on as it arrives, and writes the cassette before the body
    /// ends (so a caller that saw the end finds the file).
    fn run(
        self,
        head_tx: oneshot::Sender<Head>,
        chunk_tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    ) {
        use std::io::Read;

        let credentials = match Credentials::load() {
            Ok(c) => c,
            Err(e) => {
                let _ = head_tx.send(Err(e));
                return;
            }
        };
        let request = ForwardRequest {
            model_id: &self.model_id,
            operation: &self.operation,
            region: &self.region,
            headers: self.headers.clone(),
            body: &self.body,
        };
        let mut response = match self.upstream.forward(&request, &credentials) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "forwarding to the upstream failed");
                let _ = head_tx.send(Err(e));
                return;
            }
        };
        let _ = head_tx.send(Ok((response.status, response.headers.clone())));
        let mut all = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match response.body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    all.extend_from_slice(&buf[..n]);
                    // A caller that went away does not stop the recording.
                    let _ = chunk_tx.blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "upstream body failed; no cassette written");
                    let _ = chunk_tx.blocking_send(Err(e));
                    return;
                }
            }
        }
        let normalised =
            NormalisedRequest::new("POST", &self.operation, &self.model_id, &self.body);
        let file = normalised.file_name();
        let recorded = RecordedResponse::new(response.status, &response.headers, &all);
        remember(
            &self.history.history,
            Exchange {
                operation: &self.operation,
                model_id: &self.model_id,
                body: &self.body,
                status: recorded.status,
                headers: &recorded.headers,
                answer: recorded.body.as_deref(),
                cassette: file,
                latency_ms: self.started.elapsed().as_millis() as u64,
            },
        );
        match Cassette::new(normalised, recorded).write(&self.dir) {
            Ok(path) => tracing::info!(file = %path.display(), "cassette recorded"),
            Err(e) => tracing::warn!(error = %e, "cassette not written"),
        }
        drop(chunk_tx);
    }
}

/// One exchange answered from or recorded to a cassette, for the call history.
struct Exchange<'a> {
    operation: &'a str,
    model_id: &'a str,
    body: &'a [u8],
    status: u16,
    headers: &'a [(String, String)],
    /// The response body when it is text (not an event stream).
    answer: Option<&'a str>,
    cassette: String,
    latency_ms: u64,
}

/// Adds a cassette exchange to the call history (CountTokens is not a generation: skipped).
/// `response` holds the answer's status and body (JSON when it is), `error` the AWS error of
/// a 4xx/5xx answer, the token counts come from Bedrock's headers or the body's `usage`.
fn remember(history: &History, x: Exchange<'_>) {
    let api = match x.operation {
        "converse" => Api::Converse,
        "converse-stream" => Api::ConverseStream,
        "invoke" => Api::InvokeModel,
        "invoke-with-response-stream" => Api::InvokeModelWithResponseStream,
        _ => return,
    };
    let header = |name: &str| {
        x.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let answer: Option<serde_json::Value> = x
        .answer
        .map(|a| serde_json::from_str(a).unwrap_or_else(|_| a.into()));
    let usage = |key: &str, header_name: &str| {
        header(header_name)
            .and_then(|v| v.parse().ok())
            .or_else(|| {
                let n = answer.as_ref()?.get("usage")?.get(key)?.as_u64()?;
                u32::try_from(n).ok()
            })
    };
    let mut record = CallRecord::new(api, x.model_id);
    record.request = crate::runtime::double::body_json(x.body);
    record.input_tokens = usage("inputTokens", "x-amzn-bedrock-input-token-count");
    record.output_tokens = usage("outputTokens", "x-amzn-bedrock-output-token-count");
    if x.status >= 400 {
        record.error = Some(CallError {
            code: header("x-amzn-errortype")
                .map(|t| t.split(':').next().unwrap_or(t).to_string())
                .unwrap_or_else(|| x.status.to_string()),
            message: answer
                .as_ref()
                .and_then(|a| a.get("message"))
                .and_then(|m| m.as_str())
                .unwrap_or_default()
                .to_string(),
        });
    }
    record.response = Some(serde_json::json!({ "status": x.status, "body": answer }));
    record.latency_ms = x.latency_ms;
    record.cassette = Some(x.cassette);
    history.push(record);
}
