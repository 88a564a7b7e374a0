//! Concurrent requests through the engine's front door, measured like llama-batched-bench,
//! and the time to first token of one more request arriving while they run.
//!
//! Unlike [`crate::bench`], which drives the model directly, every request here goes through
//! [`Engine`] as [`InferenceBackend::generate`] (queue, scheduling, sampling, detokenizing),
//! all in flight at once on a tokio runtime, so the figures show whatever scheduling the
//! engine does: serial today, batched once continuous batching lands.
//!
//! One round of `N` streams (llama-batched-bench's `npl`, prompt not shared): `N` requests of a
//! `prompt_tokens`-token raw prompt (a different text per stream, so no prefix is shared),
//! greedy, `max_tokens = gen_tokens`, submitted together. llama-batched-bench defines, for
//! `PP` prompt and `TG` generated tokens per sequence and `B` sequences: `S_TG = B*TG / T_TG`
//! with `T_TG` the time of the generation phase (all prompts are prefilled first, in `T_PP`),
//! and `S = (B*PP + B*TG) / (T_PP + T_TG)`. We match both:
//! - [`StreamsResult::speed_tg`] (`S_TG`): in llama-batched-bench every sequence decodes during
//!   the whole `T_TG` (all prompts were prefilled before). Our engine admits prompts while
//!   others decode, so the matching window is the one in which all `N` streams are decoding:
//!   from the last stream's first token to the first stream's end. `S_TG` is the tokens that
//!   arrived in that window (one text event per token: the prompts are plain, there are no
//!   stop sequences) over its length `T_TG`. Should the window be empty (a stream ends before
//!   another starts), it falls back to all decode tokens over the union of the streams'
//!   first-to-last-token intervals, which counts interleaved prefill time as decode time and
//!   so errs low, never high;
//! - [`StreamsResult::speed`] (`S`): all prompt and generated tokens over the wall time from
//!   submitting the requests to the last one finishing.
//!
//! `S_PP` is not matched: prefill is measured alone by [`crate::bench`] (`pp128`, `pp1024`).
//!
//! Time to first token under load ([`LoadTtft`]): `load_streams` streams as above; once they
//! have produced a quarter of their tokens, one more interactive request of the same prompt
//! size is submitted and the time until its first text arrives is measured.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bedrock_local_core::{
    BackendError, GenerateRequest, GenerationEvent, GenerationStream, InferenceBackend,
    LocalModelName, ModelFiles, Priority, Prompt, SamplingParams,
};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::bench::{peak_rss_mb, prompt_text};
use crate::testing::FixedLocator;
use crate::{Engine, EngineConfig, EngineError, Result};

/// What [`bench_concurrent`] measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcurrentOptions {
    /// Concurrent streams per round (llama-batched-bench `-npl 1,2,4,8`).
    pub streams: Vec<usize>,
    /// Prompt tokens of every request (`-npp 128`).
    pub prompt_tokens: usize,
    /// `max_tokens` of every request (`-ntg 64`).
    pub gen_tokens: usize,
    /// Streams running while the time to first token is measured; 0 skips that test.
    pub load_streams: usize,
    /// CPU threads (see [`EngineConfig::threads`]).
    pub threads: Option<usize>,
    /// The engine's context bound (llama-batched-bench `-c`).
    pub max_context: usize,
}

impl Default for ConcurrentOptions {
    fn default() -> Self {
        Self {
            streams: vec![1, 2, 4, 8],
            prompt_tokens: 128,
            gen_tokens: 64,
            load_streams: 8,
            threads: None,
            max_context: 8192,
        }
    }
}

/// One round of concurrent streams.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamsResult {
    /// Streams in flight together (`npl`).
    pub streams: usize,
    /// Prompt tokens over all streams (as the engine counted them).
    pub prompt_tokens: usize,
    /// Generated tokens over all streams.
    pub generated_tokens: usize,
    /// Wall time from submitting to the last stream finishing, seconds (`T`).
    pub t_s: f64,
    /// Wall time during which some stream was decoding, seconds (`T_TG`, see module docs).
    pub t_tg_s: f64,
    /// Aggregate decode tokens per second (`S_TG`).
    pub speed_tg: f64,
    /// All tokens per second over `t_s` (`S`).
    pub speed: f64,
    /// Mean over the streams of the time from submitting to their first text, milliseconds.
    pub ttft_mean_ms: f64,
}

/// Time to first token of one request arriving while other streams run.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadTtft {
    /// Streams started before it.
    pub load_streams: usize,
    /// How many of them were still running when it was submitted.
    pub active_at_submit: usize,
    /// Submission to its first text, milliseconds.
    pub ttft_ms: f64,
}

/// What [`bench_concurrent`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ConcurrentReport {
    /// Time for the engine to load the model, milliseconds.
    pub load_ms: f64,
    /// One per [`ConcurrentOptions::streams`] entry, in order.
    pub rows: Vec<StreamsResult>,
    /// `None` when [`ConcurrentOptions::load_streams`] is 0.
    pub ttft_under_load: Option<LoadTtft>,
    /// Peak resident memory of the process in MB, where the OS reports it.
    pub peak_rss_mb: Option<f64>,
}

fn failed(e: BackendError) -> EngineError {
    EngineError::InvalidRequest(format!("benchmark request failed: {e}"))
}

/// Builds an engine for `files` and runs the rounds and the load test of `options`.
pub fn bench_concurrent(
    files: &ModelFiles,
    options: &ConcurrentOptions,
) -> Result<ConcurrentReport> {
    let most = options.streams.iter().copied().max().unwrap_or(0);
    let config = EngineConfig {
        threads: options.threads,
        max_context: options.max_context,
        queue_capacity: 64.max(most.max(options.load_streams) + 1),
        // No prefix cache: the warm-up request's prompt is one of the streams', and a cache
        // hit would measure the cache, not the engine (llama-batched-bench has none).
        prefix_cache_bytes: 0,
        // Otherwise the server's defaults: the load test's extra request is admitted next to
        // the running streams, as a server would.
        ..EngineConfig::default()
    };
    let engine = Engine::new(
        Arc::new(FixedLocator::new([files.clone()])),
        vec![files.name.clone()],
        config,
    );
    let name = files.name.clone();
    let started = Instant::now();
    engine.load(&name).map_err(failed)?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;

    let count = most.max(options.load_streams) + 1;
    let prompts = (0..count)
        .map(|i| exact_prompt(&engine, &name, options.prompt_tokens, i))
        .collect::<Result<Vec<_>>>()?;
    let request = |text: &str, max_tokens: usize| GenerateRequest {
        model: name.clone(),
        prompt: Prompt::Raw(text.to_string()),
        max_tokens: max_tokens as u32,
        sampling: SamplingParams::greedy(),
        stop_sequences: Vec::new(),
        priority: Priority::Interactive,
        cache_point: None,
    };

    // Warm-up: one short request (touches the weights, starts the thread pool).
    let warm = engine.generate(request(&prompts[0], 4)).map_err(failed)?;
    runtime.block_on(follow(warm, Instant::now(), None))?;

    let mut rows = Vec::new();
    for &n in options.streams.iter().filter(|n| **n > 0) {
        let timings = runtime.block_on(async {
            let start = Instant::now();
            let mut set = JoinSet::new();
            for text in &prompts[..n] {
                let stream = engine
                    .generate(request(text, options.gen_tokens))
                    .map_err(failed)?;
                set.spawn(follow(stream, start, None));
            }
            collect(set).await
        })?;
        rows.push(summarise(n, &timings));
    }

    let ttft_under_load = if options.load_streams > 0 {
        let load = options.load_streams;
        Some(runtime.block_on(async {
            let (tx, mut progress) = mpsc::unbounded_channel();
            let active = Arc::new(AtomicUsize::new(load));
            let start = Instant::now();
            let mut set = JoinSet::new();
            for text in &prompts[..load] {
                let stream = engine
                    .generate(request(text, options.gen_tokens))
                    .map_err(failed)?;
                let (tx, active) = (tx.clone(), active.clone());
                set.spawn(async move {
                    let timing = follow(stream, start, Some(tx)).await;
                    active.fetch_sub(1, Ordering::SeqCst);
                    timing
                });
            }
            drop(tx);
            let quarter = (load * options.gen_tokens / 4).max(1);
            for _ in 0..quarter {
                if progress.recv().await.is_none() {
                    break;
                }
            }
            drop(progress);
            let active_at_submit = active.load(Ordering::SeqCst);
            let submitted = Instant::now();
            let extra = engine
                .generate(request(&prompts[load], 4))
                .map_err(failed)?;
            let ttft_ms = first_text(extra).await? - submitted;
            collect(set).await?;
            Ok::<_, EngineError>(LoadTtft {
                load_streams: load,
                active_at_submit,
                ttft_ms: ttft_ms.as_secs_f64() * 1e3,
            })
        })?)
    } else {
        None
    };

    Ok(ConcurrentReport {
        load_ms,
        rows,
        ttft_under_load,
        peak_rss_mb: peak_rss_mb(),
    })
}

/// When one request's events arrived.
struct Timing {
    start: Instant,
    prompt_tokens: usize,
    output_tokens: usize,
    first: Option<Instant>,
    /// When each text event arrived.
    texts: Vec<Instant>,
    end: Instant,
}

/// Reads a stream to its end, noting the first text; sends one unit to `progress` per text.
async fn follow(
    mut stream: GenerationStream,
    start: Instant,
    progress: Option<mpsc::UnboundedSender<()>>,
) -> Result<Timing> {
    let mut first = None;
    let mut texts = Vec::new();
    while let Some(event) = stream.next().await {
        match event.map_err(failed)? {
            GenerationEvent::Started { .. } => {}
            GenerationEvent::Text(_)
            | GenerationEvent::Reasoning(_)
            | GenerationEvent::ToolCall { .. } => {
                let now = Instant::now();
                first.get_or_insert(now);
                texts.push(now);
                if let Some(tx) = &progress {
                    let _ = tx.send(());
                }
            }
            GenerationEvent::Finished { usage, .. } => {
                return Ok(Timing {
                    start,
                    prompt_tokens: usage.input_tokens as usize,
                    output_tokens: usage.output_tokens as usize,
                    first,
                    texts,
                    end: Instant::now(),
                });
            }
        }
    }
    Err(failed(BackendError::Internal(
        "the stream ended without Finished".into(),
    )))
}

/// When the first text of `stream` arrived (then drops it, cancelling the request).
async fn first_text(mut stream: GenerationStream) -> Result<Instant> {
    while let Some(event) = stream.next().await {
        match event.map_err(failed)? {
            GenerationEvent::Text(_)
            | GenerationEvent::Reasoning(_)
            | GenerationEvent::ToolCall { .. } => return Ok(Instant::now()),
            GenerationEvent::Finished { .. } => break,
            GenerationEvent::Started { .. } => {}
        }
    }
    Err(failed(BackendError::Internal(
        "the request finished without any text".into(),
    )))
}

async fn collect(mut set: JoinSet<Result<Timing>>) -> Result<Vec<Timing>> {
    let mut timings = Vec::new();
    while let Some(joined) = set.join_next().await {
        let timing =
            joined.map_err(|e| failed(BackendError::Internal(format!("bench task: {e}"))))??;
        timings.push(timing);
    }
    Ok(timings)
}

/// The llama-batched-bench figures of one round (see the module docs).
fn summarise(streams: usize, timings: &[Timing]) -> StreamsResult {
    let prompt_tokens: usize = timings.iter().map(|t| t.prompt_tokens).sum();
    let generated_tokens: usize = timings.iter().map(|t| t.output_tokens).sum();
    let start = timings.iter().map(|t| t.start).min();
    let end = timings.iter().map(|t| t.end).max();
    let t_s = match (start, end) {
        (Some(s), Some(e)) => (e - s).as_secs_f64(),
        _ => 0.0,
    };
    let mut intervals: Vec<(Instant, Instant)> = timings
        .iter()
        .filter(|t| t.output_tokens > 1)
        .filter_map(|t| t.first.map(|f| (f, t.end)))
        .collect();
    let decode_tokens: usize = timings
        .iter()
        .filter(|t| t.output_tokens > 1 && t.first.is_some())
        .map(|t| t.output_tokens - 1)
        .sum();
    let mut t_tg_s = union_seconds(&mut intervals);
    let mut speed_tg = per_second(decode_tokens, t_tg_s);
    // The window in which every stream decodes, when there is one.
    let all_started = timings.iter().map(|t| t.first).collect::<Option<Vec<_>>>();
    if let Some(firsts) = all_started {
        let from = firsts.iter().max().copied();
        let to = timings.iter().map(|t| t.end).min();
        if let (Some(from), Some(to)) = (from, to) {
            if to > from {
                let tokens = timings
                    .iter()
                    .flat_map(|t| &t.texts)
                    .filter(|&&at| at > from && at <= to)
                    .count();
                t_tg_s = (to - from).as_secs_f64();
                speed_tg = per_second(tokens, t_tg_s);
            }
        }
    }
    let ttfts: Vec<f64> = timings
        .iter()
        .filter_map(|t| t.first.map(|f| (f - t.start).as_secs_f64() * 1e3))
        .collect();
    StreamsResult {
        streams,
        prompt_tokens,
        generated_tokens,
        t_s,
        t_tg_s,
        speed_tg,
        speed: per_second(prompt_tokens + generated_tokens, t_s),
        ttft_mean_ms: crate::bench::mean(&ttfts),
    }
}

fn per_second(tokens: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        tokens as f64 / seconds
    } else {
        0.0
    }
}

/// Total length of the union of `[from, to]` intervals, seconds.
fn union_seconds(intervals: &mut [(Instant, Instant)]) -> f64 {
    intervals.sort_by_key(|(from, _)| *from);
    let mut total = 0.0;
    let mut current: Option<(Instant, Instant)> = None;
    for &(from, to) in intervals.iter() {
        current = match current {
            Some((s, e)) if from <= e => Some((s, e.max(to))),
            Some((s, e)) => {
                total += (e - s).as_secs_f64();
                Some((from, to))
            }
            None => Some((from, to)),
        };
    }
    if let Some((s, e)) = current {
        total += (e - s).as_secs_f64();
    }
    total
}

/// A raw prompt of `tokens` tokens as the engine counts them (or the longest below, if no
/// prefix hits it exactly), starting `index` words into the benchmark text so that no two
/// streams share a prefix: whole words first, then characters of the next words.
fn exact_prompt(
    engine: &Engine,
    model: &LocalModelName,
    tokens: usize,
    index: usize,
) -> Result<String> {
    let text = prompt_text(tokens + 64 + index * 3);
    let words: Vec<&str> = text.split_whitespace().skip(index * 3).collect();
    let count = |text: &str| -> Result<usize> {
        let counted = engine
            .count_tokens(model, &Prompt::Raw(text.to_string()))
            .map_err(failed)?;
        Ok(counted.prompt_tokens as usize)
    };
    let render = |k: usize| words[..k.min(words.len())].join(" ");
    // Every word is at least one token: the answer has at most `tokens` words.
    let (mut lo, mut hi) = (1usize, tokens.max(1));
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if count(&render(mid))? <= tokens {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut best = render(lo);
    let rest = format!(" {}", words[lo.min(words.len())..].join(" "));
    let mut candidate = best.clone();
    for c in rest.chars().take(64) {
        if count(&best)? == tokens {
            break;
        }
        candidate.push(c);
        if count(&candidate)? <= tokens {
            best.clone_from(&candidate);
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn union_merges_overlaps_and_keeps_gaps() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut intervals = vec![(at(500), at(700)), (at(0), at(100)), (at(50), at(200))];
        let total = union_seconds(&mut intervals);
        assert!((total - 0.4).abs() < 1e-9, "{total}");
        assert_eq!(union_seconds(&mut []), 0.0);
    }

    #[test]
    fn serial_streams_give_single_stream_speed() {
        // Two streams served one after the other: 1 s prefill then 10 tokens in 1 s each.
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let timings = [
            Timing {
                start: t0,
                prompt_tokens: 128,
                output_tokens: 11,
                first: Some(at(1000)),
                texts: (0..11).map(|i| at(1000 + i * 100)).collect(),
                end: at(2000),
            },
            Timing {
                start: t0,
                prompt_tokens: 128,
                output_tokens: 11,
                first: Some(at(3000)),
                texts: (0..11).map(|i| at(3000 + i * 100)).collect(),
                end: at(4000),
            },
        ];
        let row = summarise(2, &timings);
        assert_eq!(row.generated_tokens, 22);
        assert!((row.t_tg_s - 2.0).abs() < 1e-9);
        assert!((row.speed_tg - 10.0).abs() < 1e-9);
        assert!((row.speed - (256.0 + 22.0) / 4.0).abs() < 1e-9);
        assert!((row.ttft_mean_ms - 2000.0).abs() < 1e-6);
    }

    #[test]
    fn overlapping_streams_count_the_window_where_all_decode() {
        // Stream a decodes 0-2 s, stream b starts decoding at 1 s (its prefill ran while a
        // decoded) and ends at 3 s: both decode in 1-2 s, 10 tokens each there.
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let stream = |from: u64| Timing {
            start: t0,
            prompt_tokens: 128,
            output_tokens: 21,
            first: Some(at(from)),
            texts: (0..21).map(|i| at(from + i * 100)).collect(),
            end: at(from + 2000),
        };
        let row = summarise(2, &[stream(0), stream(1000)]);
        assert!((row.t_tg_s - 1.0).abs() < 1e-9, "{}", row.t_tg_s);
        assert!((row.speed_tg - 20.0).abs() < 1e-9, "{}", row.speed_tg);
    }

    /// The whole path on a tiny random-weight model: every round and the load test report
    /// tokens, exact prompt sizes and positive rates.
    #[test]
    fn tiny_model_through_the_front_door() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = crate::testing::tiny_model_files(dir.path(), crate::testing::TinyArch::Qwen2)
            .expect("tiny model");
        let options = ConcurrentOptions {
            streams: vec![1, 3],
            prompt_tokens: 24,
            gen_tokens: 6,
            load_streams: 2,
            threads: Some(1),
            max_context: 256,
        };
        let report = bench_concurrent(&files, &options).expect("bench");
        assert_eq!(report.rows.len(), 2);
        for row in &report.rows {
            assert_eq!(row.prompt_tokens, 24 * row.streams, "{row:?}");
            assert!(row.generated_tokens >= row.streams, "{row:?}");
            assert!(row.speed > 0.0 && row.t_s > 0.0, "{row:?}");
        }
        let ttft = report.ttft_under_load.expect("load test ran");
        assert_eq!(ttft.load_streams, 2);
        assert!(ttft.ttft_ms > 0.0);
    }
}
