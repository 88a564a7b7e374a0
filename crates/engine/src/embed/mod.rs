//! Sentence embeddings with encoder models (BERT and kin) from safetensors + `config.json` +
//! `tokenizer.json`, computed the way sentence-transformers computes them.
//!
//! Owns the pipeline after the weights: tokenization, the request's token limit, windowing of
//! long texts, batching with padding, and mean pooling. The encoder itself is behind
//! [`encoder::Encoder`] (one file per architecture).
//!
//! - **Tokens.** `tokenizer.json` is used with its own truncation and padding switched off
//!   (all-MiniLM's file truncates at 128 and pads to 128); texts are encoded without special
//!   tokens, and `[CLS]`/`[SEP]` are added here. A text's token count is its content tokens.
//! - **Limit.** Over the request's `max_input_tokens`: `Truncate::None` is
//!   `BackendError::ContextOverflow` (that text's content tokens against the limit);
//!   `Start`/`End` drop token ids from the start/end. The remaining ids are embedded as they
//!   are (never decoded and re-tokenized).
//! - **Windows.** The model's sequence length ([`EmbeddingModel::window`]:
//!   `max_seq_length` from `sentence_bert_config.json` next to `config.json` when present,
//!   else [`DEFAULT_WINDOW`], never more than the position embeddings) bounds one forward,
//!   special tokens included. A longer text is cut into consecutive windows of `window - 2`
//!   content tokens, each embedded as `[CLS] window [SEP]`, and its vector is the mean of
//!   the windows' pooled vectors weighted by their content tokens. For a text that fits (all
//!   that sentence-transformers accepts without truncating) this is exactly its pipeline;
//!   windowing is what lets Titan's 8k-token inputs through a 256-token model.
//! - **Pooling.** Mean of the last hidden states over the attention mask, `[CLS]` and
//!   `[SEP]` included (sentence-transformers' `Pooling` with `pooling_mode_mean_tokens`).
//!   Vectors are returned unnormalised; callers normalise when their API says so.
//! - **Batching.** All windows of a request are sorted by length and run in batches of at
//!   most [`MAX_BATCH`] sequences padded to the batch's longest (padding is masked out of
//!   attention and pooling, so a text's vector does not depend on its batch mates).
//!   Forwards of one model are serialised by a mutex: on a small CPU, two concurrent
//!   forwards only slow each other down.

pub mod bert;
pub mod encoder;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bedrock_local_core::{BackendError, EmbedRequest, Embeddings, ModelFiles, Truncate};
use candle_core::{DType, Device, Tensor};
use tokenizers::Tokenizer;

use crate::{EngineError, Result};
use encoder::Encoder;

/// Sequence length (special tokens included) when the model ships no
/// `sentence_bert_config.json`: what sentence-transformers' MiniLM/mpnet models use.
pub const DEFAULT_WINDOW: usize = 256;

/// Most sequences in one forward.
pub const MAX_BATCH: usize = 32;

/// An embedding model in memory.
pub struct EmbeddingModel {
    /// `config.json`'s `model_type`.
    pub architecture: String,
    /// How long loading took.
    pub load_time: Duration,
    tokenizer: Tokenizer,
    encoder: Box<dyn Encoder>,
    cls: u32,
    sep: u32,
    pad: u32,
    window: usize,
    /// Serialises forwards (see the module docs).
    run: Mutex<()>,
}

/// One sequence to run: which text it belongs to and its content tokens.
struct Piece<'a> {
    text: usize,
    ids: &'a [u32],
}

impl EmbeddingModel {
    /// Loads `files`: `weights` (safetensors), `config` (config.json) and `tokenizer`
    /// (tokenizer.json) are all required.
    pub fn load(files: &ModelFiles) -> Result<Self> {
        let started = Instant::now();
        let config = files.config.as_deref().ok_or_else(|| {
            EngineError::InvalidRequest(format!("model {} has no config.json", files.name))
        })?;
        let tokenizer_path = files.tokenizer.as_deref().ok_or_else(|| {
            EngineError::InvalidRequest(format!("model {} has no tokenizer.json", files.name))
        })?;
        let mut tokenizer = Tokenizer::from_file(tokenizer_path)
            .map_err(|e| EngineError::Tokenizer(format!("{}: {e}", tokenizer_path.display())))?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| EngineError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        let special = |name: &str| {
            tokenizer.token_to_id(name).ok_or_else(|| {
                EngineError::Tokenizer(format!("tokenizer.json has no {name} token"))
            })
        };
        let (cls, sep) = (special("[CLS]")?, special("[SEP]")?);
        let pad = tokenizer.token_to_id("[PAD]").unwrap_or(0);
        let (architecture, encoder) = encoder::load(config, &files.weights)?;
        let window = configured_window(config)
            .unwrap_or(DEFAULT_WINDOW)
            .min(encoder.max_positions())
            .max(3);
        Ok(Self {
            architecture,
            load_time: started.elapsed(),
            tokenizer,
            encoder,
            cls,
            sep,
            pad,
            window,
            run: Mutex::new(()),
        })
    }

    /// Sequence length of one forward, special tokens included.
    pub fn window(&self) -> usize {
        self.window
    }

    /// The embedding dimension.
    pub fn dimension(&self) -> usize {
        self.encoder.hidden_size()
    }

    /// Content token ids of `text` (no special tokens, no truncation).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| EngineError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Embeds a request's texts (see the module docs for limits, windows and pooling).
    pub fn embed(&self, request: &EmbedRequest) -> std::result::Result<Embeddings, BackendError> {
        let mut all_ids = Vec::with_capacity(request.texts.len());
        for text in &request.texts {
            let ids = self.tokenize(text).map_err(internal)?;
            all_ids.push(apply_limit(
                ids,
                request.max_input_tokens,
                request.truncate,
            )?);
        }
        let vectors = self.embed_ids(&all_ids).map_err(internal)?;
        Ok(Embeddings {
            vectors,
            token_counts: all_ids.iter().map(|ids| ids.len() as u32).collect(),
        })
    }

    /// Pooled vectors of texts given as content token ids, windowed and batched.
    pub fn embed_ids(&self, texts: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let chunk = self.window - 2;
        let mut pieces: Vec<Piece> = Vec::new();
        for (text, ids) in texts.iter().enumerate() {
            if ids.is_empty() {
                pieces.push(Piece { text, ids });
            } else {
                pieces.extend(ids.chunks(chunk).map(|ids| Piece { text, ids }));
            }
        }
        // Longest first: batches of similar lengths waste little on padding.
        let mut order: Vec<usize> = (0..pieces.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(pieces[i].ids.len()));
        let mut pooled: Vec<Vec<f32>> = vec![Vec::new(); pieces.len()];
        {
            let _running = self.run.lock().unwrap_or_else(PoisonError::into_inner);
            for batch in order.chunks(MAX_BATCH) {
                let seqs: Vec<&[u32]> = batch.iter().map(|&i| pieces[i].ids).collect();
                for (&i, vector) in batch.iter().zip(self.forward_pooled(&seqs)?) {
                    pooled[i] = vector;
                }
            }
        }
        Ok(combine(texts.len(), &pieces, pooled, self.dimension()))
    }

    /// One padded forward; the mean-pooled vector of each `[CLS] ids [SEP]`.
    fn forward_pooled(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0) + 2;
        let mut ids = Vec::with_capacity(seqs.len() * len);
        let mut mask = Vec::with_capacity(seqs.len() * len);
        for seq in seqs {
            ids.push(self.cls);
            ids.extend_from_slice(seq);
            ids.push(self.sep);
            let pad = len - seq.len() - 2;
            ids.extend(std::iter::repeat_n(self.pad, pad));
            mask.extend(std::iter::repeat_n(1u32, seq.len() + 2));
            mask.extend(std::iter::repeat_n(0u32, pad));
        }
        let shape = (seqs.len(), len);
        let ids = Tensor::from_vec(ids, shape, &Device::Cpu)?;
        let mask = Tensor::from_vec(mask, shape, &Device::Cpu)?;
        let hidden = self.encoder.forward(&ids, &mask)?;
        let weights = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&weights)?.sum(1)?;
        let counts = weights.sum(1)?.clamp(1e-9f32, f32::MAX)?;
        Ok(summed.broadcast_div(&counts)?.to_vec2()?)
    }
}

/// `max_seq_length` of `sentence_bert_config.json` next to `config.json`, if any.
fn configured_window(config: &Path) -> Option<usize> {
    let path = config.parent()?.join("sentence_bert_config.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get("max_seq_length")?.as_u64().map(|n| n as usize)
}

/// Applies the request's token limit to one text's content ids.
pub fn apply_limit(
    mut ids: Vec<u32>,
    limit: Option<u32>,
    truncate: Truncate,
) -> std::result::Result<Vec<u32>, BackendError> {
    let Some(limit) = limit else {
        return Ok(ids);
    };
    let keep = limit as usize;
    if ids.len() <= keep {
        return Ok(ids);
    }
    match truncate {
        Truncate::None => Err(BackendError::ContextOverflow {
            prompt_tokens: ids.len() as u32,
            limit,
        }),
        Truncate::End => {
            ids.truncate(keep);
            Ok(ids)
        }
        Truncate::Start => {
            ids.drain(..ids.len() - keep);
            Ok(ids)
        }
    }
}

/// Each text's vector: its only window's, or the content-token-weighted mean of its windows'.
fn combine(texts: usize, pieces: &[Piece], pooled: Vec<Vec<f32>>, dim: usize) -> Vec<Vec<f32>> {
    let mut windows = vec![0usize; texts];
    for piece in pieces {
        windows[piece.text] += 1;
    }
    let mut sums = vec![vec![0f32; dim]; texts];
    let mut weights = vec![0f32; texts];
    let mut single: Vec<Option<Vec<f32>>> = vec![None; texts];
    for (piece, vector) in pieces.iter().zip(pooled) {
        if windows[piece.text] == 1 {
            single[piece.text] = Some(vector);
            continue;
        }
        let w = piece.ids.len() as f32;
        weights[piece.text] += w;
        for (s, v) in sums[piece.text].iter_mut().zip(&vector) {
            *s += w * v;
        }
    }
    sums.into_iter()
        .zip(weights)
        .zip(single)
        .map(|((sum, w), single)| match single {
            Some(vector) => vector,
            None => sum
                .into_iter()
                .map(|s| s / w.max(f32::MIN_POSITIVE))
                .collect(),
        })
        .collect()
}

fn internal(e: EngineError) -> BackendError {
    BackendError::Internal(e.to_string())
}
