//! Gemma 3: candle-transformers' `quantized_gemma3` behind [`CausalLm`].
//!
//! Differences hidden here:
//! - the model has no `clear_kv_cache`; [`CausalLm::reset`] restores a clone of the freshly
//!   loaded model (weights are `Arc`-shared, so the clone is cheap and drops the cache);
//! - a multi-token forward past position 0 masks the cached prefix out (candle builds the
//!   prefix columns of the mask as "not visible"), so a prompt is prefilled in one forward
//!   ([`CausalLm::prefill_chunk`] is `None`); decode steps (one token) use no mask and are
//!   correct;
//! - the sliding-window layers only apply their window inside one forward, so prompts longer
//!   than `gemma3.attention.sliding_window` (512 for Gemma 3 270M) attend further back than
//!   the reference implementation does;
//! - candle builds a 131072-position rotary table per layer whatever the context (the memory
//!   cost DESIGN.md §4 mentions), and `gemma3.context_length` is only used for our cap.

use std::io::{Read, Seek};

use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_gemma3::{ModelWeights, MAX_SEQ_LEN};

use super::{capped_context, check_span, input, last_logits, on_cpu_pool, CausalLm, LoadOptions};
use crate::{EngineError, Result};

/// A loaded Gemma 3 model and its cache.
pub struct Gemma3 {
    model: ModelWeights,
    pristine: ModelWeights,
    context: usize,
    device: Device,
}

impl Gemma3 {
    /// Reads the weights (tensors are read from `reader` as the model is built).
    pub fn load<R: Read + Seek>(
        content: Content,
        reader: &mut R,
        device: &Device,
        options: LoadOptions,
    ) -> Result<Self> {
        let context = capped_context(&content, "gemma3", options.max_context.min(MAX_SEQ_LEN))?;
        let model = ModelWeights::from_gguf(content, reader, device)?;
        Ok(Self {
            pristine: model.clone(),
            model,
            context,
            device: device.clone(),
        })
    }
}

impl CausalLm for Gemma3 {
    fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Tensor> {
        check_span(tokens, pos, self.context)?;
        if pos > 0 && tokens.len() > 1 {
            // See the module docs: past position 0, only single-token forwards are correct.
            let mut last = None;
            for (i, token) in tokens.iter().enumerate() {
                last = Some(self.forward(std::slice::from_ref(token), pos + i)?);
            }
            return last.ok_or_else(|| EngineError::InvalidRequest("no tokens".into()));
        }
        let x = input(tokens, &self.device)?;
        let model = &mut self.model;
        let out = on_cpu_pool(&self.device, move || model.forward(&x, pos))?;
        last_logits(out)
    }

    fn reset(&mut self) {
        self.model = self.pristine.clone();
    }

    fn context_length(&self) -> usize {
        self.context
    }

    fn architecture(&self) -> &'static str {
        "gemma3"
    }

    fn prefill_chunk(&self) -> Option<usize> {
        None
    }
}
