//! Embedding throughput for `bedrock-local bench --embed`: texts per second when a request
//! carries 1, 8, 32... sentences, each request one call of the engine's embedding path
//! (tokenization, batching, forward, pooling), as a Titan (one text per call) or Cohere
//! (up to 96 texts per call) client would drive it.
//!
//! Each batch size runs after one warm-up call for at least [`MIN_CALLS`] calls and
//! [`MIN_SECONDS`] seconds; the rates are totals over those calls. The texts are a fixed set of
//! ordinary English sentences (10 to 30 tokens), cycled to fill a batch.

use std::time::Instant;

use bedrock_local_core::ModelFiles;

use crate::backend::configure_threads;
use crate::bench::peak_rss_mb;
use crate::embed::EmbeddingModel;
use crate::{EngineError, Result};

/// Fewest measured calls per batch size.
pub const MIN_CALLS: usize = 3;

/// Fewest seconds measured per batch size.
pub const MIN_SECONDS: f64 = 2.0;

const SENTENCES: &[&str] = &[
    "The quick brown fox jumps over the lazy dog.",
    "Amazon Bedrock is a fully managed service that offers a choice of foundation models through a single API.",
    "How do I reset my password if I no longer have access to my email account?",
    "Rust is a language empowering everyone to build reliable and efficient software.",
    "The meeting has been moved to Thursday at 3 pm in the large conference room.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Our quarterly revenue grew by 12% compared with the same period last year.",
    "Please remember to water the plants while I am away on holiday next week.",
];

/// One batch size's measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedBenchRow {
    /// Texts per call.
    pub batch: usize,
    /// Measured calls.
    pub calls: usize,
    /// Texts embedded per second.
    pub texts_per_s: f64,
    /// Mean milliseconds per call.
    pub ms_per_batch: f64,
    /// Content tokens (without `[CLS]`/`[SEP]`) embedded per second.
    pub tokens_per_s: f64,
}

/// What [`bench_embed`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedBenchReport {
    /// Time to load the model, in milliseconds.
    pub load_ms: f64,
    /// The embedding dimension.
    pub dimension: usize,
    /// One row per batch size, in the order asked.
    pub rows: Vec<EmbedBenchRow>,
    /// Peak resident memory of the process in MB, where the OS reports it.
    pub peak_rss_mb: Option<f64>,
}

/// Loads the embedding model in `files` and measures each batch size with `threads` CPU
/// threads (see `EngineConfig::threads`).
pub fn bench_embed(
    files: &ModelFiles,
    batch_sizes: &[usize],
    threads: Option<usize>,
) -> Result<EmbedBenchReport> {
    configure_threads(threads);
    let started = Instant::now();
    let model = EmbeddingModel::load(files)?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut rows = Vec::new();
    for &batch in batch_sizes {
        if batch == 0 {
            return Err(EngineError::InvalidRequest(
                "batch sizes must be > 0".into(),
            ));
        }
        let texts: Vec<Vec<u32>> = SENTENCES
            .iter()
            .cycle()
            .take(batch)
            .map(|s| model.tokenize(s))
            .collect::<Result<_>>()?;
        let tokens: usize = texts.iter().map(Vec::len).sum();
        model.embed_ids(&texts)?; // warm-up
        let t = Instant::now();
        let mut calls = 0;
        while calls < MIN_CALLS || t.elapsed().as_secs_f64() < MIN_SECONDS {
            // Tokenization is part of a real call: redo it.
            let ids: Vec<Vec<u32>> = SENTENCES
                .iter()
                .cycle()
                .take(batch)
                .map(|s| model.tokenize(s))
                .collect::<Result<_>>()?;
            model.embed_ids(&ids)?;
            calls += 1;
        }
        let seconds = t.elapsed().as_secs_f64();
        rows.push(EmbedBenchRow {
            batch,
            calls,
            texts_per_s: (calls * batch) as f64 / seconds,
            ms_per_batch: seconds * 1e3 / calls as f64,
            tokens_per_s: (calls * tokens) as f64 / seconds,
        });
    }
    Ok(EmbedBenchReport {
        load_ms,
        dimension: model.dimension(),
        rows,
        peak_rss_mb: peak_rss_mb(),
    })
}
