//! `pull` and `models`: the model store from the terminal.

use std::sync::Arc;

use anyhow::Context;
use bedrock_local_registry::{Registry, RegistryConfig};
use clap::Args;

use crate::config::Config;

/// Options of `pull`.
#[derive(Debug, Clone, Args)]
pub struct PullArgs {
    /// Local model names or aliases (`qwen2.5:0.5b`), `ollama.`/`local.` names, or Bedrock ids.
    /// Default: the default text model.
    pub names: Vec<String>,
}

/// Options of `models`.
#[derive(Debug, Clone, Args)]
pub struct ModelsArgs {
    /// Print JSON lines instead of a table (name, aliases, task, arch, size, cached, path).
    #[arg(long)]
    pub json: bool,
}

/// The registry for these settings.
pub fn registry(config: &Config, strict_profiles: bool) -> anyhow::Result<Arc<Registry>> {
    let registry = Registry::new(RegistryConfig {
        data_dir: config.data_dir.clone(),
        models_toml: config.models_file.clone(),
        default_text_model: config.default_model.clone(),
        default_embedding_model: config.default_embedding_model.clone(),
        strict_profiles,
        pypi_base_url: std::env::var("PYPI_INDEX_URL").ok(),
        hf_endpoint: std::env::var("HF_ENDPOINT").ok(),
        offline: config.offline,
    })
    .context("loading the model registry")?;
    Ok(Arc::new(registry))
}

/// Downloads (or verifies) the named models.
pub fn pull(config: &Config, args: &PullArgs) -> anyhow::Result<()> {
    let registry = registry(config, false)?;
    let names = if args.names.is_empty() {
        vec![registry.default_text_model().to_string()]
    } else {
        args.names.clone()
    };
    for name in names {
        let local = registry.resolve(&name)?.local;
        let progress = bedrock_local_registry::progress_for_stderr();
        let files = registry
            .pull(&local, progress.as_ref())
            .with_context(|| format!("pulling {local}"))?;
        println!("{local}\t{}", files.weights.display());
    }
    Ok(())
}

/// Lists the local models.
pub fn list(config: &Config, args: &ModelsArgs) -> anyhow::Result<()> {
    let registry = registry(config, false)?;
    let default = registry.default_text_model().to_string();
    let models = registry.local_models();
    if args.json {
        for m in &models {
            let line = serde_json::json!({
                "name": m.name.as_str(),
                "aliases": m.aliases,
                "task": format!("{:?}", m.task).to_lowercase(),
                "arch": m.arch,
                "size_bytes": m.size_bytes,
                "cached": m.cached,
                "default": m.name.as_str() == default,
                "path": m.path.as_ref().map(|p| p.display().to_string()),
            });
            println!("{line}");
        }
        return Ok(());
    }
    println!(
        "{:<32} {:<10} {:<8} {:>10}  {:<7} ALIASES",
        "NAME", "TASK", "ARCH", "SIZE", "CACHED"
    );
    for m in &models {
        let mark = if m.name.as_str() == default {
            " (default)"
        } else {
            ""
        };
        println!(
            "{:<32} {:<10} {:<8} {:>10}  {:<7} {}{}",
            m.name.as_str(),
            format!("{:?}", m.task).to_lowercase(),
            m.arch,
            format!("{:.0} MB", m.size_bytes as f64 / 1e6),
            if m.cached { "yes" } else { "no" },
            m.aliases.join(", "),
            mark
        );
    }
    Ok(())
}
