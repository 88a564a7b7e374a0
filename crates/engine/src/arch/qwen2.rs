//! Qwen2 and Qwen2.5, implemented here on candle's tensor ops.
//!
//! Not candle-transformers' `quantized_qwen2`, which dequantizes the token embedding to f32
//! (545 MB for Qwen2.5 0.5B, more than the whole quantized model) and keeps one causal mask
//! per prompt length for the life of the model.
//!
//! The architecture, as llama.cpp runs it (`LLM_ARCH_QWEN2`): RMSNorm before attention and
//! MLP; query/key/value projections with biases; grouped-query attention with NeoX rotary
//! embeddings (base `qwen2.rope.freq_base`), scale `1/sqrt(head_dim)`; MLP
//! `down(silu(gate(x)) * up(x))`; output projection tied to the embedding when the file has no
//! `output.weight`.

use std::io::{Read, Seek};
use std::sync::Arc;

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use candle_transformers::quantized_nn::RmsNorm;

use super::common::{
    attention, last_position, mask, matmul_weight, shared_matmul_weight, split_heads, KvCache,
    QEmbedding, Rope,
};
use super::{capped_context, check_span, last_logits, on_cpu_pool, CausalLm, LoadOptions};
use crate::{EngineError, Result};

struct Layer {
    attn_norm: RmsNorm,
    wq: QMatMul,
    wk: QMatMul,
    wv: QMatMul,
    bq: Tensor,
    bk: Tensor,
    bv: Tensor,
    wo: QMatMul,
    ffn_norm: RmsNorm,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
    cache: KvCache,
}

/// A loaded Qwen2 model and its cache.
pub struct Qwen2 {
    embed: QEmbedding,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: QMatMul,
    rope: Rope,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    context: usize,
    device: Device,
}

fn meta_usize(content: &Content, key: &str) -> Result<usize> {
    let v = content
        .metadata
        .get(key)
        .ok_or_else(|| EngineError::Gguf(format!("missing metadata key {key}")))?;
    v.to_u32()
        .map(|v| v as usize)
        .map_err(|e| EngineError::Gguf(format!("{key}: {e}")))
}

impl Qwen2 {
    /// Reads the weights (tensors are read from `reader` as the model is built).
    pub fn load<R: Read + Seek>(
        content: Content,
        reader: &mut R,
        device: &Device,
        options: LoadOptions,
    ) -> Result<Self> {
        let heads = meta_usize(&content, "qwen2.attention.head_count")?;
        let kv_heads = meta_usize(&content, "qwen2.attention.head_count_kv")?;
        let blocks = meta_usize(&content, "qwen2.block_count")?;
        let hidden = meta_usize(&content, "qwen2.embedding_length")?;
        let eps = content
            .metadata
            .get("qwen2.attention.layer_norm_rms_epsilon")
            .and_then(|v| v.to_f32().ok())
            .map_or(1e-6, f64::from);
        let base = content
            .metadata
            .get("qwen2.rope.freq_base")
            .and_then(|v| v.to_f32().ok())
            .unwrap_or(10_000.0);
        if heads == 0 || kv_heads == 0 || heads % kv_heads != 0 || hidden % heads != 0 {
            return Err(EngineError::Gguf(format!(
                "qwen2: {heads} heads, {kv_heads} key/value heads and width {hidden} do not fit"
            )));
        }
        let head_dim = hidden / heads;
        let context = capped_context(&content, "qwen2", options.max_context)?;

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
            let mut t = |n: &str| tensor(&format!("blk.{i}.{n}"));
            let bias = |q: QTensor| -> Result<Tensor> { Ok(q.dequantize(device)?) };
            layers.push(Layer {
                attn_norm: norm(t("attn_norm.weight")?)?,
                wq: matmul_weight(t("attn_q.weight")?)?,
                wk: matmul_weight(t("attn_k.weight")?)?,
                wv: matmul_weight(t("attn_v.weight")?)?,
                bq: bias(t("attn_q.bias")?)?,
                bk: bias(t("attn_k.bias")?)?,
                bv: bias(t("attn_v.bias")?)?,
                wo: matmul_weight(t("attn_output.weight")?)?,
                ffn_norm: norm(t("ffn_norm.weight")?)?,
                gate: matmul_weight(t("ffn_gate.weight")?)?,
                up: matmul_weight(t("ffn_up.weight")?)?,
                down: matmul_weight(t("ffn_down.weight")?)?,
                cache: KvCache::new(None),
            });
        }
        Ok(Self {
            embed,
            layers,
            norm: final_norm,
            output,
            rope: Rope::new(head_dim, base, 1.0, context, device)?,
            heads,
            kv_heads,
            head_dim,
            context,
            device: device.clone(),
        })
    }

    fn run(&mut self, tokens: &[u32], pos: usize) -> Result<Tensor> {
        let mut x = self.embed.forward(tokens, &self.device)?;
        let causal = mask(tokens.len(), pos, 0, None, &self.device)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        for layer in &mut self.layers {
            let h = layer.attn_norm.forward(&x)?;
            let q = layer.wq.forward(&h)?.broadcast_add(&layer.bq)?;
            let k = layer.wk.forward(&h)?.broadcast_add(&layer.bk)?;
            let v = layer.wv.forward(&h)?.broadcast_add(&layer.bv)?;
            let q = self
                .rope
                .apply(&split_heads(&q, self.heads, self.head_dim)?, pos)?;
            let k = self
                .rope
                .apply(&split_heads(&k, self.kv_heads, self.head_dim)?, pos)?;
            let v = split_heads(&v, self.kv_heads, self.head_dim)?;
            layer.cache.append(&k, &v, pos)?;
            let (k, v) = layer.cache.view(0)?;
            let a = attention(&q, &k, &v, scale, causal.as_ref())?;
            x = (x + layer.wo.forward(&a)?)?;
            let h = layer.ffn_norm.forward(&x)?;
            let h = (candle_nn::ops::silu(&layer.gate.forward(&h)?)? * layer.up.forward(&h)?)?;
            x = (x + layer.down.forward(&h)?)?;
        }
        let x = self.norm.forward(&last_position(&x)?)?;
        Ok(self.output.forward(&x)?)
    }
}

impl CausalLm for Qwen2 {
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
        "qwen2"
    }
}
