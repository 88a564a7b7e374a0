use bedrock_local_core::{BackendError, EmbedRequest, Priority, Truncate};

use super::*;
use crate::testing::{tiny_bert_files, tiny_bert_name, TINY_BERT_DIM, TINY_BERT_WINDOW};

fn model() -> (tempfile::TempDir, EmbeddingModel) {
    let dir = tempfile::tempdir().unwrap();
    let files = tiny_bert_files(dir.path()).unwrap();
    let model = EmbeddingModel::load(&files).unwrap();
    (dir, model)
}

fn request(texts: &[&str], limit: Option<u32>, truncate: Truncate) -> EmbedRequest {
    EmbedRequest {
        model: tiny_bert_name(),
        texts: texts.iter().map(|t| t.to_string()).collect(),
        max_input_tokens: limit,
        truncate,
        priority: Priority::Interactive,
    }
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

const TEXTS: &[&str] = &[
    "hello world",
    "the quick brown fox jumps over the lazy dog",
    "",
    "cafe 42!",
    "Embedding model text, hello?",
];

#[test]
fn shape_counts_and_window() {
    let (_dir, m) = model();
    assert_eq!(m.window(), TINY_BERT_WINDOW);
    assert_eq!(m.dimension(), TINY_BERT_DIM);
    assert_eq!(m.architecture, "bert");
    let out = m.embed(&request(TEXTS, None, Truncate::None)).unwrap();
    assert_eq!(out.vectors.len(), TEXTS.len());
    assert!(out.vectors.iter().all(|v| v.len() == TINY_BERT_DIM));
    assert!(out.vectors.iter().flatten().all(|x| x.is_finite()));
    // Content tokens only: the tokenizer's own truncation (8) and padding (12) are off.
    assert_eq!(out.token_counts, vec![2, 9, 0, 4, 6]); // "cafe 4 ##2 !"
    assert_eq!(m.tokenize("hello world").unwrap(), vec![13, 14]);
    // Not normalised.
    let norm: f32 = out.vectors[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() > 1e-3, "norm {norm}");
}

#[test]
fn batching_and_padding_do_not_change_vectors() {
    let (_dir, m) = model();
    let batch = m.embed(&request(TEXTS, None, Truncate::None)).unwrap();
    for (i, text) in TEXTS.iter().enumerate() {
        let one = m.embed(&request(&[text], None, Truncate::None)).unwrap();
        let d = max_diff(&one.vectors[0], &batch.vectors[i]);
        assert!(d < 1e-5, "text {i}: {d}");
    }
    // Padding: a short text next to a long one (padded to its length) vs alone.
    let padded = m
        .embed(&request(
            &["hello", "the quick brown fox jumps"],
            None,
            Truncate::None,
        ))
        .unwrap();
    let alone = m.embed(&request(&["hello"], None, Truncate::None)).unwrap();
    assert!(max_diff(&padded.vectors[0], &alone.vectors[0]) < 1e-5);
}

#[test]
fn more_texts_than_one_batch() {
    let (_dir, m) = model();
    let texts: Vec<String> = (0..MAX_BATCH + 5).map(|i| format!("hello {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let out = m.embed(&request(&refs, None, Truncate::None)).unwrap();
    assert_eq!(out.vectors.len(), texts.len());
    let last = m
        .embed(&request(&[refs[MAX_BATCH + 4]], None, Truncate::None))
        .unwrap();
    assert!(max_diff(&last.vectors[0], &out.vectors[MAX_BATCH + 4]) < 1e-5);
}

#[test]
fn truncation_semantics() {
    let (_dir, m) = model();
    let text = "the quick brown fox jumps over the lazy dog"; // 9 tokens
    match m.embed(&request(&["hello", text], Some(4), Truncate::None)) {
        Err(BackendError::ContextOverflow {
            prompt_tokens,
            limit,
        }) => assert_eq!((prompt_tokens, limit), (9, 4)),
        other => panic!("{other:?}"),
    }
    let end = m.embed(&request(&[text], Some(4), Truncate::End)).unwrap();
    assert_eq!(end.token_counts, vec![4]);
    let head = m
        .embed(&request(&["the quick brown fox"], None, Truncate::None))
        .unwrap();
    assert!(max_diff(&end.vectors[0], &head.vectors[0]) < 1e-5);
    let start = m
        .embed(&request(&[text], Some(4), Truncate::Start))
        .unwrap();
    assert_eq!(start.token_counts, vec![4]);
    let tail = m
        .embed(&request(&["over the lazy dog"], None, Truncate::None))
        .unwrap();
    assert!(max_diff(&start.vectors[0], &tail.vectors[0]) < 1e-5);
    // At the limit nothing happens.
    let exact = m.embed(&request(&[text], Some(9), Truncate::None)).unwrap();
    assert_eq!(exact.token_counts, vec![9]);
}

#[test]
fn long_texts_are_windowed() {
    let (_dir, m) = model();
    let chunk = TINY_BERT_WINDOW - 2;
    // 14 + 14 + 6 = 34 content tokens: three windows.
    let words: Vec<String> = (0..34)
        .map(|i| WORDS_CYCLE[i % WORDS_CYCLE.len()].to_string())
        .collect();
    let text = words.join(" ");
    let ids = m.tokenize(&text).unwrap();
    assert_eq!(ids.len(), 34);
    let out = m.embed(&request(&[&text], None, Truncate::None)).unwrap();
    assert_eq!(out.token_counts, vec![34]);
    let parts: Vec<Vec<u32>> = ids.chunks(chunk).map(<[u32]>::to_vec).collect();
    let windows = m.embed_ids(&parts).unwrap();
    let mut expected = vec![0f32; TINY_BERT_DIM];
    for (part, v) in parts.iter().zip(&windows) {
        for (e, x) in expected.iter_mut().zip(v) {
            *e += part.len() as f32 * x / 34.0;
        }
    }
    assert!(max_diff(&out.vectors[0], &expected) < 1e-5);
    // A text of exactly one window is one forward.
    let fits = m.embed_ids(&[ids[..chunk].to_vec()]).unwrap();
    assert!(max_diff(&fits[0], &windows[0]) < 1e-6);
}

const WORDS_CYCLE: &[&str] = &[
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
];

#[test]
fn apply_limit_edges() {
    assert_eq!(
        apply_limit(vec![1, 2, 3], None, Truncate::None).unwrap(),
        vec![1, 2, 3]
    );
    assert_eq!(
        apply_limit(vec![1, 2, 3], Some(0), Truncate::End).unwrap(),
        Vec::<u32>::new()
    );
    assert_eq!(
        apply_limit(vec![1, 2, 3], Some(2), Truncate::Start).unwrap(),
        vec![2, 3]
    );
}
