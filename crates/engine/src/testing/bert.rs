//! A tiny random-weight BERT embedding model: `model.safetensors` with Hugging Face's tensor
//! names, a `config.json`, a WordPiece `tokenizer.json` in the layout of all-MiniLM-L6-v2's
//! (BERT normaliser and pre-tokenizer, `[CLS] $A [SEP]` post-processor, and deliberately
//! truncation at 8 and padding to 12, which the engine must switch off), and a
//! `sentence_bert_config.json` with a [`TINY_BERT_WINDOW`]-token window so windowing is easy
//! to reach.

use std::collections::HashMap;
use std::path::Path;

use bedrock_local_core::{LocalModelName, ModelFiles};
use candle_core::{Device, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::Result;

/// Sequence length of the tiny BERT (special tokens included): windows of 14 content tokens.
pub const TINY_BERT_WINDOW: usize = 16;

/// Embedding dimension of the tiny BERT.
pub const TINY_BERT_DIM: usize = 32;

const HEADS: usize = 4;
const FFN: usize = 64;
const LAYERS: usize = 2;
const POSITIONS: usize = 32;

const WORDS: &[&str] = &[
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "hello",
    "world",
    "cafe",
    "embedding",
    "model",
    "text",
];

/// The local name of the tiny BERT.
pub fn tiny_bert_name() -> LocalModelName {
    LocalModelName::new("tiny-bert")
}

/// The WordPiece vocabulary: specials, words, single characters and their `##` forms.
fn vocab() -> Vec<String> {
    let mut v: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(WORDS.iter().map(|s| s.to_string()));
    let chars = ('a'..='z').chain('0'..='9');
    v.extend(chars.clone().map(String::from));
    v.extend(chars.map(|c| format!("##{c}")));
    v.extend([".", ",", "!", "?", "'", "-"].iter().map(|s| s.to_string()));
    v
}

fn tokenizer_json(vocab: &[String]) -> serde_json::Value {
    let ids: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), json!(i)))
        .collect();
    let added: Vec<serde_json::Value> = vocab[..5]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": i, "content": t, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    json!({
        "version": "1.0",
        "truncation": {"max_length": 8, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 12}, "direction": "Right", "pad_to_multiple_of": null,
                    "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}
            }
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids}
    })
}

fn config_json(vocab_size: usize) -> serde_json::Value {
    json!({
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": TINY_BERT_DIM,
        "initializer_range": 0.02,
        "intermediate_size": FFN,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": POSITIONS,
        "model_type": "bert",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "type_vocab_size": 2,
        "vocab_size": vocab_size
    })
}

/// Random BERT weights under Hugging Face's names (no `bert.` prefix, as in MiniLM).
fn weights(vocab: usize) -> Result<HashMap<String, Tensor>> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut out = HashMap::new();
    let mut put = |name: String, shape: &[usize], kind: Init| -> Result<()> {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = match kind {
            Init::Ones => vec![1.0; n],
            Init::Random(bound) => (0..n).map(|_| rng.random_range(-bound..bound)).collect(),
        };
        out.insert(name, Tensor::from_vec(data, shape, &Device::Cpu)?);
        Ok(())
    };
    let h = TINY_BERT_DIM;
    let lin = 3f32.sqrt() / (h as f32).sqrt();
    put(
        "embeddings.word_embeddings.weight".into(),
        &[vocab, h],
        Init::Random(1.0),
    )?;
    put(
        "embeddings.position_embeddings.weight".into(),
        &[POSITIONS, h],
        Init::Random(0.5),
    )?;
    put(
        "embeddings.token_type_embeddings.weight".into(),
        &[2, h],
        Init::Random(0.1),
    )?;
    put("embeddings.LayerNorm.weight".into(), &[h], Init::Ones)?;
    put("embeddings.LayerNorm.bias".into(), &[h], Init::Random(0.1))?;
    for l in 0..LAYERS {
        let p = |n: &str| format!("encoder.layer.{l}.{n}");
        for m in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
        ] {
            put(p(&format!("{m}.weight")), &[h, h], Init::Random(lin))?;
            put(p(&format!("{m}.bias")), &[h], Init::Random(0.1))?;
        }
        put(
            p("attention.output.dense.weight"),
            &[h, h],
            Init::Random(lin),
        )?;
        put(p("attention.output.dense.bias"), &[h], Init::Random(0.1))?;
        put(p("attention.output.LayerNorm.weight"), &[h], Init::Ones)?;
        put(
            p("attention.output.LayerNorm.bias"),
            &[h],
            Init::Random(0.1),
        )?;
        put(p("intermediate.dense.weight"), &[FFN, h], Init::Random(lin))?;
        put(p("intermediate.dense.bias"), &[FFN], Init::Random(0.1))?;
        let down = 3f32.sqrt() / (FFN as f32).sqrt();
        put(p("output.dense.weight"), &[h, FFN], Init::Random(down))?;
        put(p("output.dense.bias"), &[h], Init::Random(0.1))?;
        put(p("output.LayerNorm.weight"), &[h], Init::Ones)?;
        put(p("output.LayerNorm.bias"), &[h], Init::Random(0.1))?;
    }
    Ok(out)
}

#[derive(Clone, Copy)]
enum Init {
    Ones,
    /// Uniform in +-bound.
    Random(f32),
}

/// Writes the tiny BERT's four files into `dir` and describes them as a local model.
pub fn tiny_bert_files(dir: &Path) -> Result<ModelFiles> {
    let vocab = vocab();
    let weights_path = dir.join("model.safetensors");
    candle_core::safetensors::save(&weights(vocab.len())?, &weights_path)?;
    let config = dir.join("config.json");
    std::fs::write(&config, config_json(vocab.len()).to_string())?;
    let tokenizer = dir.join("tokenizer.json");
    std::fs::write(&tokenizer, tokenizer_json(&vocab).to_string())?;
    std::fs::write(
        dir.join("sentence_bert_config.json"),
        json!({"max_seq_length": TINY_BERT_WINDOW, "do_lower_case": false}).to_string(),
    )?;
    Ok(ModelFiles {
        name: tiny_bert_name(),
        weights: weights_path,
        tokenizer: Some(tokenizer),
        config: Some(config),
        chat_template: None,
    })
}
