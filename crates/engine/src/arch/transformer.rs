//! The decoder every supported architecture runs: weights shared read-only, one
//! [`SeqCache`] per sequence, and a forward pass over several sequences at once.
//!
//! One [`Transformer::forward`] takes any mix of steps — a chunk of one sequence's prompt,
//! the next token of another — stacks their rows, and runs every weight matrix once over all
//! rows (our kernels in `crate::kernels`: the weights are read once per step however many
//! sequences share it, which is where batched decoding gains its throughput). Attention is
//! the only per-sequence part: each row attends to its own sequence's cache.
//!
//! Batch invariance: matrix products compute each output from its own row with a fixed
//! arithmetic (`kernels` module doc), and `ops` works row by row, so a row's values do not
//! depend on the other rows of the call or on the threads. Chunked prefill, single steps and
//! any batch composition therefore give bit-identical logits.

use super::config::Config;
use super::gguf::Gguf;
use super::ops::{self, Rope};
use crate::kernels::{attention, Pool, QMatrix};
use crate::{EngineError, Result};

struct Layer {
    attn_norm: Vec<f32>,
    wq: QMatrix,
    wk: QMatrix,
    wv: QMatrix,
    /// `[q, k, v]` biases (qwen2).
    bias: Option<[Vec<f32>; 3]>,
    /// Per-head `[q, k]` norm weights (gemma3).
    qk_norm: Option<[Vec<f32>; 2]>,
    wo: QMatrix,
    /// `[after attention, after MLP]` norm weights (gemma3).
    post_norm: Option<[Vec<f32>; 2]>,
    ffn_norm: Vec<f32>,
    gate: QMatrix,
    up: QMatrix,
    down: QMatrix,
    window: Option<usize>,
}

/// Weights of a decoder (shared by every sequence).
pub struct Transformer {
    config: Config,
    embed: QMatrix,
    /// `None`: tied to the embedding.
    output: Option<QMatrix>,
    output_norm: Vec<f32>,
    layers: Vec<Layer>,
    rope_global: Rope,
    /// Only for models with sliding-window layers (others would build a second copy of the
    /// global table).
    rope_local: Option<Rope>,
}

/// One sequence's keys and values per layer: values `[position][kv_heads * head_dim]`, keys
/// in the blocked layout of `kernels::attention` (16 positions per block). Every position is
/// kept (windowed layers only read the last `window`), so a cache can be cut
/// back to any prefix and reused.
#[derive(Clone, Default)]
pub struct SeqCache {
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    len: usize,
}

impl SeqCache {
    /// Positions stored (the position of the next token).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Floats per position in each layer.
    fn width(&self) -> usize {
        match (self.len, self.values.first()) {
            (0, _) | (_, None) => 0,
            (len, Some(v)) => v.len() / len,
        }
    }

    /// Forgets positions `n..`.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len {
            let w = self.width();
            self.keys
                .iter_mut()
                .for_each(|l| l.truncate(attention::keys_len(w, n)));
            self.values.iter_mut().for_each(|l| l.truncate(n * w));
            self.len = n;
        }
    }

    /// A compact copy of positions `..n`.
    pub fn prefix(&self, n: usize) -> SeqCache {
        let n = n.min(self.len);
        let w = self.width();
        let cut = |ls: &Vec<Vec<f32>>, len: usize| ls.iter().map(|l| l[..len].to_vec()).collect();
        SeqCache {
            keys: cut(&self.keys, attention::keys_len(w, n)),
            values: cut(&self.values, n * w),
            len: n,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.keys
            .iter()
            .chain(&self.values)
            .map(|l| l.capacity() * 4)
            .sum()
    }
}

/// Part of one sequence in a forward: `tokens` at positions `cache.len()..`.
pub struct Step<'a> {
    /// The tokens to run (a prompt chunk, or the one sampled token).
    pub tokens: &'a [u32],
    /// The sequence's cache; `tokens` are appended to it.
    pub cache: &'a mut SeqCache,
    /// Whether to return logits for the last token.
    pub logits: bool,
}

impl Transformer {
    /// Builds the decoder over `gguf`'s mapped weights.
    pub fn load(gguf: &Gguf, config: Config) -> Result<Self> {
        let c = &config;
        let embed = gguf.matrix("token_embd.weight")?;
        check_shape("token_embd.weight", &embed, c.vocab, c.hidden)?;
        let output = if gguf.has("output.weight") {
            let m = gguf.matrix("output.weight")?;
            check_shape("output.weight", &m, c.vocab, c.hidden)?;
            Some(m)
        } else {
            None
        };
        let output_norm = gguf.vector("output_norm.weight", c.hidden)?;
        let mut layers = Vec::with_capacity(c.layers);
        for i in 0..c.layers {
            let name = |n: &str| format!("blk.{i}.{n}");
            let matrix = |n: &str, rows: usize, cols: usize| -> Result<QMatrix> {
                let m = gguf.matrix(&name(n))?;
                check_shape(&name(n), &m, rows, cols)?;
                Ok(m)
            };
            let vector = |n: &str, len: usize| gguf.vector(&name(n), len);
            layers.push(Layer {
                attn_norm: vector("attn_norm.weight", c.hidden)?,
                wq: matrix("attn_q.weight", c.q_dim(), c.hidden)?,
                wk: matrix("attn_k.weight", c.kv_dim(), c.hidden)?,
                wv: matrix("attn_v.weight", c.kv_dim(), c.hidden)?,
                bias: match c.qkv_bias {
                    true => Some([
                        vector("attn_q.bias", c.q_dim())?,
                        vector("attn_k.bias", c.kv_dim())?,
                        vector("attn_v.bias", c.kv_dim())?,
                    ]),
                    false => None,
                },
                qk_norm: match c.qk_norm {
                    true => Some([
                        vector("attn_q_norm.weight", c.head_dim)?,
                        vector("attn_k_norm.weight", c.head_dim)?,
                    ]),
                    false => None,
                },
                wo: matrix("attn_output.weight", c.hidden, c.q_dim())?,
                post_norm: match c.post_norms {
                    true => Some([
                        vector("post_attention_norm.weight", c.hidden)?,
                        vector("post_ffw_norm.weight", c.hidden)?,
                    ]),
                    false => None,
                },
                ffn_norm: vector("ffn_norm.weight", c.hidden)?,
                gate: matrix("ffn_gate.weight", c.ffn, c.hidden)?,
                up: matrix("ffn_up.weight", c.ffn, c.hidden)?,
                down: matrix("ffn_down.weight", c.hidden, c.ffn)?,
                window: c.windows.get(i).copied().flatten(),
            });
        }
        let rope_global = Rope::new(c.head_dim, c.rope_global, c.rope_style, c.context);
        let rope_local = c
            .windows
            .iter()
            .any(Option::is_some)
            .then(|| Rope::new(c.head_dim, c.rope_local, c.rope_style, c.context));
        Ok(Self {
            config,
            embed,
            output,
            output_norm,
            layers,
            rope_global,
            rope_local,
        })
    }

    /// The model's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// An empty cache for a new sequence.
    pub fn new_cache(&self) -> SeqCache {
        SeqCache {
            keys: vec![Vec::new(); self.config.layers],
            values: vec![Vec::new(); self.config.layers],
            len: 0,
        }
    }

    /// Runs every step's tokens (appending them to its cache) and returns, in step order,
    /// the logits of the last token of each step that asked for them (`[vocab]` each).
    pub fn forward(&self, steps: &mut [Step<'_>], pool: &Pool) -> Result<Vec<Vec<f32>>> {
        let c = &self.config;
        let (hidden, q_dim, kv_dim) = (c.hidden, c.q_dim(), c.kv_dim());
        // Row r of the stacked batch: its step and position.
        let mut rows: Vec<(usize, usize)> = Vec::new();
        for (s, step) in steps.iter().enumerate() {
            if step.tokens.is_empty() {
                return Err(EngineError::InvalidRequest(
                    "forward called with no tokens".into(),
                ));
            }
            let start = step.cache.len;
            if start + step.tokens.len() > c.context {
                return Err(EngineError::InvalidRequest(format!(
                    "positions {start}..{} exceed the context window of {} tokens",
                    start + step.tokens.len(),
                    c.context
                )));
            }
            if step.cache.keys.len() != c.layers {
                return Err(EngineError::InvalidRequest(
                    "the cache belongs to another model".into(),
                ));
            }
            rows.extend((0..step.tokens.len()).map(|i| (s, start + i)));
        }
        let n = rows.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut x = vec![0f32; n * hidden];
        let tokens = steps.iter().flat_map(|s| s.tokens.iter().copied());
        for (row, id) in x.chunks_exact_mut(hidden).zip(tokens) {
            if id as usize >= c.vocab {
                return Err(EngineError::InvalidRequest(format!(
                    "token id {id} is outside the vocabulary ({})",
                    c.vocab
                )));
            }
            self.embed.dequantize_row(id as usize, row);
            if c.scale_embeddings {
                let s = (hidden as f32).sqrt();
                row.iter_mut().for_each(|v| *v *= s);
            }
        }
        let mut h = vec![0f32; n * hidden];
        let mut q = vec![0f32; n * q_dim];
        let mut k = vec![0f32; n * kv_dim];
        let mut v = vec![0f32; n * kv_dim];
        let mut a = vec![0f32; n * q_dim];
        let mut o = vec![0f32; n * hidden];
        let mut g = vec![0f32; n * c.ffn];
        let mut u = vec![0f32; n * c.ffn];
        for (l, layer) in self.layers.iter().enumerate() {
            ops::rms_norm(&x, &layer.attn_norm, c.eps, &mut h);
            layer.wq.matmul(&h, n, &mut q, pool);
            layer.wk.matmul(&h, n, &mut k, pool);
            layer.wv.matmul(&h, n, &mut v, pool);
            if let Some([bq, bk, bv]) = &layer.bias {
                for (t, b) in [(&mut q, bq), (&mut k, bk), (&mut v, bv)] {
                    t.chunks_exact_mut(b.len()).for_each(|r| ops::add(r, b));
                }
            }
            if let Some([nq, nk]) = &layer.qk_norm {
                ops::rms_norm_in_place(&mut q, nq, c.eps);
                ops::rms_norm_in_place(&mut k, nk, c.eps);
            }
            let rope = match layer.window {
                Some(_) => self.rope_local.as_ref().unwrap_or(&self.rope_global),
                None => &self.rope_global,
            };
            for (r, &(_, pos)) in rows.iter().enumerate() {
                rope.apply(&mut q[r * q_dim..(r + 1) * q_dim], pos);
                rope.apply(&mut k[r * kv_dim..(r + 1) * kv_dim], pos);
            }
            let mut r = 0;
            for step in steps.iter_mut() {
                let len = step.tokens.len();
                let (keys, start) = (&mut step.cache.keys[l], step.cache.len);
                attention::store_keys(keys, kv_dim, start, &k[r * kv_dim..(r + len) * kv_dim]);
                step.cache.values[l].extend_from_slice(&v[r * kv_dim..(r + len) * kv_dim]);
                r += len;
            }
            self.attention(l, layer.window, steps, &rows, &q, &mut a, pool);
            layer.wo.matmul(&a, n, &mut o, pool);
            if let Some([post_attn, _]) = &layer.post_norm {
                ops::rms_norm_in_place(&mut o, post_attn, c.eps);
            }
            ops::add(&mut x, &o);
            ops::rms_norm(&x, &layer.ffn_norm, c.eps, &mut h);
            layer.gate.matmul(&h, n, &mut g, pool);
            layer.up.matmul(&h, n, &mut u, pool);
            ops::gated(pool, &mut g, &u, c.ffn, c.activation);
            layer.down.matmul(&g, n, &mut o, pool);
            if let Some([_, post_ffn]) = &layer.post_norm {
                ops::rms_norm_in_place(&mut o, post_ffn, c.eps);
            }
            ops::add(&mut x, &o);
        }
        // The last row of each step that wants logits.
        let mut last = Vec::new();
        let mut end = 0;
        for step in steps.iter_mut() {
            end += step.tokens.len();
            step.cache.len += step.tokens.len();
            if step.logits {
                last.push(end - 1);
            }
        }
        if last.is_empty() {
            return Ok(Vec::new());
        }
        let mut finals = vec![0f32; last.len() * hidden];
        for (dst, &r) in finals.chunks_exact_mut(hidden).zip(&last) {
            ops::rms_norm(
                &x[r * hidden..(r + 1) * hidden],
                &self.output_norm,
                c.eps,
                dst,
            );
        }
        let output = self.output.as_ref().unwrap_or(&self.embed);
        let mut logits = vec![0f32; last.len() * c.vocab];
        output.matmul(&finals, last.len(), &mut logits, pool);
        Ok(logits.chunks_exact(c.vocab).map(<[f32]>::to_vec).collect())
    }

    /// Attention of every row (query heads side by side in `q`) over its own sequence's
    /// cache of layer `l`, into `out`.
    #[allow(clippy::too_many_arguments)]
    fn attention(
        &self,
        l: usize,
        window: Option<usize>,
        steps: &[Step<'_>],
        rows: &[(usize, usize)],
        q: &[f32],
        out: &mut [f32],
        pool: &Pool,
    ) {
        let c = &self.config;
        let (dim, kv_dim) = (c.head_dim, c.kv_dim());
        let group = c.heads / c.kv_heads;
        // One task per (row, key/value head): the query heads sharing it, side by side.
        ops::for_each_chunk(pool, out, group * dim, &|i, out| {
            let (r, kv_head) = (i / c.kv_heads, i % c.kv_heads);
            let (s, pos) = rows[r];
            let cache = &*steps[s].cache;
            let first = window.map_or(0, |w| (pos + 1).saturating_sub(w));
            let base = r * c.q_dim() + kv_head * group * dim;
            let mut scratch = Vec::new();
            let layer = attention::Cache {
                keys: &cache.keys[l],
                values: &cache.values[l],
                kv_dim,
            };
            attention::attend(
                &q[base..base + group * dim],
                dim,
                layer,
                kv_head,
                first,
                pos,
                c.attn_scale,
                &mut scratch,
                out,
            );
        });
    }
}

fn check_shape(name: &str, m: &QMatrix, rows: usize, cols: usize) -> Result<()> {
    if m.rows() != rows || m.cols() != cols {
        return Err(EngineError::Gguf(format!(
            "tensor {name} is {}x{}, expected {rows}x{cols}",
            m.cols(),
            m.rows()
        )));
    }
    Ok(())
}
