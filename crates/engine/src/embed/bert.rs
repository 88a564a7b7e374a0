//! BERT encoders (sentence-transformers' MiniLM, mpnet-style BERT checkpoints): candle-transformers'
//! `BertModel` over the safetensors weights, with token type 0 everywhere.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

use super::encoder::Encoder;
use crate::{EngineError, Result};

/// A loaded BERT encoder.
pub struct Bert {
    model: BertModel,
    hidden_size: usize,
    max_positions: usize,
}

impl Bert {
    /// Builds the model from `config.json`'s text and the weights (with or without a `bert.`
    /// prefix).
    pub fn load(config: &str, vb: VarBuilder) -> Result<Self> {
        let config: Config = serde_json::from_str(config)
            .map_err(|e| EngineError::InvalidRequest(format!("bert config.json: {e}")))?;
        let model = BertModel::load(vb, &config)?;
        Ok(Self {
            model,
            hidden_size: config.hidden_size,
            max_positions: config.max_position_embeddings,
        })
    }
}

impl Encoder for Bert {
    fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let token_types = ids.zeros_like()?;
        Ok(self.model.forward(ids, &token_types, Some(mask))?)
    }

    fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    fn max_positions(&self) -> usize {
        self.max_positions
    }
}
