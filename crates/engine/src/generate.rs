//! The decode loop of one request: prefill, then sample / detokenize / stop, one token at a
//! time, until end of generation, a stop sequence, the token budget, or cancellation.
//!
//! Generic over [`CausalLm`] and [`Detokenizer`] so that the loop's rules (what counts as an
//! output token, when the budget ends, that cancellation is checked every step) are tested
//! with a scripted fake model. The worker thread wraps it with channels and logging.

use std::time::{Duration, Instant};

use bedrock_local_core::{SamplingParams, StopReason};

use crate::arch::CausalLm;
use crate::sampling::Sampler;
use crate::stream::{Detokenizer, Step, TextStream};
use crate::{EngineError, Result};

/// What one generation is asked to do.
#[derive(Debug, Clone)]
pub struct GenerationPlan<'a> {
    /// The prompt ids (non-empty).
    pub prompt: &'a [u32],
    /// Most tokens to generate (already clamped to the context window).
    pub max_new_tokens: usize,
    /// How to pick tokens.
    pub sampling: SamplingParams,
    /// Strings that end the generation, never emitted.
    pub stop_sequences: &'a [String],
    /// Ids that end the turn (EOS, EOT, `<|im_end|>`...).
    pub eog_ids: &'a [u32],
}

/// Where the text goes.
pub trait Sink {
    /// Sends a non-empty chunk of text. Returns `false` when the receiver is gone.
    fn text(&mut self, text: String) -> bool;
    /// True when the receiver is gone (checked before every model step).
    fn cancelled(&self) -> bool;
}

/// How a generation ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Why it ended (`None` when cancelled).
    pub stop_reason: Option<StopReason>,
    /// Tokens sampled, counting the end-of-generation token and the token that completed a
    /// stop sequence.
    pub output_tokens: usize,
    /// Time spent in the prompt forward.
    pub prefill: Duration,
    /// Time spent sampling and in single-token forwards.
    pub decode: Duration,
}

/// Runs one generation on `model` (its cache is reset first).
pub fn run(
    model: &mut dyn CausalLm,
    detok: &dyn Detokenizer,
    plan: &GenerationPlan<'_>,
    sink: &mut dyn Sink,
) -> Result<Outcome> {
    let mut outcome = Outcome {
        stop_reason: None,
        output_tokens: 0,
        prefill: Duration::ZERO,
        decode: Duration::ZERO,
    };
    model.reset();
    if plan.max_new_tokens == 0 {
        outcome.stop_reason = Some(StopReason::MaxTokens);
        return Ok(outcome);
    }
    if sink.cancelled() {
        return Ok(outcome);
    }
    let started = Instant::now();
    let mut logits = model.prefill(plan.prompt)?;
    outcome.prefill = started.elapsed();
    let decode_start = Instant::now();

    let mut sampler = Sampler::new(&plan.sampling);
    let mut stream = TextStream::new(detok, plan.stop_sequences, plan.prompt)?;
    let mut pos = plan.prompt.len();
    let reason = loop {
        let values: Vec<f32> = logits.to_vec1()?;
        let token = sampler.sample(&values).ok_or_else(|| {
            EngineError::InvalidRequest("the model produced no usable logits".into())
        })?;
        outcome.output_tokens += 1;
        if plan.eog_ids.contains(&token) {
            break finish(&mut stream, sink, StopReason::EndTurn)?;
        }
        match stream.push(token)? {
            Step::Text(text) => {
                if !text.is_empty() && !sink.text(text) {
                    break None;
                }
            }
            Step::Stop { text, sequence } => {
                if !text.is_empty() {
                    sink.text(text);
                }
                break Some(StopReason::StopSequence(sequence));
            }
        }
        if outcome.output_tokens >= plan.max_new_tokens {
            break finish(&mut stream, sink, StopReason::MaxTokens)?;
        }
        if sink.cancelled() {
            break None;
        }
        logits = model.forward(&[token], pos)?;
        pos += 1;
    };
    outcome.stop_reason = reason;
    outcome.decode = decode_start.elapsed();
    Ok(outcome)
}

/// Releases held-back text at the end of generation; a stop sequence completed by that text
/// still wins over `reason`.
fn finish(
    stream: &mut TextStream<'_, dyn Detokenizer + '_>,
    sink: &mut dyn Sink,
    reason: StopReason,
) -> Result<Option<StopReason>> {
    let (text, reason) = match stream.finish()? {
        Step::Text(text) => (text, reason),
        Step::Stop { text, sequence } => (text, StopReason::StopSequence(sequence)),
    };
    if !text.is_empty() && !sink.text(text) {
        return Ok(None);
    }
    Ok(Some(reason))
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
