//! Throughput measurement in llama-bench's terms, for `bedrock-local bench` and
//! `examples/bench.rs`, so our numbers compare directly with llama.cpp's (DESIGN.md §6).
//!
//! - `pp<N>` (prefill): one forward over N prompt tokens on an empty cache;
//! - `tg<N>` (decode): N single-token forwards from an empty cache, each feeding back the
//!   greedy (argmax) token;
//!
//! each repeated [`BenchOptions::repetitions`] times after one warm-up, reporting the mean of
//! the per-run rates (as llama-bench does). Concurrent streams through the engine's front door
//! are measured by [`crate::bench_concurrent`]. The prompt is real text tokenized by the model's tokenizer.
//! Peak RSS is the process's high-water mark (`VmHWM`, Linux only), so it includes whatever
//! else the process holds.

use std::time::Instant;

use bedrock_local_core::ModelFiles;

use crate::arch::{CausalLm, LoadOptions};
use crate::backend::configure_threads;
use crate::sampling::argmax;
use crate::tokenizer::GgufTokenizer;
use crate::{loader, EngineError, Result};

/// Measured runs per test (after one warm-up run) unless [`BenchOptions::repetitions`] says.
pub const REPETITIONS: usize = 3;

const TEXT: &str =
    "The quick brown fox jumps over the lazy dog. Amazon Bedrock is a fully managed \
service that offers a choice of foundation models through a single API. fn main() { let x = 42; \
println!(\"{x}\"); } Rust is a language empowering everyone to build reliable software. ";

/// What [`bench`] measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchOptions {
    /// Prompt sizes, one `pp` test each (llama-bench `-p 128,1024`).
    pub prompt_sizes: Vec<usize>,
    /// Single-token decode steps per `tg` run (llama-bench `-n`); 0 skips decode.
    pub gen_tokens: usize,
    /// Measured runs per test, after one warm-up (llama-bench `-r`).
    pub repetitions: usize,
    /// CPU threads (see `EngineConfig::threads`).
    pub threads: Option<usize>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            prompt_sizes: vec![128, 1024],
            gen_tokens: 64,
            repetitions: REPETITIONS,
            threads: None,
        }
    }
}

/// One `pp` test.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefillResult {
    /// Prompt tokens in the one forward.
    pub prompt_tokens: usize,
    /// Throughput, tokens per second (mean of the runs).
    pub tok_s: f64,
}

/// What [`bench`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Time to read the GGUF and build tokenizer, template and weights, in milliseconds.
    pub load_ms: f64,
    /// One entry per [`BenchOptions::prompt_sizes`], in order.
    pub prefill: Vec<PrefillResult>,
    /// Single-token decode steps per run (`tg` size).
    pub decode_tokens: usize,
    /// Decode throughput, tokens per second.
    pub decode_tok_s: f64,
    /// Peak resident memory of the process in MB, where the OS reports it.
    pub peak_rss_mb: Option<f64>,
}

/// Loads the model in `files` and runs the `pp` and `tg` tests of `options`, the model used
/// directly (no queue, no sampling, no detokenizing).
pub fn bench(files: &ModelFiles, options: &BenchOptions) -> Result<BenchReport> {
    configure_threads(options.threads);
    let longest = options.prompt_sizes.iter().copied().max().unwrap_or(0);
    let needed = longest.max(options.gen_tokens) + 1;
    let load_options = LoadOptions {
        max_context: needed.max(512),
    };
    let started = Instant::now();
    let loaded = loader::load(files, load_options)?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    if needed > loaded.context_length {
        return Err(EngineError::InvalidRequest(format!(
            "the benchmark needs {needed} positions, the model has {}",
            loaded.context_length
        )));
    }
    let mut model = loaded
        .model
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
        .ok_or_else(|| EngineError::InvalidRequest("model weights already taken".into()))?;
    let prompt = prompt_ids(&loaded.tokenizer, longest)?;

    // Warm-up: touches every weight once and starts candle's thread pool.
    model.reset();
    model.prefill(&prompt[..prompt.len().min(16)])?;

    let runs = options.repetitions.max(1);
    let mut prefill = Vec::new();
    for &n in options.prompt_sizes.iter().filter(|n| **n > 0) {
        let mut rates = Vec::new();
        for _ in 0..runs {
            model.reset();
            let t = Instant::now();
            model.forward(&prompt[..n], 0)?;
            rates.push(n as f64 / t.elapsed().as_secs_f64());
        }
        prefill.push(PrefillResult {
            prompt_tokens: n,
            tok_s: mean(&rates),
        });
    }
    let mut tg = Vec::new();
    if options.gen_tokens > 0 {
        for _ in 0..runs {
            tg.push(decode_run(model.as_mut(), prompt[0], options.gen_tokens)?);
        }
    }
    model.reset();
    Ok(BenchReport {
        load_ms,
        prefill,
        decode_tokens: options.gen_tokens,
        decode_tok_s: mean(&tg),
        peak_rss_mb: peak_rss_mb(),
    })
}

/// `n` single-token greedy steps from an empty cache; tokens per second.
fn decode_run(model: &mut dyn CausalLm, first: u32, n: usize) -> Result<f64> {
    model.reset();
    let t = Instant::now();
    let mut token = first;
    for pos in 0..n {
        let logits: Vec<f32> = model.forward(&[token], pos)?.to_vec1()?;
        token = argmax(&logits).unwrap_or(first);
    }
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

/// Exactly `n` ids of real text (at least one).
fn prompt_ids(tokenizer: &GgufTokenizer, n: usize) -> Result<Vec<u32>> {
    let mut text = String::new();
    let mut ids = Vec::new();
    while ids.len() < n.max(1) {
        text.push_str(TEXT);
        ids = tokenizer.encode(&text, true)?;
    }
    ids.truncate(n.max(1));
    Ok(ids)
}

/// Real text of at least `words` words (the benchmark's prompt material), for callers that
/// need text rather than ids (the concurrent benchmark goes through the engine's front door).
pub fn prompt_text(words: usize) -> String {
    let mut text = String::new();
    while text.split_whitespace().count() < words {
        text.push_str(TEXT);
    }
    text
}

pub(crate) fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// The process's peak resident set size in MB (`VmHWM` in `/proc/self/status`).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
