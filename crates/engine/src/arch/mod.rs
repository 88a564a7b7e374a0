//! The decoder models, behind [`CausalLm`] (one sequence) and [`Transformer::forward`]
//! (many sequences per step).
//!
//! Every architecture we serve is a llama-family decoder: one shared implementation
//! (`transformer.rs`) follows a [`config::Config`] read from the GGUF metadata
//! (`config.rs`: qwen2, gemma3, llama and what distinguishes them), over weights that stay
//! memory-mapped and quantized (`gguf.rs`) and our own kernels (`crate::kernels`). The float
//! operations between the matrix products are in `ops.rs`. Adding an architecture of the
//! same family is one arm in `Config::from_gguf`; a structurally new one adds a flag there
//! and its branch in `transformer.rs`.
//!
//! Weights are shared read-only (`Arc<Transformer>`); each sequence owns a
//! [`SeqCache`]. [`Session`] pairs the two into the single-sequence [`CausalLm`] that
//! generation, tests and the benchmark drive.

pub mod config;
pub mod gguf;
pub mod ops;
mod session;
pub mod transformer;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::Tensor;

pub use session::Session;
pub use transformer::{SeqCache, Step, Transformer};

use crate::kernels::Pool;
use crate::{EngineError, Result};

/// Prefill is split into chunks of at most this many tokens, so that a forward's scratch
/// buffers (`chunk x ffn` floats and the like) stay bounded whatever the prompt length.
pub const PREFILL_CHUNK: usize = 512;

/// A decoder-only language model with its own KV cache.
pub trait CausalLm: Send {
    /// Runs `tokens` at positions `pos..pos + tokens.len()` (extending the KV cache, which
    /// must hold exactly `pos` positions) and returns the logits of the last position as an
    /// f32 tensor of shape `[vocab]`.
    fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Tensor>;

    /// Forgets the KV cache, so that the next sequence starts from position 0 and can never
    /// see the previous one.
    fn reset(&mut self);

    /// The context window in tokens (the GGUF's value, capped by the engine configuration).
    fn context_length(&self) -> usize;

    /// The GGUF `general.architecture` this model implements.
    fn architecture(&self) -> &'static str;

    /// The longest chunk one prefill forward may take; `None` when a prompt must be run in a
    /// single forward (an implementation that cannot continue a multi-token forward past
    /// position 0).
    fn prefill_chunk(&self) -> Option<usize> {
        Some(PREFILL_CHUNK)
    }

    /// Runs a whole prompt from position 0 on an empty cache and returns the logits of its
    /// last position. Splits long prompts into chunks when the architecture allows it.
    fn prefill(&mut self, tokens: &[u32]) -> Result<Tensor> {
        if tokens.is_empty() {
            return Err(EngineError::InvalidRequest(
                "the prompt has no tokens".into(),
            ));
        }
        let chunk = self.prefill_chunk().unwrap_or(tokens.len()).max(1);
        let mut logits = None;
        for (i, piece) in tokens.chunks(chunk).enumerate() {
            logits = Some(self.forward(piece, i * chunk)?);
        }
        logits.ok_or_else(|| EngineError::InvalidRequest("the prompt has no tokens".into()))
    }
}

/// How a model is loaded.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Upper bound on the context window (and so on the KV cache), whatever the GGUF says.
    pub max_context: usize,
}

/// The GGUF's `general.architecture`.
pub fn architecture(content: &Content) -> Result<String> {
    match content.metadata.get("general.architecture") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(EngineError::Gguf(
            "general.architecture is not a string".into(),
        )),
        None => Err(EngineError::Gguf(
            "missing metadata key general.architecture".into(),
        )),
    }
}

/// Maps `path` and builds its decoder (architecture from `general.architecture`).
pub fn load_transformer(path: &Path, options: LoadOptions) -> Result<Arc<Transformer>> {
    transformer_of(&gguf::Gguf::open(path)?, options)
}

/// Builds the decoder of an opened GGUF.
pub fn transformer_of(gguf: &gguf::Gguf, options: LoadOptions) -> Result<Arc<Transformer>> {
    let config = config::Config::from_gguf(gguf, options.max_context)?;
    Ok(Arc::new(Transformer::load(gguf, config)?))
}

/// Maps `path` and returns a single-sequence model over it.
pub fn load(path: &Path, options: LoadOptions) -> Result<Box<dyn CausalLm>> {
    Ok(Box::new(Session::new(load_transformer(path, options)?)))
}

/// Compute threads asked for before the pool exists (0: the CPUs this process may use).
static THREADS: AtomicUsize = AtomicUsize::new(0);
static POOL: OnceLock<Pool> = OnceLock::new();

/// Sets the compute pool's thread count; effective if called before the pool's first use.
pub fn set_threads(n: usize) {
    THREADS.store(n, Ordering::Relaxed);
}

/// The process's compute pool, shared by every model (so two models never oversubscribe
/// the CPUs).
pub fn pool() -> &'static Pool {
    POOL.get_or_init(|| {
        let n = match THREADS.load(Ordering::Relaxed) {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Pool::new(n)
    })
}
