//! `bench`: load time, prefill and decode tokens/s, measured like llama-bench's pp/tg tests so
//! the numbers compare with `../shared/tools/llamacpp-baseline.sh bench` on the same GGUF.
//! `bench --embed`: embeddings per second of an embedding model by texts per request.

use anyhow::Context;
use clap::Args;

use crate::config::Config;

/// Options of `bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Model to measure (default: the default text model, or with `--embed` the default
    /// embedding model).
    pub model: Option<String>,
    /// Measure an embedding model: texts/s for each of `--batch-sizes` texts per request.
    #[arg(long)]
    pub embed: bool,
    /// Texts per request for `--embed`.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    pub batch_sizes: Vec<usize>,
    /// Prompt tokens processed in one forward pass (llama-bench `-p`).
    #[arg(long, default_value_t = 128)]
    pub prompt_tokens: usize,
    /// Tokens generated one at a time (llama-bench `-n`).
    #[arg(long, default_value_t = 64)]
    pub gen_tokens: usize,
    /// Repetitions; the best run is reported as llama-bench reports averages of warm runs.
    #[arg(long, default_value_t = 3)]
    pub repetitions: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the benchmark and prints the report.
pub fn bench(config: &Config, args: &BenchArgs) -> anyhow::Result<()> {
    if args.embed {
        return bench_embed(config, args);
    }
    let registry = crate::models::registry(config, false)?;
    let name = args
        .model
        .clone()
        .unwrap_or_else(|| registry.default_text_model().to_string());
    let local = registry.resolve(&name)?.local;
    let progress = bedrock_local_registry::progress_for_stderr();
    let files = registry
        .pull(&local, progress.as_ref())
        .with_context(|| format!("pulling {local}"))?;
    let mut reports = Vec::new();
    for _ in 0..args.repetitions.max(1) {
        reports.push(bedrock_local_engine::bench(
            &files,
            args.prompt_tokens,
            args.gen_tokens,
            config.threads,
        )?);
    }
    let mean = |f: &dyn Fn(&bedrock_local_engine::BenchReport) -> f64| {
        reports.iter().map(f).sum::<f64>() / reports.len() as f64
    };
    let load_ms = mean(&|r| r.load_ms);
    let prefill = mean(&|r| r.prefill_tok_s);
    let decode = mean(&|r| r.decode_tok_s);
    let rss = reports
        .iter()
        .filter_map(|r| r.peak_rss_mb)
        .fold(0.0, f64::max);
    let threads = config
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "model": local.as_str(),
                "weights": files.weights.display().to_string(),
                "threads": threads,
                "load_ms": load_ms,
                "prompt_tokens": args.prompt_tokens,
                "prefill_tok_s": prefill,
                "gen_tokens": args.gen_tokens,
                "decode_tok_s": decode,
                "peak_rss_mb": rss,
                "repetitions": reports.len(),
            })
        );
    } else {
        println!("model       {local} ({})", files.weights.display());
        println!("threads     {threads}");
        println!("load        {load_ms:.0} ms");
        println!("prefill     pp{} {prefill:.1} tok/s", args.prompt_tokens);
        println!("decode      tg{} {decode:.1} tok/s", args.gen_tokens);
        println!("peak RSS    {rss:.0} MB");
    }
    Ok(())
}

/// `bench --embed`: one row per batch size.
fn bench_embed(config: &Config, args: &BenchArgs) -> anyhow::Result<()> {
    let registry = crate::models::registry(config, false)?;
    let name = match &args.model {
        Some(name) => name.clone(),
        None => registry
            .default_embedding_model()
            .context("no embedding model is configured")?
            .to_string(),
    };
    let local = registry.resolve(&name)?.local;
    let progress = bedrock_local_registry::progress_for_stderr();
    let files = registry
        .pull(&local, progress.as_ref())
        .with_context(|| format!("pulling {local}"))?;
    let report = bedrock_local_engine::bench_embed(&files, &args.batch_sizes, config.threads)?;
    let threads = config
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let rss = report.peak_rss_mb.unwrap_or(0.0);
    if args.json {
        let rows: Vec<_> = report
            .rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "batch": r.batch,
                    "calls": r.calls,
                    "texts_per_s": r.texts_per_s,
                    "ms_per_batch": r.ms_per_batch,
                    "tokens_per_s": r.tokens_per_s,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "model": local.as_str(),
                "weights": files.weights.display().to_string(),
                "threads": threads,
                "load_ms": report.load_ms,
                "dimension": report.dimension,
                "rows": rows,
                "peak_rss_mb": rss,
            })
        );
    } else {
        println!("model       {local} ({})", files.weights.display());
        println!("threads     {threads}");
        println!("load        {:.0} ms", report.load_ms);
        println!("dimension   {}", report.dimension);
        println!("batch    texts/s   ms/batch    tokens/s");
        for r in &report.rows {
            println!(
                "{:>5} {:>10.1} {:>10.1} {:>11.0}",
                r.batch, r.texts_per_s, r.ms_per_batch, r.tokens_per_s
            );
        }
        println!("peak RSS    {rss:.0} MB");
    }
    Ok(())
}
