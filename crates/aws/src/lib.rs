//! The AWS protocol, and nothing else: this crate knows how AWS clients talk, not what a
//! model is.
//!
//! - [`sigv4`]: reads the SigV4 credential scope (access key, date, region, service) out of an
//!   `Authorization` header or a presigned URL, so the facade can route S3 vs Bedrock and mint
//!   ARNs in the caller's region. Signatures are never verified.
//! - [`error`]: the restJson1 error response (status, `x-amzn-ErrorType`, `{"message"}`) for
//!   every exception shape of the Bedrock service models.
//! - [`eventstream`]: `application/vnd.amazon.eventstream` framing for ConverseStream and
//!   InvokeModelWithResponseStream (event and exception messages).
//! - [`arn`]: the one typed [`Arn`]; no other crate formats ARNs.
//! - [`path`]: raw request path → percent-decoded segments (split first, then decode).
//! - [`request_id`]: `x-amzn-RequestId` values.
//!
//! Everything here is pure: no IO, no tasks, no HTTP framework types (plain `u16` statuses and
//! `(name, value)` header pairs), so the facade owns axum and this crate stays testable alone.
//! The authority for shapes, status codes and member names is botocore's service model
//! (`bedrock-runtime` 2023-09-30, `bedrock` 2023-04-20); see `shared/docs/bedrock-wire.md`.

pub mod arn;
pub mod error;
pub mod eventstream;
pub mod path;
pub mod request_id;
pub mod sigv4;

pub use arn::{Arn, ArnResource};
pub use error::{AwsErrorCode, ErrorBody, ErrorResponse};
pub use request_id::RequestId;
pub use sigv4::{Auth, CredentialScope};

/// Everything that can go wrong while reading or writing the AWS protocol.
///
/// Variants name what was wrong with the input; the facade decides which AWS error (if any)
/// the client sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An `Authorization` header that is neither SigV4 nor Bearer, or a SigV4 one without a
    /// usable `Credential=` component.
    #[error("malformed Authorization header: {0}")]
    MalformedAuthorization(String),
    /// A credential scope that is not `AKID/YYYYMMDD/REGION/SERVICE/aws4_request`.
    #[error("malformed credential scope: {0}")]
    MalformedCredential(String),
    /// A string that is not one of the ARN kinds [`Arn`] knows.
    #[error("invalid ARN {arn:?}: {reason}")]
    InvalidArn {
        /// The text that failed to parse.
        arn: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A path segment whose percent-decoded bytes are not UTF-8.
    #[error("path segment {0:?} does not decode to UTF-8")]
    InvalidPathEncoding(String),
    /// An event-stream message that would exceed a protocol limit (header or payload size).
    #[error("event-stream message too large: {0}")]
    EventStreamLimit(String),
    /// An exception that has no member in the event-stream unions, so clients could not
    /// recognise it in a stream.
    #[error("{0} cannot be sent inside an event stream")]
    NotAStreamException(&'static str),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
