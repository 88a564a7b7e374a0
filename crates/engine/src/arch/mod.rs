//! One file per model architecture, all behind [`CausalLm`].
//!
//! Owns the differences between model implementations (how the KV cache is cleared, how long a
//! prefill chunk may be, how big the context is) so that the worker and the benchmark drive
//! every architecture the same way. Adding an architecture is one file here plus one arm in
//! [`load`], dispatched on the GGUF key `general.architecture`.
//!
//! `qwen2` and `gemma3` are written here on candle's tensor ops with the blocks of `common.rs`
//! (quantized embedding, bounded rotary tables, masks, a KV cache that grows by doubling,
//! grouped-query attention without per-head copies, Q5_0 weights re-encoded as Q8_0 for
//! candle's vectorised kernel): their candle-transformers versions cost hundreds of MB more,
//! slow down with context length, and candle's gemma3 computes a different function (see each
//! file). `llama` wraps candle-transformers' `quantized_llama`.
//!
//! Every model keeps its KV cache inside itself (candle's design): one instance serves one
//! sequence at a time, and [`CausalLm::reset`] must be called before a new sequence starts.

mod common;
mod gemma3;
mod llama;
mod qwen2;

use std::io::{Read, Seek};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::{Device, Tensor};

use crate::{EngineError, Result};

/// Prefill is split into chunks of at most this many tokens (where the architecture allows it),
/// so that the attention matrix of a long prompt stays bounded
/// (`heads x chunk x context` floats instead of `heads x prompt x prompt`).
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

/// Builds the model for `content`'s architecture, reading tensors from `reader`.
pub fn load<R: Read + Seek>(
    content: Content,
    reader: &mut R,
    options: LoadOptions,
) -> Result<Box<dyn CausalLm>> {
    let device = Device::Cpu;
    let arch = architecture(&content)?;
    match arch.as_str() {
        "qwen2" => Ok(Box::new(qwen2::Qwen2::load(
            content, reader, &device, options,
        )?)),
        "gemma3" => Ok(Box::new(gemma3::Gemma3::load(
            content, reader, &device, options,
        )?)),
        "llama" => Ok(Box::new(llama::Llama::load(
            content, reader, &device, options,
        )?)),
        other => Err(EngineError::UnsupportedArchitecture(other.to_string())),
    }
}

/// `<arch>.context_length` capped by `cap` (and at least 1). A missing key means `cap`.
pub(crate) fn capped_context(content: &Content, arch: &str, cap: usize) -> Result<usize> {
    let key = format!("{arch}.context_length");
    let declared = match content.metadata.get(&key) {
        Some(v) => v
            .to_u32()
            .map(|v| v as usize)
            .or_else(|_| v.to_u64().map(|v| v as usize))
            .map_err(|e| EngineError::Gguf(format!("{key}: {e}")))?,
        None => cap,
    };
    Ok(declared.min(cap).max(1))
}

/// Turns a token slice into the `[1, n]` input tensor candle's models take.
pub(crate) fn input(tokens: &[u32], device: &Device) -> Result<Tensor> {
    Ok(Tensor::new(tokens, device)?.unsqueeze(0)?)
}

/// Checks that a forward stays inside the context window (candle would fail with a less
/// helpful narrow error, or, for gemma3, silently run past the cap).
pub(crate) fn check_span(tokens: &[u32], pos: usize, context: usize) -> Result<()> {
    if tokens.is_empty() {
        return Err(EngineError::InvalidRequest(
            "forward called with no tokens".into(),
        ));
    }
    if pos + tokens.len() > context {
        return Err(EngineError::InvalidRequest(format!(
            "positions {pos}..{} exceed the context window of {context} tokens",
            pos + tokens.len()
        )));
    }
    Ok(())
}

/// Turns `[1, vocab]` model output into the `[vocab]` f32 logits of the trait.
pub(crate) fn last_logits(output: Tensor) -> Result<Tensor> {
    let output = output.to_dtype(candle_core::DType::F32)?;
    Ok(match output.rank() {
        2 => output.squeeze(0)?,
        _ => output.flatten_all()?,
    })
}

/// Runs `f` inside candle's CPU thread-pool context (keeps its workers warm between the many
/// short parallel sections of one forward).
pub(crate) fn on_cpu_pool<T: Send>(device: &Device, f: impl FnOnce() -> T + Send) -> T {
    device.with_context(f)
}
