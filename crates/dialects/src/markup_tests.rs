use super::*;

fn chat(system: Option<&str>, messages: &[(Role, &str)]) -> Prompt {
    Prompt::Chat {
        system: system.map(str::to_owned),
        messages: messages
            .iter()
            .map(|(role, text)| ChatMessage::text(*role, *text))
            .collect(),
        tools: Vec::new(),
        tool_choice: ToolChoice::Auto,
    }
}

#[test]
fn localstack_guide_prompt() {
    let p = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nSay Hello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
    assert_eq!(
        parse_chat_markup(p),
        chat(None, &[(Role::User, "Say Hello!")])
    );
}

#[test]
fn llama3_system_and_multi_turn() {
    let p = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe terse.<|eot_id|>\
<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>\
<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>\
<|start_header_id|>user<|end_header_id|>\n\nAgain?<|eot_id|>\
<|start_header_id|>assistant<|end_header_id|>\n\n";
    assert_eq!(
        parse_chat_markup(p),
        chat(
            Some("Be terse."),
            &[
                (Role::User, "Hi"),
                (Role::Assistant, "Hello."),
                (Role::User, "Again?")
            ]
        )
    );
}

#[test]
fn llama3_prefill_and_closed_end() {
    let prefill = "<|start_header_id|>user<|end_header_id|>\n\nList:<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n1.";
    assert_eq!(
        parse_chat_markup(prefill),
        chat(None, &[(Role::User, "List:"), (Role::Assistant, "1.")])
    );
    // Ends after a closed user turn, no open assistant header: still a chat.
    let closed = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
    assert_eq!(parse_chat_markup(closed), chat(None, &[(Role::User, "Hi")]));
}

#[test]
fn llama3_consecutive_users_merge_and_newlines_between_turns() {
    let p = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\na<|eot_id|>\n<|start_header_id|>user<|end_header_id|>\n\nb<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
    assert_eq!(parse_chat_markup(p), chat(None, &[(Role::User, "a\n\nb")]));
}

#[test]
fn not_well_formed_llama3_stays_raw() {
    for p in [
        "Say hello",
        "",
        "<|begin_of_text|>Just text",
        // Text before the first header.
        "Hi <|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>",
        // Unknown role.
        "<|start_header_id|>ipython<|end_header_id|>\n\n{}<|eot_id|>",
        // Missing end header.
        "<|start_header_id|>user\n\nx<|eot_id|>",
        // An open user turn.
        "<|start_header_id|>user<|end_header_id|>\n\nx",
        // Only a system message.
        "<|start_header_id|>system<|end_header_id|>\n\nx<|eot_id|>",
        // Starts with the assistant.
        "<|start_header_id|>assistant<|end_header_id|>\n\nx<|eot_id|><|start_header_id|>user<|end_header_id|>\n\ny<|eot_id|>",
        // A tool-call token inside content.
        "<|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|python_tag|>f()<|eom_id|>",
    ] {
        assert_eq!(parse_chat_markup(p), Prompt::Raw(p.to_owned()), "{p:?}");
    }
}

#[test]
fn llama2_with_system() {
    let p = "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHello there [/INST]";
    assert_eq!(
        parse_chat_markup(p),
        chat(Some("You are terse."), &[(Role::User, "Hello there")])
    );
}

#[test]
fn llama2_multi_turn_and_prefill() {
    let p = "<s>[INST] One [/INST] Uno </s><s>[INST] Two [/INST] Do";
    assert_eq!(
        parse_chat_markup(p),
        chat(
            None,
            &[
                (Role::User, "One"),
                (Role::Assistant, "Uno"),
                (Role::User, "Two"),
                (Role::Assistant, "Do")
            ]
        )
    );
    // Mistral style: no <s> between turns, no spaces.
    let m = "<s>[INST]What is 2+2?[/INST]4</s>[INST]And 3+3?[/INST]";
    assert_eq!(
        parse_chat_markup(m),
        chat(
            None,
            &[
                (Role::User, "What is 2+2?"),
                (Role::Assistant, "4"),
                (Role::User, "And 3+3?")
            ]
        )
    );
}

#[test]
fn not_well_formed_inst_stays_raw() {
    for p in [
        "Tell me [INST] something",
        "[INST] open user turn",
        "<s>[INST] a [/INST] b [INST] c [/INST]",
        "<s>[INST] x <<SYS>>y<</SYS>> [/INST]",
        "[INST] <<SYS>> unterminated [/INST]",
    ] {
        assert_eq!(parse_chat_markup(p), Prompt::Raw(p.to_owned()), "{p:?}");
    }
}
