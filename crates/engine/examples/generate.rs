//! Generates from a GGUF through the real [`Engine`], printing text as it streams: a manual
//! check of models and chat templates.
//!
//! `cargo run --release -p bedrock-local-engine --example generate -- FILE.gguf [--raw] [--max N] [--temp T] PROMPT`
//! (`FILE` may be `tiny-qwen2`, `tiny-gemma3` or `tiny-llama` for a freshly written tiny model.)

use std::io::Write;
use std::sync::Arc;

use bedrock_local_core::{
    ChatMessage, GenerateRequest, GenerationEvent, InferenceBackend, LocalModelName, ModelFiles,
    Prompt, Role, SamplingParams, ToolChoice,
};
use bedrock_local_engine::testing::{tiny_model_files, FixedLocator, TinyArch};
use bedrock_local_engine::{Engine, EngineConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = args
        .next()
        .ok_or("usage: generate FILE.gguf [--raw] [--max N] [--temp T] PROMPT")?;
    let (mut raw, mut max, mut temp, mut prompt) = (false, 64u32, 0.0f32, String::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--raw" => raw = true,
            "--max" => max = args.next().ok_or("--max N")?.parse()?,
            "--temp" => temp = args.next().ok_or("--temp T")?.parse()?,
            _ => prompt = a,
        }
    }
    let dir = std::env::temp_dir();
    let files = match file.as_str() {
        "tiny-qwen2" => tiny_model_files(&dir, TinyArch::Qwen2)?,
        "tiny-gemma3" => tiny_model_files(&dir, TinyArch::Gemma3)?,
        "tiny-llama" => tiny_model_files(&dir, TinyArch::Llama)?,
        path => ModelFiles {
            name: LocalModelName::new("model"),
            weights: path.into(),
            tokenizer: None,
            config: None,
            chat_template: None,
        },
    };
    let name = files.name.clone();
    let engine = Engine::new(
        Arc::new(FixedLocator::new([files])),
        vec![name.clone()],
        EngineConfig::default(),
    );
    let prompt = if raw {
        Prompt::Raw(prompt)
    } else {
        Prompt::Chat {
            system: None,
            messages: vec![ChatMessage::text(Role::User, prompt)],
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
        }
    };
    let sampling = SamplingParams {
        temperature: temp,
        ..SamplingParams::greedy()
    };
    let request = GenerateRequest {
        model: name,
        prompt,
        max_tokens: max,
        sampling,
        stop_sequences: Vec::new(),
        priority: Default::default(),
        cache_point: None,
    };
    let mut stream = engine.generate(request)?;
    while let Some(event) = stream.blocking_next() {
        match event? {
            GenerationEvent::Text(t) => {
                print!("{t}");
                std::io::stdout().flush()?;
            }
            other => eprintln!("\n[{other:?}]"),
        }
    }
    Ok(())
}
