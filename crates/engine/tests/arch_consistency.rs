//! Each architecture gives the same logits, bit for bit, whether a prompt is run in one
//! forward, in chunks, one token at a time, batched with other sequences, or on any number of
//! threads; and a reset really forgets the previous sequence. (Batch invariance: a request's
//! tokens never depend on what else the server is doing.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use bedrock_local_engine::arch::{self, CausalLm, LoadOptions, Step, Transformer};
use bedrock_local_engine::kernels::Pool;
use bedrock_local_engine::testing::{write_tiny_gguf, TinyArch};
use candle_core::Tensor;

fn transformer(arch: TinyArch) -> (tempfile::TempDir, Arc<Transformer>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    write_tiny_gguf(&path, arch).unwrap();
    let m = arch::load_transformer(&path, LoadOptions { max_context: 512 }).unwrap();
    (dir, m)
}

fn model(arch: TinyArch) -> (tempfile::TempDir, Box<dyn CausalLm>) {
    let (dir, t) = transformer(arch);
    (dir, Box::new(arch::Session::new(t)))
}

fn values(t: &Tensor) -> Vec<f32> {
    t.to_vec1().unwrap()
}

/// A prompt longer than the tiny gemma3 sliding window (128), so windowed attention is
/// exercised.
fn long_prompt() -> Vec<u32> {
    (0..450).map(|i| 10 + (i * 7) % 200).collect()
}

#[test]
fn one_forward_chunks_and_single_steps_agree_exactly() {
    let prompt = long_prompt();
    for arch in TinyArch::ALL {
        let (_dir, mut m) = model(arch);
        assert_eq!(m.architecture(), arch.architecture());
        assert_eq!(m.context_length(), 512);
        m.reset();
        let whole = values(&m.forward(&prompt, 0).unwrap());
        m.reset();
        m.forward(&prompt[..170], 0).unwrap();
        m.forward(&prompt[170..400], 170).unwrap();
        let chunked = values(&m.forward(&prompt[400..], 400).unwrap());
        m.reset();
        let mut stepped = None;
        for (i, t) in prompt.iter().enumerate() {
            stepped = Some(m.forward(&[*t], i).unwrap());
        }
        let stepped = values(&stepped.unwrap());
        assert!(
            whole == chunked,
            "{arch:?}: chunked prefill changed the logits"
        );
        assert!(
            whole == stepped,
            "{arch:?}: single steps changed the logits"
        );
    }
}

/// Runs `prompts` to the end, all sequences in the same forwards (each prompt in chunks of
/// `chunk`), on `pool`; returns each one's last logits.
fn batched(m: &Transformer, prompts: &[Vec<u32>], chunk: usize, pool: &Pool) -> Vec<Vec<f32>> {
    let mut caches: Vec<_> = prompts.iter().map(|_| m.new_cache()).collect();
    let mut out = vec![Vec::new(); prompts.len()];
    let longest = prompts.iter().map(Vec::len).max().unwrap();
    let mut at = 0;
    while at < longest {
        let mut idx = Vec::new();
        let mut steps = Vec::new();
        for (i, (p, cache)) in prompts.iter().zip(caches.iter_mut()).enumerate() {
            if at < p.len() {
                let end = (at + chunk).min(p.len());
                idx.push(i);
                steps.push(Step {
                    tokens: &p[at..end],
                    cache,
                    logits: end == p.len(),
                });
            }
        }
        let wanted: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| (at + chunk).min(prompts[i].len()) == prompts[i].len())
            .collect();
        for (i, logits) in wanted.into_iter().zip(m.forward(&mut steps, pool).unwrap()) {
            out[i] = logits;
        }
        at += chunk;
    }
    out
}

#[test]
fn a_sequence_gives_the_same_logits_alone_batched_and_on_any_thread_count() {
    let main = long_prompt()[..200].to_vec();
    let others: Vec<Vec<u32>> = (0..7)
        .map(|k| {
            (0..(20 + 37 * k))
                .map(|i| 3 + ((i * (k + 2)) % 250) as u32)
                .collect()
        })
        .collect();
    for arch in TinyArch::ALL {
        let (_dir, m) = transformer(arch);
        let one = Pool::new(1);
        let alone = batched(&m, std::slice::from_ref(&main), 512, &one);
        let mut all = vec![main.clone()];
        all.extend(others.iter().cloned());
        for threads in [1, 2, 3] {
            let pool = Pool::new(threads);
            for chunk in [1, 16, 512] {
                let together = batched(&m, &all, chunk, &pool);
                assert!(
                    together[0] == alone[0],
                    "{arch:?}: batched with 7 others (chunk {chunk}, {threads} threads) changed the logits"
                );
            }
        }
    }
}

#[test]
fn reset_forgets_the_previous_sequence() {
    for arch in TinyArch::ALL {
        let (_dir, mut m) = model(arch);
        let fresh = values(&m.prefill(&[5, 6, 7]).unwrap());
        m.forward(&[8], 3).unwrap();
        m.reset();
        let again = values(&m.prefill(&[5, 6, 7]).unwrap());
        assert!(fresh == again, "{arch:?}");
    }
}

#[test]
fn positions_past_the_context_and_unknown_tokens_are_refused() {
    for arch in TinyArch::ALL {
        let (_dir, mut m) = model(arch);
        assert!(m.forward(&[1, 2], 511).is_err(), "{arch:?}");
        assert!(m.forward(&[], 0).is_err(), "{arch:?}");
        assert!(m.forward(&[u32::MAX], 0).is_err(), "{arch:?}");
    }
}
