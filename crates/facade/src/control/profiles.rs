//! ListInferenceProfiles, GetInferenceProfile, CreateInferenceProfile and
//! DeleteInferenceProfile: thin handlers over the registry's system profiles (the catalog) and
//! application profiles (user-made, persisted). Runtime calls with an application profile's
//! ARN resolve in the registry like any other model id.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bedrock_local_registry::{ApplicationProfile, InferenceProfile, NewApplicationProfile};
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::routes::RequestCtx;
use crate::state::AppState;

/// `InferenceProfileType`.
const TYPES: &[&str] = &["SYSTEM_DEFINED", "APPLICATION"];
/// `maxResults` bounds (`MaxResults`).
const MAX_RESULTS: std::ops::RangeInclusive<usize> = 1..=1000;
/// `InferenceProfileIdentifier`: `(arn:...:(inference-profile|application-inference-profile)/)?[a-zA-Z0-9-:.]+`.
const IDENTIFIER_PATTERN: &str = "(arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):(inference-profile|application-inference-profile)/)?[a-zA-Z0-9-:.]+";

fn system_wire(p: &InferenceProfile, state: &AppState, ctx: &RequestCtx) -> Value {
    let models: Vec<Value> = p
        .model_arns()
        .into_iter()
        .map(|arn| json!({ "modelArn": arn }))
        .collect();
    json!({
        "inferenceProfileName": p.inference_profile_name,
        "description": p.description,
        "createdAt": p.created_at,
        "updatedAt": p.created_at,
        "inferenceProfileArn": p.arn(&ctx.region, &state.config.account_id),
        "models": models,
        "inferenceProfileId": p.inference_profile_id,
        "status": p.status,
        "type": p.profile_type,
    })
}

fn application_wire(p: &ApplicationProfile) -> Value {
    let models: Vec<Value> = p
        .model_arns
        .iter()
        .map(|arn| json!({ "modelArn": arn }))
        .collect();
    let mut wire = json!({
        "inferenceProfileName": p.name,
        "createdAt": p.created_at,
        "updatedAt": p.created_at,
        "inferenceProfileArn": p.arn,
        "models": models,
        "inferenceProfileId": p.id,
        "status": "ACTIVE",
        "type": "APPLICATION",
    });
    if let (Some(d), Some(obj)) = (&p.description, wire.as_object_mut()) {
        obj.insert("description".into(), json!(d));
    }
    wire
}

fn violation(value: &str, member: &str, constraint: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

/// Checks `inferenceProfileIdentifier` against the service model's pattern.
fn check_identifier(id: &str) -> Result<(), ApiError> {
    let tail = match id.strip_prefix("arn:") {
        Some(_) => match id
            .split_once(":inference-profile/")
            .or_else(|| id.split_once(":application-inference-profile/"))
        {
            Some((head, tail)) if head.split(':').count() == 5 => tail,
            _ => "",
        },
        None => id,
    };
    let ok = id.len() <= 2048
        && !tail.is_empty()
        && tail
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.'));
    if ok {
        Ok(())
    } else {
        Err(violation(
            id,
            "inferenceProfileIdentifier",
            &format!("Member must satisfy regular expression pattern: {IDENTIFIER_PATTERN}"),
        ))
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        bedrock_local_aws::AwsErrorCode::ResourceNotFound,
        format!("The inference profile {id} does not exist."),
    )
}

/// `GET /inference-profiles?type=&maxResults=&nextToken=`: system profiles (catalog order),
/// then application profiles (oldest first). `nextToken` is the offset of the next page.
pub fn list(state: &AppState, ctx: &RequestCtx) -> Result<Response, ApiError> {
    let kind = match ctx.query.get("type") {
        None => None,
        Some(t) if TYPES.contains(&t.as_str()) => Some(t.as_str()),
        Some(t) => {
            return Err(violation(
                t,
                "typeEquals",
                &format!("Member must satisfy enum value set: [{}]", TYPES.join(", ")),
            ))
        }
    };
    let max_results = match ctx.query.get("maxResults") {
        None => *MAX_RESULTS.end(),
        Some(m) => match m.parse::<usize>() {
            Ok(n) if MAX_RESULTS.contains(&n) => n,
            _ => {
                return Err(violation(
                    m,
                    "maxResults",
                    "Member must have value between 1 and 1000",
                ))
            }
        },
    };
    let start = match ctx.query.get("nextToken") {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::validation("The provided nextToken is not valid."))?,
    };
    let mut all: Vec<Value> = Vec::new();
    if kind != Some("APPLICATION") {
        all.extend(
            state
                .registry
                .inference_profiles()
                .iter()
                .map(|p| system_wire(p, state, ctx)),
        );
    }
    if kind != Some("SYSTEM_DEFINED") {
        all.extend(
            state
                .registry
                .application_profiles()
                .iter()
                .map(application_wire),
        );
    }
    let total = all.len();
    if start > total {
        return Err(ApiError::validation("The provided nextToken is not valid."));
    }
    let end = start.saturating_add(max_results).min(total);
    let page: Vec<Value> = all.drain(start..end).collect();
    let mut response = Map::new();
    response.insert("inferenceProfileSummaries".into(), Value::Array(page));
    if end < total {
        response.insert("nextToken".into(), json!(end.to_string()));
    }
    Ok(Json(Value::Object(response)).into_response())
}

/// `GET /inference-profiles/{inferenceProfileIdentifier}`: an id or ARN of either kind.
pub fn get(state: &AppState, ctx: &RequestCtx, id: &str) -> Result<Response, ApiError> {
    check_identifier(id)?;
    if let Some(p) = state.registry.application_profile(id) {
        return Ok(Json(application_wire(&p)).into_response());
    }
    let system = state
        .registry
        .inference_profile(id)
        .ok_or_else(|| not_found(id))?;
    Ok(Json(system_wire(system, state, ctx)).into_response())
}

/// `POST /inference-profiles`: `201 {inferenceProfileArn, status}`.
pub fn create(state: &AppState, ctx: &RequestCtx, body: &Bytes) -> Result<Response, ApiError> {
    let invalid_body = || ApiError::validation("The request body is not a valid JSON object.");
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Err(invalid_body());
    };
    let string = |name: &str| -> Result<Option<String>, ApiError> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(violation(
                &other.to_string(),
                name,
                "Member must be a string",
            )),
        }
    };
    let name = string("inferenceProfileName")?.ok_or_else(|| {
        ApiError::validation(
            "1 validation error detected: Value null at 'inferenceProfileName' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let copy_from = map
        .get("modelSource")
        .and_then(|s| s.get("copyFrom"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::validation(
                "1 validation error detected: Value null at 'modelSource.copyFrom' failed to satisfy constraint: Member must not be null",
            )
        })?;
    let tags = super::tags::parse(map.get("tags"))?.unwrap_or_default();
    if tags.len() > super::tags::MAX_TAGS_PER_RESOURCE {
        return Err(ApiError::new(
            bedrock_local_aws::AwsErrorCode::TooManyTags,
            format!(
                "{} tags were given; a resource can have at most {}.",
                tags.len(),
                super::tags::MAX_TAGS_PER_RESOURCE
            ),
        ));
    }
    let new = NewApplicationProfile {
        name,
        description: string("description")?,
        copy_from: copy_from.to_string(),
        tags,
        client_request_token: string("clientRequestToken")?,
        region: ctx.region.clone(),
        account: state.config.account_id.clone(),
    };
    let profile = state.registry.create_application_profile(new)?;
    tracing::info!(arn = %profile.arn, source = %profile.copy_from, "application inference profile created");
    let response = json!({ "inferenceProfileArn": profile.arn, "status": "ACTIVE" });
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// `DELETE /inference-profiles/{inferenceProfileIdentifier}`: application profiles only.
pub fn delete(state: &AppState, id: &str) -> Result<Response, ApiError> {
    check_identifier(id)?;
    if state.registry.inference_profile(id).is_some() {
        return Err(ApiError::validation(format!(
            "The inference profile {id} is system-defined; only application inference profiles can be deleted."
        )));
    }
    let removed = state.registry.delete_application_profile(id)?;
    tracing::info!(arn = %removed.arn, "application inference profile deleted");
    Ok(Json(json!({})).into_response())
}
