//! The engine boundary: the facade talks to inference only through [`InferenceBackend`].

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::{EmbedRequest, Embeddings, GenerateRequest, GenerationEvent, LocalModelName, Prompt};

/// What can go wrong below the facade. Carries no HTTP status: the facade maps these.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum BackendError {
    /// No local model has this name.
    #[error("model {0} is not known")]
    UnknownModel(String),
    /// The model exists but cannot be used for this kind of request.
    #[error("{0}")]
    Unsupported(String),
    /// The weights could not be fetched or loaded.
    #[error("model {model} could not be loaded: {reason}")]
    LoadFailed {
        /// The local model name.
        model: String,
        /// Why.
        reason: String,
    },
    /// The rendered prompt does not fit the model's context window.
    #[error("the prompt has {prompt_tokens} tokens, more than the {limit} the model accepts")]
    ContextOverflow {
        /// Tokens in the rendered prompt.
        prompt_tokens: u32,
        /// The most the model accepts (context length minus at least one output token).
        limit: u32,
    },
    /// The request is well-formed JSON but the engine cannot honour it (bad template input...).
    #[error("{0}")]
    InvalidRequest(String),
    /// The model's queue is full; try again later.
    #[error("too many requests are waiting for model {0}")]
    Overloaded(String),
    /// A bug or a numeric failure inside the engine.
    #[error("inference failed: {0}")]
    Internal(String),
    /// An AWS error a test-double rule asked for (its code is a Bedrock error code name such
    /// as `ThrottlingException`, checked when the rule was added).
    #[error("{code}: {message}")]
    Injected {
        /// The AWS error code name.
        code: String,
        /// The message sent with it.
        message: String,
    },
    /// A test-double rule asked to drop the connection: the response ends without a proper
    /// end (no status when nothing was sent yet, a cut body otherwise).
    #[error("the connection was dropped on purpose (test-double rule)")]
    Disconnected,
}

/// A running generation. Dropping it cancels the request at the next decode step.
pub struct GenerationStream {
    rx: mpsc::Receiver<Result<GenerationEvent, BackendError>>,
}

impl GenerationStream {
    /// Makes a stream and the sender the producer writes into. `capacity` bounds buffering.
    pub fn channel(capacity: usize) -> (mpsc::Sender<Result<GenerationEvent, BackendError>>, Self) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (tx, Self { rx })
    }

    /// The next event, or `None` once the producer is done.
    pub async fn next(&mut self) -> Option<Result<GenerationEvent, BackendError>> {
        self.rx.recv().await
    }

    /// Blocking variant for non-async callers (CLI, benches). Must not be called inside a runtime.
    pub fn blocking_next(&mut self) -> Option<Result<GenerationEvent, BackendError>> {
        self.rx.blocking_recv()
    }
}

/// The exact number of tokens a prompt renders to, and the model's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCount {
    /// Tokens of the rendered prompt.
    pub prompt_tokens: u32,
    /// The model's context window in tokens.
    pub context_length: u32,
}

/// Where a model is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    /// Known, weights not in memory.
    NotLoaded,
    /// Being fetched or loaded.
    Loading,
    /// In memory, answering.
    Ready,
    /// Loading failed; the reason.
    Failed(String),
}

impl ModelState {
    /// A short lower-case name for health output.
    pub fn as_str(&self) -> &'static str {
        match self {
            ModelState::NotLoaded => "not_loaded",
            ModelState::Loading => "loading",
            ModelState::Ready => "ready",
            ModelState::Failed(_) => "failed",
        }
    }
}

/// A model's state, for `/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStatus {
    /// Local name.
    pub name: LocalModelName,
    /// State.
    pub state: ModelState,
}

/// Files of a local model on disk, already verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    /// The local name.
    pub name: LocalModelName,
    /// GGUF file for `gguf` models; the safetensors file otherwise.
    pub weights: PathBuf,
    /// tokenizer.json when the tokenizer is not inside the GGUF.
    pub tokenizer: Option<PathBuf>,
    /// config.json for safetensors models.
    pub config: Option<PathBuf>,
    /// A chat template that overrides the GGUF's own (models.toml `chat_template`).
    pub chat_template: Option<String>,
}

/// Gives the engine verified files for a local model name, fetching them if needed.
/// Implemented by the registry; the engine calls it from its own thread, so it may block.
pub trait ModelLocator: Send + Sync {
    /// Verified files, or why not.
    fn locate(&self, name: &LocalModelName) -> Result<ModelFiles, BackendError>;
}

impl<T: ModelLocator + ?Sized> ModelLocator for Arc<T> {
    fn locate(&self, name: &LocalModelName) -> Result<ModelFiles, BackendError> {
        (**self).locate(name)
    }
}

/// Text generation, as the facade sees it. Implemented by the candle engine (and by test fakes).
pub trait InferenceBackend: Send + Sync {
    /// Starts generating. Validation that needs the tokenizer (context overflow) is reported as
    /// the first item of the stream. Dropping the stream cancels the request.
    fn generate(&self, request: GenerateRequest) -> Result<GenerationStream, BackendError>;

    /// Renders and tokenizes a prompt without generating (CountTokens, usage estimates).
    /// Loads the model's tokenizer if needed; blocking, call from a blocking context.
    fn count_tokens(
        &self,
        model: &LocalModelName,
        prompt: &Prompt,
    ) -> Result<TokenCount, BackendError>;

    /// Embeds texts with an embedding model. Blocking (call from a blocking context); loads
    /// the model first if needed. A text over the request's token limit without truncation
    /// is [`BackendError::ContextOverflow`]; a text-generation model is
    /// [`BackendError::Unsupported`].
    fn embed(&self, request: EmbedRequest) -> Result<Embeddings, BackendError> {
        Err(BackendError::Unsupported(format!(
            "model {} cannot embed text on this backend",
            request.model
        )))
    }

    /// Loads a model now (prewarm). Blocking.
    fn load(&self, model: &LocalModelName) -> Result<(), BackendError>;

    /// Every model this backend knows, with its state.
    fn status(&self) -> Vec<ModelStatus>;
}
