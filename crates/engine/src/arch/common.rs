//! Building blocks shared by the architectures we implement ourselves (rather than through
//! candle-transformers): a quantized token embedding, rotary tables sized to the context we
//! serve, a KV cache, causal / sliding-window masks and grouped-query attention.
//!
//! Why our own: candle-transformers' models dequantize the whole token embedding to f32 and
//! (gemma3) build a 131072-position rotary table per layer; their masks and caches are fixed
//! inside them. These pieces keep memory proportional to what is served, and every tensor
//! operation is still candle's.

use std::borrow::Cow;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{DType, Device, Tensor};

use crate::{EngineError, Result};

/// Token embedding kept quantized: each looked-up row is dequantized on the fly (a GGUF row
/// is always a whole number of quantization blocks). Saves `vocab x hidden x 4` bytes over a
/// dequantized table (671 MB for Gemma 3 270M), and the same tensor serves as the tied output
/// projection.
pub struct QEmbedding {
    table: Arc<QTensor>,
    hidden: usize,
    row_bytes: usize,
    dtype: GgmlDType,
    vocab: usize,
}

impl QEmbedding {
    /// Wraps a `[vocab, hidden]` quantized table.
    pub fn new(table: Arc<QTensor>) -> Result<Self> {
        let (vocab, hidden) = table.shape().dims2()?;
        let dtype = table.dtype();
        if hidden % dtype.block_size() != 0 {
            return Err(EngineError::Gguf(format!(
                "token embedding rows ({hidden}) are not whole {dtype:?} blocks"
            )));
        }
        let row_bytes = hidden / dtype.block_size() * dtype.type_size();
        Ok(Self {
            table,
            hidden,
            row_bytes,
            dtype,
            vocab,
        })
    }

    /// The quantized table (for a tied output projection).
    pub fn table(&self) -> Arc<QTensor> {
        self.table.clone()
    }

    /// `[1, ids.len(), hidden]` f32 embeddings.
    pub fn forward(&self, ids: &[u32], device: &Device) -> Result<Tensor> {
        let data = self.table.data()?;
        let mut rows = Vec::with_capacity(ids.len());
        for &id in ids {
            let id = id as usize;
            if id >= self.vocab {
                return Err(EngineError::InvalidRequest(format!(
                    "token id {id} is outside the vocabulary ({})",
                    self.vocab
                )));
            }
            let bytes = &data[id * self.row_bytes..(id + 1) * self.row_bytes];
            let storage = QStorage::from_data(Cow::Borrowed(bytes), device, self.dtype)?;
            let row = QTensor::new(storage, (1, self.hidden))?;
            rows.push(row.dequantize(device)?);
        }
        Ok(Tensor::cat(&rows, 0)?.unsqueeze(0)?)
    }
}

/// A matrix-multiply weight, re-encoded when that makes candle faster: Q5_0 becomes Q8_0,
/// losslessly (a Q5_0 value is `d * (q - 16)` with `q` in 0..32, a Q8_0 value `d * q` with `q`
/// an i8, so the same `d` and `q - 16` encode it exactly). candle 0.11's Q5_0 dot product is a
/// scalar loop while its Q8_0 one is vectorised; the cost is 34 instead of 22 bytes per 32
/// weights. Other types are used as they are.
pub fn matmul_weight(t: QTensor) -> Result<QMatMul> {
    if t.dtype() == GgmlDType::Q5_0 {
        return Ok(QMatMul::from_qtensor(q5_0_as_q8_0(&t)?)?);
    }
    Ok(QMatMul::from_qtensor(t)?)
}

/// [`matmul_weight`] for a shared tensor (an output projection tied to the embedding).
pub fn shared_matmul_weight(t: Arc<QTensor>) -> Result<QMatMul> {
    if t.dtype() == GgmlDType::Q5_0 {
        return Ok(QMatMul::from_qtensor(q5_0_as_q8_0(&t)?)?);
    }
    Ok(QMatMul::from_arc(t)?)
}

/// Bytes of one Q5_0 block: f16 scale, 32 high bits, 16 bytes of low nibbles.
const Q5_0_BLOCK: usize = 22;
/// Bytes of one Q8_0 block: f16 scale, 32 signed bytes.
const Q8_0_BLOCK: usize = 34;

/// The exact Q8_0 encoding of a Q5_0 tensor (ggml's block layouts).
fn q5_0_as_q8_0(t: &QTensor) -> Result<QTensor> {
    let src = t.data()?;
    if src.len() % Q5_0_BLOCK != 0 {
        return Err(EngineError::Gguf("Q5_0 tensor is not whole blocks".into()));
    }
    let mut out = Vec::with_capacity(src.len() / Q5_0_BLOCK * Q8_0_BLOCK);
    for block in src.chunks_exact(Q5_0_BLOCK) {
        let (d, rest) = block.split_at(2);
        let (qh, qs) = rest.split_at(4);
        let high = u32::from_le_bytes([qh[0], qh[1], qh[2], qh[3]]);
        out.extend_from_slice(d);
        let mut values = [0u8; 32];
        for (j, &byte) in qs.iter().enumerate() {
            let low = (byte & 0x0F) | ((((high >> j) & 1) as u8) << 4);
            let up = (byte >> 4) | ((((high >> (j + 16)) & 1) as u8) << 4);
            values[j] = (low as i8 - 16) as u8;
            values[j + 16] = (up as i8 - 16) as u8;
        }
        out.extend_from_slice(&values);
    }
    let storage = QStorage::from_data(Cow::Owned(out), &t.device(), GgmlDType::Q8_0)?;
    Ok(QTensor::new(storage, t.shape().clone())?)
}

/// Rotary position tables (`cos`, `sin`, each `[positions, dim / 2]`) for the
/// non-interleaved ("NeoX") layout, with optional linear position scaling.
#[derive(Clone)]
pub struct Rope {
    cos: Tensor,
    sin: Tensor,
}

impl Rope {
    /// Tables for `positions` positions of a `dim`-wide head, frequency base `base`, positions
    /// multiplied by `scale` (1.0: none).
    pub fn new(
        dim: usize,
        base: f32,
        scale: f32,
        positions: usize,
        device: &Device,
    ) -> Result<Self> {
        let inv_freq: Vec<f32> = (0..dim / 2)
            .map(|i| 1.0 / base.powf(2.0 * i as f32 / dim as f32))
            .collect();
        let inv_freq = Tensor::from_vec(inv_freq, (1, dim / 2), device)?;
        let pos = Tensor::arange(0u32, positions as u32, device)?
            .to_dtype(DType::F32)?
            .affine(f64::from(scale), 0.0)?
            .reshape((positions, 1))?;
        let angles = pos.matmul(&inv_freq)?;
        Ok(Self {
            cos: angles.cos()?,
            sin: angles.sin()?,
        })
    }

    /// Rotates `x` (`[batch, heads, seq, dim]`) whose first position is `pos`.
    pub fn apply(&self, x: &Tensor, pos: usize) -> Result<Tensor> {
        let seq = x.dim(2)?;
        let cos = self.cos.narrow(0, pos, seq)?;
        let sin = self.sin.narrow(0, pos, seq)?;
        Ok(candle_nn::rotary_emb::rope(&x.contiguous()?, &cos, &sin)?)
    }
}

/// Positions dropped at once from a sliding-window cache (compaction is a copy of the window,
/// so it runs once every this many tokens).
const WINDOW_SLACK: usize = 256;
/// Smallest allocation of a cache, in positions.
const MIN_CAPACITY: usize = 256;

/// Keys and values of the positions seen so far, stored `[1, kv_heads, capacity, dim]` and
/// grown by doubling (no per-token copy of the whole cache). A sliding-window cache keeps only
/// the positions a future query can still see, so its memory stays bounded by the window.
#[derive(Default)]
pub struct KvCache {
    k: Option<Tensor>,
    v: Option<Tensor>,
    /// Positions stored.
    len: usize,
    /// Absolute position of the first stored entry.
    offset: usize,
    /// For sliding-window layers: queries see at most this many positions (themselves
    /// included).
    window: Option<usize>,
}

impl KvCache {
    /// A cache for a layer whose queries see at most `window` positions (`None`: all).
    pub fn new(window: Option<usize>) -> Self {
        Self {
            window,
            ..Self::default()
        }
    }

    /// Stores the keys/values of positions `pos..pos + k.dim(2)`. A `pos` of 0 starts over;
    /// any other `pos` must continue the cached sequence.
    pub fn append(&mut self, k: &Tensor, v: &Tensor, pos: usize) -> Result<()> {
        if pos == 0 {
            self.clear();
        }
        if self.offset + self.len != pos {
            return Err(EngineError::InvalidRequest(format!(
                "KV cache holds positions up to {}, cannot continue at {pos}",
                self.offset + self.len
            )));
        }
        if let Some(w) = self.window {
            // The next query (at `pos`) sees keys from `pos + 1 - w` on.
            let keep = w.saturating_sub(1);
            if self.len > keep + WINDOW_SLACK {
                self.drop_front(self.len - keep)?;
            }
        }
        let seq = k.dim(2)?;
        self.reserve(k, self.len + seq)?;
        let (Some(ck), Some(cv)) = (&self.k, &self.v) else {
            return Err(EngineError::InvalidRequest(
                "KV cache storage missing".into(),
            ));
        };
        ck.slice_set(&k.contiguous()?, 2, self.len)?;
        cv.slice_set(&v.contiguous()?, 2, self.len)?;
        self.len += seq;
        Ok(())
    }

    /// Keys and values of positions `first..` (up to the last stored), `[1, kv_heads, n, dim]`.
    pub fn view(&self, first: usize) -> Result<(Tensor, Tensor)> {
        let (Some(k), Some(v)) = (&self.k, &self.v) else {
            return Err(EngineError::InvalidRequest("KV cache is empty".into()));
        };
        if first < self.offset || first >= self.offset + self.len {
            return Err(EngineError::InvalidRequest(format!(
                "position {first} is not in the KV cache ({}..{})",
                self.offset,
                self.offset + self.len
            )));
        }
        let start = first - self.offset;
        let n = self.len - start;
        Ok((k.narrow(2, start, n)?, v.narrow(2, start, n)?))
    }

    /// Forgets every position (and frees the storage).
    pub fn clear(&mut self) {
        self.k = None;
        self.v = None;
        self.len = 0;
        self.offset = 0;
    }

    /// Makes room for `needed` positions.
    fn reserve(&mut self, like: &Tensor, needed: usize) -> Result<()> {
        let capacity = self.k.as_ref().map_or(Ok(0), |k| k.dim(2))?;
        if needed <= capacity {
            return Ok(());
        }
        let new_capacity = needed.max(capacity * 2).max(MIN_CAPACITY);
        let (b, heads, _, dim) = like.dims4()?;
        let grow = |old: &Option<Tensor>| -> Result<Tensor> {
            let t = Tensor::zeros((b, heads, new_capacity, dim), like.dtype(), like.device())?;
            if let Some(old) = old {
                if self.len > 0 {
                    t.slice_set(&old.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                }
            }
            Ok(t)
        };
        let k = grow(&self.k)?;
        let v = grow(&self.v)?;
        self.k = Some(k);
        self.v = Some(v);
        Ok(())
    }

    /// Forgets the `n` oldest positions, moving the rest to the front.
    fn drop_front(&mut self, n: usize) -> Result<()> {
        let rest = self.len - n;
        for t in [&self.k, &self.v].into_iter().flatten() {
            // A copy, never a view: with one key/value head the narrowed tail is contiguous
            // and would share the storage it is written into.
            let tail = t.narrow(2, n, rest)?.force_contiguous()?;
            t.slice_set(&tail, 2, 0)?;
        }
        self.offset += n;
        self.len = rest;
        Ok(())
    }
}

/// The first key position any query of `pos..pos + seq` can see.
pub fn first_visible(pos: usize, window: Option<usize>) -> usize {
    window.map_or(0, |w| (pos + 1).saturating_sub(w))
}

/// Additive attention mask (`0` visible, `-inf` hidden), `[seq, pos + seq - first]`, for
/// queries at positions `pos..pos + seq` over keys `first..pos + seq`: a key is visible when it
/// is not in the future and, with a `window`, when it is less than `window` positions back.
/// `None` when every key is visible.
pub fn mask(
    seq: usize,
    pos: usize,
    first: usize,
    window: Option<usize>,
    device: &Device,
) -> Result<Option<Tensor>> {
    let end = pos + seq;
    let hides = |q: usize, j: usize| j > q || window.is_some_and(|w| q - j.min(q) >= w);
    let any_hidden = (0..seq).any(|i| (first..end).any(|j| hides(pos + i, j)));
    if !any_hidden {
        return Ok(None);
    }
    let mut values = Vec::with_capacity(seq * (end - first));
    for i in 0..seq {
        for j in first..end {
            values.push(if hides(pos + i, j) {
                f32::NEG_INFINITY
            } else {
                0.0
            });
        }
    }
    Ok(Some(Tensor::from_vec(values, (seq, end - first), device)?))
}

/// Grouped-query attention: `q` `[1, heads, seq, dim]`, `k`/`v` `[1, kv_heads, kv, dim]`
/// (views into the cache are fine), `mask` `[seq, kv]`. The query heads that share a key/value
/// head are computed as one matrix product, so keys and values are never copied per head.
/// Returns `[1, seq, heads * dim]`.
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    let (b, heads, seq, dim) = q.dims4()?;
    let kv_heads = k.dim(1)?;
    let kv = k.dim(2)?;
    if kv_heads == 0 || heads % kv_heads != 0 {
        return Err(EngineError::InvalidRequest(format!(
            "{heads} query heads cannot share {kv_heads} key/value heads"
        )));
    }
    let group = heads / kv_heads;
    // [b, kv_heads, group * seq, dim]: rows (g, i) for query head kv_head * group + g.
    let q = q.contiguous()?.reshape((b, kv_heads, group * seq, dim))?;
    let scores = (q.matmul(&k.t()?)? * scale)?;
    let scores = match mask {
        Some(m) => scores
            .reshape((b, kv_heads, group, seq, kv))?
            .broadcast_add(m)?
            .reshape((b, kv_heads, group * seq, kv))?,
        None => scores,
    };
    let probs = candle_nn::ops::softmax_last_dim(&scores)?;
    let out = probs.matmul(v)?; // [b, kv_heads, group * seq, dim]
    Ok(out
        .reshape((b, heads, seq, dim))?
        .transpose(1, 2)?
        .reshape((b, seq, heads * dim))?)
}

/// `[1, seq, n * dim]` projections -> `[1, n, seq, dim]`.
pub fn split_heads(x: &Tensor, n: usize, dim: usize) -> Result<Tensor> {
    let (b, seq, _) = x.dims3()?;
    Ok(x.reshape((b, seq, n, dim))?.transpose(1, 2)?.contiguous()?)
}

/// The last position of `[1, seq, hidden]`, as `[1, hidden]`.
pub fn last_position(x: &Tensor) -> Result<Tensor> {
    let seq = x.dim(1)?;
    Ok(x.narrow(1, seq - 1, 1)?.squeeze(1)?)
}

#[cfg(test)]
#[path = "common_tests.rs"]
mod tests;
