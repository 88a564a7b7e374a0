//! How a record reaches a model: the facade implements [`RecordInvoker`] with its own
//! InvokeModel / Converse code, so a batch record takes exactly the interactive path.

use futures::future::BoxFuture;

/// A record's successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeOutput {
    /// The response body InvokeModel (or Converse) would have returned.
    pub body: Vec<u8>,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Generated tokens.
    pub output_tokens: u32,
}

/// Why a record failed: the HTTP status and message InvokeModel would have answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// HTTP-like status (`errorCode` in the output line).
    pub code: u16,
    /// The error message (`errorMessage`).
    pub message: String,
}

/// Runs one record through the same dialect and engine path as the runtime API.
pub trait RecordInvoker: Send + Sync {
    /// Invokes `model_id` with `body`: an InvokeModel body, or a Converse body when `converse`.
    fn invoke(
        &self,
        model_id: &str,
        converse: bool,
        body: Vec<u8>,
    ) -> BoxFuture<'_, Result<InvokeOutput, RecordError>>;

    /// Checks at job creation that `model_id` names a text model records can be sent to; the
    /// error message is returned to the caller as a ValidationException.
    fn check_model(&self, model_id: &str) -> Result<(), RecordError>;
}
