//! The real engine on tiny random-weight GGUFs (written by `testing::write_tiny_gguf`), for
//! every architecture: determinism, limits, stop sequences, cancellation, backpressure,
//! context overflow, loading states.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::{Duration, Instant};

use bedrock_local_core::{
    BackendError, ChatMessage, GenerateRequest, GenerationEvent, GenerationStream,
    InferenceBackend, LocalModelName, ModelFiles, ModelState, Prompt, Role, SamplingParams,
    StopReason, ToolChoice, Usage,
};
use bedrock_local_engine::testing::{tiny_model_files, FixedLocator, TinyArch, TINY_CONTEXT};
use bedrock_local_engine::{Engine, EngineConfig};

struct Setup {
    _dir: tempfile::TempDir,
    engine: Engine,
    name: LocalModelName,
}

fn setup(arch: TinyArch, config: EngineConfig) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let files = tiny_model_files(dir.path(), arch).unwrap();
    let name = files.name.clone();
    let engine = Engine::new(
        Arc::new(FixedLocator::new([files])),
        vec![name.clone()],
        config,
    );
    Setup {
        _dir: dir,
        engine,
        name,
    }
}

fn request(name: &LocalModelName, prompt: Prompt, max_tokens: u32) -> GenerateRequest {
    GenerateRequest {
        model: name.clone(),
        prompt,
        max_tokens,
        sampling: SamplingParams::greedy(),
        stop_sequences: Vec::new(),
        priority: Default::default(),
        cache_point: None,
    }
}

fn raw(text: &str) -> Prompt {
    Prompt::Raw(text.to_string())
}

fn chat(text: &str) -> Prompt {
    Prompt::Chat {
        system: Some("You are terse.".into()),
        messages: vec![ChatMessage::text(Role::User, text)],
        tools: Vec::new(),
        tool_choice: ToolChoice::Auto,
    }
}

/// A finished generation.
#[derive(Debug, Clone, PartialEq)]
struct Done {
    prompt_tokens: u32,
    text: String,
    stop_reason: StopReason,
    usage: Usage,
}

fn drain(mut stream: GenerationStream) -> Result<Done, BackendError> {
    let mut prompt_tokens = None;
    let mut text = String::new();
    while let Some(event) = stream.blocking_next() {
        match event? {
            GenerationEvent::Started { prompt_tokens: n } => {
                assert!(prompt_tokens.is_none(), "two Started events");
                prompt_tokens = Some(n);
            }
            GenerationEvent::Text(t) => {
                assert!(prompt_tokens.is_some(), "text before Started");
                assert!(!t.is_empty(), "empty Text event");
                text.push_str(&t);
            }
            GenerationEvent::ToolCall { .. } => panic!("unexpected tool call"),
            GenerationEvent::Reasoning(_) => panic!("the engine never sends reasoning"),
            GenerationEvent::Finished { stop_reason, usage } => {
                assert!(stream.blocking_next().is_none(), "events after Finished");
                return Ok(Done {
                    prompt_tokens: prompt_tokens.unwrap_or_default(),
                    text,
                    stop_reason,
                    usage,
                });
            }
        }
    }
    panic!("stream ended without Finished");
}

fn run(s: &Setup, req: GenerateRequest) -> Result<Done, BackendError> {
    drain(s.engine.generate(req)?)
}

#[test]
fn greedy_generation_is_repeatable_and_respects_max_tokens() {
    for arch in TinyArch::ALL {
        let s = setup(arch, EngineConfig::default());
        let a = run(&s, request(&s.name, raw("Hello world"), 24)).unwrap();
        // Another request in between must not leak its KV cache into the next one.
        let other = run(&s, request(&s.name, raw("The quick brown fox"), 7)).unwrap();
        let b = run(&s, request(&s.name, raw("Hello world"), 24)).unwrap();
        assert_eq!(a, b, "{arch:?}");
        assert!(!a.text.is_empty(), "{arch:?}: no text");
        assert_eq!(a.stop_reason, StopReason::MaxTokens, "{arch:?}");
        assert_eq!(a.usage.output_tokens, 24, "{arch:?}");
        assert_eq!(a.usage.input_tokens, a.prompt_tokens, "{arch:?}");
        assert_eq!(other.usage.output_tokens, 7, "{arch:?}");
        let one = run(&s, request(&s.name, raw("Hello world"), 1)).unwrap();
        assert_eq!(one.usage.output_tokens, 1, "{arch:?}");
        assert!(a.text.starts_with(&one.text), "{arch:?}: {one:?} vs {a:?}");
    }
}

#[test]
fn chat_prompts_render_through_the_template() {
    for arch in TinyArch::ALL {
        let s = setup(arch, EngineConfig::default());
        let a = run(&s, request(&s.name, chat("Say Hello!"), 12)).unwrap();
        let b = run(&s, request(&s.name, chat("Say Hello!"), 12)).unwrap();
        assert_eq!(a, b, "{arch:?}");
        let count = s.engine.count_tokens(&s.name, &chat("Say Hello!")).unwrap();
        assert_eq!(count.prompt_tokens, a.prompt_tokens, "{arch:?}");
        assert_eq!(count.context_length as usize, TINY_CONTEXT, "{arch:?}");
        // The template adds markup around the message.
        let bare = s.engine.count_tokens(&s.name, &raw("Say Hello!")).unwrap();
        assert!(count.prompt_tokens > bare.prompt_tokens, "{arch:?}");
    }
}

#[test]
fn seeded_sampling_repeats_for_the_same_seed() {
    for arch in TinyArch::ALL {
        let s = setup(arch, EngineConfig::default());
        let sampled = |seed| {
            let mut req = request(&s.name, raw("Hello world"), 16);
            req.sampling = SamplingParams {
                temperature: 1.5,
                top_p: Some(0.95),
                top_k: Some(50),
                seed,
            };
            run(&s, req).unwrap()
        };
        assert_eq!(sampled(1), sampled(1), "{arch:?}");
    }
}

#[test]
fn stop_sequences_cut_the_text_and_are_reported() {
    for arch in TinyArch::ALL {
        let s = setup(arch, EngineConfig::default());
        let full = run(&s, request(&s.name, raw("Hello world"), 30)).unwrap();
        let chars: Vec<(usize, char)> = full.text.char_indices().collect();
        assert!(
            chars.len() >= 8,
            "{arch:?}: text too short: {:?}",
            full.text
        );
        let start = chars[chars.len() / 2].0;
        let end = chars
            .get(chars.len() / 2 + 3)
            .map_or(full.text.len(), |c| c.0);
        let stop = full.text[start..end].to_string();
        let expected = &full.text[..full.text.find(&stop).unwrap_or(0)];
        let mut req = request(&s.name, raw("Hello world"), 30);
        req.stop_sequences = vec!["never-produced".into(), stop.clone()];
        let cut = run(&s, req).unwrap();
        assert_eq!(cut.text, expected, "{arch:?}: stop {stop:?}");
        assert_eq!(
            cut.stop_reason,
            StopReason::StopSequence(stop.clone()),
            "{arch:?}"
        );
        assert!(!cut.text.contains(&stop));
        assert!(cut.usage.output_tokens <= full.usage.output_tokens);
    }
}

fn long_prompt(words: usize) -> Prompt {
    raw(&"hello world the quick brown fox ".repeat(words / 6 + 1))
}

#[test]
fn prompts_past_the_context_are_refused_not_truncated() {
    for arch in TinyArch::ALL {
        let s = setup(arch, EngineConfig::default());
        let prompt = long_prompt(2000);
        let n = s
            .engine
            .count_tokens(&s.name, &prompt)
            .unwrap()
            .prompt_tokens;
        assert!(n as usize >= TINY_CONTEXT, "{arch:?}: only {n} tokens");
        let mut stream = s.engine.generate(request(&s.name, prompt, 10)).unwrap();
        match stream.blocking_next() {
            Some(Err(BackendError::ContextOverflow {
                prompt_tokens,
                limit,
            })) => {
                assert_eq!(prompt_tokens, n);
                assert_eq!(limit as usize, TINY_CONTEXT - 1);
            }
            other => panic!("{arch:?}: expected ContextOverflow, got {other:?}"),
        }
        assert!(stream.blocking_next().is_none());
        // The worker is still fine afterwards.
        assert!(run(&s, request(&s.name, raw("Hello"), 3)).is_ok());
    }
}

#[test]
fn generation_stops_at_the_end_of_the_context() {
    // gemma3 prefills in one forward and is the slowest here; the rule is shared code.
    for arch in [TinyArch::Qwen2, TinyArch::Llama] {
        let s = setup(arch, EngineConfig::default());
        let mut prompt = long_prompt(10);
        for words in (10..2000).step_by(10) {
            prompt = long_prompt(words);
            let n = s
                .engine
                .count_tokens(&s.name, &prompt)
                .unwrap()
                .prompt_tokens as usize;
            if n + 20 >= TINY_CONTEXT {
                break;
            }
        }
        let done = run(&s, request(&s.name, prompt, 1000)).unwrap();
        assert_eq!(done.stop_reason, StopReason::MaxTokens);
        assert_eq!(
            (done.usage.input_tokens + done.usage.output_tokens) as usize,
            TINY_CONTEXT,
            "{arch:?}"
        );
    }
}

#[test]
fn a_full_queue_refuses_and_cancellation_frees_the_worker() {
    for arch in TinyArch::ALL {
        // One sequence at a time, so that B waits in the queue while A holds the slot (with
        // more slots B would be admitted at once and C would find the queue empty or not,
        // depending on how fast the admission thread wakes up).
        let config = EngineConfig {
            queue_capacity: 1,
            max_sequences: 1,
            ..EngineConfig::default()
        };
        let s = setup(arch, config);
        // A: a long generation whose reader does not read: the worker blocks once the
        // event buffer is full.
        let mut a = s
            .engine
            .generate(request(&s.name, raw("Hello"), 400))
            .unwrap();
        assert!(matches!(
            a.blocking_next(),
            Some(Ok(GenerationEvent::Started { .. }))
        ));
        // B waits in the queue (capacity 1); C finds it full.
        let b = s
            .engine
            .generate(request(&s.name, raw("Hello"), 5))
            .unwrap();
        match s.engine.generate(request(&s.name, raw("Hello"), 5)) {
            Err(BackendError::Overloaded(m)) => assert_eq!(m, s.name.as_str()),
            Ok(_) => panic!("{arch:?}: expected Overloaded"),
            Err(e) => panic!("{arch:?}: expected Overloaded, got {e:?}"),
        }
        // Dropping A cancels it at the next step; B then runs to completion.
        drop(a);
        let started = Instant::now();
        let done = drain(b).unwrap();
        assert_eq!(done.usage.output_tokens, 5);
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}

#[test]
fn a_request_dropped_while_queued_is_skipped() {
    let s = setup(TinyArch::Qwen2, EngineConfig::default());
    let a = s
        .engine
        .generate(request(&s.name, raw("Hello"), 20))
        .unwrap();
    let b = s
        .engine
        .generate(request(&s.name, raw("Hello"), 20))
        .unwrap();
    drop(b);
    assert_eq!(drain(a).unwrap().usage.output_tokens, 20);
    assert!(run(&s, request(&s.name, raw("Hello"), 2)).is_ok());
}

#[test]
fn states_go_from_not_loaded_to_ready() {
    let s = setup(TinyArch::Llama, EngineConfig::default());
    let status = s.engine.status();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].state, ModelState::NotLoaded);
    s.engine.load(&s.name).unwrap();
    assert_eq!(s.engine.status()[0].state, ModelState::Ready);
    s.engine.load(&s.name).unwrap();
}

#[test]
fn unknown_models_and_failed_loads_are_reported() {
    let s = setup(TinyArch::Qwen2, EngineConfig::default());
    let unknown = LocalModelName::new("nope");
    assert!(matches!(
        s.engine.generate(request(&unknown, raw("x"), 1)),
        Err(BackendError::UnknownModel(_))
    ));
    assert!(matches!(
        s.engine.count_tokens(&unknown, &raw("x")),
        Err(BackendError::UnknownModel(_))
    ));

    let dir = tempfile::tempdir().unwrap();
    let missing = ModelFiles {
        name: LocalModelName::new("broken"),
        weights: dir.path().join("missing.gguf"),
        tokenizer: None,
        config: None,
        chat_template: None,
    };
    let name = missing.name.clone();
    let engine = Engine::new(
        Arc::new(FixedLocator::new([missing])),
        vec![name.clone()],
        EngineConfig::default(),
    );
    let mut stream = engine.generate(request(&name, raw("x"), 1)).unwrap();
    assert!(matches!(
        stream.blocking_next(),
        Some(Err(BackendError::LoadFailed { .. }))
    ));
    assert!(matches!(engine.status()[0].state, ModelState::Failed(_)));
    assert!(matches!(
        engine.load(&name),
        Err(BackendError::LoadFailed { .. })
    ));
}

/// Starts every request at once and drains them all concurrently.
fn run_together(s: &Setup, reqs: Vec<GenerateRequest>) -> Vec<Done> {
    let streams: Vec<_> = reqs
        .into_iter()
        .map(|r| s.engine.generate(r).unwrap())
        .collect();
    let handles: Vec<_> = streams
        .into_iter()
        .map(|st| std::thread::spawn(move || drain(st).unwrap()))
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn greedy_output_is_the_same_alone_among_seven_others_and_from_the_prefix_cache() {
    for arch in TinyArch::ALL {
        let s = setup(arch, EngineConfig::default());
        let main = || {
            request(
                &s.name,
                raw("alpha beta gamma delta epsilon zeta eta theta iota kappa"),
                40,
            )
        };
        let alone = run(&s, main()).unwrap();
        assert_eq!(alone.usage.output_tokens, 40, "{arch:?}");
        // Seven others of different lengths start with it: decode steps and prompt chunks of
        // eight sequences share every forward.
        let mut reqs = vec![main()];
        for k in 1..8 {
            let words: Vec<String> = (0..(k * 9)).map(|i| format!("w{}", (i * k) % 23)).collect();
            reqs.push(request(&s.name, raw(&words.join(" ")), 20 + 5 * k as u32));
        }
        let together = run_together(&s, reqs);
        assert_eq!(together[0], alone, "{arch:?}: batched with seven others");
        // The first run left its sequence in the prefix cache: a third run reuses it.
        assert_eq!(
            run(&s, main()).unwrap(),
            alone,
            "{arch:?}: from the prefix cache"
        );
    }
}

#[test]
fn cache_points_report_what_the_prefix_cache_wrote_and_read() {
    let s = setup(TinyArch::Qwen2, EngineConfig::default());
    let cached = |text: &str| GenerateRequest {
        cache_point: Some(bedrock_local_core::CachePoint::System),
        ..request(&s.name, chat(text), 8)
    };
    let first = run(&s, cached("first question, long enough to matter")).unwrap();
    let u = first.usage;
    assert_eq!(u.cache_read_input_tokens, 0, "{u:?}");
    assert!(u.cache_write_input_tokens > 0, "{u:?}");
    assert_eq!(
        u.input_tokens + u.cache_write_input_tokens,
        first.prompt_tokens,
        "{u:?}"
    );
    // A second question under the same system prompt reads the header from the cache (and
    // whatever else the two prompts share, e.g. the start of the user turn).
    let second = run(&s, cached("second question")).unwrap();
    let u2 = second.usage;
    assert!(
        u2.cache_read_input_tokens >= u.cache_write_input_tokens,
        "{u2:?}"
    );
    assert_eq!(u2.cache_write_input_tokens, 0, "{u2:?}");
    assert_eq!(
        u2.input_tokens + u2.cache_read_input_tokens,
        second.prompt_tokens,
        "{u2:?}"
    );
    // The same request again reads everything but its last token, and answers the same.
    let again = run(&s, cached("first question, long enough to matter")).unwrap();
    assert_eq!(again.text, first.text);
    assert_eq!(again.usage.cache_read_input_tokens, first.prompt_tokens - 1);
    assert_eq!(again.usage.input_tokens, 1);
    // Without a cache point, the prefix cache is invisible in the usage.
    let plain = run(&s, request(&s.name, chat("second question"), 8)).unwrap();
    assert_eq!(plain.usage.input_tokens, plain.prompt_tokens);
    assert_eq!(plain.text, second.text);
}
