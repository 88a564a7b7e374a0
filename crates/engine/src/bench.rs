//! Throughput measurement in llama-bench's terms, for `bedrock-local bench` and
//! `examples/bench.rs`, so our numbers compare directly with llama.cpp's (DESIGN.md §6).
//!
//! - `pp<N>` (prefill): one forward over N prompt tokens on an empty cache;
//! - `tg<N>` (decode): N single-token forwards from an empty cache, each feeding back the
//!   greedy (argmax) token;
//!
//! each repeated [`REPETITIONS`] times after one warm-up, reporting the mean of the per-run
//! rates (as llama-bench does). The prompt is real text tokenized by the model's tokenizer.
//! Peak RSS is the process's high-water mark (`VmHWM`, Linux only), so it includes whatever
//! else the process holds.

use std::time::Instant;

use bedrock_local_core::ModelFiles;

use crate::arch::{CausalLm, LoadOptions};
use crate::backend::configure_threads;
use crate::sampling::argmax;
use crate::{loader, EngineError, Result};

/// Measured runs per test (after one warm-up run).
pub const REPETITIONS: usize = 3;

const TEXT: &str =
    "The quick brown fox jumps over the lazy dog. Amazon Bedrock is a fully managed \
service that offers a choice of foundation models through a single API. fn main() { let x = 42; \
println!(\"{x}\"); } Rust is a language empowering everyone to build reliable software. ";

/// What [`bench`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Time to read the GGUF and build tokenizer, template and weights, in milliseconds.
    pub load_ms: f64,
    /// Prompt tokens per prefill forward (`pp` size).
    pub prefill_tokens: usize,
    /// Prefill throughput, tokens per second.
    pub prefill_tok_s: f64,
    /// Single-token decode steps per run (`tg` size).
    pub decode_tokens: usize,
    /// Decode throughput, tokens per second.
    pub decode_tok_s: f64,
    /// Peak resident memory of the process in MB, where the OS reports it.
    pub peak_rss_mb: Option<f64>,
}

/// Loads the model in `files` and measures prefill of `prompt_tokens` tokens and decode of
/// `gen_tokens` tokens with `threads` CPU threads (see `EngineConfig::threads`).
pub fn bench(
    files: &ModelFiles,
    prompt_tokens: usize,
    gen_tokens: usize,
    threads: Option<usize>,
) -> Result<BenchReport> {
    configure_threads(threads);
    let needed = prompt_tokens.max(gen_tokens) + 1;
    let options = LoadOptions {
        max_context: needed.max(512),
    };
    let started = Instant::now();
    let loaded = loader::load(files, options)?;
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
    let prompt = prompt_ids(&loaded, prompt_tokens)?;

    // Warm-up: touches every weight once and starts candle's thread pool.
    model.reset();
    model.prefill(&prompt[..prompt.len().min(16)])?;

    let mut pp = Vec::new();
    let mut tg = Vec::new();
    for _ in 0..REPETITIONS {
        if prompt_tokens > 0 {
            model.reset();
            let t = Instant::now();
            model.forward(&prompt, 0)?;
            pp.push(prompt_tokens as f64 / t.elapsed().as_secs_f64());
        }
        if gen_tokens > 0 {
            tg.push(decode_run(model.as_mut(), prompt[0], gen_tokens)?);
        }
    }
    model.reset();
    Ok(BenchReport {
        load_ms,
        prefill_tokens: prompt_tokens,
        prefill_tok_s: mean(&pp),
        decode_tokens: gen_tokens,
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
fn prompt_ids(loaded: &loader::LoadedModel, n: usize) -> Result<Vec<u32>> {
    let mut text = String::new();
    let mut ids = Vec::new();
    while ids.len() < n.max(1) {
        text.push_str(TEXT);
        ids = loaded.tokenizer.encode(&text, true)?;
    }
    ids.truncate(n.max(1));
    Ok(ids)
}

fn mean(xs: &[f64]) -> f64 {
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
