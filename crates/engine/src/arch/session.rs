//! [`Session`]: one sequence over shared weights, as a [`CausalLm`].

use std::sync::Arc;

use candle_core::{Device, Tensor};

use super::transformer::{SeqCache, Step, Transformer};
use super::{pool, CausalLm};
use crate::{EngineError, Result};

/// A [`Transformer`] and the cache of the one sequence it is running.
pub struct Session {
    model: Arc<Transformer>,
    cache: SeqCache,
}

impl Session {
    /// A session with an empty cache.
    pub fn new(model: Arc<Transformer>) -> Self {
        let cache = model.new_cache();
        Self { model, cache }
    }

    /// The shared weights.
    pub fn model(&self) -> &Arc<Transformer> {
        &self.model
    }
}

impl CausalLm for Session {
    fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Tensor> {
        if pos != self.cache.len() {
            if pos == 0 {
                self.reset();
            } else {
                return Err(EngineError::InvalidRequest(format!(
                    "KV cache holds positions up to {}, cannot continue at {pos}",
                    self.cache.len()
                )));
            }
        }
        let mut steps = [Step {
            tokens,
            cache: &mut self.cache,
            logits: true,
        }];
        let logits = self
            .model
            .forward(&mut steps, pool())?
            .pop()
            .ok_or_else(|| EngineError::InvalidRequest("the forward returned no logits".into()))?;
        Ok(Tensor::from_vec(
            logits,
            self.model.config().vocab,
            &Device::Cpu,
        )?)
    }

    fn reset(&mut self) {
        self.cache = self.model.new_cache();
    }

    fn context_length(&self) -> usize {
        self.model.config().context
    }

    fn architecture(&self) -> &'static str {
        self.model.config().architecture
    }
}
