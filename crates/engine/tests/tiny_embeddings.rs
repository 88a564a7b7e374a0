//! The engine's embedding path on the tiny random-weight BERT (written by
//! `testing::tiny_bert_files`) next to a tiny GGUF text model: lazy loading and states,
//! embeddings through `InferenceBackend::embed`, and the Unsupported cross-calls.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use bedrock_local_core::{
    BackendError, EmbedRequest, GenerateRequest, InferenceBackend, ModelState, Priority, Prompt,
    SamplingParams, Truncate,
};
use bedrock_local_engine::testing::{
    tiny_bert_files, tiny_model_files, FixedLocator, TinyArch, TINY_BERT_DIM,
};
use bedrock_local_engine::{Engine, EngineConfig};

struct Setup {
    _dir: tempfile::TempDir,
    engine: Engine,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let bert = tiny_bert_files(dir.path()).unwrap();
    let qwen = tiny_model_files(dir.path(), TinyArch::Qwen2).unwrap();
    let names = vec![bert.name.clone(), qwen.name.clone()];
    let engine = Engine::new(
        Arc::new(FixedLocator::new([bert, qwen])),
        names,
        EngineConfig::default(),
    );
    Setup { _dir: dir, engine }
}

fn bert() -> bedrock_local_core::LocalModelName {
    bedrock_local_engine::testing::tiny_bert_name()
}

fn embed_request(model: bedrock_local_core::LocalModelName, texts: &[&str]) -> EmbedRequest {
    EmbedRequest {
        model,
        texts: texts.iter().map(|t| t.to_string()).collect(),
        max_input_tokens: None,
        truncate: Truncate::None,
        priority: Priority::Interactive,
    }
}

fn generate_request(model: bedrock_local_core::LocalModelName) -> GenerateRequest {
    GenerateRequest {
        model,
        prompt: Prompt::Raw("hello".into()),
        max_tokens: 2,
        sampling: SamplingParams::greedy(),
        stop_sequences: Vec::new(),
        priority: Default::default(),
        cache_point: None,
    }
}

fn state(engine: &Engine, name: &bedrock_local_core::LocalModelName) -> ModelState {
    engine
        .status()
        .into_iter()
        .find(|s| &s.name == name)
        .unwrap()
        .state
}

#[test]
fn embeds_lazily_and_reports_ready() {
    let s = setup();
    assert_eq!(state(&s.engine, &bert()), ModelState::NotLoaded);
    let out = s
        .engine
        .embed(embed_request(bert(), &["hello world", "the lazy dog", ""]))
        .unwrap();
    assert_eq!(out.vectors.len(), 3);
    assert!(out.vectors.iter().all(|v| v.len() == TINY_BERT_DIM));
    assert_eq!(out.token_counts, vec![2, 3, 0]);
    assert_eq!(out.total_tokens(), 5);
    assert_eq!(state(&s.engine, &bert()), ModelState::Ready);
    // Deterministic across calls.
    let again = s
        .engine
        .embed(embed_request(bert(), &["hello world", "the lazy dog", ""]))
        .unwrap();
    assert_eq!(again, out);
}

#[test]
fn load_works_for_both_kinds() {
    let s = setup();
    s.engine.load(&bert()).unwrap();
    s.engine.load(&TinyArch::Qwen2.model_name()).unwrap();
    assert!(s
        .engine
        .status()
        .iter()
        .all(|m| m.state == ModelState::Ready));
}

#[test]
fn cross_calls_are_unsupported() {
    let s = setup();
    let qwen = TinyArch::Qwen2.model_name();
    // Embedding with a text model.
    let err = s
        .engine
        .embed(embed_request(qwen.clone(), &["x"]))
        .unwrap_err();
    assert!(matches!(err, BackendError::Unsupported(_)), "{err:?}");
    // Generating with an embedding model not loaded yet: the stream says so.
    let mut stream = s.engine.generate(generate_request(bert())).unwrap();
    let first = stream.blocking_next().unwrap();
    assert!(
        matches!(first, Err(BackendError::Unsupported(_))),
        "{first:?}"
    );
    // Once it is known to be an embedding model: refused at once.
    let err = s.engine.generate(generate_request(bert())).err().unwrap();
    assert!(matches!(err, BackendError::Unsupported(_)), "{err:?}");
    let err = s
        .engine
        .count_tokens(&bert(), &Prompt::Raw("hello".into()))
        .unwrap_err();
    assert!(matches!(err, BackendError::Unsupported(_)), "{err:?}");
    // The text model still generates.
    let mut stream = s.engine.generate(generate_request(qwen)).unwrap();
    assert!(stream.blocking_next().unwrap().is_ok());
}

#[test]
fn overflow_without_truncation() {
    let s = setup();
    let mut request = embed_request(bert(), &["hello", "the quick brown fox"]);
    request.max_input_tokens = Some(3);
    assert_eq!(
        s.engine.embed(request.clone()).unwrap_err(),
        BackendError::ContextOverflow {
            prompt_tokens: 4,
            limit: 3
        }
    );
    request.truncate = Truncate::End;
    assert_eq!(s.engine.embed(request).unwrap().token_counts, vec![1, 3]);
}

#[test]
fn unknown_model() {
    let s = setup();
    let err = s
        .engine
        .embed(embed_request(
            bedrock_local_core::LocalModelName::new("nope"),
            &["x"],
        ))
        .unwrap_err();
    assert!(matches!(err, BackendError::UnknownModel(_)), "{err:?}");
}
