//! The control API of the test-double layer, under the reserved prefix `/_bedrock_local/`
//! (plain JSON over HTTP, no signing needed; README "Test doubles" documents it):
//!
//! | method and path | does |
//! |---|---|
//! | `GET /_bedrock_local/rules` | `{"rules": [...]}` in match order, with `id`, `matched`, `remaining` |
//! | `POST /_bedrock_local/rules` | adds one rule (an object), or several (`[...]` or `{"rules": [...]}`), all or none; answers the added ones |
//! | `DELETE /_bedrock_local/rules` | removes every rule |
//! | `DELETE /_bedrock_local/rules/{id}` | removes one (404 if unknown) |
//! | `GET /_bedrock_local/calls` | `{"calls": [...]}` oldest first; query `model` (glob), `api`, `after` (seq), `limit` |
//! | `GET /_bedrock_local/calls.jsonl` | the same as JSON Lines (export) |
//! | `DELETE /_bedrock_local/calls` | clears the history |
//! | `POST /_bedrock_local/reset` | removes every rule and clears the history (between tests) |

use std::collections::HashMap;

use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bedrock_local_doubles::{Api, HistoryFilter, RuleSpec, Rules};
use serde_json::{json, Value};

use crate::state::AppState;

/// Answers a request under `/_bedrock_local/` (`rest`: the path segments after it).
pub fn handle(
    state: &AppState,
    method: &Method,
    rest: &[&str],
    query: &HashMap<String, String>,
    body: &[u8],
) -> Response {
    let doubles = &state.doubles;
    match (method, rest) {
        (&Method::GET, ["rules"]) => ok(json!({ "rules": doubles.rules.list() })),
        (&Method::POST, ["rules"]) => match parse_rules(body) {
            Ok(specs) => match doubles.rules.add_all(specs) {
                Ok(added) => ok(json!({ "rules": added })),
                Err(e) => bad_request(e.to_string()),
            },
            Err(message) => bad_request(message),
        },
        (&Method::DELETE, ["rules"]) => {
            doubles.rules.clear();
            ok(json!({}))
        }
        (&Method::DELETE, ["rules", id]) => {
            if doubles.rules.remove(id) {
                ok(json!({}))
            } else {
                error(StatusCode::NOT_FOUND, format!("no rule has id {id:?}"))
            }
        }
        (&Method::GET, ["calls"]) => match filter(query) {
            Ok(f) => ok(json!({ "calls": doubles.history.list(&f) })),
            Err(message) => bad_request(message),
        },
        (&Method::GET, ["calls.jsonl"]) => match filter(query) {
            Ok(f) => (
                [(header::CONTENT_TYPE, "application/x-ndjson")],
                doubles.history.to_jsonl(&f),
            )
                .into_response(),
            Err(message) => bad_request(message),
        },
        (&Method::DELETE, ["calls"]) => {
            doubles.history.clear();
            ok(json!({}))
        }
        (&Method::POST, ["reset"]) => {
            doubles.rules.clear();
            doubles.history.clear();
            ok(json!({}))
        }
        _ => error(
            StatusCode::NOT_FOUND,
            format!(
                "{method} /_bedrock_local/{} is not part of the control API (see README, Test doubles)",
                rest.join("/")
            ),
        ),
    }
}

/// One rule object, an array of them, or `{"rules": [...]}`.
fn parse_rules(body: &[u8]) -> Result<Vec<RuleSpec>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let is_list = value.is_array() || value.get("rules").is_some();
    let text = value.to_string();
    if is_list {
        Rules::parse_file(&text).map_err(|e| e.to_string())
    } else {
        serde_json::from_value::<RuleSpec>(value)
            .map(|r| vec![r])
            .map_err(|e| format!("invalid rule: {e}"))
    }
}

/// The history filter from the query string.
fn filter(query: &HashMap<String, String>) -> Result<HistoryFilter, String> {
    let api = match query.get("api") {
        None => None,
        Some(name) => Some(
            serde_json::from_value::<Api>(Value::String(name.clone()))
                .map_err(|_| format!("unknown api {name:?} (Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream)"))?,
        ),
    };
    let number = |key: &str| -> Result<Option<u64>, String> {
        query
            .get(key)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("{key} must be a number, got {v:?}"))
            })
            .transpose()
    };
    Ok(HistoryFilter {
        model: query.get("model").cloned(),
        api,
        after: number("after")?,
        limit: number("limit")?.map(|n| n as usize),
    })
}

fn ok(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn bad_request(message: String) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

fn error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}
