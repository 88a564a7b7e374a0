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

use candle_core::quantized::{GgmlDType, QStorage, QTensor};
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

/// Keys and values of the positions seen so far, `[batch, kv_heads, positions, dim]`.
#[derive(Default)]
pub struct KvCache {
    kv: Option<(Tensor, Tensor)>,
}

impl KvCache {
    /// Appends the keys/values of positions `pos..`, returning the whole cache. A `pos` of 0
    /// starts over; any other `pos` must equal the cached length.
    pub fn append(&mut self, k: &Tensor, v: &Tensor, pos: usize) -> Result<(Tensor, Tensor)> {
        let (k, v) = match (&self.kv, pos) {
            (_, 0) | (None, _) => {
                if pos != 0 {
                    return Err(EngineError::InvalidRequest(format!(
                        "KV cache is empty, cannot continue at position {pos}"
                    )));
                }
                (k.contiguous()?, v.contiguous()?)
            }
            (Some((ck, cv)), _) => {
                let have = ck.dim(2)?;
                if have != pos {
                    return Err(EngineError::InvalidRequest(format!(
                        "KV cache holds {have} positions, cannot continue at {pos}"
                    )));
                }
                (Tensor::cat(&[ck, k], 2)?, Tensor::cat(&[cv, v], 2)?)
            }
        };
        self.kv = Some((k.clone(), v.clone()));
        Ok((k, v))
    }

    /// Forgets every position.
    pub fn clear(&mut self) {
        self.kv = None;
    }
}

/// Additive attention mask (`0` visible, `-inf` hidden), `[seq, pos + seq]`, for queries at
/// positions `pos..pos + seq`: a key is visible when it is not in the future and, with a
/// `window`, when it is less than `window` positions back. `None` when every key is visible.
pub fn mask(
    seq: usize,
    pos: usize,
    window: Option<usize>,
    device: &Device,
) -> Result<Option<Tensor>> {
    let kv = pos + seq;
    let windowed = window.is_some_and(|w| kv > w);
    if seq == 1 && !windowed {
        return Ok(None);
    }
    let mut values = Vec::with_capacity(seq * kv);
    for i in 0..seq {
        let q = pos + i;
        for j in 0..kv {
            let hidden = j > q || window.is_some_and(|w| q - j.min(q) >= w);
            values.push(if hidden { f32::NEG_INFINITY } else { 0.0 });
        }
    }
    Ok(Some(Tensor::from_vec(values, (seq, kv), device)?))
}

/// Grouped-query attention: `q` `[1, heads, seq, dim]`, `k`/`v` `[1, kv_heads, kv, dim]`.
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
    let n_rep = heads / kv_heads.max(1);
    let k = candle_transformers::utils::repeat_kv(k.clone(), n_rep)?;
    let v = candle_transformers::utils::repeat_kv(v.clone(), n_rep)?;
    let scores = (q.contiguous()?.matmul(&k.t()?)? * scale)?;
    let scores = match mask {
        Some(m) => scores.broadcast_add(m)?,
        None => scores,
    };
    let probs = candle_nn::ops::softmax_last_dim(&scores)?;
    let out = probs.matmul(&v.contiguous()?)?;
    Ok(out.transpose(1, 2)?.reshape((b, seq, heads * dim))?)
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
mod tests {
    use super::*;
    use candle_core::D;

    fn row_softmax(x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::softmax(x, D::Minus1)?)
    }

    fn visible(m: &Option<Tensor>) -> Vec<Vec<bool>> {
        let m = m.as_ref().unwrap();
        m.to_vec2::<f32>()
            .unwrap()
            .into_iter()
            .map(|r| r.into_iter().map(|v| v == 0.0).collect())
            .collect()
    }

    #[test]
    fn causal_mask_hides_the_future_only() {
        let m = mask(3, 2, None, &Device::Cpu).unwrap();
        let v = visible(&m);
        assert_eq!(v[0], vec![true, true, true, false, false]);
        assert_eq!(v[2], vec![true, true, true, true, true]);
        assert!(mask(1, 7, None, &Device::Cpu).unwrap().is_none());
    }

    #[test]
    fn sliding_window_keeps_the_last_w_positions() {
        // Query at position 5 with window 3 sees keys 3, 4, 5.
        let m = mask(1, 5, Some(3), &Device::Cpu).unwrap();
        assert_eq!(visible(&m)[0], vec![false, false, false, true, true, true]);
        // Within the window no mask is needed for one token.
        assert!(mask(1, 1, Some(3), &Device::Cpu).unwrap().is_none());
        let m = mask(4, 0, Some(2), &Device::Cpu).unwrap();
        assert_eq!(visible(&m)[3], vec![false, false, true, true]);
    }

    #[test]
    fn kv_cache_checks_positions() {
        let mut c = KvCache::default();
        let t = Tensor::zeros((1, 2, 3, 4), DType::F32, &Device::Cpu).unwrap();
        assert!(c.append(&t, &t, 1).is_err());
        let (k, _) = c.append(&t, &t, 0).unwrap();
        assert_eq!(k.dims(), &[1, 2, 3, 4]);
        assert!(c.append(&t, &t, 2).is_err());
        let (k, _) = c.append(&t, &t, 3).unwrap();
        assert_eq!(k.dims(), &[1, 2, 6, 4]);
        let (k, _) = c.append(&t, &t, 0).unwrap();
        assert_eq!(k.dims(), &[1, 2, 3, 4]);
    }

    #[test]
    fn quantized_embedding_rows_match_the_dequantized_table() {
        let data: Vec<f32> = (0..8 * 64)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
            .collect();
        let t = Tensor::from_vec(data, (8, 64), &Device::Cpu).unwrap();
        for dtype in [GgmlDType::Q8_0, GgmlDType::F32, GgmlDType::F16] {
            let q = Arc::new(QTensor::quantize(&t, dtype).unwrap());
            let full = q.dequantize(&Device::Cpu).unwrap();
            let e = QEmbedding::new(q).unwrap();
            let rows = e
                .forward(&[3, 0, 7], &Device::Cpu)
                .unwrap()
                .squeeze(0)
                .unwrap();
            let want = full
                .index_select(&Tensor::new(&[3u32, 0, 7], &Device::Cpu).unwrap(), 0)
                .unwrap();
            assert_eq!(
                rows.to_vec2::<f32>().unwrap(),
                want.to_vec2::<f32>().unwrap(),
                "{dtype:?}"
            );
            assert!(e.forward(&[8], &Device::Cpu).is_err());
        }
    }

    #[test]
    fn attention_with_a_full_mask_row_is_plain_softmax_attention() {
        let dev = Device::Cpu;
        let q = Tensor::new(&[[[[1f32, 0.0]]]], &dev).unwrap(); // [1,1,1,2]
        let k = Tensor::new(&[[[[1f32, 0.0], [0.0, 1.0]]]], &dev).unwrap(); // [1,1,2,2]
        let v = Tensor::new(&[[[[10f32, 0.0], [0.0, 10.0]]]], &dev).unwrap();
        let out = attention(&q, &k, &v, 1.0, None).unwrap();
        let w = row_softmax(&Tensor::new(&[1f32, 0.0], &dev).unwrap())
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let got = out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!((got[0] - 10.0 * w[0]).abs() < 1e-5 && (got[1] - 10.0 * w[1]).abs() < 1e-5);
    }

    #[test]
    fn rope_at_position_zero_is_identity() {
        let rope = Rope::new(4, 10000.0, 1.0, 8, &Device::Cpu).unwrap();
        let x = Tensor::new(&[[[[1f32, 2.0, 3.0, 4.0]]]], &Device::Cpu).unwrap();
        let y = rope.apply(&x, 0).unwrap();
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![1.0, 2.0, 3.0, 4.0]
        );
        assert!(rope.apply(&x, 8).is_err());
    }
}
