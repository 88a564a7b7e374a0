//! Test support, for tests only (this crate's and the facade's/CLI's integration tests): tiny
//! random-weight GGUF models with complete tokenizers, so the real engine and server can be
//! exercised end to end in milliseconds with no download.
//!
//! The files follow llama.cpp's GGUF conventions (the keys the tokenizer and the
//! candle-transformers models read):
//! - [`TinyArch::Qwen2`]: `tokenizer.ggml.model = "gpt2"` byte-level BPE with merges,
//!   `tokenizer.ggml.pre = "qwen2"`, `<|endoftext|>`/`<|im_start|>`/`<|im_end|>` control
//!   tokens and a ChatML `tokenizer.chat_template`;
//! - [`TinyArch::Gemma3`] and [`TinyArch::Llama`]: `tokenizer.ggml.model = "llama"`
//!   SentencePiece with scores and `<0xNN>` byte tokens (Gemma's layout with
//!   `<start_of_turn>`/`<end_of_turn>`, Llama 2's with `<s>`/`</s>`), no chat template (the
//!   engine's built-in fallback applies).
//!
//! [`tiny_bert_files`] writes a tiny BERT sentence-embedding model (safetensors, config.json,
//! WordPiece tokenizer.json) the same way.
//!
//! Weights are random but fixed (seeded), so greedy output is reproducible. The output
//! projection is zero for control, unknown and byte tokens: greedy decoding never ends the turn
//! by itself and always produces visible text, which makes max-token, stop-sequence,
//! cancellation and queueing tests deterministic.

mod bert;
mod vocab;

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use bedrock_local_core::{BackendError, LocalModelName, ModelFiles, ModelLocator};
use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use bert::{tiny_bert_files, tiny_bert_name, TINY_BERT_DIM, TINY_BERT_WINDOW};
pub use vocab::{byte_level_alphabet, Entry};

use crate::Result;

/// Context window declared by the tiny models (`<arch>.context_length`).
pub const TINY_CONTEXT: usize = 512;

const HIDDEN: usize = 64;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const HEAD_DIM: usize = HIDDEN / HEADS;
const FFN: usize = 128;
const LAYERS: usize = 2;

/// The ChatML template written into the tiny Qwen2 file.
pub const CHATML_TEMPLATE: &str = "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

/// Which tiny model to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TinyArch {
    /// qwen2 weights, byte-level BPE tokenizer, ChatML template.
    Qwen2,
    /// gemma3 weights, SentencePiece tokenizer (Gemma layout), no template.
    Gemma3,
    /// llama weights, SentencePiece tokenizer (Llama 2 layout), no template.
    Llama,
}

impl TinyArch {
    /// Every tiny architecture.
    pub const ALL: [TinyArch; 3] = [TinyArch::Qwen2, TinyArch::Gemma3, TinyArch::Llama];

    /// The GGUF `general.architecture` value.
    pub fn architecture(self) -> &'static str {
        match self {
            TinyArch::Qwen2 => "qwen2",
            TinyArch::Gemma3 => "gemma3",
            TinyArch::Llama => "llama",
        }
    }

    /// A local model name for it (`tiny-qwen2`...).
    pub fn model_name(self) -> LocalModelName {
        LocalModelName::new(format!("tiny-{}", self.architecture()))
    }
}

/// Writes a tiny random-weight GGUF for `arch` at `path`.
pub fn write_tiny_gguf(path: &Path, arch: TinyArch) -> Result<()> {
    let (mut metadata, entries) = tokenizer_metadata(arch);
    let a = arch.architecture();
    let mut put = |k: &str, v: Value| metadata.push((k.to_string(), v));
    put("general.architecture", Value::String(a.into()));
    put("general.name", Value::String(format!("tiny random {a}")));
    put(
        &format!("{a}.context_length"),
        Value::U32(TINY_CONTEXT as u32),
    );
    put(&format!("{a}.embedding_length"), Value::U32(HIDDEN as u32));
    put(&format!("{a}.block_count"), Value::U32(LAYERS as u32));
    put(&format!("{a}.feed_forward_length"), Value::U32(FFN as u32));
    put(
        &format!("{a}.attention.head_count"),
        Value::U32(HEADS as u32),
    );
    put(
        &format!("{a}.attention.head_count_kv"),
        Value::U32(KV_HEADS as u32),
    );
    put(
        &format!("{a}.attention.layer_norm_rms_epsilon"),
        Value::F32(1e-6),
    );
    put(&format!("{a}.rope.freq_base"), Value::F32(10000.0));
    match arch {
        TinyArch::Llama => put("llama.rope.dimension_count", Value::U32(HEAD_DIM as u32)),
        TinyArch::Gemma3 => {
            put("gemma3.attention.key_length", Value::U32(HEAD_DIM as u32));
            put("gemma3.attention.value_length", Value::U32(HEAD_DIM as u32));
            put("gemma3.attention.sliding_window", Value::U32(128));
        }
        TinyArch::Qwen2 => {}
    }
    let silent: Vec<bool> = entries.iter().map(|e| e.kind != vocab::NORMAL).collect();
    let tensors = weights(arch, &silent)?;
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut out = BufWriter::new(File::create(path)?);
    gguf_file::write(&mut out, &md, &ts)?;
    Ok(())
}

/// Writes `tiny-<arch>.gguf` into `dir` and describes it as a local model.
pub fn tiny_model_files(dir: &Path, arch: TinyArch) -> Result<ModelFiles> {
    let weights = dir.join(format!("tiny-{}.gguf", arch.architecture()));
    write_tiny_gguf(&weights, arch)?;
    Ok(ModelFiles {
        name: arch.model_name(),
        weights,
        tokenizer: None,
        config: None,
        chat_template: None,
    })
}

/// A [`ModelLocator`] over files that are already on disk (tests, `bench`).
#[derive(Debug, Clone, Default)]
pub struct FixedLocator {
    files: HashMap<LocalModelName, ModelFiles>,
}

impl FixedLocator {
    /// A locator that knows exactly these models.
    pub fn new(files: impl IntoIterator<Item = ModelFiles>) -> Self {
        Self {
            files: files.into_iter().map(|f| (f.name.clone(), f)).collect(),
        }
    }
}

impl ModelLocator for FixedLocator {
    fn locate(&self, name: &LocalModelName) -> std::result::Result<ModelFiles, BackendError> {
        self.files
            .get(name)
            .cloned()
            .ok_or_else(|| BackendError::UnknownModel(name.to_string()))
    }
}

fn strings(items: impl IntoIterator<Item = String>) -> Value {
    Value::Array(items.into_iter().map(Value::String).collect())
}

/// The `tokenizer.*` keys and the vocabulary they describe.
fn tokenizer_metadata(arch: TinyArch) -> (Vec<(String, Value)>, Vec<Entry>) {
    let mut md: Vec<(String, Value)> = Vec::new();
    let entries = match arch {
        TinyArch::Qwen2 => {
            let v = vocab::bpe(200, &["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
            let n = v.entries.len() as u32;
            md.push(("tokenizer.ggml.model".into(), Value::String("gpt2".into())));
            md.push(("tokenizer.ggml.pre".into(), Value::String("qwen2".into())));
            md.push(("tokenizer.ggml.merges".into(), strings(v.merges.clone())));
            md.push(("tokenizer.ggml.bos_token_id".into(), Value::U32(n - 3)));
            md.push(("tokenizer.ggml.eos_token_id".into(), Value::U32(n - 1)));
            md.push(("tokenizer.ggml.padding_token_id".into(), Value::U32(n - 3)));
            md.push(("tokenizer.ggml.add_bos_token".into(), Value::Bool(false)));
            md.push((
                "tokenizer.chat_template".into(),
                Value::String(CHATML_TEMPLATE.into()),
            ));
            v.entries
        }
        TinyArch::Gemma3 => {
            let v = vocab::spm(&[
                ("<pad>", vocab::CONTROL),
                ("<eos>", vocab::CONTROL),
                ("<bos>", vocab::CONTROL),
                ("<unk>", vocab::UNKNOWN),
                ("<start_of_turn>", vocab::CONTROL),
                ("<end_of_turn>", vocab::CONTROL),
            ]);
            md.push(("tokenizer.ggml.model".into(), Value::String("llama".into())));
            md.push(("tokenizer.ggml.pre".into(), Value::String("default".into())));
            md.push(("tokenizer.ggml.bos_token_id".into(), Value::U32(2)));
            md.push(("tokenizer.ggml.eos_token_id".into(), Value::U32(1)));
            md.push(("tokenizer.ggml.unknown_token_id".into(), Value::U32(3)));
            md.push(("tokenizer.ggml.padding_token_id".into(), Value::U32(0)));
            md.push(("tokenizer.ggml.add_bos_token".into(), Value::Bool(true)));
            md.push(("tokenizer.ggml.add_eos_token".into(), Value::Bool(false)));
            md.push(("tokenizer.ggml.add_space_prefix".into(), Value::Bool(false)));
            v
        }
        TinyArch::Llama => {
            let v = vocab::spm(&[
                ("<unk>", vocab::UNKNOWN),
                ("<s>", vocab::CONTROL),
                ("</s>", vocab::CONTROL),
            ]);
            md.push(("tokenizer.ggml.model".into(), Value::String("llama".into())));
            md.push(("tokenizer.ggml.pre".into(), Value::String("default".into())));
            md.push(("tokenizer.ggml.bos_token_id".into(), Value::U32(1)));
            md.push(("tokenizer.ggml.eos_token_id".into(), Value::U32(2)));
            md.push(("tokenizer.ggml.unknown_token_id".into(), Value::U32(0)));
            md.push(("tokenizer.ggml.add_bos_token".into(), Value::Bool(true)));
            md.push(("tokenizer.ggml.add_eos_token".into(), Value::Bool(false)));
            v
        }
    };
    md.push((
        "tokenizer.ggml.tokens".into(),
        strings(entries.iter().map(|e| e.text.clone())),
    ));
    md.push((
        "tokenizer.ggml.token_type".into(),
        Value::Array(entries.iter().map(|e| Value::I32(e.kind)).collect()),
    ));
    if arch != TinyArch::Qwen2 {
        md.push((
            "tokenizer.ggml.scores".into(),
            Value::Array(entries.iter().map(|e| Value::F32(e.score)).collect()),
        ));
    }
    (md, entries)
}

/// Random weights with llama.cpp's tensor names. `silent[i]` zeroes token i's output row.
fn weights(arch: TinyArch, silent: &[bool]) -> Result<Vec<(String, QTensor)>> {
    let vocab = silent.len();
    let mut rng = StdRng::seed_from_u64(match arch {
        TinyArch::Qwen2 => 1,
        TinyArch::Gemma3 => 2,
        TinyArch::Llama => 3,
    });
    let mut out: Vec<(String, QTensor)> = Vec::new();
    let q_dim = HEADS * HEAD_DIM;
    let kv_dim = KV_HEADS * HEAD_DIM;
    out.push((
        "token_embd.weight".into(),
        matrix(&mut rng, vocab, HIDDEN, 1.0, None)?,
    ));
    out.push((
        "output.weight".into(),
        matrix(&mut rng, vocab, HIDDEN, 1.0, Some(silent))?,
    ));
    out.push(("output_norm.weight".into(), ones(HIDDEN)?));
    for l in 0..LAYERS {
        let p = |n: &str| format!("blk.{l}.{n}");
        out.push((p("attn_norm.weight"), ones(HIDDEN)?));
        out.push((p("ffn_norm.weight"), ones(HIDDEN)?));
        out.push((
            p("attn_q.weight"),
            matrix(&mut rng, q_dim, HIDDEN, 1.0, None)?,
        ));
        out.push((
            p("attn_k.weight"),
            matrix(&mut rng, kv_dim, HIDDEN, 1.0, None)?,
        ));
        out.push((
            p("attn_v.weight"),
            matrix(&mut rng, kv_dim, HIDDEN, 1.0, None)?,
        ));
        out.push((
            p("attn_output.weight"),
            matrix(&mut rng, HIDDEN, q_dim, 1.0, None)?,
        ));
        out.push((
            p("ffn_gate.weight"),
            matrix(&mut rng, FFN, HIDDEN, 1.0, None)?,
        ));
        out.push((
            p("ffn_up.weight"),
            matrix(&mut rng, FFN, HIDDEN, 1.0, None)?,
        ));
        out.push((
            p("ffn_down.weight"),
            matrix(&mut rng, HIDDEN, FFN, 1.0, None)?,
        ));
        match arch {
            TinyArch::Qwen2 => {
                out.push((p("attn_q.bias"), vector(&mut rng, q_dim)?));
                out.push((p("attn_k.bias"), vector(&mut rng, kv_dim)?));
                out.push((p("attn_v.bias"), vector(&mut rng, kv_dim)?));
            }
            TinyArch::Gemma3 => {
                out.push((p("attn_q_norm.weight"), ones(HEAD_DIM)?));
                out.push((p("attn_k_norm.weight"), ones(HEAD_DIM)?));
                out.push((p("post_attention_norm.weight"), ones(HIDDEN)?));
                out.push((p("post_ffw_norm.weight"), ones(HIDDEN)?));
            }
            TinyArch::Llama => {}
        }
    }
    Ok(out)
}

/// A `[rows, cols]` Q8_0 matrix, uniform in +-scale/sqrt(cols); rows marked in `zero` are 0.
fn matrix(
    rng: &mut StdRng,
    rows: usize,
    cols: usize,
    scale: f32,
    zero: Option<&[bool]>,
) -> Result<QTensor> {
    let bound = scale * 3f32.sqrt() / (cols as f32).sqrt();
    let mut data = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        let silent = zero.is_some_and(|z| z.get(r).copied().unwrap_or(false));
        for _ in 0..cols {
            let v: f32 = rng.random_range(-bound..bound);
            data.push(if silent { 0.0 } else { v });
        }
    }
    let t = Tensor::from_vec(data, (rows, cols), &Device::Cpu)?;
    Ok(QTensor::quantize(&t, GgmlDType::Q8_0)?)
}

fn vector(rng: &mut StdRng, n: usize) -> Result<QTensor> {
    let data: Vec<f32> = (0..n).map(|_| rng.random_range(-0.1f32..0.1)).collect();
    Ok(QTensor::quantize(
        &Tensor::from_vec(data, n, &Device::Cpu)?,
        GgmlDType::F32,
    )?)
}

fn ones(n: usize) -> Result<QTensor> {
    Ok(QTensor::quantize(
        &Tensor::ones(n, candle_core::DType::F32, &Device::Cpu)?,
        GgmlDType::F32,
    )?)
}
