//! Gemma 3 (text), implemented here on candle's tensor ops.
//!
//! Not candle-transformers' `quantized_gemma3`, which (0.11.1) uses SiLU where Gemma uses
//! GELU (so its text differs from llama.cpp's), builds a 131072-position rotary table per layer
//! (2.4 GB for the 270M model, 17 s to load here), hides the cached prefix from multi-token
//! forwards past position 0, and applies the sliding window only inside one forward.
//!
//! The architecture, as llama.cpp runs it (`LLM_ARCH_GEMMA3`):
//! - embeddings scaled by `sqrt(hidden)`; RMSNorm everywhere, with the GGUF norm weights used
//!   as stored (the converter already added Gemma's `+1`);
//! - attention: grouped-query, per-head RMSNorm on queries and keys, NeoX rotary embeddings,
//!   scale `1/sqrt(key_length)`; norms after attention and after the MLP too;
//! - every sixth layer (`sliding_window_type`, default 6) attends globally with rotary base
//!   `rope.freq_base` (and linear `rope.scaling.factor` when given); the others see the last
//!   `attention.sliding_window` positions with base 10000 (`rope.local_freq_base`);
//! - MLP: `down(gelu_tanh(gate(x)) * up(x))`; output projection tied to the embedding when
//!   the file has no `output.weight`.

use std::io::{Read, Seek};
use std::sync::Arc;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use candle_transformers::quantized_nn::RmsNorm;

use super::common::{
    attention, first_visible, last_position, mask, matmul_weight, shared_matmul_weight,
    split_heads, KvCache, QEmbedding, Rope,
};
use super::{capped_context, check_span, last_logits, on_cpu_pool, CausalLm, LoadOptions};
use crate::{EngineError, Result};

const DEFAULT_SLIDING_WINDOW_TYPE: usize = 6;
const DEFAULT_LOCAL_ROPE_BASE: f32 = 10_000.0;
const DEFAULT_GLOBAL_ROPE_BASE: f32 = 1_000_000.0;

struct Layer {
    attn_norm: RmsNorm,
    wq: QMatMul,
    wk: QMatMul,
    wv: QMatMul,
    wo: QMatMul,
    q_norm: RmsNorm,
    k_norm: RmsNorm,
    post_attn_norm: RmsNorm,
    ffn_norm: RmsNorm,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
    post_ffn_norm: RmsNorm,
    sliding: bool,
    cache: KvCache,
}

/// A loaded Gemma 3 model and its cache.
pub struct Gemma3 {
    embed: QEmbedding,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: QMatMul,
    rope_local: Rope,
    rope_global: Rope,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    window: usize,
    hidden: usize,
    context: usize,
    device: Device,
}

/// Reads `gemma3.<key>` metadata.
struct Meta<'a>(&'a Content);

impl Meta<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.metadata.get(&format!("gemma3.{key}"))
    }

    fn usize(&self, key: &str) -> Result<usize> {
        let v = self
            .get(key)
            .ok_or_else(|| EngineError::Gguf(format!("missing metadata key gemma3.{key}")))?;
        v.to_u32()
            .map(|v| v as usize)
            .map_err(|e| EngineError::Gguf(format!("gemma3.{key}: {e}")))
    }

    fn f32_or(&self, key: &str, default: f32) -> f32 {
        self.get(key)
            .and_then(|v| v.to_f32().ok())
            .unwrap_or(default)
    }
}

impl Gemma3 {
    /// Reads the weights (tensors are read from `reader` as the model is built).
    pub fn load<R: Read + Seek>(
        content: Content,
        reader: &mut R,
        device: &Device,
        options: LoadOptions,
    ) -> Result<Self> {
        let meta = Meta(&content);
        let heads = meta.usize("attention.head_count")?;
        let kv_heads = meta.usize("attention.head_count_kv")?;
        let blocks = meta.usize("block_count")?;
        let hidden = meta.usize("embedding_length")?;
        let head_dim = meta.usize("attention.key_length")?;
        let window = meta.usize("attention.sliding_window")?;
        let pattern = meta
            .usize("attention.sliding_window_type")
            .unwrap_or(DEFAULT_SLIDING_WINDOW_TYPE)
            .max(1);
        let eps = f64::from(meta.f32_or("attention.layer_norm_rms_epsilon", 1e-6));
        let global_base = meta.f32_or("rope.freq_base", DEFAULT_GLOBAL_ROPE_BASE);
        let local_base = meta.f32_or("rope.local_freq_base", DEFAULT_LOCAL_ROPE_BASE);
        let linear =
            matches!(meta.get("rope.scaling.type"), Some(Value::String(t)) if t == "linear");
        let global_scale = if linear {
            1.0 / meta
                .f32_or("rope.scaling.factor", 1.0)
                .max(f32::MIN_POSITIVE)
        } else {
            1.0
        };
        if heads == 0 || kv_heads == 0 || heads % kv_heads != 0 {
            return Err(EngineError::Gguf(format!(
                "gemma3: {heads} heads cannot share {kv_heads} key/value heads"
            )));
        }
        let context = capped_context(&content, "gemma3", options.max_context)?;

        let mut tensor = |name: &str| -> Result<QTensor> {
            content
                .tensor(reader, name, device)
                .map_err(|e| EngineError::Gguf(format!("tensor {name}: {e}")))
        };
        let norm = |t: QTensor| -> Result<RmsNorm> { Ok(RmsNorm::from_qtensor(t, eps)?) };
        let embed = QEmbedding::new(Arc::new(tensor("token_embd.weight")?))?;
        let output = match content.tensor_infos.contains_key("output.weight") {
            true => matmul_weight(tensor("output.weight")?)?,
            false => shared_matmul_weight(embed.table())?,
        };
        let final_norm = norm(tensor("output_norm.weight")?)?;
        let mut layers = Vec::with_capacity(blocks);
        for i in 0..blocks {
            let sliding = (i + 1) % pattern != 0;
            let mut t = |n: &str| tensor(&format!("blk.{i}.{n}.weight"));
            layers.push(Layer {
                attn_norm: norm(t("attn_norm")?)?,
                wq: matmul_weight(t("attn_q")?)?,
                wk: matmul_weight(t("attn_k")?)?,
                wv: matmul_weight(t("attn_v")?)?,
                wo: matmul_weight(t("attn_output")?)?,
                q_norm: norm(t("attn_q_norm")?)?,
                k_norm: norm(t("attn_k_norm")?)?,
                post_attn_norm: norm(t("post_attention_norm")?)?,
                ffn_norm: norm(t("ffn_norm")?)?,
                gate: matmul_weight(t("ffn_gate")?)?,
                up: matmul_weight(t("ffn_up")?)?,
                down: matmul_weight(t("ffn_down")?)?,
                post_ffn_norm: norm(t("post_ffw_norm")?)?,
                sliding,
                cache: KvCache::new(sliding.then_some(window)),
            });
        }
        Ok(Self {
            embed,
            layers,
            norm: final_norm,
            output,
            rope_local: Rope::new(head_dim, local_base, 1.0, context, device)?,
            rope_global: Rope::new(head_dim, global_base, global_scale, context, device)?,
            heads,
            kv_heads,
            head_dim,
            window,
            hidden,
            context,
            device: device.clone(),
        })
    }

    fn run(&mut self, tokens: &[u32], pos: usize) -> Result<Tensor> {
        let seq = tokens.len();
        let mut x = (self.embed.forward(tokens, &self.device)? * (self.hidden as f64).sqrt())?;
        let local_first = first_visible(pos, Some(self.window));
        let local_mask = mask(seq, pos, local_first, Some(self.window), &self.device)?;
        let global_mask = mask(seq, pos, 0, None, &self.device)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        for layer in &mut self.layers {
            let h = layer.attn_norm.forward(&x)?;
            let q = split_heads(&layer.wq.forward(&h)?, self.heads, self.head_dim)?;
            let k = split_heads(&layer.wk.forward(&h)?, self.kv_heads, self.head_dim)?;
            let v = split_heads(&layer.wv.forward(&h)?, self.kv_heads, self.head_dim)?;
            let q = layer.q_norm.forward(&q)?;
            let k = layer.k_norm.forward(&k)?;
            let (rope, first, m) = match layer.sliding {
                true => (&self.rope_local, local_first, local_mask.as_ref()),
                false => (&self.rope_global, 0, global_mask.as_ref()),
            };
            let q = rope.apply(&q, pos)?;
            let k = rope.apply(&k, pos)?;
            layer.cache.append(&k, &v, pos)?;
            let (k, v) = layer.cache.view(first)?;
            let a = attention(&q, &k, &v, scale, m)?;
            let a = layer.post_attn_norm.forward(&layer.wo.forward(&a)?)?;
            x = (x + a)?;
            let h = layer.ffn_norm.forward(&x)?;
            let h = (layer.gate.forward(&h)?.gelu()? * layer.up.forward(&h)?)?;
            let h = layer.post_ffn_norm.forward(&layer.down.forward(&h)?)?;
            x = (x + h)?;
        }
        let x = self.norm.forward(&last_position(&x)?)?;
        Ok(self.output.forward(&x)?)
    }
}

impl CausalLm for Gemma3 {
    fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Tensor> {
        check_span(tokens, pos, self.context)?;
        let device = self.device.clone();
        let out = on_cpu_pool(&device, || self.run(tokens, pos))?;
        last_logits(out)
    }

    fn reset(&mut self) {
        for layer in &mut self.layers {
            layer.cache.clear();
        }
    }

    fn context_length(&self) -> usize {
        self.context
    }

    fn architecture(&self) -> &'static str {
        "gemma3"
    }
}
