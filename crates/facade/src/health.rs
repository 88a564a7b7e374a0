//! `GET /health` (and LocalStack's `/_localstack/health`): readiness and each model's state.

use axum::Json;
use serde_json::{json, Value};

use crate::state::AppState;

/// The health document. `status` is `ready` once the listener is up (models load lazily;
/// each model's own state is listed).
pub fn health(state: &AppState) -> Json<Value> {
    let registry_models = state.registry.local_models();
    let engine = state.backend.status();
    let models: Vec<Value> = registry_models
        .iter()
        .map(|m| {
            let engine_state = engine.iter().find(|s| s.name == m.name).map(|s| &s.state);
            let mut entry = json!({
                "name": m.name.as_str(),
                "task": format!("{:?}", m.task).to_lowercase(),
                "cached": m.cached,
                "state": engine_state.map_or("not_loaded", |s| s.as_str()),
            });
            if let Some(bedrock_local_core::ModelState::Failed(reason)) = engine_state {
                entry["error"] = json!(reason);
            }
            entry
        })
        .collect();
    Json(json!({
        "status": "ready",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs(),
        "default_model": state.registry.default_text_model().to_string(),
        "services": {"bedrock": "running", "bedrock-runtime": "running"},
        "models": models,
    }))
}
