//! Qwen2 (and Qwen2.5): candle-transformers' `quantized_qwen2` behind [`CausalLm`].
//!
//! Rotary tables are sized from `qwen2.context_length`, so the loader rewrites that key to
//! the engine's cap before building the model: a 32k-context GGUF served with an 8k cap only
//! pays for 8k positions. The model has `clear_kv_cache`, used by [`CausalLm::reset`]; a
//! forward at position 0 would also discard the cache, so a new request can never attend to
//! the previous one's keys.
//!
//! Known cost: candle caches one causal mask per (chunk length, cache length) pair and never
//! frees them; prefill in fixed [`PREFILL_CHUNK`](super::PREFILL_CHUNK) chunks keeps the set
//! small, but each distinct prompt length adds one small mask.

use std::io::{Read, Seek};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_qwen2::ModelWeights;

use super::{capped_context, check_span, input, last_logits, on_cpu_pool, CausalLm, LoadOptions};
use crate::Result;

/// A loaded Qwen2 model and its cache.
pub struct Qwen2 {
    model: ModelWeights,
    context: usize,
    device: Device,
}

impl Qwen2 {
    /// Reads the weights (tensors are read from `reader` as the model is built).
    pub fn load<R: Read + Seek>(
        mut content: Content,
        reader: &mut R,
        device: &Device,
        options: LoadOptions,
    ) -> Result<Self> {
        let context = capped_context(&content, "qwen2", options.max_context)?;
        content
            .metadata
            .insert("qwen2.context_length".into(), Value::U32(context as u32));
        let model = ModelWeights::from_gguf(content, reader, device)?;
        Ok(Self {
            model,
            context,
            device: device.clone(),
        })
    }
}

impl CausalLm for Qwen2 {
    fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Tensor> {
        check_span(tokens, pos, self.context)?;
        let x = input(tokens, &self.device)?;
        let model = &mut self.model;
        let out = on_cpu_pool(&self.device, move || model.forward(&x, pos))?;
        last_logits(out)
    }

    fn reset(&mut self) {
        self.model.clear_kv_cache();
    }

    fn context_length(&self) -> usize {
        self.context
    }

    fn architecture(&self) -> &'static str {
        "qwen2"
    }
}
