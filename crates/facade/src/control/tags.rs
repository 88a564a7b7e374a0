//! TagResource, UntagResource and ListTagsForResource over the taggable resources this server
//! keeps: application inference profiles (registry) and batch inference jobs (batch). The merge
//! rules live here once: TagResource overwrites a key's value, UntagResource ignores keys that
//! are not there, and a resource holds at most 50 tags (`TooManyTagsException`).

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bedrock_local_aws::{Arn, ArnResource, AwsErrorCode};
use bedrock_local_registry::Tag;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// Tags one resource may hold (TooManyTagsException's documentation).
pub(crate) const MAX_TAGS_PER_RESOURCE: usize = 50;

/// What a `resourceARN` names.
enum Resource {
    ApplicationProfile,
    BatchJob,
}

fn body_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::validation(
            "The request body is not a valid JSON object.",
        )),
    }
}

fn missing(member: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

/// The `resourceARN` member and what it names.
fn resource(map: &Map<String, Value>) -> Result<(String, Resource), ApiError> {
    let arn = map
        .get("resourceARN")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("resourceARN"))?;
    if !(20..=1011).contains(&arn.len()) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{arn}' at 'resourceARN' failed to satisfy constraint: Member must have length between 20 and 1011"
        )));
    }
    let kind = match arn.parse::<Arn>().map(|a| a.resource) {
        Ok(ArnResource::ApplicationInferenceProfile(_)) => Resource::ApplicationProfile,
        Ok(ArnResource::ModelInvocationJob(_)) => Resource::BatchJob,
        Ok(ArnResource::InferenceProfile(_)) => {
            return Err(ApiError::validation(format!(
                "The inference profile {arn} is system-defined; only application inference profiles can be tagged."
            )))
        }
        Ok(ArnResource::FoundationModel(_)) | Err(_) => {
            return Err(ApiError::new(
                AwsErrorCode::ResourceNotFound,
                format!("The resource {arn} does not exist or cannot be tagged in bedrock-local."),
            ))
        }
    };
    Ok((arn.to_string(), kind))
}

fn current(state: &AppState, arn: &str, kind: &Resource) -> Result<Vec<Tag>, ApiError> {
    match kind {
        Resource::ApplicationProfile => state
            .registry
            .application_profile(arn)
            .map(|p| p.tags)
            .ok_or_else(|| {
                ApiError::new(
                    AwsErrorCode::ResourceNotFound,
                    format!("The inference profile {arn} does not exist."),
                )
            }),
        Resource::BatchJob => Ok(batch(state)?
            .tags(arn)?
            .into_iter()
            .map(|(key, value)| Tag { key, value })
            .collect()),
    }
}

fn replace(state: &AppState, arn: &str, kind: &Resource, tags: Vec<Tag>) -> Result<(), ApiError> {
    match kind {
        Resource::ApplicationProfile => {
            Ok(state.registry.set_application_profile_tags(arn, tags)?)
        }
        Resource::BatchJob => Ok(
            batch(state)?.set_tags(arn, tags.into_iter().map(|t| (t.key, t.value)).collect())?
        ),
    }
}

fn batch(state: &AppState) -> Result<&bedrock_local_batch::Batch, ApiError> {
    state.batch.as_ref().ok_or_else(|| {
        ApiError::not_implemented("Batch inference jobs are not enabled in this server.")
    })
}

/// A `tags` member (`TagList`): `None` when absent or null. Shared with CreateInferenceProfile.
pub(crate) fn parse(value: Option<&Value>) -> Result<Option<Vec<Tag>>, ApiError> {
    let list = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'tags' failed to satisfy constraint: Member must be a list"
            )))
        }
    };
    let mut tags = Vec::with_capacity(list.len());
    for tag in list {
        let key = tag.get("key").and_then(Value::as_str);
        let value = tag.get("value").and_then(Value::as_str);
        let (Some(key), Some(value)) = (key, value) else {
            return Err(ApiError::validation(
                "1 validation error detected: Value at 'tags' failed to satisfy constraint: every tag needs a string key and value",
            ));
        };
        tags.push(Tag {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Ok(Some(tags))
}

fn wire(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({ "key": t.key, "value": t.value }))
            .collect(),
    )
}

/// `POST /listTagsForResource`.
pub fn list(state: &AppState, body: &Bytes) -> Result<Response, ApiError> {
    let map = body_object(body)?;
    let (arn, kind) = resource(&map)?;
    let tags = current(state, &arn, &kind)?;
    Ok(Json(json!({ "tags": wire(&tags) })).into_response())
}

/// `POST /tagResource`: adds tags, overwriting the value of a key already there.
pub fn tag(state: &AppState, body: &Bytes) -> Result<Response, ApiError> {
    let map = body_object(body)?;
    let (arn, kind) = resource(&map)?;
    let added = parse(map.get("tags"))?.ok_or_else(|| missing("tags"))?;
    bedrock_local_registry::validate_tags(&added)?;
    let mut tags = current(state, &arn, &kind)?;
    for tag in added {
        match tags.iter_mut().find(|t| t.key == tag.key) {
            Some(existing) => existing.value = tag.value,
            None => tags.push(tag),
        }
    }
    if tags.len() > MAX_TAGS_PER_RESOURCE {
        return Err(ApiError::new(
            AwsErrorCode::TooManyTags,
            format!(
                "The resource {arn} would have {} tags; at most {MAX_TAGS_PER_RESOURCE} are allowed.",
                tags.len()
            ),
        ));
    }
    replace(state, &arn, &kind, tags)?;
    Ok(Json(json!({})).into_response())
}

/// `POST /untagResource`: removes the tags with these keys (absent keys are ignored).
pub fn untag(state: &AppState, body: &Bytes) -> Result<Response, ApiError> {
    let map = body_object(body)?;
    let (arn, kind) = resource(&map)?;
    let keys: Vec<String> = map
        .get("tagKeys")
        .and_then(Value::as_array)
        .ok_or_else(|| missing("tagKeys"))?
        .iter()
        .map(|k| k.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            ApiError::validation(
                "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must be a list of strings",
            )
        })?;
    bedrock_local_registry::validate_tag_keys(&keys)?;
    let mut tags = current(state, &arn, &kind)?;
    tags.retain(|t| !keys.contains(&t.key));
    replace(state, &arn, &kind, tags)?;
    Ok(Json(json!({})).into_response())
}
