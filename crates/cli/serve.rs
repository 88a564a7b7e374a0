//! `serve`: pull the default model, build engine + facade, listen.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bedrock_local_batch::{Batch, BatchConfig, S3Settings};
use bedrock_local_core::{InferenceBackend, LocalModelName, ModelLocator};
use bedrock_local_doubles::Rules;
use bedrock_local_engine::{Engine, EngineConfig};
use bedrock_local_facade::{AppState, Doubles, FacadeConfig};

use crate::config::{Config, ServeConfig};

/// Runs the server until Ctrl-C / SIGTERM.
pub async fn serve(config: Config, serve: ServeConfig) -> anyhow::Result<()> {
    let registry = crate::models::registry(&config, serve.strict_profiles)?;
    let default = LocalModelName::new(registry.default_text_model().to_string());
    tracing::info!(
        listen = %serve.listen,
        data_dir = %config.data_dir.display(),
        default_model = %default,
        threads = ?config.threads,
        max_context = config.max_context,
        "starting bedrock-local"
    );

    // The default model (and BEDROCK_PULL_MODELS) are on disk and verified before we listen,
    // so the first request never waits for a download.
    let mut to_pull = vec![default.clone()];
    for name in &serve.pull_models {
        let local = registry
            .resolve(name)
            .with_context(|| format!("BEDROCK_PULL_MODELS entry {name:?}"))?
            .local;
        if !to_pull.contains(&local) {
            to_pull.push(local);
        }
    }
    {
        let registry = registry.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            for name in to_pull {
                let progress = bedrock_local_registry::progress_for_stderr();
                registry
                    .pull(&name, progress.as_ref())
                    .with_context(|| format!("pulling {name}"))?;
            }
            Ok(())
        })
        .await??;
    }

    let engine_models = registry
        .local_models()
        .into_iter()
        .filter(|m| {
            matches!(
                m.task,
                bedrock_local_registry::Task::Text | bedrock_local_registry::Task::Embedding
            )
        })
        .map(|m| m.name)
        .collect();
    let locator: Arc<dyn ModelLocator> = registry.clone();
    let engine = Engine::new(
        locator,
        engine_models,
        EngineConfig {
            threads: config.threads,
            max_context: config.max_context,
            queue_capacity: serve.queue_capacity,
            max_sequences: serve.max_sequences,
            prefix_cache_bytes: serve.prefix_cache_mb << 20,
        },
    );
    let backend: Arc<dyn InferenceBackend> = Arc::new(engine);
    if serve.prewarm {
        let backend = backend.clone();
        let name = default.clone();
        tokio::task::spawn_blocking(move || backend.load(&name))
            .await?
            .with_context(|| format!("loading {default}"))?;
    }

    let facade_config = FacadeConfig {
        region: serve.region.clone(),
        max_body_bytes: serve.max_body_bytes,
        deterministic: serve.deterministic,
        ..FacadeConfig::default()
    };
    let doubles = Doubles::new(0, serve.history_size);
    if let Some(path) = &serve.rules {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the rules file {}", path.display()))?;
        let specs = Rules::parse_file(&text)
            .with_context(|| format!("the rules file {}", path.display()))?;
        let added = doubles
            .rules
            .add_all(specs)
            .with_context(|| format!("the rules file {}", path.display()))?;
        tracing::info!(rules = added.len(), file = %path.display(), "test-double rules loaded");
    }
    let account_id = facade_config.account_id.clone();
    let s3 = bedrock_local_store::S3Endpoint::open(config.data_dir.join("s3"))
        .context("opening the S3 store")?;
    match &serve.cassettes {
        bedrock_local_facade::CassetteMode::Off => {}
        bedrock_local_facade::CassetteMode::Record { dir, upstream } => {
            tracing::info!(dir = %dir.display(), ?upstream, "record mode: runtime calls go to the upstream");
            if let Err(e) = bedrock_local_cassette::Credentials::load() {
                tracing::warn!(error = %e, "record mode: no AWS credentials yet; forwarded calls will fail until there are");
            }
        }
        bedrock_local_facade::CassetteMode::Replay { dir, miss } => {
            if !dir.is_dir() {
                anyhow::bail!("--replay {}: not a directory", dir.display());
            }
            tracing::info!(dir = %dir.display(), ?miss, "replay mode: runtime calls answered from cassettes");
        }
    }
    let state = AppState::new(backend, registry, facade_config)
        .with_s3(s3)
        .with_doubles(doubles)
        .with_cassettes(serve.cassettes.clone());
    let listener = tokio::net::TcpListener::bind(serve.listen)
        .await
        .with_context(|| format!("binding {}", serve.listen))?;
    let addr = listener.local_addr()?;

    let batch = open_batch(&config, &serve, &state, addr, account_id)?;
    let state = state.with_batch(batch.clone());
    // Tests and scripts read this line to learn the port (`--port 0`).
    println!("bedrock-local listening on http://{addr}");
    tracing::info!(%addr, "ready");
    let resumed = batch.resume();
    if resumed > 0 {
        tracing::info!(jobs = resumed, "resumed unfinished batch jobs");
    }
    bedrock_local_facade::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// The batch service: job state under `<data_dir>/batch`, S3 over HTTP at the configured
/// endpoint or this server's own address.
fn open_batch(
    config: &Config,
    serve: &ServeConfig,
    state: &AppState,
    addr: SocketAddr,
    account_id: String,
) -> anyhow::Result<Batch> {
    let endpoint = serve.batch_s3.endpoint.clone().unwrap_or_else(|| {
        let ip = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, addr.port()))
    });
    tracing::info!(%endpoint, "batch jobs use this S3 endpoint");
    let batch = Batch::open(
        BatchConfig {
            dir: config.data_dir.join("batch"),
            s3: S3Settings {
                endpoint,
                access_key_id: serve.batch_s3.access_key_id.clone(),
                secret_access_key: serve.batch_s3.secret_access_key.clone(),
                region: serve.batch_s3.region.clone(),
                path_style: serve.batch_s3.path_style,
            },
            account_id,
            state_dwell: Duration::from_millis(200),
        },
        bedrock_local_facade::record_invoker(state),
    )
    .context("opening the batch job directory")?;
    Ok(batch)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
