//! Record and replay of runtime calls ("cassettes").
//!
//! This crate owns everything about cassettes that needs no async runtime and no HTTP server:
//! how a request is normalised and keyed ([`normalise`]), what a cassette file holds and how
//! it is read and written ([`cassette`]), what is scrubbed before anything reaches disk
//! ([`scrub`]), how an `application/vnd.amazon.eventstream` body splits into messages
//! ([`eventstream`]), and how a request is forwarded to an upstream Bedrock: SigV4 signing
//! ([`sigv4`]), the credential chain ([`credentials`]) and the blocking HTTP call
//! ([`upstream`]). The facade wires these into the request path.
//!
//! Must not: depend on the facade, or log credentials.

pub mod cassette;
pub mod credentials;
pub mod eventstream;
pub mod normalise;
pub mod scrub;
pub mod sigv4;
pub mod upstream;

use std::path::PathBuf;

pub use cassette::{Cassette, RecordedResponse};
pub use credentials::Credentials;
pub use normalise::NormalisedRequest;
pub use upstream::Upstream;

/// The runtime operations (path suffixes of `POST /model/{id}/{op}`) that are recorded and
/// replayed.
pub const OPERATIONS: [&str; 5] = [
    "converse",
    "converse-stream",
    "invoke",
    "invoke-with-response-stream",
    "count-tokens",
];

/// What happens when `--replay` finds no cassette for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissPolicy {
    /// Answer `404 ResourceNotFoundException` naming the cassette that was looked for.
    #[default]
    Fail,
    /// Serve the request as if replay were off (local model, test-double rules).
    Model,
}

impl std::str::FromStr for MissPolicy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fail" => Ok(Self::Fail),
            "model" => Ok(Self::Model),
            other => Err(Error::Config(format!(
                "replay miss policy {other:?}: expected \"fail\" or \"model\""
            ))),
        }
    }
}

/// Record/replay mode of a server.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    /// Neither: every request is served locally.
    #[default]
    Off,
    /// Forward runtime calls to `upstream` and store each exchange in `dir`.
    Record {
        /// Cassette directory (created when missing).
        dir: PathBuf,
        /// Where calls go.
        upstream: Upstream,
    },
    /// Answer runtime calls from the cassettes in `dir`.
    Replay {
        /// Cassette directory.
        dir: PathBuf,
        /// What a request without a cassette gets.
        miss: MissPolicy,
    },
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a cassette file.
    #[error("cassette file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A cassette file that is not valid cassette JSON.
    #[error("cassette file {path} is not a valid cassette: {detail}")]
    BadCassette {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// No usable AWS credentials.
    #[error("AWS credentials: {0}")]
    Credentials(String),
    /// A bad setting (upstream URL, miss policy).
    #[error("{0}")]
    Config(String),
    /// The upstream could not be reached or its answer not read.
    #[error("upstream {url}: {detail}")]
    Upstream {
        /// The URL that was called.
        url: String,
        /// What failed.
        detail: String,
    },
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
