//! Each architecture gives the same logits whether a prompt is run in one forward, in chunks,
//! or one token at a time, and a reset really forgets the previous sequence.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::fs::File;
use std::io::BufReader;

use bedrock_local_engine::arch::{self, CausalLm, LoadOptions};
use bedrock_local_engine::testing::{write_tiny_gguf, TinyArch};
use candle_core::quantized::gguf_file::Content;
use candle_core::Tensor;

fn model(arch: TinyArch) -> (tempfile::TempDir, Box<dyn CausalLm>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    write_tiny_gguf(&path, arch).unwrap();
    let mut reader = BufReader::new(File::open(&path).unwrap());
    let content = Content::read(&mut reader).unwrap();
    let m = arch::load(content, &mut reader, LoadOptions { max_context: 512 }).unwrap();
    (dir, m)
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    let a: Vec<f32> = a.to_vec1().unwrap();
    let b: Vec<f32> = b.to_vec1().unwrap();
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn one_forward_chunks_and_single_steps_agree() {
    // Longer than the tiny gemma3 sliding window (128) plus the cache's compaction slack, so
    // windowed attention and cache compaction are both exercised.
    let prompt: Vec<u32> = (0..450).map(|i| 10 + (i * 7) % 200).collect();
    for arch in TinyArch::ALL {
        let (_dir, mut m) = model(arch);
        assert_eq!(m.architecture(), arch.architecture());
        assert_eq!(m.context_length(), 512);
        m.reset();
        let whole = m.forward(&prompt, 0).unwrap();
        m.reset();
        m.forward(&prompt[..170], 0).unwrap();
        m.forward(&prompt[170..400], 170).unwrap();
        let chunked = m.forward(&prompt[400..], 400).unwrap();
        m.reset();
        let mut stepped = None;
        for (i, t) in prompt.iter().enumerate() {
            stepped = Some(m.forward(&[*t], i).unwrap());
        }
        let stepped = stepped.unwrap();
        assert!(
            max_diff(&whole, &chunked) < 1e-3,
            "{arch:?}: {}",
            max_diff(&whole, &chunked)
        );
        assert!(
            max_diff(&whole, &stepped) < 1e-3,
            "{arch:?}: {}",
            max_diff(&whole, &stepped)
        );
    }
}

#[test]
fn reset_forgets_the_previous_sequence() {
    for arch in TinyArch::ALL {
        let (_dir, mut m) = model(arch);
        let fresh = m.prefill(&[5, 6, 7]).unwrap();
        m.forward(&[8], 3).unwrap();
        m.reset();
        let again = m.prefill(&[5, 6, 7]).unwrap();
        assert_eq!(max_diff(&fresh, &again), 0.0, "{arch:?}");
    }
}

#[test]
fn positions_past_the_context_are_refused() {
    for arch in TinyArch::ALL {
        let (_dir, mut m) = model(arch);
        assert!(m.forward(&[1, 2], 511).is_err(), "{arch:?}");
        assert!(m.forward(&[], 0).is_err(), "{arch:?}");
    }
}
