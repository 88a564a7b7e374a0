//! The restJson1 error response of the Bedrock APIs: every exception shape, its HTTP status,
//! and the exact bytes clients parse.
//!
//! Mirrors the exception shapes of botocore's `bedrock-runtime` (2023-09-30) and `bedrock`
//! (2023-04-20) service models (bedrock-wire §2.1–§2.3 and Appendix A). On the wire an error
//! is the shape's `httpStatusCode`, `x-amzn-ErrorType: <ShapeName>`,
//! `Content-Type: application/json` and the body `{"message": "..."}`; only the members a shape
//! models are ever added to the body (`ModelErrorException`, `ModelStreamErrorException`,
//! `TooManyTagsException`).
//!
//! This module returns plain data; the facade turns an [`ErrorResponse`] into an HTTP response
//! and adds `x-amzn-RequestId`.

use serde_json::{Map, Value};

/// Every exception shape of the Bedrock service models (runtime and control plane).
///
/// The variant is the shape name without its `Exception` suffix; [`AwsErrorCode::name`] gives
/// the full wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AwsErrorCode {
    /// `AccessDeniedException`, 403.
    AccessDenied,
    /// `ConflictException`, 400.
    Conflict,
    /// `InternalServerException`, 500.
    InternalServer,
    /// `ModelErrorException`, 424 (extra `originalStatusCode`, `resourceName`).
    ModelError,
    /// `ModelNotReadyException`, 429 (modeled retryable; SDKs retry it).
    ModelNotReady,
    /// `ModelStreamErrorException`, 424 (extra `originalStatusCode`, `originalMessage`).
    ModelStreamError,
    /// `ModelTimeoutException`, 408.
    ModelTimeout,
    /// `ResourceInUseException`, 400 (control plane).
    ResourceInUse,
    /// `ResourceNotFoundException`, 404.
    ResourceNotFound,
    /// `ServiceQuotaExceededException`, 400 (not 402/429).
    ServiceQuotaExceeded,
    /// `ServiceUnavailableException`, 503.
    ServiceUnavailable,
    /// `ThrottlingException`, 429.
    Throttling,
    /// `TooManyTagsException`, 400 (control plane, extra `resourceName`).
    TooManyTags,
    /// `ValidationException`, 400.
    Validation,
}

impl AwsErrorCode {
    /// Every shape, for tables and tests.
    pub const ALL: [AwsErrorCode; 14] = [
        AwsErrorCode::AccessDenied,
        AwsErrorCode::Conflict,
        AwsErrorCode::InternalServer,
        AwsErrorCode::ModelError,
        AwsErrorCode::ModelNotReady,
        AwsErrorCode::ModelStreamError,
        AwsErrorCode::ModelTimeout,
        AwsErrorCode::ResourceInUse,
        AwsErrorCode::ResourceNotFound,
        AwsErrorCode::ServiceQuotaExceeded,
        AwsErrorCode::ServiceUnavailable,
        AwsErrorCode::Throttling,
        AwsErrorCode::TooManyTags,
        AwsErrorCode::Validation,
    ];

    /// The shape name, PascalCase, as sent in `x-amzn-ErrorType` (`ValidationException`).
    pub fn name(self) -> &'static str {
        match self {
            AwsErrorCode::AccessDenied => "AccessDeniedException",
            AwsErrorCode::Conflict => "ConflictException",
            AwsErrorCode::InternalServer => "InternalServerException",
            AwsErrorCode::ModelError => "ModelErrorException",
            AwsErrorCode::ModelNotReady => "ModelNotReadyException",
            AwsErrorCode::ModelStreamError => "ModelStreamErrorException",
            AwsErrorCode::ModelTimeout => "ModelTimeoutException",
            AwsErrorCode::ResourceInUse => "ResourceInUseException",
            AwsErrorCode::ResourceNotFound => "ResourceNotFoundException",
            AwsErrorCode::ServiceQuotaExceeded => "ServiceQuotaExceededException",
            AwsErrorCode::ServiceUnavailable => "ServiceUnavailableException",
            AwsErrorCode::Throttling => "ThrottlingException",
            AwsErrorCode::TooManyTags => "TooManyTagsException",
            AwsErrorCode::Validation => "ValidationException",
        }
    }

    /// The shape for a wire name (`ValidationException`), if it is one of ours.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.name() == name)
    }

    /// The HTTP status from the shape's `error.httpStatusCode`.
    pub fn status(self) -> u16 {
        match self {
            AwsErrorCode::AccessDenied => 403,
            AwsErrorCode::ModelTimeout => 408,
            AwsErrorCode::ResourceNotFound => 404,
            AwsErrorCode::ModelError | AwsErrorCode::ModelStreamError => 424,
            AwsErrorCode::ModelNotReady | AwsErrorCode::Throttling => 429,
            AwsErrorCode::InternalServer => 500,
            AwsErrorCode::ServiceUnavailable => 503,
            AwsErrorCode::Conflict
            | AwsErrorCode::ResourceInUse
            | AwsErrorCode::ServiceQuotaExceeded
            | AwsErrorCode::TooManyTags
            | AwsErrorCode::Validation => 400,
        }
    }

    /// The lowerCamel member name of this error in the event-stream unions
    /// (`ConverseStreamOutput`, `ResponseStream`), for `:exception-type`. `None` for shapes that
    /// cannot appear inside a stream. `modelTimeoutException` exists only in `ResponseStream`
    /// (InvokeModelWithResponseStream), not in ConverseStream.
    pub fn in_stream_name(self) -> Option<&'static str> {
        match self {
            AwsErrorCode::InternalServer => Some("internalServerException"),
            AwsErrorCode::ModelStreamError => Some("modelStreamErrorException"),
            AwsErrorCode::ModelTimeout => Some("modelTimeoutException"),
            AwsErrorCode::ServiceUnavailable => Some("serviceUnavailableException"),
            AwsErrorCode::Throttling => Some("throttlingException"),
            AwsErrorCode::Validation => Some("validationException"),
            _ => None,
        }
    }

    /// True for the shapes modeled `senderFault: true` (every 4xx); false for the 5xx `fault`
    /// shapes.
    pub fn is_sender_fault(self) -> bool {
        self.status() < 500
    }
}

/// The body of an error: the message and the extra members a shape models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// Which shape.
    pub code: AwsErrorCode,
    /// The human message, sent as `message`.
    pub message: String,
    /// `originalStatusCode` (ModelErrorException, ModelStreamErrorException only).
    pub original_status_code: Option<u16>,
    /// `originalMessage` (ModelStreamErrorException only).
    pub original_message: Option<String>,
    /// `resourceName` (ModelErrorException, TooManyTagsException only).
    pub resource_name: Option<String>,
}

impl ErrorBody {
    /// An error with only a message.
    pub fn new(code: AwsErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            original_status_code: None,
            original_message: None,
            resource_name: None,
        }
    }

    /// Sets `originalStatusCode` (kept only by the shapes that model it).
    pub fn with_original_status_code(mut self, status: u16) -> Self {
        self.original_status_code = Some(status);
        self
    }

    /// Sets `originalMessage` (kept only by ModelStreamErrorException).
    pub fn with_original_message(mut self, message: impl Into<String>) -> Self {
        self.original_message = Some(message.into());
        self
    }

    /// Sets `resourceName` (kept only by ModelErrorException and TooManyTagsException).
    pub fn with_resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// The JSON body: `{"message": ...}` first, then the extra members the shape models.
    /// Members a shape does not model are dropped, so the body always matches the model.
    pub fn to_json(&self) -> Vec<u8> {
        let mut body = Map::new();
        body.insert("message".into(), Value::String(self.message.clone()));
        let (status_ok, original_message_ok, resource_ok) = match self.code {
            AwsErrorCode::ModelError => (true, false, true),
            AwsErrorCode::ModelStreamError => (true, true, false),
            AwsErrorCode::TooManyTags => (false, false, true),
            _ => (false, false, false),
        };
        if let (true, Some(status)) = (status_ok, self.original_status_code) {
            body.insert("originalStatusCode".into(), Value::from(status));
        }
        if let (true, Some(original)) = (original_message_ok, &self.original_message) {
            body.insert("originalMessage".into(), Value::String(original.clone()));
        }
        if let (true, Some(resource)) = (resource_ok, &self.resource_name) {
            body.insert("resourceName".into(), Value::String(resource.clone()));
        }
        Value::Object(body).to_string().into_bytes()
    }

    /// The whole non-streaming HTTP error response.
    pub fn to_response(&self) -> ErrorResponse {
        ErrorResponse {
            status: self.code.status(),
            headers: vec![
                (ERROR_TYPE_HEADER, self.code.name().to_owned()),
                ("Content-Type", "application/json".to_owned()),
            ],
            body: self.to_json(),
        }
    }
}

/// The header that carries the error code (clients strip anything after a `:`).
pub const ERROR_TYPE_HEADER: &str = "x-amzn-ErrorType";

/// A rendered error response, framework-free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, in order (`x-amzn-ErrorType`, `Content-Type`).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appendix_a_table() {
        // (shape, status, in-stream name), bedrock-wire Appendix A / botocore error traits.
        let table = [
            ("AccessDeniedException", 403, None),
            ("ConflictException", 400, None),
            (
                "InternalServerException",
                500,
                Some("internalServerException"),
            ),
            ("ModelErrorException", 424, None),
            ("ModelNotReadyException", 429, None),
            (
                "ModelStreamErrorException",
                424,
                Some("modelStreamErrorException"),
            ),
            ("ModelTimeoutException", 408, Some("modelTimeoutException")),
            ("ResourceInUseException", 400, None),
            ("ResourceNotFoundException", 404, None),
            ("ServiceQuotaExceededException", 400, None),
            (
                "ServiceUnavailableException",
                503,
                Some("serviceUnavailableException"),
            ),
            ("ThrottlingException", 429, Some("throttlingException")),
            ("TooManyTagsException", 400, None),
            ("ValidationException", 400, Some("validationException")),
        ];
        assert_eq!(table.len(), AwsErrorCode::ALL.len());
        for (name, status, stream) in table {
            let code = AwsErrorCode::from_name(name).unwrap();
            assert_eq!(code.name(), name);
            assert_eq!(code.status(), status, "{name}");
            assert_eq!(code.in_stream_name(), stream, "{name}");
            assert_eq!(code.is_sender_fault(), status < 500, "{name}");
        }
        assert_eq!(AwsErrorCode::from_name("SerializationException"), None);
    }

    #[test]
    fn validation_response_is_exactly_the_wire_shape() {
        // bedrock-wire §2.1: an 80-byte body.
        let msg = "Malformed input request, please reformat your input and try again.";
        let resp = ErrorBody::new(AwsErrorCode::Validation, msg).to_response();
        assert_eq!(resp.status, 400);
        assert_eq!(
            resp.headers,
            vec![
                ("x-amzn-ErrorType", "ValidationException".to_owned()),
                ("Content-Type", "application/json".to_owned()),
            ]
        );
        let expected = format!("{{\"message\":\"{msg}\"}}");
        assert_eq!(String::from_utf8(resp.body).unwrap(), expected);
        assert_eq!(expected.len(), 80);
    }

    #[test]
    fn message_is_json_escaped() {
        let body = ErrorBody::new(AwsErrorCode::Validation, "a \"quote\"\n and isn’t").to_json();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["message"], "a \"quote\"\n and isn’t");
    }

    #[test]
    fn extra_members_only_where_modeled() {
        let stream = ErrorBody::new(AwsErrorCode::ModelStreamError, "boom")
            .with_original_status_code(500)
            .with_original_message("inner")
            .with_resource_name("dropped");
        assert_eq!(
            String::from_utf8(stream.to_json()).unwrap(),
            r#"{"message":"boom","originalStatusCode":500,"originalMessage":"inner"}"#
        );
        let model = ErrorBody::new(AwsErrorCode::ModelError, "bad")
            .with_original_status_code(400)
            .with_original_message("dropped")
            .with_resource_name("arn:x");
        assert_eq!(
            String::from_utf8(model.to_json()).unwrap(),
            r#"{"message":"bad","originalStatusCode":400,"resourceName":"arn:x"}"#
        );
        let tags = ErrorBody::new(AwsErrorCode::TooManyTags, "t").with_resource_name("arn:y");
        assert_eq!(
            String::from_utf8(tags.to_json()).unwrap(),
            r#"{"message":"t","resourceName":"arn:y"}"#
        );
        let plain = ErrorBody::new(AwsErrorCode::Throttling, "slow").with_original_status_code(1);
        assert_eq!(
            String::from_utf8(plain.to_json()).unwrap(),
            r#"{"message":"slow"}"#
        );
        assert_eq!(plain.to_response().status, 429);
    }
}
