//! Prompt -> token ids on the tiny models: exactly one BOS where the model wants one, whether
//! the chat template writes it or the tokenizer adds it; none where the model wants none.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use bedrock_local_core::{ChatMessage, Prompt, Role, ToolChoice};
use bedrock_local_engine::arch::LoadOptions;
use bedrock_local_engine::loader::{load, LoadedModel};
use bedrock_local_engine::testing::{tiny_model_files, TinyArch, TINY_CONTEXT};

fn chat() -> Prompt {
    Prompt::Chat {
        system: Some("Be brief.".into()),
        messages: vec![ChatMessage::text(Role::User, "Say Hello!")],
        tools: Vec::new(),
        tool_choice: ToolChoice::Auto,
    }
}

fn loaded(arch: TinyArch, template: Option<&str>) -> (tempfile::TempDir, LoadedModel) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = tiny_model_files(dir.path(), arch).unwrap();
    files.chat_template = template.map(str::to_string);
    let model = load(&files, LoadOptions { max_context: 8192 }).unwrap();
    (dir, model)
}

fn bos_count(model: &LoadedModel, ids: &[u32]) -> usize {
    let Some(bos) = model.tokenizer.bos_id() else {
        return 0;
    };
    ids.iter().take_while(|&&id| id == bos).count()
}

#[test]
fn chat_and_raw_prompts_get_one_bos_when_the_model_wants_it() {
    for arch in TinyArch::ALL {
        let (_dir, model) = loaded(arch, None);
        let wants_bos = arch != TinyArch::Qwen2;
        let expected = usize::from(wants_bos);
        let chat_ids = model.encode_prompt(&chat()).unwrap();
        assert_eq!(bos_count(&model, &chat_ids), expected, "{arch:?} chat");
        let raw_ids = model
            .encode_prompt(&Prompt::Raw("Hello world".into()))
            .unwrap();
        assert_eq!(bos_count(&model, &raw_ids), expected, "{arch:?} raw");
        assert_eq!(model.context_length, TINY_CONTEXT);
    }
}

#[test]
fn a_template_that_writes_bos_itself_does_not_double_it() {
    let template = "{{ bos_token }}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:";
    for arch in [TinyArch::Gemma3, TinyArch::Llama] {
        let (_dir, model) = loaded(arch, Some(template));
        let ids = model.encode_prompt(&chat()).unwrap();
        assert_eq!(bos_count(&model, &ids), 1, "{arch:?}");
    }
}

#[test]
fn the_qwen_template_is_chatml() {
    let (_dir, model) = loaded(TinyArch::Qwen2, None);
    let ids = model.encode_prompt(&chat()).unwrap();
    let text = model.tokenizer.decode_with_specials(&ids).unwrap();
    assert!(
        text.starts_with("<|im_start|>system\nBe brief.<|im_end|>\n"),
        "{text:?}"
    );
    assert!(text.ends_with("<|im_start|>assistant\n"), "{text:?}");
    let im_start = model.tokenizer.token_id("<|im_start|>").unwrap();
    assert_eq!(ids.iter().filter(|&&id| id == im_start).count(), 3);
}

#[test]
fn empty_raw_prompts_are_refused_when_nothing_is_left() {
    let (_dir, model) = loaded(TinyArch::Qwen2, None);
    assert!(model.encode_prompt(&Prompt::Raw(String::new())).is_err());
    let (_dir, model) = loaded(TinyArch::Llama, None);
    // BOS alone is a valid prompt for a model that adds one.
    assert_eq!(
        model
            .encode_prompt(&Prompt::Raw(String::new()))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_trailing_assistant_message_is_continued_not_closed() {
    for arch in TinyArch::ALL {
        let (_dir, model) = loaded(arch, None);
        let Prompt::Chat {
            system,
            mut messages,
            tools,
            tool_choice,
        } = chat()
        else {
            unreachable!()
        };
        let open = model.encode_prompt(&chat()).unwrap();
        messages.push(ChatMessage::text(Role::Assistant, "Hello"));
        let prefilled = model
            .encode_prompt(&Prompt::Chat {
                system,
                messages,
                tools,
                tool_choice,
            })
            .unwrap();
        // The open generation prompt, then the prefill's tokens: nothing closes the turn.
        assert_eq!(&prefilled[..open.len()], &open[..], "{arch:?}");
        let tail = model.tokenizer.decode(&prefilled[open.len()..]).unwrap();
        assert_eq!(tail, "Hello", "{arch:?}");
    }
}

#[test]
fn a_turn_answering_tool_results_asks_for_an_answer_unless_a_call_is_forced() {
    use bedrock_local_core::{ContentPart, ToolSpec};
    use bedrock_local_engine::loader::ANSWER_HINT;
    let (_dir, model) = loaded(TinyArch::Qwen2, None);
    let prompt = |tool_choice: ToolChoice| Prompt::Chat {
        system: None,
        messages: vec![
            ChatMessage::text(Role::User, "Weather in Paris?"),
            ChatMessage {
                role: Role::Assistant,
                content: vec![ContentPart::ToolUse {
                    id: "t1".into(),
                    name: "get_weather".into(),
                    input_json: r#"{"city":"Paris"}"#.into(),
                }],
            },
            ChatMessage {
                role: Role::User,
                content: vec![ContentPart::ToolResult {
                    id: "t1".into(),
                    content: "18C".into(),
                    is_error: false,
                }],
            },
        ],
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: None,
            input_schema_json: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#
                .into(),
        }],
        tool_choice,
    };
    let text = |p: &Prompt| {
        let ids = model.encode_prompt(p).unwrap();
        model.tokenizer.decode(&ids).unwrap()
    };
    assert!(text(&prompt(ToolChoice::Auto)).contains(ANSWER_HINT));
    assert!(!text(&prompt(ToolChoice::Any)).contains(ANSWER_HINT));
}
