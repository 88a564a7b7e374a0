//! Tool calling through the real engine on tiny random-weight GGUFs: whatever the random
//! weights prefer, a forced call comes out as a `ToolCall` whose arguments are valid for the
//! tool's schema; token counts match the prompt that is run; bad tool choices are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use bedrock_local_core::{
    BackendError, ChatMessage, GenerateRequest, GenerationEvent, InferenceBackend, LocalModelName,
    Prompt, Role, SamplingParams, StopReason, ToolChoice, ToolSpec,
};
use bedrock_local_engine::constrain::{validate, Schema};
use bedrock_local_engine::testing::{tiny_model_files, FixedLocator, TinyArch};
use bedrock_local_engine::{Engine, EngineConfig};
use serde_json::{json, Value as Json};

/// A short template that names the tools: the built-in ones spell out every schema, which
/// the SentencePiece tiny vocabularies write nearly byte by byte, past their 512-token context.
/// (Which template is used does not matter here: the weights are random.)
const COMPACT_TEMPLATE: &str =
    "{%- for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}\
{%- if tools %}tools:{% for t in tools %} {{ t.function.name }}{% endfor %}\n{% endif %}assistant:";

fn setup(arch: TinyArch) -> (tempfile::TempDir, Engine, LocalModelName) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = tiny_model_files(dir.path(), arch).unwrap();
    files.chat_template = Some(COMPACT_TEMPLATE.into());
    let name = files.name.clone();
    let engine = Engine::new(
        Arc::new(FixedLocator::new([files])),
        vec![name.clone()],
        EngineConfig::default(),
    );
    (dir, engine, name)
}

/// Every value is bounded (string length, enum, integer digits, boolean), so even a random
/// model must finish the call.
fn forecast_schema() -> Json {
    json!({"type": "object", "properties": {
        "c": {"type": "string", "maxLength": 6},
        "u": {"enum": ["c", "f"]},
        "d": {"type": "integer"},
        "a": {"type": "boolean"}},
        "required": ["c", "u", "d", "a"]})
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "fc".into(),
            description: None,
            input_schema_json: forecast_schema().to_string(),
        },
        ToolSpec {
            name: "ping".into(),
            description: None,
            input_schema_json: ping_schema().to_string(),
        },
    ]
}

fn ping_schema() -> Json {
    json!({"type": "object", "properties": {"ok": {"type": "boolean"}}})
}

fn prompt(choice: ToolChoice) -> Prompt {
    Prompt::Chat {
        system: None,
        messages: vec![ChatMessage::text(Role::User, "Hello")],
        tools: tools(),
        tool_choice: choice,
    }
}

#[derive(Debug, Default)]
struct Run {
    prompt_tokens: u32,
    text: String,
    calls: Vec<(String, String)>,
    stop_reason: Option<StopReason>,
}

fn run(engine: &Engine, name: &LocalModelName, prompt: Prompt, sampling: SamplingParams) -> Run {
    let mut stream = engine
        .generate(GenerateRequest {
            model: name.clone(),
            prompt,
            max_tokens: 1000, // clamped to the context left
            sampling,
            stop_sequences: Vec::new(),
            priority: Default::default(),
            cache_point: None,
        })
        .unwrap();
    let mut run = Run::default();
    while let Some(event) = stream.blocking_next() {
        match event.unwrap() {
            GenerationEvent::Started { prompt_tokens } => run.prompt_tokens = prompt_tokens,
            GenerationEvent::Text(t) => {
                assert!(run.calls.is_empty(), "text after a tool call: {t:?}");
                run.text.push_str(&t);
            }
            GenerationEvent::ToolCall { name, input_json } => run.calls.push((name, input_json)),
            GenerationEvent::Reasoning(_) => panic!("the engine never sends reasoning"),
            GenerationEvent::Finished { stop_reason, .. } => run.stop_reason = Some(stop_reason),
        }
    }
    run
}

fn assert_valid(call: &(String, String)) {
    let schema = match call.0.as_str() {
        "fc" => forecast_schema(),
        "ping" => ping_schema(),
        other => panic!("unknown tool {other}"),
    };
    let mut graph = Schema::new();
    let root = graph.compile(&schema);
    let args: Json = serde_json::from_str(&call.1).unwrap();
    validate(&graph, root, &args).unwrap();
    assert_eq!(call.1, args.to_string(), "not compact JSON");
}

#[test]
fn a_forced_tool_is_called_with_valid_arguments() {
    for arch in TinyArch::ALL {
        let (_dir, engine, name) = setup(arch);
        let choice = ToolChoice::Tool("fc".into());
        let greedy = run(
            &engine,
            &name,
            prompt(choice.clone()),
            SamplingParams::greedy(),
        );
        eprintln!("{arch:?}: {greedy:?}");
        assert_eq!(greedy.text, "", "{arch:?}");
        assert!(!greedy.calls.is_empty(), "{arch:?}: {greedy:?}");
        assert_eq!(greedy.calls[0].0, "fc");
        greedy.calls.iter().for_each(assert_valid);
        assert_eq!(greedy.stop_reason, Some(StopReason::ToolUse), "{arch:?}");
        let again = run(
            &engine,
            &name,
            prompt(choice.clone()),
            SamplingParams::greedy(),
        );
        assert_eq!(again.calls, greedy.calls, "{arch:?}: greedy is repeatable");
        for seed in 1..4 {
            let sampling = SamplingParams {
                temperature: 1.0,
                top_p: Some(0.95),
                top_k: None,
                seed,
            };
            let sampled = run(&engine, &name, prompt(choice.clone()), sampling);
            assert_eq!(sampled.calls.first().map(|c| c.0.as_str()), Some("fc"));
            sampled.calls.iter().for_each(assert_valid);
            assert_eq!(sampled.stop_reason, Some(StopReason::ToolUse));
        }
    }
}

#[test]
fn tool_choice_any_calls_one_of_the_tools() {
    for arch in TinyArch::ALL {
        let (_dir, engine, name) = setup(arch);
        let r = run(
            &engine,
            &name,
            prompt(ToolChoice::Any),
            SamplingParams::greedy(),
        );
        eprintln!("{arch:?}: {r:?}");
        assert_eq!(r.text, "");
        assert!(!r.calls.is_empty(), "{arch:?}");
        r.calls.iter().for_each(assert_valid);
        assert_eq!(r.stop_reason, Some(StopReason::ToolUse));
    }
}

#[test]
fn auto_streams_are_well_formed() {
    for arch in TinyArch::ALL {
        let (_dir, engine, name) = setup(arch);
        let r = run(
            &engine,
            &name,
            prompt(ToolChoice::Auto),
            SamplingParams::greedy(),
        );
        r.calls.iter().for_each(assert_valid);
        let expected = if r.calls.is_empty() {
            StopReason::MaxTokens
        } else {
            StopReason::ToolUse
        };
        assert_eq!(r.stop_reason, Some(expected), "{arch:?}: {r:?}");
    }
}

#[test]
fn count_tokens_is_the_prompt_that_runs() {
    for arch in TinyArch::ALL {
        let (_dir, engine, name) = setup(arch);
        let mut counts = Vec::new();
        for choice in [
            ToolChoice::Auto,
            ToolChoice::Any,
            ToolChoice::Tool("fc".into()),
        ] {
            let counted = engine.count_tokens(&name, &prompt(choice.clone())).unwrap();
            let started = run(&engine, &name, prompt(choice), SamplingParams::greedy());
            assert_eq!(counted.prompt_tokens, started.prompt_tokens, "{arch:?}");
            counts.push(counted.prompt_tokens);
        }
        // Forcing a call adds its opening to the prompt; naming the tool adds more.
        assert!(
            counts[0] < counts[1] && counts[1] < counts[2],
            "{arch:?}: {counts:?}"
        );
    }
}

#[test]
fn bad_tool_choices_are_invalid_requests() {
    let (_dir, engine, name) = setup(TinyArch::Qwen2);
    let unknown = prompt(ToolChoice::Tool("nope".into()));
    assert!(matches!(
        engine.count_tokens(&name, &unknown),
        Err(BackendError::InvalidRequest(_))
    ));
    let mut stream = engine
        .generate(GenerateRequest {
            model: name.clone(),
            prompt: unknown,
            max_tokens: 5,
            sampling: SamplingParams::greedy(),
            stop_sequences: Vec::new(),
            priority: Default::default(),
            cache_point: None,
        })
        .unwrap();
    assert!(matches!(
        stream.blocking_next(),
        Some(Err(BackendError::InvalidRequest(m))) if m.contains("nope")
    ));
    let no_tools = Prompt::Chat {
        system: None,
        messages: vec![ChatMessage::text(Role::User, "Hello")],
        tools: Vec::new(),
        tool_choice: ToolChoice::Any,
    };
    assert!(matches!(
        engine.count_tokens(&name, &no_tools),
        Err(BackendError::InvalidRequest(_))
    ));
}
