//! CreateModelInvocationJob validation, with the service model's constraints and Coral-style
//! messages (`1 validation error detected: Value 'x' at 'jobName' failed to satisfy
//! constraint: ...`), all violations reported at once like Bedrock does.

use serde_json::{Map, Value};

use crate::error::BatchError;
use crate::job::InvocationType;

/// `ModelInvocationJobName`.
pub const JOB_NAME_PATTERN: &str = r"[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}";
/// `RoleArn`.
pub const ROLE_ARN_PATTERN: &str = r"arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+";
/// `ModelInvocationIdempotencyToken`.
pub const TOKEN_PATTERN: &str = r"[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}";
/// `S3Uri`.
pub const S3_URI_PATTERN: &str =
    r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?";
/// `ModelId`.
pub const MODEL_ID_PATTERN: &str = r"(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:(([0-9]{12}:custom-model/[a-z0-9-]{1,63}[.]{1}[a-z0-9-:]{1,63}/[a-z0-9]{12}$)|(:foundation-model/([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2})|(([0-9a-zA-Z][_-]?)+)$)|([0-9]{12}:(inference-profile|application-inference-profile)/[a-zA-Z0-9-:.]+$)))|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2})|(([0-9a-zA-Z][_-]?)+)";
/// `ModelInvocationJobIdentifier`.
pub const JOB_IDENTIFIER_PATTERN: &str =
    r"((arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-invocation-job/)?[a-z0-9]{12})";

/// Default `timeoutDurationInHours` when the request names none.
pub const DEFAULT_TIMEOUT_HOURS: u32 = 168;

/// True when all of `s` matches `pattern` (the service models' patterns are whole-value).
pub fn full_match(pattern: &str, s: &str) -> bool {
    regex::Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|re| re.is_match(s))
}

/// Collects constraint violations and renders them as one Coral message.
#[derive(Default)]
pub struct Violations(Vec<String>);

impl Violations {
    /// Adds `Value '<value>' at '<member>' failed to satisfy constraint: <constraint>`.
    pub fn push(&mut self, value: &str, member: &str, constraint: &str) {
        self.0.push(format!(
            "Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// Adds `Value null at '<member>' ...: Member must not be null`.
    pub fn null(&mut self, member: &str) {
        self.0.push(format!(
            "Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// Checks a string's length and pattern.
    pub fn string(&mut self, value: &str, member: &str, min: usize, max: usize, pattern: &str) {
        let len = value.chars().count();
        if len < min {
            self.push(
                value,
                member,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if len > max {
            self.push(
                value,
                member,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
        if len >= min && !full_match(pattern, value) {
            self.push(
                value,
                member,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    /// The error, if any constraint failed.
    pub fn into_result(self) -> Result<(), BatchError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(BatchError::Validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Err(BatchError::Validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

/// A CreateModelInvocationJob body that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateRequest {
    /// `jobName`.
    pub job_name: String,
    /// `roleArn`.
    pub role_arn: String,
    /// `modelId`.
    pub model_id: String,
    /// `clientRequestToken`.
    pub client_request_token: Option<String>,
    /// `inputDataConfig` as sent (with `s3InputFormat` defaulted to JSONL).
    pub input_data_config: Value,
    /// `outputDataConfig` as sent.
    pub output_data_config: Value,
    /// `vpcConfig` as sent.
    pub vpc_config: Option<Value>,
    /// `timeoutDurationInHours`.
    pub timeout_hours: u32,
    /// `modelInvocationType`.
    pub invocation_type: InvocationType,
    /// Input `s3Uri`.
    pub input_uri: String,
    /// Output `s3Uri`.
    pub output_uri: String,
    /// `tags` as `(key, value)`.
    pub tags: Vec<(String, String)>,
    /// The body without `clientRequestToken`, for idempotency checks.
    pub fingerprint: Value,
}

fn str_member<'a>(body: &'a Map<String, Value>, name: &str, v: &mut Violations) -> Option<&'a str> {
    match body.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            v.push(&other.to_string(), name, "Member must be a string");
            None
        }
    }
}

/// The `s3Uri` inside `{"<inner>": {"s3Uri": ...}}`.
fn s3_uri(
    body: &Map<String, Value>,
    outer: &str,
    inner: &str,
    v: &mut Violations,
) -> Option<String> {
    let Some(config) = body.get(outer).filter(|c| !c.is_null()) else {
        v.null(outer);
        return None;
    };
    let member = format!("{outer}.{inner}.s3Uri");
    let Some(inner_config) = config.get(inner).and_then(Value::as_object) else {
        v.null(&format!("{outer}.{inner}"));
        return None;
    };
    match inner_config.get("s3Uri").and_then(Value::as_str) {
        None => {
            v.null(&member);
            None
        }
        Some(uri) => {
            v.string(uri, &member, 1, 1024, S3_URI_PATTERN);
            Some(uri.to_string())
        }
    }
}

/// Validates a CreateModelInvocationJob body (the model id's resolvability is checked by the
/// caller through the invoker).
pub fn create_request(body: &[u8]) -> Result<CreateRequest, BatchError> {
    let parsed: Value = serde_json::from_slice(body).map_err(|_| {
        BatchError::Validation("The request body is not a valid JSON object.".to_string())
    })?;
    let Value::Object(map) = parsed else {
        return Err(BatchError::Validation(
            "The request body is not a valid JSON object.".to_string(),
        ));
    };
    let mut v = Violations::default();

    let job_name = str_member(&map, "jobName", &mut v);
    match job_name {
        Some(name) => v.string(name, "jobName", 1, 63, JOB_NAME_PATTERN),
        None => v.null("jobName"),
    }
    let role_arn = str_member(&map, "roleArn", &mut v);
    match role_arn {
        Some(arn) => v.string(arn, "roleArn", 0, 2048, ROLE_ARN_PATTERN),
        None => v.null("roleArn"),
    }
    let model_id = str_member(&map, "modelId", &mut v);
    match model_id {
        Some(id) => v.string(id, "modelId", 1, 2048, MODEL_ID_PATTERN),
        None => v.null("modelId"),
    }
    let token = str_member(&map, "clientRequestToken", &mut v);
    if let Some(token) = token {
        v.string(token, "clientRequestToken", 1, 256, TOKEN_PATTERN);
    }
    let input_uri = s3_uri(&map, "inputDataConfig", "s3InputDataConfig", &mut v);
    if let Some(format) = map
        .get("inputDataConfig")
        .and_then(|c| c.get("s3InputDataConfig"))
        .and_then(|c| c.get("s3InputFormat"))
    {
        if format.as_str() != Some("JSONL") {
            v.push(
                format.as_str().unwrap_or_default(),
                "inputDataConfig.s3InputDataConfig.s3InputFormat",
                "Member must satisfy enum value set: [JSONL]",
            );
        }
    }
    let output_uri = s3_uri(&map, "outputDataConfig", "s3OutputDataConfig", &mut v);
    let timeout_hours = match map.get("timeoutDurationInHours") {
        None | Some(Value::Null) => Some(DEFAULT_TIMEOUT_HOURS),
        Some(value) => match value.as_i64() {
            Some(h) if h < 24 => {
                v.push(
                    &h.to_string(),
                    "timeoutDurationInHours",
                    "Member must have value greater than or equal to 24",
                );
                None
            }
            Some(h) if h > 168 => {
                v.push(
                    &h.to_string(),
                    "timeoutDurationInHours",
                    "Member must have value less than or equal to 168",
                );
                None
            }
            Some(h) => u32::try_from(h).ok(),
            None => {
                v.push(
                    &value.to_string(),
                    "timeoutDurationInHours",
                    "Member must be an integer",
                );
                None
            }
        },
    };
    let invocation_type = match str_member(&map, "modelInvocationType", &mut v) {
        None | Some("InvokeModel") => InvocationType::InvokeModel,
        Some("Converse") => InvocationType::Converse,
        Some(other) => {
            v.push(
                other,
                "modelInvocationType",
                "Member must satisfy enum value set: [InvokeModel, Converse]",
            );
            InvocationType::InvokeModel
        }
    };
    let mut tags = Vec::new();
    if let Some(list) = map.get("tags").and_then(Value::as_array) {
        if list.len() > 200 {
            v.push(
                &format!("[{} tags]", list.len()),
                "tags",
                "Member must have length less than or equal to 200",
            );
        }
        for (i, tag) in list.iter().enumerate() {
            let key = tag.get("key").and_then(Value::as_str);
            let value = tag.get("value").and_then(Value::as_str);
            match (key, value) {
                (Some(k), Some(val)) => tags.push((k.to_string(), val.to_string())),
                _ => v.push(
                    &tag.to_string(),
                    &format!("tags.{}.member", i + 1),
                    "Member must have a string key and value",
                ),
            }
        }
    }
    v.into_result()?;

    let (
        Some(job_name),
        Some(role_arn),
        Some(model_id),
        Some(input_uri),
        Some(output_uri),
        Some(timeout_hours),
    ) = (
        job_name,
        role_arn,
        model_id,
        input_uri,
        output_uri,
        timeout_hours,
    )
    else {
        // Every None above pushed a violation, so this is unreachable in practice.
        return Err(BatchError::Validation(
            "1 validation error detected: the request is incomplete".to_string(),
        ));
    };
    let mut input_data_config = map.get("inputDataConfig").cloned().unwrap_or(Value::Null);
    if let Some(s3) = input_data_config
        .get_mut("s3InputDataConfig")
        .and_then(Value::as_object_mut)
    {
        s3.entry("s3InputFormat")
            .or_insert_with(|| Value::String("JSONL".into()));
    }
    let mut fingerprint = map.clone();
    fingerprint.remove("clientRequestToken");
    Ok(CreateRequest {
        job_name: job_name.to_string(),
        role_arn: role_arn.to_string(),
        model_id: model_id.to_string(),
        client_request_token: token.map(str::to_string),
        input_data_config,
        output_data_config: map.get("outputDataConfig").cloned().unwrap_or(Value::Null),
        vpc_config: map.get("vpcConfig").filter(|v| !v.is_null()).cloned(),
        timeout_hours,
        invocation_type,
        input_uri,
        output_uri,
        tags,
        fingerprint: Value::Object(fingerprint),
    })
}

/// The 12-character id in a `jobIdentifier` (an id or a job ARN).
pub fn job_identifier(identifier: &str) -> Result<String, BatchError> {
    if identifier.len() > 1011 || !full_match(JOB_IDENTIFIER_PATTERN, identifier) {
        let mut v = Violations::default();
        v.push(
            identifier,
            "jobIdentifier",
            &format!("Member must satisfy regular expression pattern: {JOB_IDENTIFIER_PATTERN}"),
        );
        v.into_result()?;
    }
    match identifier.parse::<bedrock_local_aws::Arn>() {
        Ok(arn) => Ok(arn.resource.id().to_string()),
        Err(_) => Ok(identifier.to_string()),
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
