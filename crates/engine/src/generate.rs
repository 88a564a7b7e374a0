//! The decode loop of one request: prefill, then sample / detokenize / stop, one token at a
//! time, until end of generation, a stop sequence, the token budget, or cancellation.
//!
//! Generic over [`CausalLm`] and [`Detokenizer`] so that the loop's rules (what counts as an
//! output token, when the budget ends, that cancellation is checked every step) are tested
//! with a scripted fake model. The worker thread wraps it with channels and logging.
//!
//! Requests without tools turn tokens into text through [`TextStream`]. Requests with tools
//! go through [`ToolStream`], which also chooses among the allowed tokens while a tool call
//! is being written (see `tools` and `constrain`).

use std::time::{Duration, Instant};

use bedrock_local_core::{SamplingParams, StopReason};

use crate::arch::CausalLm;
use crate::constrain::{self, TokenTable};
use crate::sampling::Sampler;
use crate::stream::{Detokenizer, Step, TextStream};
use crate::tools::{ToolPlan, ToolStream};
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
    /// Tool calling, for requests with tools.
    pub tools: Option<ToolContext<'a>>,
}

/// What tool calling needs: the request's plan and the model's token bytes.
#[derive(Debug, Clone, Copy)]
pub struct ToolContext<'a> {
    /// Tools, syntax, schemas, forced prefix.
    pub plan: &'a ToolPlan,
    /// Every token's bytes.
    pub table: &'a TokenTable,
}

/// Where the output goes.
pub trait Sink {
    /// Sends a non-empty chunk of text. Returns `false` when the receiver is gone.
    fn text(&mut self, text: String) -> bool;
    /// Sends a tool call (arguments as compact JSON). Returns `false` when the receiver is
    /// gone.
    fn tool_call(&mut self, name: String, input_json: String) -> bool;
    /// True when the receiver is gone (checked before every model step).
    fn cancelled(&self) -> bool;
}

/// What a token did to the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    /// Keep generating.
    Continue,
    /// Generation is over, for this reason.
    Stop(StopReason),
    /// The receiver is gone.
    Cancelled,
}

impl Flow {
    fn into_reason(self) -> Option<StopReason> {
        match self {
            Flow::Stop(reason) => Some(reason),
            Flow::Continue | Flow::Cancelled => None,
        }
    }
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
    /// Part of `decode` spent choosing tokens (sampling, and constraint checks for tool calls).
    pub select: Duration,
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
        select: Duration::ZERO,
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
    let mut output = Output::new(detok, plan)?;
    let mut pos = plan.prompt.len();
    let reason = loop {
        let values: Vec<f32> = logits.to_vec1()?;
        let choosing = Instant::now();
        let token = output.choose(&values, &mut sampler)?;
        outcome.select += choosing.elapsed();
        outcome.output_tokens += 1;
        let flow = if plan.eog_ids.contains(&token) {
            output.finish(StopReason::EndTurn, sink)?
        } else {
            output.push(token, sink)?
        };
        match flow {
            Flow::Continue => {}
            Flow::Stop(reason) => break Some(reason),
            Flow::Cancelled => break None,
        }
        if outcome.output_tokens >= plan.max_new_tokens {
            break output.finish(StopReason::MaxTokens, sink)?.into_reason();
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

/// Tokens to events: plain text, or text and tool calls.
enum Output<'a> {
    Plain(TextStream<'a, dyn Detokenizer + 'a>),
    Tools(Box<ToolStream<'a>>),
}

impl<'a> Output<'a> {
    fn new(detok: &'a dyn Detokenizer, plan: &GenerationPlan<'a>) -> Result<Self> {
        Ok(match plan.tools {
            None => Output::Plain(TextStream::new(detok, plan.stop_sequences, plan.prompt)?),
            Some(tools) => Output::Tools(Box::new(ToolStream::new(
                tools,
                detok,
                plan.stop_sequences,
                plan.prompt,
                plan.eog_ids,
            )?)),
        })
    }

    fn choose(&self, logits: &[f32], sampler: &mut Sampler) -> Result<u32> {
        match self {
            Output::Plain(_) => sampler.sample(logits).ok_or_else(|| {
                EngineError::InvalidRequest("the model produced no usable logits".into())
            }),
            Output::Tools(stream) => constrain::select(logits, sampler, stream.as_ref())
                .ok_or_else(|| EngineError::ToolCall("no token can continue the tool call".into())),
        }
    }

    fn push(&mut self, token: u32, sink: &mut dyn Sink) -> Result<Flow> {
        match self {
            Output::Plain(stream) => Ok(match stream.push(token)? {
                Step::Text(text) => {
                    if !text.is_empty() && !sink.text(text) {
                        Flow::Cancelled
                    } else {
                        Flow::Continue
                    }
                }
                Step::Stop { text, sequence } => {
                    if !text.is_empty() {
                        sink.text(text);
                    }
                    Flow::Stop(StopReason::StopSequence(sequence))
                }
            }),
            Output::Tools(stream) => stream.push(token, sink),
        }
    }

    /// The end of generation (`reason`: end of turn or budget).
    fn finish(&mut self, reason: StopReason, sink: &mut dyn Sink) -> Result<Flow> {
        match self {
            Output::Plain(stream) => finish_text(stream, sink, reason),
            Output::Tools(stream) => stream.finish(reason, sink),
        }
    }
}

/// Releases held-back text at the end of generation; a stop sequence completed by that text
/// still wins over `reason`.
fn finish_text(
    stream: &mut TextStream<'_, dyn Detokenizer + '_>,
    sink: &mut dyn Sink,
    reason: StopReason,
) -> Result<Flow> {
    let (text, reason) = match stream.finish()? {
        Step::Text(text) => (text, reason),
        Step::Stop { text, sequence } => (text, StopReason::StopSequence(sequence)),
    };
    if !text.is_empty() && !sink.text(text) {
        return Ok(Flow::Cancelled);
    }
    Ok(Flow::Stop(reason))
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
