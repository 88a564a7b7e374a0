//! Extended thinking (Claude's `thinking`) on local models that have no thinking mode of their
//! own: two real generations on the same model, streamed as one.
//!
//! 1. **Reasoning.** The conversation, with an instruction added to the system prompt to reason
//!    step by step without answering yet, and no tools, for at most `budget_tokens` and at most
//!    [`MAX_LOCAL_REASONING_TOKENS`] (Claude's smallest budget, 1024 tokens, would cost a small
//!    CPU model many seconds on every call, and leave its answer little context). Its text is
//!    sent as [`GenerationEvent::Reasoning`].
//! 2. **Answer.** The conversation again, with that reasoning given to the model in the system
//!    prompt, its tools, and what is left of `max_tokens` (which counts both phases, as on
//!    Bedrock). Its events are sent as they are.
//!
//! Usage: `inputTokens` is the first phase's prompt; `outputTokens` adds both phases' outputs.
//! A caller that goes away ends both phases (dropping a stream cancels its engine request).

use bedrock_local_core::{
    BackendError, GenerateRequest, GenerationEvent, GenerationStream, Prompt, ToolChoice, Usage,
};

use crate::error::ApiError;
use crate::state::AppState;

/// Events buffered between the phases' engine streams and the caller.
const BUFFER: usize = 64;

/// The most tokens the local reasoning phase writes, whatever `budget_tokens` allows.
pub const MAX_LOCAL_REASONING_TOKENS: u32 = 256;

/// What the first phase is asked to do.
const REASON: &str = "Before answering, think through the user's request step by step. Write only your reasoning, in plain sentences. Do not write the final answer yet.";

/// How the second phase is given the first phase's reasoning.
fn answer_instruction(reasoning: &str) -> String {
    format!(
        "You have already reasoned about the user's request as follows:\n\n{reasoning}\n\nNow write your final answer to the user. Do not repeat the reasoning."
    )
}

fn with_system(system: Option<&str>, addition: &str) -> Option<String> {
    Some(match system.filter(|s| !s.trim().is_empty()) {
        Some(s) => format!("{s}\n\n{addition}"),
        None => addition.to_string(),
    })
}

/// The model's stream for `request`: the engine's own, or the two phases when `budget` is set
/// (chat prompts only; a raw prompt has no system prompt to instruct).
pub(crate) fn model_stream(
    state: &AppState,
    request: GenerateRequest,
    budget: Option<u32>,
) -> Result<GenerationStream, ApiError> {
    // Most requests have no budget: they go straight to the engine, nothing cloned.
    let Some(budget) = budget else {
        return Ok(state.backend.generate(request)?);
    };
    let Prompt::Chat {
        system,
        messages,
        tools,
        tool_choice,
    } = request.prompt.clone()
    else {
        return Ok(state.backend.generate(request)?);
    };
    let first = GenerateRequest {
        prompt: Prompt::Chat {
            system: with_system(system.as_deref(), REASON),
            messages: messages.clone(),
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
        },
        max_tokens: budget
            .min(MAX_LOCAL_REASONING_TOKENS)
            .min(request.max_tokens)
            .max(1),
        stop_sequences: Vec::new(),
        cache_point: None,
        ..request.clone()
    };
    let mut reasoning_stream = state.backend.generate(first)?;
    let backend = state.backend.clone();
    let (tx, out) = GenerationStream::channel(BUFFER);
    tokio::spawn(async move {
        let mut reasoning = String::new();
        let mut first_usage = Usage::default();
        while let Some(event) = reasoning_stream.next().await {
            let forward = match event {
                Ok(GenerationEvent::Started { prompt_tokens }) => {
                    Ok(GenerationEvent::Started { prompt_tokens })
                }
                Ok(GenerationEvent::Text(text)) => {
                    reasoning.push_str(&text);
                    Ok(GenerationEvent::Reasoning(text))
                }
                Ok(GenerationEvent::Finished { usage, .. }) => {
                    first_usage = usage;
                    break;
                }
                Ok(GenerationEvent::Reasoning(_) | GenerationEvent::ToolCall { .. }) => continue,
                Err(e) => Err(e),
            };
            let failed = forward.is_err();
            if tx.send(forward).await.is_err() || failed {
                return;
            }
        }
        let left = request
            .max_tokens
            .saturating_sub(first_usage.output_tokens)
            .max(1);
        // The answer's prompt holds the reasoning; on a model whose context it overflows, the
        // reasoning is shortened (its start kept) until the prompt fits, at worst left out.
        let mut shown = reasoning.trim().to_string();
        let (mut answer_stream, first_event) = loop {
            let second = GenerateRequest {
                prompt: Prompt::Chat {
                    system: if shown.is_empty() {
                        system.clone()
                    } else {
                        with_system(system.as_deref(), &answer_instruction(&shown))
                    },
                    messages: messages.clone(),
                    tools: tools.clone(),
                    tool_choice: tool_choice.clone(),
                },
                max_tokens: left,
                ..request.clone()
            };
            let mut stream = match backend.generate(second) {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let first_event = stream.next().await;
            match first_event {
                Some(Err(BackendError::ContextOverflow { .. })) if !shown.is_empty() => {
                    let keep = shown.chars().count() / 2;
                    shown = shown.chars().take(keep).collect();
                }
                other => break (stream, other),
            }
        };
        let mut pending = first_event;
        loop {
            let event = match pending.take() {
                Some(event) => event,
                None => match answer_stream.next().await {
                    Some(event) => event,
                    None => break,
                },
            };
            let forward = match event {
                Ok(GenerationEvent::Started { .. }) => continue,
                Ok(GenerationEvent::Finished { stop_reason, usage }) => {
                    Ok(GenerationEvent::Finished {
                        stop_reason,
                        usage: Usage {
                            input_tokens: first_usage.input_tokens,
                            output_tokens: first_usage.output_tokens + usage.output_tokens,
                            ..Usage::default()
                        },
                    })
                }
                other => other,
            };
            if tx.send(forward).await.is_err() {
                return;
            }
        }
    });
    Ok(out)
}
