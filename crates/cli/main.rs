//! bedrock-local: Amazon Bedrock, running locally, with the models inside.
//!
//! The binary: parses the command line into one typed [`config::Config`], builds the registry,
//! the engine and the facade, and runs one of the commands below. Library crates never see
//! clap types; defaults live only in `config.rs`.

mod bench;
mod config;
mod health;
mod models;
mod run;
mod serve;

use clap::{Parser, Subcommand};

use crate::config::{CommonArgs, Config, ServeArgs, ServeConfig};

/// Amazon Bedrock, running locally, with the models inside.
///
/// Serves the bedrock and bedrock-runtime APIs on one port (LocalStack's 4566) and answers with
/// real inference on the CPU. Point any AWS client at it with
/// `AWS_ENDPOINT_URL=http://localhost:4566` (or `awslocal`).
#[derive(Debug, Parser)]
#[command(name = "bedrock-local", version, about, long_about)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the Bedrock APIs. The first start downloads the default model.
    Serve(ServeArgs),
    /// Download models into the data dir and verify their sha256.
    Pull(models::PullArgs),
    /// List the local models and whether they are downloaded.
    Models(models::ModelsArgs),
    /// Generate from a model in the terminal, printing tokens as they come.
    Run(run::RunArgs),
    /// Measure load time, prefill and decode speed of a model.
    Bench(bench::BenchArgs),
    /// Ask a running server whether it is ready (exit code 0 if so).
    Health(health::HealthArgs),
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BEDROCK_LOCAL_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // s3s logs every S3 client error (a 404 from HEAD included) at ERROR; the store logs its
    // own failures. Its logs stay available by naming it, e.g. BEDROCK_LOCAL_LOG=info,s3s=debug.
    let named = std::env::var("BEDROCK_LOCAL_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .is_ok_and(|v| v.contains("s3s"));
    let filter = match "s3s=off".parse() {
        Ok(quiet) if !named => filter.add_directive(quiet),
        _ => filter,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run_command(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_command(cli: Cli) -> anyhow::Result<()> {
    let (config, file) = Config::resolve(&cli.common)?;
    // candle reads its thread count from the environment once; set it while the process is
    // still single-threaded (before any runtime starts).
    bedrock_local_engine::backend::configure_threads(config.threads);
    match cli.command {
        Command::Serve(args) => {
            let serve = ServeConfig::resolve(&args, &file)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .worker_threads(2)
                .thread_name("bedrock-local-http")
                .build()?;
            runtime.block_on(serve::serve(config, serve))
        }
        Command::Pull(args) => models::pull(&config, &args),
        Command::Models(args) => models::list(&config, &args),
        Command::Run(args) => run::run(&config, &args),
        Command::Bench(args) => bench::bench(&config, &args),
        Command::Health(args) => health::health(&args),
    }
}
