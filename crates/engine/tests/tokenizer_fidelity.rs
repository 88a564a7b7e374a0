//! Our GGUF tokenizer against llama.cpp's, on the real models.
//!
//! `tests/fixtures/tokenizer/<model>.json` holds the ids llama.cpp's `llama-tokenize` printed
//! (default flags: specials parsed, BOS as the model adds it) for every string of `corpus.json`;
//! `scripts/gen-tokenizer-fixtures.py` regenerates them. Each test loads the real GGUF named by
//! an environment variable and is skipped, saying so, when it is unset.

// Test code: the helpers below are not `#[test]` functions, which clippy's test allowance misses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use bedrock_local_engine::tokenizer::GgufTokenizer;
use candle_core::quantized::gguf_file;

struct Case {
    text: String,
    ids: Vec<u32>,
}

fn fixture(name: &str) -> Vec<Case> {
    fixture_at(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tokenizer")
            .join(format!("{name}.json")),
    )
}

/// Extra cases in the fixture format from a file named by `var`, if set (for checking larger
/// generated corpora locally without committing them).
fn extra_fixture(var: &str) -> Vec<Case> {
    match std::env::var_os(var) {
        Some(path) => fixture_at(Path::new(&path)),
        None => Vec::new(),
    }
}

fn fixture_at(path: &Path) -> Vec<Case> {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    println!(
        "fixture {} from llama.cpp {} ({})",
        path.display(),
        json["llama_cpp"]["version"],
        json["llama_cpp"]["source"]
    );
    json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            text: c["text"].as_str().unwrap().to_owned(),
            ids: c["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as u32)
                .collect(),
        })
        .collect()
}

fn model(var: &str) -> Option<GgufTokenizer> {
    let content = content(var)?;
    Some(GgufTokenizer::from_gguf(&content).unwrap())
}

fn content(var: &str) -> Option<gguf_file::Content> {
    let Some(path) = std::env::var_os(var).map(PathBuf::from) else {
        println!("skipped: set {var} to the model's GGUF path to run this test");
        return None;
    };
    let mut file = std::fs::File::open(&path).unwrap();
    Some(gguf_file::Content::read(&mut file).unwrap())
}

/// Fixture files for variants: the real vocabulary with some metadata overridden.
fn variant_fixtures() -> Vec<(PathBuf, serde_json::Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") && path.to_string_lossy().contains('+') {
            let json: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            found.push((path, json));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn pieces(tok: &GgufTokenizer, ids: &[u32]) -> String {
    let texts: Vec<String> = ids
        .iter()
        .map(|&id| format!("{id}:{:?}", tok.token_text(id).unwrap_or("?")))
        .collect();
    texts.join(" ")
}

/// Encodes every corpus string and compares with llama.cpp, reporting every mismatch.
fn check_ids(tok: &GgufTokenizer, cases: &[Case]) {
    if cases.is_empty() {
        return;
    }
    let mut mismatches = 0;
    for case in cases {
        let ours = tok.encode(&case.text, true).unwrap();
        if ours != case.ids {
            mismatches += 1;
            println!("MISMATCH {:?}", case.text);
            println!("  ours:   {}", pieces(tok, &ours));
            println!("  theirs: {}", pieces(tok, &case.ids));
        }
    }
    println!(
        "{} of {} strings match llama.cpp",
        cases.len() - mismatches,
        cases.len()
    );
    assert_eq!(
        mismatches, 0,
        "{mismatches} strings tokenize differently from llama.cpp"
    );
}

/// Decoding gives the text back: exactly when specials are rendered, and without the hidden
/// (control) tokens otherwise. With `spm`, the one input SentencePiece cannot keep is allowed: a
/// literal `▁` comes back as a space.
fn check_round_trip(tok: &GgufTokenizer, cases: &[Case], spm: bool) {
    let mut failures = 0;
    for case in cases {
        let expected = if spm {
            case.text.replace('▁', " ")
        } else {
            case.text.clone()
        };
        let ids = tok.encode(&case.text, false).unwrap();
        let full = tok.decode_with_specials(&ids).unwrap();
        if full != expected {
            failures += 1;
            println!("ROUND TRIP {:?} -> {:?}", case.text, full);
        }
        // Plain decode = the rendered text minus hidden tokens; BOS is one of them.
        let with_bos = tok.encode(&case.text, true).unwrap();
        let plain = tok.decode(&with_bos).unwrap();
        let visible: Vec<u32> = with_bos
            .iter()
            .copied()
            .filter(|&id| {
                let hidden = tok.decode(&[id]).unwrap().is_empty()
                    && !tok.decode_with_specials(&[id]).unwrap().is_empty();
                !hidden
            })
            .collect();
        let shown = tok.decode_with_specials(&visible).unwrap();
        if plain != shown {
            failures += 1;
            println!("DECODE {:?}: {:?} != {:?}", case.text, plain, shown);
        }
    }
    assert_eq!(failures, 0, "{failures} round-trip failures");
}

#[test]
fn qwen_matches_llama_cpp() {
    let Some(tok) = model("BEDROCK_LOCAL_TEST_QWEN_GGUF") else {
        return;
    };
    check_ids(&tok, &fixture("qwen2.5-coder-0.5b-instruct-q4_k_m"));
    check_ids(
        &tok,
        &extra_fixture("BEDROCK_LOCAL_TEST_QWEN_EXTRA_FIXTURE"),
    );
}

#[test]
fn gemma_matches_llama_cpp() {
    let Some(tok) = model("BEDROCK_LOCAL_TEST_GEMMA_GGUF") else {
        return;
    };
    check_ids(&tok, &fixture("gemma-3-270m-q4_k_m"));
    check_ids(
        &tok,
        &extra_fixture("BEDROCK_LOCAL_TEST_GEMMA_EXTRA_FIXTURE"),
    );
}

#[test]
fn qwen_round_trips() {
    let Some(tok) = model("BEDROCK_LOCAL_TEST_QWEN_GGUF") else {
        return;
    };
    check_round_trip(&tok, &fixture("qwen2.5-coder-0.5b-instruct-q4_k_m"), false);
    check_round_trip(
        &tok,
        &extra_fixture("BEDROCK_LOCAL_TEST_QWEN_EXTRA_FIXTURE"),
        false,
    );
}

#[test]
fn gemma_round_trips() {
    let Some(tok) = model("BEDROCK_LOCAL_TEST_GEMMA_GGUF") else {
        return;
    };
    check_round_trip(&tok, &fixture("gemma-3-270m-q4_k_m"), true);
    check_round_trip(
        &tok,
        &extra_fixture("BEDROCK_LOCAL_TEST_GEMMA_EXTRA_FIXTURE"),
        true,
    );
}

/// Settings the two models do not use (Llama-3, GPT-2, default and DeepSeek-Coder
/// pre-tokenizers; a SentencePiece space prefix), on their real vocabularies.
#[test]
fn variants_match_llama_cpp() {
    let (Some(qwen), Some(gemma)) = (
        content("BEDROCK_LOCAL_TEST_QWEN_GGUF"),
        content("BEDROCK_LOCAL_TEST_GEMMA_GGUF"),
    ) else {
        return;
    };
    let variants = variant_fixtures();
    assert!(variants.len() >= 5, "variant fixtures are missing");
    for (path, json) in variants {
        let spm = json["model"]["file"].as_str().unwrap().starts_with("gemma");
        let real = if spm { &gemma } else { &qwen };
        let mut base = gguf_file::Content {
            magic: real.magic,
            metadata: real.metadata.clone(),
            tensor_infos: Default::default(),
            tensor_data_offset: 0,
        };
        for (key, value) in json["model"]["overrides"].as_object().unwrap() {
            let value = match value {
                serde_json::Value::Bool(b) => gguf_file::Value::Bool(*b),
                other => gguf_file::Value::String(other.as_str().unwrap().to_owned()),
            };
            base.metadata.insert(key.clone(), value);
        }
        println!("variant {}", path.display());
        let tok = GgufTokenizer::from_gguf(&base).unwrap();
        let cases = fixture_at(&path);
        // Round trips are checked on the real models only: a space prefix and GPT-2's space
        // cleanup change the text by design.
        check_ids(&tok, &cases);
    }
}

/// The fixtures were generated from the current corpus (runs without a model).
#[test]
fn fixtures_match_the_corpus() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer/corpus.json");
    let corpus: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(
        corpus.len() >= 200,
        "the corpus has {} strings",
        corpus.len()
    );
    for name in ["qwen2.5-coder-0.5b-instruct-q4_k_m", "gemma-3-270m-q4_k_m"] {
        let texts: Vec<String> = fixture(name).into_iter().map(|c| c.text).collect();
        assert_eq!(
            texts, corpus,
            "{name}.json is stale: rerun scripts/gen-tokenizer-fixtures.py"
        );
    }
}
