//! The encoder side of an embedding model: one trait, and the choice of architecture from
//! `config.json`'s `model_type`.
//!
//! An encoder turns a padded batch of token ids into one hidden state per token; pooling,
//! windowing and truncation are the same for every architecture and live in the parent module.
//! Adding an architecture is one file implementing [`Encoder`] plus one arm in [`load`].

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::{EngineError, Result};

/// A transformer encoder over padded batches.
pub trait Encoder: Send + Sync {
    /// Hidden states `[batch, seq, hidden]` for `ids` `[batch, seq]` (u32), where `mask`
    /// `[batch, seq]` (u32) is 1 for real tokens and 0 for padding.
    fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor>;

    /// Width of a hidden state (the embedding dimension).
    fn hidden_size(&self) -> usize;

    /// Longest sequence the position embeddings cover, special tokens included.
    fn max_positions(&self) -> usize;
}

/// The fields every architecture's `config.json` shares that we dispatch on.
#[derive(Debug, serde::Deserialize)]
struct Header {
    model_type: Option<String>,
}

/// Reads `config.json` and the safetensors weights and builds the encoder its `model_type`
/// names. Returns the architecture name with it.
pub fn load(config_path: &Path, weights: &Path) -> Result<(String, Box<dyn Encoder>)> {
    let config = std::fs::read_to_string(config_path).map_err(|e| {
        EngineError::InvalidRequest(format!("cannot read {}: {e}", config_path.display()))
    })?;
    let header: Header = serde_json::from_str(&config)
        .map_err(|e| EngineError::InvalidRequest(format!("{}: {e}", config_path.display())))?;
    let architecture = header.model_type.unwrap_or_else(|| "bert".into());
    // The weights are read into memory rather than mmapped: mmapping is `unsafe` in candle-nn,
    // which the workspace denies, and candle copies f32 CPU tensors out of the file either way.
    let bytes = std::fs::read(weights).map_err(|e| {
        EngineError::InvalidRequest(format!("cannot read {}: {e}", weights.display()))
    })?;
    let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu)?;
    let encoder: Box<dyn Encoder> = match architecture.as_str() {
        "bert" => Box::new(super::bert::Bert::load(&config, vb)?),
        other => return Err(EngineError::UnsupportedArchitecture(other.to_string())),
    };
    Ok((architecture, encoder))
}
