//! Tests of the decode loop with a scripted model: no weights, exact expectations.

use super::*;
use candle_core::{Device, Tensor};

const VOCAB: usize = 8;
const EOS: u32 = 7;

/// Emits `script[i]` as the most likely token at step i; records what it was asked.
struct Scripted {
    script: Vec<u32>,
    step: usize,
    resets: usize,
    calls: Vec<(Vec<u32>, usize)>,
}

impl Scripted {
    fn new(script: &[u32]) -> Self {
        Self {
            script: script.to_vec(),
            step: 0,
            resets: 0,
            calls: Vec::new(),
        }
    }

    fn logits_for(&self, token: u32) -> Result<Tensor> {
        let mut v = vec![0f32; VOCAB];
        v[token as usize] = 10.0;
        Ok(Tensor::from_vec(v, VOCAB, &Device::Cpu)?)
    }
}

impl CausalLm for Scripted {
    fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Tensor> {
        self.calls.push((tokens.to_vec(), pos));
        let next = self.script.get(self.step).copied().unwrap_or(1);
        self.step += 1;
        self.logits_for(next)
    }
    fn reset(&mut self) {
        self.resets += 1;
        self.step = 0;
    }
    fn context_length(&self) -> usize {
        64
    }
    fn architecture(&self) -> &'static str {
        "scripted"
    }
}

/// id -> one letter; 0 and 7 render nothing (control tokens).
struct Letters;
impl Detokenizer for Letters {
    fn decode(&self, ids: &[u32]) -> Result<String> {
        Ok(ids
            .iter()
            .filter(|&&i| i != 0 && i != EOS)
            .map(|&i| (b'a' + i as u8) as char)
            .collect())
    }
}

#[derive(Default)]
struct Collect {
    chunks: Vec<String>,
    cancel_after: Option<usize>,
}
impl Sink for Collect {
    fn text(&mut self, text: String) -> bool {
        self.chunks.push(text);
        self.cancel_after.is_none_or(|n| self.chunks.len() < n)
    }
    fn tool_call(&mut self, name: String, input_json: String) -> bool {
        panic!("unexpected tool call {name} {input_json}");
    }
    fn cancelled(&self) -> bool {
        self.cancel_after.is_some_and(|n| self.chunks.len() >= n)
    }
}

fn plan<'a>(prompt: &'a [u32], max: usize, stops: &'a [String]) -> GenerationPlan<'a> {
    GenerationPlan {
        prompt,
        max_new_tokens: max,
        sampling: SamplingParams::greedy(),
        stop_sequences: stops,
        eog_ids: &[EOS],
        tools: None,
    }
}

#[test]
fn end_of_generation_ends_the_turn_and_counts_as_output() {
    let mut model = Scripted::new(&[1, 2, 3, EOS, 4]);
    let mut sink = Collect::default();
    let out = run(&mut model, &Letters, &plan(&[5, 6], 10, &[]), &mut sink).unwrap();
    assert_eq!(out.stop_reason, Some(StopReason::EndTurn));
    assert_eq!(out.output_tokens, 4);
    assert_eq!(sink.chunks.concat(), "bcd");
    // One prefill at 0, then one single-token forward per token that was not the last.
    let positions: Vec<usize> = model.calls.iter().map(|c| c.1).collect();
    assert_eq!(positions, vec![0, 2, 3, 4]);
    assert_eq!(model.calls[0].0, vec![5, 6]);
    assert_eq!(model.calls[1].0, vec![1]);
    assert_eq!(model.resets, 1);
}

#[test]
fn max_tokens_is_exact_and_needs_no_extra_forward() {
    let mut model = Scripted::new(&[1, 2, 3, 4, 5]);
    let mut sink = Collect::default();
    let out = run(&mut model, &Letters, &plan(&[5], 3, &[]), &mut sink).unwrap();
    assert_eq!(out.stop_reason, Some(StopReason::MaxTokens));
    assert_eq!(out.output_tokens, 3);
    assert_eq!(sink.chunks.concat(), "bcd");
    assert_eq!(model.calls.len(), 3);
}

#[test]
fn zero_max_tokens_runs_no_forward() {
    let mut model = Scripted::new(&[1]);
    let mut sink = Collect::default();
    let out = run(&mut model, &Letters, &plan(&[5], 0, &[]), &mut sink).unwrap();
    assert_eq!(out.stop_reason, Some(StopReason::MaxTokens));
    assert_eq!(out.output_tokens, 0);
    assert!(model.calls.is_empty());
}

#[test]
fn stop_sequence_is_excluded_and_reported() {
    let mut model = Scripted::new(&[1, 2, 3, 4, 5]);
    let stops = vec!["cd".to_string()];
    let mut sink = Collect::default();
    let out = run(&mut model, &Letters, &plan(&[5], 10, &stops), &mut sink).unwrap();
    assert_eq!(out.stop_reason, Some(StopReason::StopSequence("cd".into())));
    assert_eq!(sink.chunks.concat(), "b");
    assert_eq!(out.output_tokens, 3);
}

#[test]
fn held_back_text_is_flushed_before_end_of_turn() {
    let mut model = Scripted::new(&[1, 2, EOS]);
    let stops = vec!["cX".to_string()];
    let mut sink = Collect::default();
    let out = run(&mut model, &Letters, &plan(&[5], 10, &stops), &mut sink).unwrap();
    assert_eq!(out.stop_reason, Some(StopReason::EndTurn));
    assert_eq!(sink.chunks.concat(), "bc");
}

#[test]
fn cancellation_stops_at_the_next_step() {
    let mut model = Scripted::new(&[1, 2, 3, 4, 5, 6]);
    let mut sink = Collect {
        cancel_after: Some(2),
        ..Default::default()
    };
    let out = run(&mut model, &Letters, &plan(&[5], 10, &[]), &mut sink).unwrap();
    assert_eq!(out.stop_reason, None);
    assert_eq!(sink.chunks.len(), 2);
    assert_eq!(model.calls.len(), 2);
}

#[test]
fn a_new_generation_resets_the_model() {
    let mut model = Scripted::new(&[1, EOS]);
    let mut sink = Collect::default();
    run(&mut model, &Letters, &plan(&[5], 10, &[]), &mut sink).unwrap();
    run(&mut model, &Letters, &plan(&[5, 5, 5], 10, &[]), &mut sink).unwrap();
    assert_eq!(model.resets, 2);
    // The second run's prefill starts at position 0 again.
    assert_eq!(model.calls[2], (vec![5, 5, 5], 0));
}
