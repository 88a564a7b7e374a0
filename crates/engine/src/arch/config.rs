//! What distinguishes the architectures we run: read from the GGUF metadata into one
//! [`Config`] that the shared transformer follows.
//!
//! Adding an architecture that is a variation of these (a llama-family decoder) is one arm in
//! [`Config::from_gguf`]; something structurally new is a new flag here and its branch in
//! `transformer.rs`. Each arm states the llama.cpp graph (`LLM_ARCH_*`) it reproduces.

use candle_core::quantized::gguf_file::Value;

use super::gguf::Gguf;
use crate::{EngineError, Result};

/// How rotary embeddings pair the dimensions of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Dimension `i` with `i + dim/2` (GPT-NeoX; llama.cpp's `ROPE_TYPE_NEOX`): qwen2, gemma3.
    Neox,
    /// Dimension `2i` with `2i + 1` (llama.cpp's `ROPE_TYPE_NORM`): llama, whose GGUF
    /// converter permutes the query/key rows for it.
    Interleaved,
}

/// One rotary table's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RopeParams {
    /// Frequency base.
    pub base: f32,
    /// Positions are multiplied by this (linear scaling; 1: none).
    pub scale: f32,
}

/// MLP activation applied to the gate projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `x * sigmoid(x)` (llama, qwen2).
    Silu,
    /// GELU, tanh approximation (gemma).
    GeluTanh,
}

/// Everything the forward pass needs to know about the model's shape and variant.
#[derive(Debug, Clone)]
pub struct Config {
    /// `general.architecture`.
    pub architecture: &'static str,
    /// Width of the residual stream.
    pub hidden: usize,
    /// Decoder blocks.
    pub layers: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    pub kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// MLP hidden width.
    pub ffn: usize,
    /// Vocabulary size (rows of the token embedding).
    pub vocab: usize,
    /// RMSNorm epsilon.
    pub eps: f32,
    /// Rotary pairing.
    pub rope_style: RopeStyle,
    /// Rotary table of global-attention layers.
    pub rope_global: RopeParams,
    /// Rotary table of sliding-window layers (when any).
    pub rope_local: RopeParams,
    /// For each layer: `Some(window)` when it attends to the last `window` positions only.
    pub windows: Vec<Option<usize>>,
    /// Attention score scale.
    pub attn_scale: f32,
    /// Biases on the query/key/value projections (qwen2).
    pub qkv_bias: bool,
    /// Per-head RMSNorm of queries and keys (gemma3).
    pub qk_norm: bool,
    /// RMSNorm after attention and after the MLP, before the residual add (gemma3).
    pub post_norms: bool,
    /// Embeddings multiplied by `sqrt(hidden)` (gemma).
    pub scale_embeddings: bool,
    /// MLP activation.
    pub activation: Activation,
    /// Context window served (the GGUF's, capped).
    pub context: usize,
}

const GEMMA3_SLIDING_WINDOW_TYPE: usize = 6;

impl Config {
    /// The configuration of `gguf`, with the context capped at `max_context`.
    pub fn from_gguf(gguf: &Gguf, max_context: usize) -> Result<Self> {
        let arch = match gguf.meta("general.architecture") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(EngineError::Gguf(
                    "missing metadata key general.architecture".into(),
                ))
            }
        };
        let (architecture, a): (&'static str, &str) = match arch.as_str() {
            "qwen2" => ("qwen2", "qwen2"),
            "gemma3" => ("gemma3", "gemma3"),
            "llama" => ("llama", "llama"),
            other => return Err(EngineError::UnsupportedArchitecture(other.to_string())),
        };
        let key = |k: &str| format!("{a}.{k}");
        let hidden = gguf.usize(&key("embedding_length"))?;
        let layers = gguf.usize(&key("block_count"))?;
        let heads = gguf.usize(&key("attention.head_count"))?;
        let kv_heads = gguf.usize(&key("attention.head_count_kv")).unwrap_or(heads);
        let ffn = gguf.usize(&key("feed_forward_length"))?;
        if heads == 0 || kv_heads == 0 || heads % kv_heads != 0 {
            return Err(EngineError::Gguf(format!(
                "{a}: {heads} query heads cannot share {kv_heads} key/value heads"
            )));
        }
        let head_dim = match gguf.usize(&key("attention.key_length")) {
            Ok(d) => d,
            Err(_) if hidden % heads == 0 => hidden / heads,
            Err(e) => return Err(e),
        };
        if head_dim % 2 != 0 {
            return Err(EngineError::Gguf(format!("{a}: odd head width {head_dim}")));
        }
        let vocab = gguf
            .content
            .tensor_infos
            .get("token_embd.weight")
            .and_then(|t| t.shape.dims().first().copied())
            .ok_or_else(|| EngineError::Gguf("missing tensor token_embd.weight".into()))?;
        let declared = gguf.usize(&key("context_length")).unwrap_or(max_context);
        let context = declared.min(max_context).max(1);
        let eps = gguf.f32_or(&key("attention.layer_norm_rms_epsilon"), 1e-6);
        let base = gguf.f32_or(&key("rope.freq_base"), 10_000.0);
        let linear =
            matches!(gguf.meta(&key("rope.scaling.type")), Some(Value::String(t)) if t == "linear");
        let scale = if linear {
            1.0 / gguf
                .f32_or(&key("rope.scaling.factor"), 1.0)
                .max(f32::MIN_POSITIVE)
        } else {
            1.0
        };
        let global = RopeParams { base, scale };
        let mut config = Config {
            architecture,
            hidden,
            layers,
            heads,
            kv_heads,
            head_dim,
            ffn,
            vocab,
            eps,
            rope_style: RopeStyle::Neox,
            rope_global: global,
            rope_local: global,
            windows: vec![None; layers],
            attn_scale: 1.0 / (head_dim as f32).sqrt(),
            qkv_bias: false,
            qk_norm: false,
            post_norms: false,
            scale_embeddings: false,
            activation: Activation::Silu,
            context,
        };
        match architecture {
            // LLM_ARCH_QWEN2: biases on q/k/v, NeoX rotary.
            "qwen2" => config.qkv_bias = true,
            // LLM_ARCH_LLAMA: the plain decoder, interleaved rotary.
            "llama" => config.rope_style = RopeStyle::Interleaved,
            // LLM_ARCH_GEMMA3: scaled embeddings, q/k norms, post norms, GELU; every sixth
            // layer global (rope.freq_base, linear scaling), the others windowed with base
            // 10000 (rope.local_freq_base).
            _ => {
                let window = gguf.usize("gemma3.attention.sliding_window")?;
                let pattern = gguf
                    .usize("gemma3.attention.sliding_window_type")
                    .unwrap_or(GEMMA3_SLIDING_WINDOW_TYPE)
                    .max(1);
                config.windows = (0..layers)
                    .map(|i| ((i + 1) % pattern != 0).then_some(window))
                    .collect();
                config.rope_global.base = gguf.f32_or("gemma3.rope.freq_base", 1_000_000.0);
                config.rope_local = RopeParams {
                    base: gguf.f32_or("gemma3.rope.local_freq_base", 10_000.0),
                    scale: 1.0,
                };
                config.qk_norm = true;
                config.post_norms = true;
                config.scale_embeddings = true;
                config.activation = Activation::GeluTanh;
            }
        }
        Ok(config)
    }

    /// Width of all query heads together.
    pub fn q_dim(&self) -> usize {
        self.heads * self.head_dim
    }

    /// Width of all key (or value) heads together.
    pub fn kv_dim(&self) -> usize {
        self.kv_heads * self.head_dim
    }
}
