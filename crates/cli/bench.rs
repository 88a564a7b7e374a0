//! `bench`: load time, prefill and decode tokens/s, measured like llama-bench's pp/tg tests so
//! the numbers compare with `../shared/tools/llamacpp-baseline.sh bench` on the same GGUF; then
//! aggregate decode of 1/2/4/8 concurrent requests through the engine, measured like
//! llama-batched-bench (`llamacpp-baseline.sh batched`), the time to first token of one more
//! request under that load, and the process's peak RSS. `benches/compare.sh` runs both sides.
//! `bench --embed`: embeddings per second of an embedding model by texts per request.

use anyhow::Context;
use bedrock_local_engine::bench_concurrent::{ConcurrentOptions, ConcurrentReport};
use bedrock_local_engine::{BenchOptions, BenchReport};
use clap::Args;
use serde_json::{json, Value};

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
    /// Prompt tokens processed in one forward pass, one test each (llama-bench `-p`).
    #[arg(long, value_delimiter = ',', default_value = "128,1024")]
    pub prompt_tokens: Vec<usize>,
    /// Tokens generated one at a time (llama-bench `-n`), and per concurrent request.
    #[arg(long, default_value_t = 64)]
    pub gen_tokens: usize,
    /// Measured runs of each prefill and decode test, after one warm-up; the mean is
    /// reported (llama-bench `-r`).
    #[arg(long, default_value_t = 3)]
    pub repetitions: usize,
    /// Concurrent requests per round through the engine (llama-batched-bench `-npl`);
    /// `0` skips the concurrent rounds.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    pub streams: Vec<usize>,
    /// Prompt tokens of each concurrent request (llama-batched-bench `-npp`).
    #[arg(long, default_value_t = 128)]
    pub stream_prompt_tokens: usize,
    /// Requests running while the time to first token of one more is measured; 0 skips it.
    #[arg(long, default_value_t = 8)]
    pub load_streams: usize,
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
    let threads = resolved_threads(config);
    let single = bedrock_local_engine::bench(
        &files,
        &BenchOptions {
            prompt_sizes: args.prompt_tokens.clone(),
            gen_tokens: args.gen_tokens,
            repetitions: args.repetitions.max(1),
            threads: Some(threads),
        },
    )?;
    let streams: Vec<usize> = args.streams.iter().copied().filter(|n| *n > 0).collect();
    let concurrent = if streams.is_empty() && args.load_streams == 0 {
        None
    } else {
        Some(bedrock_local_engine::bench_concurrent(
            &files,
            &ConcurrentOptions {
                streams,
                prompt_tokens: args.stream_prompt_tokens,
                gen_tokens: args.gen_tokens,
                load_streams: args.load_streams,
                threads: Some(threads),
                max_context: config.max_context,
            },
        )?)
    };
    let rss = [
        single.peak_rss_mb,
        concurrent.as_ref().and_then(|c| c.peak_rss_mb),
    ]
    .into_iter()
    .flatten()
    .fold(0.0, f64::max);
    if args.json {
        let report = json!({
            "model": local.as_str(),
            "weights": files.weights.display().to_string(),
            "threads": threads,
            "load_ms": single.load_ms,
            "repetitions": args.repetitions.max(1),
            "prefill": single.prefill.iter().map(|p| json!({
                "prompt_tokens": p.prompt_tokens,
                "tok_s": p.tok_s,
            })).collect::<Vec<_>>(),
            "gen_tokens": args.gen_tokens,
            "decode_tok_s": single.decode_tok_s,
            "concurrent": concurrent.as_ref().map(|c| concurrent_json(c, args)),
            "peak_rss_mb": rss,
        });
        println!("{report}");
    } else {
        print_text(
            &local.to_string(),
            &files,
            threads,
            &single,
            concurrent.as_ref(),
            args,
        );
        println!("peak RSS    {rss:.0} MB");
    }
    Ok(())
}

/// Bench threads: the CLI's resolved setting, or the engine's default.
fn resolved_threads(config: &Config) -> usize {
    config
        .threads
        .filter(|n| *n > 0)
        .unwrap_or_else(bedrock_local_engine::threads::default_threads)
}

fn concurrent_json(c: &ConcurrentReport, args: &BenchArgs) -> Value {
    json!({
        "prompt_tokens": args.stream_prompt_tokens,
        "gen_tokens": args.gen_tokens,
        "load_ms": c.load_ms,
        "rows": c.rows.iter().map(|r| json!({
            "streams": r.streams,
            "prompt_tokens": r.prompt_tokens,
            "generated_tokens": r.generated_tokens,
            "t_s": r.t_s,
            "t_tg_s": r.t_tg_s,
            "speed_tg": r.speed_tg,
            "speed": r.speed,
            "ttft_mean_ms": r.ttft_mean_ms,
        })).collect::<Vec<_>>(),
        "ttft_under_load": c.ttft_under_load.as_ref().map(|t| json!({
            "load_streams": t.load_streams,
            "active_at_submit": t.active_at_submit,
            "ttft_ms": t.ttft_ms,
        })),
    })
}

fn print_text(
    local: &str,
    files: &bedrock_local_core::ModelFiles,
    threads: usize,
    single: &BenchReport,
    concurrent: Option<&ConcurrentReport>,
    args: &BenchArgs,
) {
    println!("model       {local} ({})", files.weights.display());
    println!("threads     {threads}");
    println!("load        {:.0} ms", single.load_ms);
    for p in &single.prefill {
        println!("prefill     pp{} {:.1} tok/s", p.prompt_tokens, p.tok_s);
    }
    println!(
        "decode      tg{} {:.1} tok/s",
        args.gen_tokens, single.decode_tok_s
    );
    let Some(c) = concurrent else { return };
    println!(
        "streams     {} prompt + {} generated tokens each, through the engine",
        args.stream_prompt_tokens, args.gen_tokens
    );
    println!("  npl   S_TG tok/s   S tok/s   T s   mean TTFT ms");
    for r in &c.rows {
        println!(
            "{:>5} {:>12.1} {:>9.1} {:>6.1} {:>12.0}",
            r.streams, r.speed_tg, r.speed, r.t_s, r.ttft_mean_ms
        );
    }
    if let Some(t) = &c.ttft_under_load {
        println!(
            "TTFT under load {:.0} ms ({} streams started, {} running at submit)",
            t.ttft_ms, t.load_streams, t.active_at_submit
        );
    }
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
    let threads = resolved_threads(config);
    let report = bedrock_local_engine::bench_embed(&files, &args.batch_sizes, Some(threads))?;
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
