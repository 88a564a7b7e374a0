//! What every handler shares.

use std::sync::Arc;
use std::time::Instant;

use bedrock_local_batch::Batch;
use bedrock_local_cassette::Mode as CassetteMode;
use bedrock_local_core::InferenceBackend;
use bedrock_local_doubles::{History, Rules};
use bedrock_local_registry::Registry;
use bedrock_local_store::S3Endpoint;

/// Settings of the HTTP layer (plain data; the CLI fills it).
#[derive(Debug, Clone)]
pub struct FacadeConfig {
    /// Region used in ARNs when the request's credential scope names none.
    pub region: String,
    /// Account id in minted ARNs (LocalStack's default).
    pub account_id: String,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Force greedy decoding for every request (snapshot tests).
    pub deterministic: bool,
}

impl Default for FacadeConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_string(),
            account_id: "000000000000".to_string(),
            max_body_bytes: 25_000_000,
            deterministic: false,
        }
    }
}

/// Shared state: the backend, the registry and the settings.
#[derive(Clone)]
pub struct AppState {
    pub(crate) backend: Arc<dyn InferenceBackend>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) config: Arc<FacadeConfig>,
    pub(crate) started: Instant,
    /// The S3 endpoint on this port; `None` answers S3 requests with NotImplemented.
    pub(crate) s3: Option<S3Endpoint>,
    /// Batch inference jobs; `None` answers the job APIs with NotImplemented.
    pub(crate) batch: Option<Batch>,
    /// The test-double layer's rules and call history.
    pub(crate) doubles: Arc<Doubles>,
    /// Record/replay of runtime calls (`--record` / `--replay`); off by default.
    pub(crate) cassettes: Arc<CassetteMode>,
}

/// The test-double layer's state: the rules in match order and the call history.
pub struct Doubles {
    /// Scripted answers, faults, latency (`/_bedrock_local/rules`).
    pub rules: Rules,
    /// Every runtime call (`/_bedrock_local/calls`).
    pub history: History,
}

impl Doubles {
    /// Calls kept in the history unless configured otherwise.
    pub const DEFAULT_HISTORY: usize = 1000;

    /// No rules, an empty history of `capacity` calls; `seed` drives rule probabilities.
    pub fn new(seed: u64, capacity: usize) -> Self {
        Self {
            rules: Rules::new(seed),
            history: History::new(capacity),
        }
    }
}

impl AppState {
    /// Bundles the pieces the CLI built.
    pub fn new(
        backend: Arc<dyn InferenceBackend>,
        registry: Arc<Registry>,
        config: FacadeConfig,
    ) -> Self {
        Self {
            backend,
            registry,
            config: Arc::new(config),
            started: Instant::now(),
            s3: None,
            batch: None,
            doubles: Arc::new(Doubles::new(0, Doubles::DEFAULT_HISTORY)),
            cassettes: Arc::new(CassetteMode::Off),
        }
    }

    /// Uses `doubles` (rules loaded from a file, another history size).
    pub fn with_doubles(mut self, doubles: Doubles) -> Self {
        self.doubles = Arc::new(doubles);
        self
    }

    /// Records runtime calls to cassettes, or replays them (see the `record` module).
    pub fn with_cassettes(mut self, mode: CassetteMode) -> Self {
        self.cassettes = Arc::new(mode);
        self
    }

    /// Attaches the batch service that answers the model-invocation-job APIs.
    pub fn with_batch(mut self, batch: Batch) -> Self {
        self.batch = Some(batch);
        self
    }

    /// Attaches the S3 endpoint that answers requests routed to S3.
    pub fn with_s3(mut self, s3: S3Endpoint) -> Self {
        self.s3 = Some(s3);
        self
    }
}
