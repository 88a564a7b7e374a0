//! `run`: one generation in the terminal, tokens printed as they are produced.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use bedrock_local_core::{
    ChatMessage, GenerateRequest, GenerationEvent, InferenceBackend, ModelLocator, Prompt, Role,
    SamplingParams, StopReason, ToolChoice,
};
use bedrock_local_engine::{Engine, EngineConfig};
use clap::Args;

use crate::config::Config;

/// Options of `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// A local model name or alias, an `ollama.`/`local.` name, or any Bedrock model id.
    pub model: String,
    /// The user message (or, with --raw, the text to continue).
    pub prompt: String,
    /// A system prompt.
    #[arg(long)]
    pub system: Option<String>,
    /// Feed the prompt verbatim, without the model's chat template.
    #[arg(long)]
    pub raw: bool,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u32,
    /// 0 is greedy: the same text every run.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Nucleus sampling mass.
    #[arg(long)]
    pub top_p: Option<f32>,
    /// Keep only the k most likely tokens.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop when this string is produced (repeatable).
    #[arg(long = "stop")]
    pub stop_sequences: Vec<String>,
}

/// Runs one generation, streaming to stdout; usage and speed go to stderr.
pub fn run(config: &Config, args: &RunArgs) -> anyhow::Result<()> {
    let registry = crate::models::registry(config, false)?;
    let local = registry.resolve(&args.model)?.local;
    let progress = bedrock_local_registry::progress_for_stderr();
    registry
        .pull(&local, progress.as_ref())
        .with_context(|| format!("pulling {local}"))?;
    let locator: Arc<dyn ModelLocator> = registry.clone();
    let engine = Engine::new(
        locator,
        vec![local.clone()],
        EngineConfig {
            threads: config.threads,
            max_context: config.max_context,
            ..EngineConfig::default()
        },
    );
    let prompt = if args.raw {
        Prompt::Raw(args.prompt.clone())
    } else {
        Prompt::Chat {
            system: args.system.clone(),
            messages: vec![ChatMessage::text(Role::User, args.prompt.clone())],
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
        }
    };
    let started = std::time::Instant::now();
    let mut stream = engine.generate(GenerateRequest {
        model: local,
        prompt,
        max_tokens: args.max_tokens,
        sampling: SamplingParams {
            temperature: args.temperature,
            top_p: args.top_p,
            top_k: args.top_k,
            seed: args.seed,
        },
        stop_sequences: args.stop_sequences.clone(),
        priority: Default::default(),
        cache_point: None,
    })?;
    let mut stdout = std::io::stdout().lock();
    let mut first_token = None;
    while let Some(event) = stream.blocking_next() {
        match event? {
            GenerationEvent::Started { .. } => {}
            GenerationEvent::Text(text) => {
                first_token.get_or_insert_with(|| started.elapsed());
                stdout.write_all(text.as_bytes())?;
                stdout.flush()?;
            }
            // `run` never asks for extended thinking; the engine never sends reasoning itself.
            GenerationEvent::Reasoning(_) => {}
            GenerationEvent::ToolCall { name, input_json } => {
                writeln!(stdout, "\n[tool call] {name} {input_json}")?;
            }
            GenerationEvent::Finished { stop_reason, usage } => {
                writeln!(stdout)?;
                let elapsed = started.elapsed().as_secs_f64();
                let reason = match stop_reason {
                    StopReason::EndTurn => "end_turn".to_string(),
                    StopReason::MaxTokens => "max_tokens".to_string(),
                    StopReason::StopSequence(s) => format!("stop_sequence {s:?}"),
                    StopReason::ToolUse => "tool_use".to_string(),
                };
                eprintln!(
                    "[{reason}] {} prompt tokens, {} output tokens, first token {:.0} ms, {:.2} s total",
                    usage.input_tokens,
                    usage.output_tokens,
                    first_token.unwrap_or_default().as_secs_f64() * 1000.0,
                    elapsed
                );
            }
        }
    }
    Ok(())
}
