//! The HTTP face of bedrock-local.
//!
//! One axum router serves every Bedrock API on one port. It stays thin: middleware gives each
//! request an id and a span, [`routes::dispatch`] splits the raw path (then percent-decodes
//! each segment, so ARNs with `%2F` stay in one segment) and picks a handler; handlers resolve
//! the model through the registry, decode the body with a dialect, call the
//! [`InferenceBackend`](bedrock_local_core::InferenceBackend), and encode the answer. Every
//! error becomes an AWS error in exactly one place, [`error`].
//!
//! Must not: link candle, download anything, or know a provider's body format (dialects do).

mod control;
mod doubles_api;
pub mod error;
mod health;
mod middleware;
mod record;
mod routes;
mod runtime;
mod state;

use axum::Router;

pub use bedrock_local_cassette::{MissPolicy, Mode as CassetteMode, Upstream};
pub use error::ApiError;
pub use runtime::batch::record_invoker;
pub use state::{AppState, Doubles, FacadeConfig};

/// The whole HTTP service.
pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(routes::dispatch)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            middleware::panic_response,
        ))
        .layer(axum::middleware::from_fn(middleware::request_context))
        .with_state(state)
}

/// Serves [`router`] on a bound listener until `shutdown` completes (graceful: in-flight
/// requests finish).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
