//! THE error table: every crate's error becomes an AWS error here and nowhere else.
//!
//! Codes and statuses come from `bedrock_local_aws::error::AwsErrorCode` (the Smithy model's
//! exception shapes); messages reuse the real service's wording where it is known
//! (bedrock-wire.md §2.4). Internal errors are logged once, here, with the request id.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bedrock_local_aws::error::AwsErrorCode;
use bedrock_local_core::BackendError;
use bedrock_local_dialects::DialectError;
use bedrock_local_registry::RegistryError;

/// An AWS error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The exception shape.
    pub code: AwsErrorCode,
    /// The `message` member.
    pub message: String,
}

/// Bedrock's text when the prompt does not fit the model (observed on Converse and InvokeModel).
pub const INPUT_TOO_LONG: &str = "Input is too long for requested model.";

impl ApiError {
    /// An error of this shape with this message.
    pub fn new(code: AwsErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// ValidationException (400).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(AwsErrorCode::ValidationException, message)
    }

    /// InternalServerException (500); the detail is logged, not sent.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            AwsErrorCode::InternalServerException,
            "The server encountered an internal error while processing the request.",
        )
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let rendered = bedrock_local_aws::error::render_error(self.code, &self.message);
        let mut response = (self.status(), rendered.body).into_response();
        let headers = response.headers_mut();
        for (name, value) in rendered.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                headers.insert(name, value);
            }
        }
        response
    }
}

impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::InvalidModelId(_) | RegistryError::OnDemandNotSupported(_) => {
                ApiError::validation(err.to_string())
            }
            RegistryError::UnknownLocalModel(_) => ApiError::validation(err.to_string()),
            other => ApiError::new(AwsErrorCode::ModelErrorException, other.to_string()),
        }
    }
}

impl From<DialectError> for ApiError {
    fn from(err: DialectError) -> Self {
        ApiError::validation(err.to_string())
    }
}

impl From<BackendError> for ApiError {
    fn from(err: BackendError) -> Self {
        match err {
            BackendError::UnknownModel(_) => {
                ApiError::validation("The provided model identifier is invalid.")
            }
            BackendError::Unsupported(msg) | BackendError::InvalidRequest(msg) => {
                ApiError::validation(msg)
            }
            BackendError::ContextOverflow {
                prompt_tokens,
                limit,
            } => ApiError::validation(format!(
                "{INPUT_TOO_LONG} The prompt is {prompt_tokens} tokens long; this model accepts at most {limit}."
            )),
            BackendError::Overloaded(_) => ApiError::new(
                AwsErrorCode::ThrottlingException,
                "Too many requests, please wait before trying again.",
            ),
            // Not retryable on purpose: a model that cannot load will not load on retry.
            BackendError::LoadFailed { model, reason } => {
                tracing::error!(%model, %reason, "model failed to load");
                ApiError::new(
                    AwsErrorCode::ModelErrorException,
                    format!("The model {model} could not be loaded: {reason}"),
                )
            }
            BackendError::Internal(detail) => ApiError::internal(detail),
        }
    }
}
