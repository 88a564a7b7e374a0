//! Pulls local models by name, alias or Bedrock id, as `bedrock-local pull` does, to try the
//! store by hand: `cargo run -p bedrock-local-registry --example pull -- gemma3:270m`.
//! Env: `BEDROCK_LOCAL_DATA_DIR` (default `./target/registry-example`), `PYPI_INDEX_URL`,
//! `HF_ENDPOINT`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let data_dir = std::env::var_os("BEDROCK_LOCAL_DATA_DIR")
        .map(Into::into)
        .unwrap_or_else(|| std::path::PathBuf::from("target/registry-example"));
    let registry = bedrock_local_registry::Registry::new(bedrock_local_registry::RegistryConfig {
        data_dir,
        ..Default::default()
    })?;
    let names: Vec<String> = std::env::args().skip(1).collect();
    for name in names {
        let resolved = registry.resolve(&name)?;
        let progress = bedrock_local_registry::progress_for_stderr();
        let files = registry.pull(&resolved.local, progress.as_ref())?;
        println!("{}\t{}", resolved.local, files.weights.display());
    }
    for m in registry.local_models() {
        println!("{}\tcached={}\t{:?}", m.name, m.cached, m.path);
    }
    Ok(())
}
