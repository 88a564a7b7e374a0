//! THE error table: every crate's error becomes an AWS error here and nowhere else.
//!
//! Codes and statuses come from `bedrock_local_aws::error::AwsErrorCode` (the Smithy model's
//! exception shapes); messages reuse the real service's wording where it is known
//! (bedrock-wire.md §2.4). Internal errors are logged once, here, with the request id.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bedrock_local_aws::error::{AwsErrorCode, ErrorBody, ERROR_TYPE_HEADER};
use bedrock_local_batch::BatchError;
use bedrock_local_core::BackendError;
use bedrock_local_dialects::DialectError;
use bedrock_local_registry::RegistryError;

/// Which error shape a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// One of the exception shapes of the Bedrock service models.
    Aws(AwsErrorCode),
    /// A real Bedrock operation bedrock-local does not serve yet (501, not retried by SDKs).
    NotImplemented,
    /// A path no Bedrock operation has (404 `UnknownOperationException`).
    UnknownOperation,
    /// Not an error shape: a test-double rule asked to drop the connection, so the response
    /// is cut off (its body fails before any byte; see `IntoResponse`).
    Disconnect,
}

/// An AWS error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The exception shape.
    pub code: ErrorCode,
    /// The `message` member.
    pub message: String,
}

/// Bedrock's text when the prompt does not fit the model (observed on Converse and InvokeModel).
pub const INPUT_TOO_LONG: &str = "Input is too long for requested model.";

impl ApiError {
    /// An error of this shape with this message.
    pub fn new(code: AwsErrorCode, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::Aws(code),
            message: message.into(),
        }
    }

    /// A Bedrock operation that is not served yet.
    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::NotImplemented,
            message: message.into(),
        }
    }

    /// A path that is no Bedrock operation.
    pub fn unknown_operation() -> Self {
        Self {
            code: ErrorCode::UnknownOperation,
            message: "The requested operation is not recognized by the service.".to_string(),
        }
    }

    /// ValidationException (400).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(AwsErrorCode::Validation, message)
    }

    /// InternalServerException (500); the detail is logged, not sent.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            AwsErrorCode::InternalServer,
            "The server encountered an internal error while processing the request.",
        )
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        let status = match self.code {
            ErrorCode::Aws(code) => code.status(),
            ErrorCode::NotImplemented => 501,
            ErrorCode::UnknownOperation => 404,
            ErrorCode::Disconnect => 500,
        };
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `x-amzn-ErrorType` value.
    pub fn code_name(&self) -> &'static str {
        match self.code {
            ErrorCode::Aws(code) => code.name(),
            ErrorCode::NotImplemented => "NotImplementedException",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::Disconnect => "ConnectionDropped",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.code == ErrorCode::Disconnect {
            return dropped_connection();
        }
        let (status, headers, body) = match self.code {
            ErrorCode::Aws(code) => {
                let rendered = ErrorBody::new(code, self.message.clone()).to_response();
                (rendered.status, rendered.headers, rendered.body)
            }
            ErrorCode::NotImplemented | ErrorCode::UnknownOperation | ErrorCode::Disconnect => (
                self.status().as_u16(),
                vec![
                    (ERROR_TYPE_HEADER, self.code_name().to_string()),
                    ("Content-Type", "application/json".to_string()),
                ],
                serde_json::json!({ "message": self.message })
                    .to_string()
                    .into_bytes(),
            ),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, body).into_response();
        let response_headers = response.headers_mut();
        for (name, value) in headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name),
                HeaderValue::try_from(value.as_str()),
            ) {
                response_headers.insert(name, value);
            }
        }
        response
    }
}

/// A response whose body fails at once: the server closes the connection without completing
/// the response, which clients see as a dropped connection.
pub fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by a test-double rule",
        ))
    });
    axum::body::Body::from_stream(failing).into_response()
}

impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::InvalidModelId(_) | RegistryError::OnDemandNotSupported(_) => {
                ApiError::validation(err.to_string())
            }
            RegistryError::UnknownLocalModel(_) | RegistryError::InvalidProfile(_) => {
                ApiError::validation(err.to_string())
            }
            RegistryError::ProfileNotFound(_) => {
                ApiError::new(AwsErrorCode::ResourceNotFound, err.to_string())
            }
            RegistryError::ProfileConflict(_) => {
                ApiError::new(AwsErrorCode::Conflict, err.to_string())
            }
            other => ApiError::new(AwsErrorCode::ModelError, other.to_string()),
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
                AwsErrorCode::Throttling,
                "Too many requests, please wait before trying again.",
            ),
            // Not retryable on purpose: a model that cannot load will not load on retry.
            BackendError::LoadFailed { model, reason } => {
                tracing::error!(%model, %reason, "model failed to load");
                ApiError::new(
                    AwsErrorCode::ModelError,
                    format!("The model {model} could not be loaded: {reason}"),
                )
            }
            BackendError::Internal(detail) => ApiError::internal(detail),
            BackendError::Injected { code, message } => match AwsErrorCode::from_name(&code) {
                Some(code) => ApiError::new(code, message),
                None => ApiError::internal(format!("a rule injected unknown error {code}")),
            },
            BackendError::Disconnected => ApiError {
                code: ErrorCode::Disconnect,
                message: "the connection was dropped on purpose (test-double rule)".to_string(),
            },
        }
    }
}

impl From<BatchError> for ApiError {
    fn from(err: BatchError) -> Self {
        match err {
            BatchError::Validation(m) => ApiError::validation(m),
            BatchError::NotFound(m) => ApiError::new(AwsErrorCode::ResourceNotFound, m),
            BatchError::Conflict(m) => ApiError::new(AwsErrorCode::Conflict, m),
            BatchError::Storage(detail) => ApiError::internal(detail),
        }
    }
}
