//! The one error type of the batch crate; the facade maps each variant to an AWS exception.

/// What a job operation can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The request breaks a constraint (ValidationException, 400). The message is the client's.
    #[error("{0}")]
    Validation(String),
    /// No job has this identifier (ResourceNotFoundException, 404).
    #[error("{0}")]
    NotFound(String),
    /// The job is in a state that does not allow the operation, or an idempotency token was
    /// reused with other parameters (ConflictException, 409).
    #[error("{0}")]
    Conflict(String),
    /// Local storage failed (InternalServerException, 500; the detail is logged, not sent).
    #[error("batch storage failed: {0}")]
    Storage(String),
}

impl From<std::io::Error> for BatchError {
    fn from(err: std::io::Error) -> Self {
        BatchError::Storage(err.to_string())
    }
}

impl From<serde_json::Error> for BatchError {
    fn from(err: serde_json::Error) -> Self {
        BatchError::Storage(err.to_string())
    }
}
