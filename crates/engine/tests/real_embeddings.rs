//! The engine's embeddings of all-MiniLM-L6-v2 against sentence-transformers' own (the vectors
//! in `fixtures/embeddings/minilm_reference.json`, written by `minilm_reference.py` next to
//! it). Skipped (with a line saying why) unless `BEDROCK_LOCAL_TEST_MINILM_DIR` names a
//! directory holding the model's `model.safetensors`, `config.json` and `tokenizer.json`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;
use std::sync::Arc;

use bedrock_local_core::{
    EmbedRequest, InferenceBackend, LocalModelName, ModelFiles, Priority, Truncate,
};
use bedrock_local_engine::testing::FixedLocator;
use bedrock_local_engine::{Engine, EngineConfig};

const VAR: &str = "BEDROCK_LOCAL_TEST_MINILM_DIR";

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/embeddings/minilm_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn engine() -> Option<(Engine, LocalModelName)> {
    let Some(dir) = std::env::var_os(VAR).map(PathBuf::from) else {
        eprintln!("skipped: {VAR} is not set (directory of all-MiniLM-L6-v2's files)");
        return None;
    };
    let name = LocalModelName::new("all-minilm-l6-v2");
    let files = ModelFiles {
        name: name.clone(),
        weights: dir.join("model.safetensors"),
        tokenizer: Some(dir.join("tokenizer.json")),
        config: Some(dir.join("config.json")),
        chat_template: None,
    };
    let engine = Engine::new(
        Arc::new(FixedLocator::new([files])),
        vec![name.clone()],
        EngineConfig::default(),
    );
    Some((engine, name))
}

fn embed(engine: &Engine, name: &LocalModelName, texts: &[String]) -> Vec<Vec<f32>> {
    engine
        .embed(EmbedRequest {
            model: name.clone(),
            texts: texts.to_vec(),
            max_input_tokens: None,
            truncate: Truncate::None,
            priority: Priority::Interactive,
        })
        .unwrap()
        .vectors
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn minilm_matches_sentence_transformers() {
    let Some((engine, name)) = engine() else {
        return;
    };
    let reference = reference();
    assert_eq!(reference.sentences.len(), 20);
    let vectors = embed(&engine, &name, &reference.sentences);
    let mut min = f32::MAX;
    for (i, (ours, theirs)) in vectors.iter().zip(&reference.vectors).enumerate() {
        assert_eq!(ours.len(), 384);
        let c = cosine(ours, theirs);
        eprintln!("{i:2} cosine {c:.6}  {:?}", reference.sentences[i]);
        min = min.min(c);
        assert!(c >= 0.999, "sentence {i}: cosine {c}");
    }
    eprintln!("min cosine with sentence-transformers: {min:.6}");
    // One at a time gives the same vectors as the batch.
    let one = embed(&engine, &name, &reference.sentences[10..11]);
    assert!(cosine(&one[0], &vectors[10]) > 0.99999);
}

#[test]
fn minilm_paraphrases_are_closer_than_unrelated_sentences() {
    let Some((engine, name)) = engine() else {
        return;
    };
    let texts: Vec<String> = [
        "A man is playing a guitar on stage.",
        "Someone performs music with a guitar in front of an audience.",
        "The stock market fell sharply on Tuesday after the earnings report.",
        "How do I reset my password?",
        "I forgot my password; how can I change it?",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let v = embed(&engine, &name, &texts);
    let guitar = cosine(&v[0], &v[1]);
    let password = cosine(&v[3], &v[4]);
    let unrelated = cosine(&v[0], &v[2]).max(cosine(&v[1], &v[3]));
    eprintln!("paraphrases {guitar:.3} / {password:.3}, unrelated {unrelated:.3}");
    assert!(guitar > unrelated + 0.2, "{guitar} vs {unrelated}");
    assert!(password > unrelated + 0.2, "{password} vs {unrelated}");
}

#[test]
fn minilm_long_text_is_windowed() {
    let Some((engine, name)) = engine() else {
        return;
    };
    let sentence = "The weather in Paris is rainy today, with temperatures around twelve degrees. ";
    let long = sentence.repeat(60); // ~1000 tokens: four windows
    let out = engine
        .embed(EmbedRequest {
            model: name.clone(),
            texts: vec![long, sentence.to_string()],
            max_input_tokens: Some(8192),
            truncate: Truncate::None,
            priority: Priority::Interactive,
        })
        .unwrap();
    assert!(out.token_counts[0] > 600, "{:?}", out.token_counts);
    // Repeating a sentence keeps the meaning: the windows average near the sentence itself.
    let c = cosine(&out.vectors[0], &out.vectors[1]);
    eprintln!(
        "long vs one sentence: {c:.3} over {} tokens",
        out.token_counts[0]
    );
    assert!(c > 0.8, "{c}");
}
