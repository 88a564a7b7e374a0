//! One typed configuration for every command: defaults < config file < environment < flags.
//!
//! clap parses flags and environment variables into `Option`s (so an unset value can still
//! come from the file); [`Config::resolve`] then fills the gaps from the TOML file named by
//! `--config` / `BEDROCK_LOCAL_CONFIG` and finally from the defaults, which live only here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use serde::Deserialize;

/// Options shared by every command that touches models.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// TOML file with any of the settings below (keys in snake_case). Flags and environment
    /// variables win over it.
    #[arg(long, env = "BEDROCK_LOCAL_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Where models, caches and state live. Change it to share a model cache between
    /// checkouts or to put multi-GB weights on another disk. Default: ~/.cache/bedrock-local.
    #[arg(long, env = "BEDROCK_LOCAL_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// A models.toml replacing the built-in one: add local models or map Bedrock ids to them.
    #[arg(long, env = "BEDROCK_LOCAL_MODELS", global = true)]
    pub models_file: Option<PathBuf>,

    /// The local model every Bedrock text model id maps to unless models.toml maps it
    /// (LocalStack's variable; accepts local names and aliases such as `qwen2.5:0.5b`).
    #[arg(long, env = "DEFAULT_BEDROCK_MODEL", global = true)]
    pub default_model: Option<String>,

    /// The local model every Bedrock embedding model id (Titan Embeddings, Cohere Embed) maps
    /// to unless models.toml maps it. Default: models.toml's `default_embedding_model`
    /// (all-minilm-l6-v2).
    #[arg(long, env = "DEFAULT_BEDROCK_EMBEDDING_MODEL", global = true)]
    pub default_embedding_model: Option<String>,

    /// CPU threads for inference. Default: the CPUs this process may use (its CPU affinity,
    /// e.g. `taskset`/`--cpuset-cpus`, capped by its cgroup CPU quota, e.g. `docker --cpus`,
    /// rounded down, at least 1).
    #[arg(long, env = "BEDROCK_LOCAL_THREADS", global = true)]
    pub threads: Option<usize>,

    /// Upper bound on the context window (prompt + output tokens) of every model; bounds the
    /// KV cache memory.
    #[arg(long, env = "BEDROCK_LOCAL_MAX_CONTEXT", global = true)]
    pub max_context: Option<usize>,

    /// Never download: use only models already in the data dir.
    #[arg(long, env = "BEDROCK_LOCAL_OFFLINE", global = true, value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub offline: Option<bool>,
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Interface to listen on. Use 0.0.0.0 inside a container.
    #[arg(long, env = "BEDROCK_LOCAL_HOST")]
    pub host: Option<String>,

    /// Port to listen on (LocalStack's 4566 by default, so `awslocal` works). 0 picks a free
    /// port and prints it.
    #[arg(long, env = "BEDROCK_LOCAL_PORT")]
    pub port: Option<u16>,

    /// LocalStack's listen setting, `HOST:PORT` (first entry of a comma list). Overridden by
    /// --host/--port.
    #[arg(long, env = "GATEWAY_LISTEN")]
    pub gateway_listen: Option<String>,

    /// Load the default model into memory before accepting requests, so the first request
    /// does not pay the load time (LocalStack's variable).
    #[arg(long, env = "BEDROCK_PREWARM", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub prewarm: Option<bool>,

    /// Comma-separated local models to download at start (LocalStack's variable). The default
    /// model is always pulled.
    #[arg(long, env = "BEDROCK_PULL_MODELS", value_delimiter = ',')]
    pub pull_models: Option<Vec<String>>,

    /// Requests that may wait for a model before new ones get ThrottlingException (429).
    #[arg(long, env = "BEDROCK_LOCAL_QUEUE_CAPACITY")]
    pub queue_capacity: Option<usize>,

    /// Requests generating at once per model (continuous batching: their tokens share every
    /// forward pass). Batch-job records take at most all but one.
    #[arg(long, env = "BEDROCK_LOCAL_MAX_SEQUENCES")]
    pub max_sequences: Option<usize>,

    /// Memory for the prefix cache (keys/values of finished prompts reused by later ones), in
    /// MiB; 0 turns it off.
    #[arg(long, env = "BEDROCK_LOCAL_PREFIX_CACHE_MB")]
    pub prefix_cache_mb: Option<usize>,

    /// Largest request body accepted, in bytes (Bedrock's InvokeModel limit is 25,000,000).
    #[arg(long, env = "BEDROCK_LOCAL_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Region used in ARNs when a request carries none.
    #[arg(long, env = "AWS_DEFAULT_REGION")]
    pub region: Option<String>,

    /// Greedy decoding for every request whatever its temperature (snapshot tests).
    #[arg(long, env = "BEDROCK_LOCAL_DETERMINISTIC", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub deterministic: Option<bool>,

    /// Test-double rules loaded at start (JSON: a list of rules, or `{"rules": [...]}`; the
    /// same shape as `POST /_bedrock_local/rules`).
    #[arg(long, env = "BEDROCK_LOCAL_RULES")]
    pub rules: Option<PathBuf>,

    /// Runtime calls kept in the call history (`GET /_bedrock_local/calls`); 0 keeps none.
    #[arg(long, env = "BEDROCK_LOCAL_HISTORY_SIZE")]
    pub history_size: Option<usize>,

    /// Record and replay of runtime calls (boxed: keeps the command enum small).
    #[command(flatten)]
    pub cassettes: Box<CassetteArgs>,

    /// Reject bare ids of models that real Bedrock serves only through inference profiles,
    /// with Bedrock's own error (off by default: local users want bare ids to work).
    #[arg(long, env = "BEDROCK_LOCAL_STRICT_PROFILES", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub strict_profiles: Option<bool>,

    /// S3 endpoint the batch runner reads job inputs from and writes outputs to (LocalStack,
    /// MinIO, AWS). Default: this server's own S3 on its listening port.
    #[arg(long, env = "BEDROCK_BATCH_S3_ENDPOINT")]
    pub batch_s3_endpoint: Option<String>,

    /// Access key id for the batch runner's S3 (default `test`).
    #[arg(long, env = "BEDROCK_BATCH_S3_ACCESS_KEY_ID")]
    pub batch_s3_access_key_id: Option<String>,

    /// Secret access key for the batch runner's S3 (default `test`).
    #[arg(
        long,
        env = "BEDROCK_BATCH_S3_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub batch_s3_secret_access_key: Option<String>,

    /// Signing region for the batch runner's S3 (default: --region).
    #[arg(long, env = "BEDROCK_BATCH_S3_REGION")]
    pub batch_s3_region: Option<String>,

    /// Path-style S3 addressing for the batch runner (default true; set false for
    /// virtual-host style, e.g. some AWS setups).
    #[arg(long, env = "BEDROCK_BATCH_S3_PATH_STYLE", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub batch_s3_path_style: Option<bool>,
}

/// `serve`'s record/replay flags.
#[derive(Debug, Clone, Default, Args)]
pub struct CassetteArgs {
    /// Record mode: forward every runtime call to --upstream and store each exchange as a
    /// cassette (one JSON file) in this directory.
    #[arg(long, env = "BEDROCK_LOCAL_RECORD", conflicts_with = "replay")]
    pub record: Option<PathBuf>,

    /// Where record mode forwards: `real` (Bedrock in the request's region, signed with your
    /// AWS credentials) or a base URL such as `http://127.0.0.1:4566`.
    #[arg(long, env = "BEDROCK_LOCAL_UPSTREAM")]
    pub upstream: Option<String>,

    /// Replay mode: answer runtime calls from the cassettes in this directory.
    #[arg(long, env = "BEDROCK_LOCAL_REPLAY")]
    pub replay: Option<PathBuf>,

    /// What a replayed request without a cassette gets: `fail` (404
    /// ResourceNotFoundException naming the cassette; default) or `model` (served locally).
    #[arg(long, env = "BEDROCK_LOCAL_REPLAY_MISS")]
    pub replay_miss: Option<String>,
}

/// Settings read from the `--config` file. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    models_file: Option<PathBuf>,
    default_model: Option<String>,
    default_embedding_model: Option<String>,
    threads: Option<usize>,
    max_context: Option<usize>,
    offline: Option<bool>,
    host: Option<String>,
    port: Option<u16>,
    prewarm: Option<bool>,
    pull_models: Option<Vec<String>>,
    queue_capacity: Option<usize>,
    max_sequences: Option<usize>,
    prefix_cache_mb: Option<usize>,
    max_body_bytes: Option<usize>,
    region: Option<String>,
    deterministic: Option<bool>,
    rules: Option<PathBuf>,
    history_size: Option<usize>,
    record: Option<PathBuf>,
    upstream: Option<String>,
    replay: Option<PathBuf>,
    replay_miss: Option<String>,
    strict_profiles: Option<bool>,
    batch_s3_endpoint: Option<String>,
    batch_s3_access_key_id: Option<String>,
    batch_s3_secret_access_key: Option<String>,
    batch_s3_region: Option<String>,
    batch_s3_path_style: Option<bool>,
}

/// The resolved settings of the model-related options.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub models_file: Option<PathBuf>,
    pub default_model: Option<String>,
    pub default_embedding_model: Option<String>,
    pub threads: Option<usize>,
    pub max_context: usize,
    pub offline: bool,
}

/// The resolved settings of `serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub prewarm: bool,
    pub pull_models: Vec<String>,
    pub queue_capacity: usize,
    pub max_sequences: usize,
    pub prefix_cache_mb: usize,
    pub max_body_bytes: usize,
    pub region: String,
    pub deterministic: bool,
    pub rules: Option<PathBuf>,
    pub history_size: usize,
    pub cassettes: bedrock_local_facade::CassetteMode,
    pub strict_profiles: bool,
    pub batch_s3: BatchS3Config,
}

/// Where the batch runner's S3 is. `endpoint: None` means this server's own S3.
#[derive(Clone)]
pub struct BatchS3Config {
    pub endpoint: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    pub path_style: bool,
}

impl std::fmt::Debug for BatchS3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchS3Config")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .finish()
    }
}

/// Default context bound: enough for real conversations, a small KV cache (~100 MB for Qwen).
pub const DEFAULT_MAX_CONTEXT: usize = 8192;
const DEFAULT_PORT: u16 = 4566;

fn read_file(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml_from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

fn toml_from_str(text: &str) -> anyhow::Result<FileConfig> {
    Ok(toml::from_str(text)?)
}

fn default_data_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache").join("bedrock-local");
    }
    PathBuf::from(".bedrock-local")
}

impl Config {
    /// Merges flags/env (already in `args`) over the file over the defaults.
    pub fn resolve(args: &CommonArgs) -> anyhow::Result<(Self, FileLayer)> {
        let file = read_file(args.config.as_deref())?;
        let config = Config {
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir.clone())
                .unwrap_or_else(default_data_dir),
            models_file: args.models_file.clone().or(file.models_file.clone()),
            default_model: args
                .default_model
                .clone()
                .or(file.default_model.clone())
                .filter(|s| !s.trim().is_empty()),
            default_embedding_model: args
                .default_embedding_model
                .clone()
                .or(file.default_embedding_model.clone())
                .filter(|s| !s.trim().is_empty()),
            // Default: the CPUs this process may use (affinity mask and cgroup quota, see
            // bedrock_local_engine::threads), so a container limited to 2 CPUs gets 2 threads,
            // not the host's core count. 0 means unset.
            threads: Some(
                args.threads
                    .or(file.threads)
                    .filter(|t| *t > 0)
                    .unwrap_or_else(bedrock_local_engine::threads::default_threads),
            ),
            max_context: args
                .max_context
                .or(file.max_context)
                .unwrap_or(DEFAULT_MAX_CONTEXT),
            offline: args.offline.or(file.offline).unwrap_or(false),
        };
        if config.max_context < 16 {
            bail!("max_context must be at least 16 tokens");
        }
        Ok((config, FileLayer(file)))
    }
}

/// The config file's values, kept for the command-specific settings.
pub struct FileLayer(FileConfig);

impl ServeConfig {
    /// Merges `serve`'s flags/env over the file over the defaults.
    pub fn resolve(args: &ServeArgs, file: &FileLayer) -> anyhow::Result<Self> {
        let file = &file.0;
        let (mut host, mut port) = ("127.0.0.1".to_string(), DEFAULT_PORT);
        if let Some(listen) = args.gateway_listen.as_deref() {
            let first = listen.split(',').next().unwrap_or("").trim();
            if !first.is_empty() {
                let (h, p) = first
                    .rsplit_once(':')
                    .with_context(|| format!("GATEWAY_LISTEN {first:?} is not HOST:PORT"))?;
                if !h.is_empty() {
                    host = h.trim_matches(['[', ']']).to_string();
                }
                port = p
                    .parse()
                    .with_context(|| format!("GATEWAY_LISTEN port {p:?} is not a number"))?;
            }
        }
        if let Some(h) = args.host.clone().or(file.host.clone()) {
            host = h;
        }
        if let Some(p) = args.port.or(file.port) {
            port = p;
        }
        let ip: std::net::IpAddr = host
            .parse()
            .or_else(|_| {
                if host == "localhost" {
                    Ok("127.0.0.1".parse()?)
                } else {
                    Err(anyhow::anyhow!("host {host:?} is not an IP address"))
                }
            })
            .context("invalid --host")?;
        let region = args
            .region
            .clone()
            .or(file.region.clone())
            .unwrap_or_else(|| "us-east-1".to_string());
        let batch_s3 = BatchS3Config {
            endpoint: args
                .batch_s3_endpoint
                .clone()
                .or(file.batch_s3_endpoint.clone())
                .filter(|s| !s.trim().is_empty()),
            access_key_id: args
                .batch_s3_access_key_id
                .clone()
                .or(file.batch_s3_access_key_id.clone())
                .unwrap_or_else(|| "test".to_string()),
            secret_access_key: args
                .batch_s3_secret_access_key
                .clone()
                .or(file.batch_s3_secret_access_key.clone())
                .unwrap_or_else(|| "test".to_string()),
            region: args
                .batch_s3_region
                .clone()
                .or(file.batch_s3_region.clone())
                .unwrap_or_else(|| region.clone()),
            path_style: args
                .batch_s3_path_style
                .or(file.batch_s3_path_style)
                .unwrap_or(true),
        };
        Ok(ServeConfig {
            listen: SocketAddr::new(ip, port),
            prewarm: args.prewarm.or(file.prewarm).unwrap_or(false),
            pull_models: args
                .pull_models
                .clone()
                .or(file.pull_models.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            queue_capacity: args.queue_capacity.or(file.queue_capacity).unwrap_or(64),
            max_sequences: args
                .max_sequences
                .or(file.max_sequences)
                .unwrap_or(16)
                .max(1),
            prefix_cache_mb: args.prefix_cache_mb.or(file.prefix_cache_mb).unwrap_or(256),
            max_body_bytes: args
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(25_000_000),
            region,
            deterministic: args.deterministic.or(file.deterministic).unwrap_or(false),
            rules: args.rules.clone().or(file.rules.clone()),
            history_size: args
                .history_size
                .or(file.history_size)
                .unwrap_or(bedrock_local_facade::Doubles::DEFAULT_HISTORY),
            cassettes: cassette_mode(args, file)?,
            strict_profiles: args
                .strict_profiles
                .or(file.strict_profiles)
                .unwrap_or(false),
            batch_s3,
        })
    }
}

/// Record/replay from flags/env over the file: record and replay exclude each other (also
/// when one comes from the file), record needs an upstream.
fn cassette_mode(
    args: &ServeArgs,
    file: &FileConfig,
) -> anyhow::Result<bedrock_local_facade::CassetteMode> {
    use bedrock_local_facade::{CassetteMode, MissPolicy, Upstream};

    let args = &args.cassettes;
    let record = args.record.clone().or(file.record.clone());
    let replay = args.replay.clone().or(file.replay.clone());
    let upstream = args.upstream.clone().or(file.upstream.clone());
    let miss = args.replay_miss.clone().or(file.replay_miss.clone());
    let miss: MissPolicy = match miss {
        Some(m) => m.parse().context("--replay-miss")?,
        None => MissPolicy::default(),
    };
    match (record, replay) {
        (Some(_), Some(_)) => anyhow::bail!("--record and --replay cannot be used together"),
        (Some(dir), None) => {
            let upstream: Upstream = upstream
                .context("--record needs --upstream (`real` or a base URL)")?
                .parse()
                .context("--upstream")?;
            Ok(CassetteMode::Record { dir, upstream })
        }
        (None, Some(dir)) => Ok(CassetteMode::Replay { dir, miss }),
        (None, None) => Ok(CassetteMode::Off),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
