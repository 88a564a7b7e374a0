//! What the facade's in-process tests share: an app over a given backend with a throwaway
//! registry, and one signed request sent through the router.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test helpers; not every test file uses all

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use bedrock_local_core::InferenceBackend;
use bedrock_local_facade::{AppState, FacadeConfig};
use bedrock_local_registry::{Registry, RegistryConfig};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// App state over `backend`, with a registry in a temporary data dir (kept alive by the
/// returned guard).
pub fn state_with(backend: Arc<dyn InferenceBackend>) -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new(RegistryConfig {
        data_dir: dir.path().to_path_buf(),
        ..RegistryConfig::default()
    })
    .unwrap();
    let state = AppState::new(backend, Arc::new(registry), FacadeConfig::default());
    (state, dir)
}

/// Sends `body` to `uri` with a SigV4 `bedrock` scope in `region` and returns the status,
/// headers and whole body.
pub async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    region: &str,
    body: String,
) -> (StatusCode, HeaderMap, Bytes) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=AKID/20261126/{region}/bedrock/aws4_request, SignedHeaders=host, Signature=0"
            ),
        )
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes)
}
