//! Llama (and the many GGUFs that declare `general.architecture = "llama"`: Mistral,
//! TinyLlama, SmolLM...): candle-transformers' `quantized_llama` behind [`CausalLm`].
//!
//! candle's rotary tables stop at `quantized_llama::MAX_SEQ_LEN` (4096) positions, so the
//! context is capped there whatever the GGUF declares. [`CausalLm::reset`] restores a clone of
//! the freshly loaded model (weights are shared through `Arc`s, so the clone is cheap): that
//! drops the KV cache and the causal masks candle caches per prompt length.

use std::io::{Read, Seek};

use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::{ModelWeights, MAX_SEQ_LEN};

use super::{capped_context, check_span, input, last_logits, on_cpu_pool, CausalLm, LoadOptions};
use crate::Result;

/// A loaded Llama model and its cache.
pub struct Llama {
    model: ModelWeights,
    pristine: ModelWeights,
    context: usize,
    device: Device,
}

impl Llama {
    /// Reads the weights (tensors are read from `reader` as the model is built).
    pub fn load<R: Read + Seek>(
        content: Content,
        reader: &mut R,
        device: &Device,
        options: LoadOptions,
    ) -> Result<Self> {
        let context = capped_context(&content, "llama", options.max_context.min(MAX_SEQ_LEN))?;
        let model = ModelWeights::from_gguf(content, reader, device)?;
        Ok(Self {
            pristine: model.clone(),
            model,
            context,
            device: device.clone(),
        })
    }
}

impl CausalLm for Llama {
    fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Tensor> {
        check_span(tokens, pos, self.context)?;
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
        "llama"
    }
}
