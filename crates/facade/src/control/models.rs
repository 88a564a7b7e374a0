//! ListFoundationModels and GetFoundationModel over the registry's catalog.

use axum::response::{IntoResponse, Response};
use axum::Json;
use bedrock_local_registry::FoundationModel;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::routes::RequestCtx;
use crate::state::AppState;

const OUTPUT_MODALITIES: &[&str] = &["TEXT", "IMAGE", "EMBEDDING"];
const INFERENCE_TYPES: &[&str] = &["ON_DEMAND", "PROVISIONED"];
const CUSTOMIZATION_TYPES: &[&str] = &["FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"];

/// The wire shape shared by FoundationModelSummary and FoundationModelDetails.
fn to_wire(fm: &FoundationModel, region: &str) -> Value {
    json!({
        "modelArn": format!("arn:aws:bedrock:{region}::foundation-model/{}", fm.model_id),
        "modelId": fm.model_id,
        "modelName": fm.model_name,
        "providerName": fm.provider_name,
        "inputModalities": fm.input_modalities,
        "outputModalities": fm.output_modalities,
        "responseStreamingSupported": fm.response_streaming_supported,
        "customizationsSupported": fm.customizations_supported,
        "inferenceTypesSupported": fm.inference_types_supported,
        "modelLifecycle": {"status": fm.lifecycle_status},
    })
}

/// Checks an enum-valued query parameter the way Coral does.
fn enum_param<'a>(
    ctx: &'a RequestCtx,
    name: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match ctx.query.get(name) {
        None => Ok(None),
        Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v.as_str())),
        Some(v) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{v}' at '{name}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        ))),
    }
}

/// `GET /foundation-models` with the byProvider/byOutputModality/byInferenceType/
/// byCustomizationType filters, combined with AND.
pub fn list(state: &AppState, ctx: &RequestCtx) -> Result<Response, ApiError> {
    let output = enum_param(ctx, "byOutputModality", OUTPUT_MODALITIES)?;
    let inference = enum_param(ctx, "byInferenceType", INFERENCE_TYPES)?;
    let customization = enum_param(ctx, "byCustomizationType", CUSTOMIZATION_TYPES)?;
    let provider = ctx.query.get("byProvider");
    if let Some(p) = provider {
        let valid = !p.is_empty()
            && p.len() <= 63
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ');
        if !valid {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{p}' at 'byProvider' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9- ]{{1,63}}"
            )));
        }
    }
    let summaries: Vec<Value> = state
        .registry
        .foundation_models()
        .iter()
        .filter(|fm| provider.is_none_or(|p| fm.provider_name.eq_ignore_ascii_case(p)))
        .filter(|fm| output.is_none_or(|o| fm.output_modalities.iter().any(|m| m == o)))
        .filter(|fm| inference.is_none_or(|i| fm.inference_types_supported.iter().any(|t| t == i)))
        .filter(|fm| {
            customization.is_none_or(|c| fm.customizations_supported.iter().any(|t| t == c))
        })
        .map(|fm| to_wire(fm, &ctx.region))
        .collect();
    Ok(Json(json!({ "modelSummaries": summaries })).into_response())
}

/// `GET /foundation-models/{modelIdentifier}` (an id or a foundation-model ARN).
pub fn get(state: &AppState, ctx: &RequestCtx, id: &str) -> Result<Response, ApiError> {
    let fm = state
        .registry
        .foundation_model(id)
        .ok_or_else(|| ApiError::validation("The provided model identifier is invalid."))?;
    Ok(Json(json!({ "modelDetails": to_wire(fm, &ctx.region) })).into_response())
}
