//! The registry's one error type.
//!
//! Two variants carry Bedrock's own wording ([`RegistryError::InvalidModelId`],
//! [`RegistryError::OnDemandNotSupported`]) because the facade sends their `Display` to clients
//! verbatim; the rest are for people running the emulator and say what to do next.

use std::path::PathBuf;

use crate::models::Task;

/// Everything that can go wrong in the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The model id is not a catalog id, ARN, profile id or local name. The payload is the id as
    /// requested (for logs); the message is Bedrock's, word for word.
    #[error("The provided model identifier is invalid.")]
    InvalidModelId(String),

    /// A profile-only model was called by its bare id while `strict_profiles` is on. The message
    /// is Bedrock's, typographic apostrophe included.
    #[error(
        "Invocation of model ID {0} with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
    )]
    OnDemandNotSupported(String),

    /// No application inference profile has this id or ARN (the message says which).
    #[error("{0}")]
    ProfileNotFound(String),

    /// An application inference profile with this name exists already (the message).
    #[error("{0}")]
    ProfileConflict(String),

    /// A CreateInferenceProfile request breaks a constraint of the service model (the message,
    /// in Coral's wording).
    #[error("{0}")]
    InvalidProfile(String),

    /// No `models.toml` entry has this name or alias (the payload).
    #[error("no local model is named {0:?} in models.toml (`bedrock-local models` lists them)")]
    UnknownLocalModel(String),

    /// A Bedrock id needs a local model of a task that `models.toml` does not provide.
    #[error("model {id} needs a local {task} model, but models.toml has none; add one and set it as the default {task} model")]
    NoLocalModelForTask {
        /// The requested id.
        id: String,
        /// The task it needs.
        task: Task,
    },

    /// `models.toml`, the built-in catalog or the registry settings are wrong.
    #[error("{0}")]
    Config(String),

    /// One source failed to deliver a file.
    #[error("download from {from} failed: {reason}")]
    Download {
        /// The source (URL, `hf` repo/file, PyPI package).
        from: String,
        /// What happened.
        reason: String,
    },

    /// Bytes arrived but are not the expected file. Nothing was kept.
    #[error(
        "{file}: sha256 mismatch: expected {expected}, got {actual}; the download was deleted"
    )]
    ChecksumMismatch {
        /// What was checked (file name or URL).
        file: String,
        /// The sha256 the manifest pins.
        expected: String,
        /// The sha256 of what arrived.
        actual: String,
    },

    /// Every source of a file failed; each attempt is listed.
    #[error("could not fetch {file} of model {model} from any source: {attempts}")]
    FetchFailed {
        /// Local model name.
        model: String,
        /// File name.
        file: String,
        /// One line per source, in the order tried.
        attempts: String,
    },

    /// The model is not cached and downloads are disabled.
    #[error(
        "model {0} is not in the local store and offline mode is on; pull it while online first"
    )]
    Offline(String),

    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl RegistryError {
    /// Wraps an IO error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RegistryError::Io {
            path: path.into(),
            source,
        }
    }

    /// A download failure from `from`.
    pub(crate) fn download(from: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        RegistryError::Download {
            from: from.into(),
            reason: reason.to_string(),
        }
    }
}

/// The registry's result type.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
