//! Unit tests on tiny vocabularies written here (no model file needed).

use std::collections::HashMap;

use candle_core::quantized::gguf_file::{Content, Value, VersionedMagic};

use super::bpe::byte_chars;
use super::GgufTokenizer;

fn content(meta: Vec<(&str, Value)>) -> Content {
    Content {
        magic: VersionedMagic::GgufV3,
        metadata: meta
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<HashMap<_, _>>(),
        tensor_infos: HashMap::new(),
        tensor_data_offset: 0,
    }
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.clone())).collect())
}

/// A byte-level BPE vocabulary: the 256 byte characters, a few merged words and specials.
fn tiny_bpe(pre: &str, extra_meta: Vec<(&str, Value)>) -> GgufTokenizer {
    let mut tokens: Vec<String> = byte_chars().iter().map(|c| c.to_string()).collect();
    let merges = [
        "h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġwor l", "Ġworl d", "Ġ Ġ", "1 2",
    ];
    for m in merges {
        tokens.push(m.replace(' ', ""));
    }
    let specials = [
        ("<|im_start|>", 3),
        ("<|im_end|>", 3),
        ("<tool>", 4),
        ("</s>", 1),
    ];
    let mut types = vec![Value::I32(1); tokens.len()];
    for (text, ty) in specials {
        tokens.push(text.to_owned());
        types.push(Value::I32(ty));
    }
    let mut meta = vec![
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String(pre.into())),
        ("tokenizer.ggml.tokens", strings(&tokens)),
        ("tokenizer.ggml.token_type", Value::Array(types)),
        (
            "tokenizer.ggml.merges",
            strings(&merges.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        ),
        (
            "tokenizer.ggml.eos_token_id",
            Value::U32(tokens.len() as u32 - 3),
        ),
    ];
    meta.extend(extra_meta);
    GgufTokenizer::from_gguf(&content(meta)).unwrap()
}

/// A SentencePiece vocabulary with scores and byte fallback.
fn tiny_spm(extra_meta: Vec<(&str, Value)>) -> GgufTokenizer {
    let mut tokens = vec![
        ("<unk>".to_string(), 0.0, 2),
        ("<s>".into(), 0.0, 3),
        ("</s>".into(), 0.0, 3),
    ];
    for b in 0..=255u8 {
        tokens.push((format!("<0x{b:02X}>"), 0.0, 6));
    }
    let pieces = [
        ("▁", -1.0),
        ("h", -2.0),
        ("e", -2.0),
        ("l", -2.0),
        ("o", -2.0),
        ("w", -2.0),
        ("r", -2.0),
        ("d", -2.0),
        ("he", -3.0),
        ("ll", -3.0),
        ("hell", -4.0),
        ("hello", -5.0),
        ("▁hello", -6.0),
        ("▁w", -3.5),
        ("or", -3.5),
        ("▁wor", -4.5),
        ("ld", -4.0),
        ("▁world", -7.0),
        ("▁▁", -1.5),
    ];
    for (p, s) in pieces {
        tokens.push((p.to_owned(), s, 1));
    }
    tokens.push(("<start_of_turn>".into(), 0.0, 3));
    let mut meta = vec![
        ("tokenizer.ggml.model", Value::String("llama".into())),
        (
            "tokenizer.ggml.tokens",
            strings(&tokens.iter().map(|t| t.0.clone()).collect::<Vec<_>>()),
        ),
        (
            "tokenizer.ggml.scores",
            Value::Array(tokens.iter().map(|t| Value::F32(t.1)).collect()),
        ),
        (
            "tokenizer.ggml.token_type",
            Value::Array(tokens.iter().map(|t| Value::I32(t.2)).collect()),
        ),
    ];
    meta.extend(extra_meta);
    GgufTokenizer::from_gguf(&content(meta)).unwrap()
}

fn texts(tok: &GgufTokenizer, ids: &[u32]) -> Vec<String> {
    ids.iter()
        .map(|&id| tok.token_text(id).unwrap().to_owned())
        .collect()
}

#[test]
fn bpe_merges_by_rank_and_round_trips() {
    let tok = tiny_bpe("qwen2", vec![]);
    let ids = tok.encode("hello world", true).unwrap();
    assert_eq!(texts(&tok, &ids), ["hello", "Ġworld"]);
    assert_eq!(tok.decode(&ids).unwrap(), "hello world");
    // Unmerged bytes stay single byte tokens; non-ASCII goes through the byte map.
    let ids = tok.encode("hé  12", false).unwrap();
    assert_eq!(texts(&tok, &ids), ["h", "Ã", "©", "Ġ", "Ġ", "1", "2"]);
    assert_eq!(tok.decode(&ids).unwrap(), "hé  12");
    // qwen2 adds no BOS by default.
    assert_eq!(tok.encode("", true).unwrap(), Vec::<u32>::new());
}

#[test]
fn bpe_parses_special_tokens_in_text() {
    let tok = tiny_bpe("qwen2", vec![]);
    let ids = tok
        .encode("<|im_start|>hello<|im_end|><tool></s><|im_", false)
        .unwrap();
    assert_eq!(
        texts(&tok, &ids),
        [
            "<|im_start|>",
            "hello",
            "<|im_end|>",
            "<tool>",
            "</s>",
            "<",
            "|",
            "i",
            "m",
            "_"
        ]
    );
    // Control tokens (and </s>, made control because it ends generation) are not rendered;
    // user-defined ones are.
    assert_eq!(tok.decode(&ids).unwrap(), "hello<tool><|im_");
    assert_eq!(
        tok.decode_with_specials(&ids).unwrap(),
        "<|im_start|>hello<|im_end|><tool></s><|im_"
    );
    let im_end = tok.token_id("<|im_end|>").unwrap();
    let eos = tok.token_id("</s>").unwrap();
    assert!(tok.eog_ids().contains(&im_end) && tok.eog_ids().contains(&eos));
    assert_eq!(tok.eos_token().as_deref(), Some("<|im_end|>"));
}

#[test]
fn bpe_llama3_adds_bos_and_cleans_spaces() {
    let bos = Value::U32(0);
    let tok = tiny_bpe("llama-bpe", vec![("tokenizer.ggml.bos_token_id", bos)]);
    let ids = tok.encode("hello", true).unwrap();
    assert_eq!(ids[0], 0);
    assert!(tok.adds_bos());
    let ids = tok.encode("hello , world . it 's", false).unwrap();
    assert_eq!(tok.decode(&ids).unwrap(), "hello, world. it's");
    // The GGUF flag wins over the family default.
    let tok = tiny_bpe(
        "llama-bpe",
        vec![("tokenizer.ggml.add_bos_token", Value::Bool(false))],
    );
    assert!(!tok.adds_bos());
}

#[test]
fn unsupported_models_are_errors() {
    let meta = vec![("tokenizer.ggml.model", Value::String("t5".into()))];
    assert!(GgufTokenizer::from_gguf(&content(meta)).is_err());
    assert!(GgufTokenizer::from_gguf(&content(vec![])).is_err());
}

#[test]
fn spm_merges_by_score_with_space_prefix() {
    let tok = tiny_spm(vec![]);
    let ids = tok.encode("hello world", true).unwrap();
    assert_eq!(texts(&tok, &ids), ["<s>", "▁hello", "▁world"]);
    assert_eq!(tok.decode(&ids).unwrap(), "hello world");
    // Byte fallback for characters not in the vocabulary.
    let ids = tok.encode("hé", false).unwrap();
    assert_eq!(texts(&tok, &ids), ["▁", "h", "<0xC3>", "<0xA9>"]);
    assert_eq!(tok.decode(&ids).unwrap(), "hé");
    // A special token in the text, then a space prefix again after it.
    let ids = tok.encode("hello<start_of_turn>hello", false).unwrap();
    assert_eq!(texts(&tok, &ids), ["▁hello", "<start_of_turn>", "▁hello"]);
    assert_eq!(tok.eog_ids(), vec![2]);
    assert_eq!(tok.bos_token().as_deref(), Some("<s>"));
}

#[test]
fn spm_without_space_prefix() {
    let tok = tiny_spm(vec![(
        "tokenizer.ggml.add_space_prefix",
        Value::Bool(false),
    )]);
    let ids = tok.encode("hello  world", false).unwrap();
    assert_eq!(texts(&tok, &ids), ["hello", "▁▁", "w", "or", "ld"]);
    assert_eq!(tok.decode(&ids).unwrap(), "hello  world");
    // An incomplete UTF-8 sequence decodes to U+FFFD.
    let partial = tok.encode("é", false).unwrap();
    assert_eq!(tok.decode(&partial[..1]).unwrap(), "\u{FFFD}");
}

#[test]
fn out_of_range_ids_are_errors() {
    let tok = tiny_spm(vec![]);
    assert!(tok.decode(&[tok.vocab_size() as u32]).is_err());
}

#[test]
fn tokenizer_and_template_are_shareable_across_threads() {
    fn shareable<T: Send + Sync + Clone>() {}
    fn send_sync<T: Send + Sync>() {}
    shareable::<GgufTokenizer>();
    send_sync::<crate::chat_template::ChatTemplate>();
}
