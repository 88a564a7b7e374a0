//! The engine's one error enum. It never carries HTTP status codes; the facade maps it
//! (through `bedrock_local_core::BackendError`).

/// Everything that can fail inside the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The GGUF file is unreadable, or a metadata key is missing or has the wrong type.
    #[error("gguf: {0}")]
    Gguf(String),
    /// The tokenizer could not be built or could not encode/decode.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The chat template failed to compile or to render.
    #[error("chat template: {0}")]
    Template(String),
    /// The GGUF's `general.architecture` is not one we implement.
    #[error("unsupported architecture {0:?}")]
    UnsupportedArchitecture(String),
    /// The request cannot be served as asked (a position past the context window, a prompt
    /// the model cannot take...). Reported to the caller as an invalid request.
    #[error("{0}")]
    InvalidRequest(String),
    /// A tool call came out malformed or invalid for its schema, or could not be continued.
    /// Constrained decoding makes this unreachable; reported as an internal failure.
    #[error("tool call: {0}")]
    ToolCall(String),
    /// A tensor operation failed.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// File IO.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Engine result alias.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
