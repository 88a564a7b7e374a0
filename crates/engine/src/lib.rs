//! The CPU inference engine of bedrock-local.
//!
//! Owns everything that touches model weights, candle, tokenizers and minijinja (and nothing
//! else in the workspace may): memory-mapped GGUF models run by our own decoder and kernels,
//! safetensors encoders for embeddings (candle), the tokenizer built from GGUF metadata, chat
//! templates, sampling, stop-sequence handling, continuous batching and the threads that run
//! inference off the async runtime. The facade sees it only through
//! `bedrock_local_core::InferenceBackend`, implemented by [`Engine`].
//!
//! Map of the crate:
//! - [`backend`]: [`Engine`] and [`EngineConfig`]: models, queues, admission, error mapping;
//! - `worker`: per model an admission thread and one thread per running request, lazy
//!   loading, the request lifecycle; `batcher`: every running sequence's step in one forward
//!   (continuous batching); `prefix_cache`: keys/values of earlier prompts reused;
//! - `queue`: each model's bounded queue, interactive requests before batch-job records, and
//!   the same rules for embedding calls (`Gate`);
//! - [`loader`]: GGUF -> tokenizer + chat template + weights; prompt -> token ids;
//! - [`arch`]: one batch-invariant transformer for every architecture (qwen2, gemma3, llama)
//!   over the mapped GGUF; [`kernels`]: quantized matrix products with run-time SIMD
//!   dispatch and the compute pool;
//! - [`generate`]: the decode loop; [`sampling`]: next-token choice; [`stream`]: UTF-8-safe
//!   detokenization and stop sequences;
//! - [`tools`]: tool-call syntax, forced calls, parsing calls out of the output;
//!   [`constrain`]: schema-guided JSON matching that masks tokens so calls are always valid;
//! - [`embed`]: sentence embeddings with encoder models (BERT) from safetensors;
//! - [`tokenizer`], [`chat_template`]: built from the GGUF's own metadata;
//! - [`threads`]: how many CPU threads inference uses (affinity and cgroup quota);
//! - [`bench`](mod@bench): llama-bench style measurements; [`bench_concurrent`]: aggregate
//!   decode of concurrent requests through [`Engine`], llama-batched-bench style;
//!   [`bench_embed`](mod@bench_embed): embeddings per second by batch size; [`testing`]: tiny
//!   GGUFs for tests.

pub mod arch;
pub mod backend;
mod batcher;
pub mod bench;
pub mod bench_concurrent;
pub mod bench_embed;
pub mod chat_template;
pub mod constrain;
pub mod embed;
pub mod error;
pub mod generate;
pub mod kernels;
pub mod loader;
mod prefix_cache;
mod queue;
pub mod sampling;
pub mod stream;
pub mod testing;
pub mod threads;
pub mod tokenizer;
pub mod tools;
mod worker;

pub use backend::{Engine, EngineConfig};
pub use bench::{bench, BenchOptions, BenchReport};
pub use bench_concurrent::{bench_concurrent, ConcurrentOptions, ConcurrentReport};
pub use bench_embed::{bench_embed, EmbedBenchReport, EmbedBenchRow};
pub use error::{EngineError, Result};
