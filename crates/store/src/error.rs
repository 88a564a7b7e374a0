//! The store's one error type, for opening the store. Request-time failures are
//! [`s3s::S3Error`]s (S3's own XML error codes), built where they happen.

use std::path::PathBuf;

/// Why the S3 store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The root directory (or a bucket inside it) could not be created or read.
    #[error("S3 store at {path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A bucket's or object's metadata file is not valid JSON.
    #[error("S3 store metadata {path} is corrupt: {source}")]
    Corrupt {
        /// The metadata file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}
