use super::*;
use bedrock_local_core::{ChatMessage, ContentPart, Prompt, Role, StopReason, ToolChoice, Usage};
use serde_json::json;

use crate::InvocationMetrics;

const TRAITS: ModelTraits = ModelTraits {
    max_output_tokens: 4096,
    default_max_tokens: 512,
    supports_system: true,
    supports_tools: true,
    supports_reasoning: false,
};

const NO_TOOLS: ModelTraits = ModelTraits {
    supports_tools: false,
    supports_reasoning: false,
    ..TRAITS
};

fn decode(body: &str) -> Result<Decoded> {
    Anthropic.decode(body.as_bytes(), &TRAITS)
}

/// A Messages body with these messages (JSON) and extra top-level members (`"k": v, …`).
fn body(messages: &str, rest: &str) -> String {
    let sep = if rest.is_empty() { "" } else { "," };
    format!(
        r#"{{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":{messages}{sep}{rest}}}"#
    )
}

fn chat(d: &Decoded) -> (Option<String>, Vec<ChatMessage>, Vec<String>, ToolChoice) {
    match &d.prompt {
        Prompt::Chat {
            system,
            messages,
            tools,
            tool_choice,
        } => (
            system.clone(),
            messages.clone(),
            tools.iter().map(|t| t.name.clone()).collect(),
            tool_choice.clone(),
        ),
        Prompt::Raw(_) => panic!("expected a chat"),
    }
}

const USER: &str = r#"{"role":"user","content":"Hi"}"#;
const TOOLS: &str = r#""tools":[{"name":"get_weather","description":"Weather by city","input_schema":{"type":"object"}}]"#;
const CALL: &str = r#"{"role":"assistant","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_bdrk_01A","name":"get_weather","input":{"city":"Paris"}}]}"#;
const RESULT: &str = r#"{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_bdrk_01A","content":[{"type":"text","text":"21C"}]}]}"#;

#[test]
fn string_content_defaults() {
    let d = decode(&body(&format!("[{USER}]"), "")).unwrap();
    let (system, messages, tools, choice) = chat(&d);
    assert_eq!(system, None);
    assert_eq!(messages, vec![ChatMessage::text(Role::User, "Hi")]);
    assert!(tools.is_empty());
    assert_eq!(choice, ToolChoice::Auto);
    assert_eq!(d.max_tokens, 100);
    assert_eq!(d.sampling.temperature, DEFAULT_TEMPERATURE);
    assert_eq!(d.sampling.top_p, Some(DEFAULT_TOP_P));
    assert_eq!(d.sampling.top_k, None);
    assert_eq!(d.echo, json!({"format": "messages"}));
}

#[test]
fn blocks_system_and_sampling() {
    let messages = r#"[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b","cache_control":{"type":"ephemeral"}}]},
        {"role":"assistant","content":"It is"}]"#;
    let rest = r#""system":[{"type":"text","text":"Be terse."},{"type":"text","text":"Be kind."}],"temperature":0,"top_p":0.5,"top_k":40,"stop_sequences":["END",""]"#;
    let d = decode(&body(messages, rest)).unwrap();
    let (system, messages, _, _) = chat(&d);
    assert_eq!(system.as_deref(), Some("Be terse.\nBe kind."));
    assert_eq!(
        messages,
        vec![
            ChatMessage::text(Role::User, "a\nb"),
            ChatMessage::text(Role::Assistant, "It is"),
        ]
    );
    assert!(d.sampling.is_greedy());
    assert_eq!(d.sampling.top_p, Some(0.5));
    assert_eq!(d.sampling.top_k, Some(40));
    assert_eq!(d.stop_sequences, vec!["END".to_owned()]);
}

#[test]
fn tool_round_trip_and_choices() {
    let conv = format!("[{USER},{CALL},{RESULT}]");
    let d = decode(&body(&conv, TOOLS)).unwrap();
    let (_, messages, tools, choice) = chat(&d);
    assert_eq!(tools, vec!["get_weather".to_owned()]);
    assert_eq!(choice, ToolChoice::Auto);
    assert_eq!(
        messages[1].content[1],
        ContentPart::ToolUse {
            id: "toolu_bdrk_01A".into(),
            name: "get_weather".into(),
            input_json: r#"{"city":"Paris"}"#.into()
        }
    );
    assert_eq!(
        messages[2].content[0],
        ContentPart::ToolResult {
            id: "toolu_bdrk_01A".into(),
            content: "21C".into(),
            is_error: false
        }
    );
    for (tool_choice, expected, tools_kept) in [
        (r#"{"type":"any"}"#, ToolChoice::Any, 1),
        (
            r#"{"type":"tool","name":"get_weather"}"#,
            ToolChoice::Tool("get_weather".into()),
            1,
        ),
        (r#"{"type":"none"}"#, ToolChoice::Auto, 0),
        (
            r#"{"type":"auto","disable_parallel_tool_use":true}"#,
            ToolChoice::Auto,
            1,
        ),
    ] {
        let rest = format!(r#"{TOOLS},"tool_choice":{tool_choice}"#);
        let d = decode(&body(&format!("[{USER}]"), &rest)).unwrap();
        let (_, _, tools, choice) = chat(&d);
        assert_eq!(choice, expected, "{tool_choice}");
        assert_eq!(tools.len(), tools_kept, "{tool_choice}");
    }
}

#[test]
fn tool_result_string_content_and_error_flag() {
    let result = r#"{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_bdrk_01A","content":"boom","is_error":true},{"type":"text","text":"Try again?"}]}"#;
    let d = decode(&body(&format!("[{USER},{CALL},{result}]"), TOOLS)).unwrap();
    let (_, messages, _, _) = chat(&d);
    assert_eq!(
        messages[2].content,
        vec![
            ContentPart::ToolResult {
                id: "toolu_bdrk_01A".into(),
                content: "boom".into(),
                is_error: true
            },
            ContentPart::Text("Try again?".into())
        ]
    );
}

#[test]
fn final_empty_assistant_and_thinking_blocks_are_dropped() {
    let messages = r#"[{"role":"user","content":"Hi"},{"role":"assistant","content":""}]"#;
    let (_, m, _, _) = chat(&decode(&body(messages, "")).unwrap());
    assert_eq!(m, vec![ChatMessage::text(Role::User, "Hi")]);
    let messages = r#"[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"text","text":"Hello"}]},{"role":"user","content":"Bye"}]"#;
    let (_, m, _, _) = chat(&decode(&body(messages, "")).unwrap());
    assert_eq!(m[1], ChatMessage::text(Role::Assistant, "Hello"));
    let d = decode(&body(
        &format!("[{USER}]"),
        r#""thinking":{"type":"disabled"}"#,
    ));
    assert!(d.is_ok());
}

#[test]
fn validation_messages() {
    let subject = "Malformed input request: #: subject must not be valid against schema {\"required\":[\"messages\"]}";
    let user = format!("[{USER}]");
    let image = r#"[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw=="}},{"type":"text","text":"What is this?"}]}]"#;
    let table: Vec<(String, &ModelTraits, String)> = vec![
        ("nope".into(), &TRAITS, "Malformed input request, please reformat your input and try again.".into()),
        (r#"{"messages":[]}"#.into(), &TRAITS, format!("{subject}#: required key [max_tokens] not found, please reformat your input and try again.")),
        (body(&user, r#""stream":true,"model":"m""#), &TRAITS, format!("{subject}#: extraneous key [stream] is not permitted#: extraneous key [model] is not permitted, please reformat your input and try again.")),
        (body(r#"[{"role":"user","content":[]}]"#, ""), &TRAITS, format!("{subject}#/messages/0/content: expected type: String, found: JSONArray#/messages/0/content: expected minimum item count: 1, found: 0, please reformat your input and try again.")),
        (body(r#"[{"role":"user","content":5}]"#, ""), &TRAITS, format!("{subject}#/messages/0/content: expected type: String, found: Integer#/messages/0/content: expected type: JSONArray, found: Integer, please reformat your input and try again.")),
        (body(r#"[{"role":"system","content":"x"}]"#, ""), &TRAITS, format!("{subject}#/messages/0/role: system is not a valid enum value, please reformat your input and try again.")),
        (body(r#"[{"content":"x"}]"#, r#""temperature":1.5"#), &TRAITS, format!("{subject}#/messages/0: required key [role] not found#/temperature: 1.5 is not less or equal to 1, please reformat your input and try again.")),
        (body(r#"{"role":"user"}"#, ""), &TRAITS, format!("{subject}#/messages: expected type: JSONArray, found: JSONObject, please reformat your input and try again.")),
        (body(&user, r#""max_tokens":0"#).replacen(r#""max_tokens":100,"#, "", 1), &TRAITS, format!("{subject}#/max_tokens: 0 is not greater or equal to 1, please reformat your input and try again.")),
        (body(&user, r#""system":7"#), &TRAITS, format!("{subject}#/system: expected type: String, found: Integer#/system: expected type: JSONArray, found: Integer, please reformat your input and try again.")),
        (body(&user, "").replace(r#""anthropic_version":"bedrock-2023-05-31","#, ""), &TRAITS, "anthropic_version: Field required".into()),
        (body(&user, "").replace("bedrock-2023-05-31", "claude-3-sonnet-20240229-v1:0"), &TRAITS, "Invalid API version: claude-3-sonnet-20240229-v1:0".into()),
        (body(&user, r#""tools":[{"name":"bad name","input_schema":{}}]"#), &TRAITS, "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'".into()),
        (body(&user, r#""tools":[{"name":"f"}]"#), &TRAITS, "tools.0.custom.input_schema: Field required".into()),
        (body(&user, r#""tools":[{"name":"f","input_schema":{}},{"name":"f","input_schema":{}}]"#), &TRAITS, "tools: Tool names must be unique.".into()),
        (body(&user, r#""tool_choice":{"type":"sometimes"}"#), &TRAITS, "tool_choice: Input tag 'sometimes' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'".into()),
        (body(&user, r#""tool_choice":{"type":"tool"}"#), &TRAITS, "tool_choice.tool.name: Field required".into()),
        (body(&user, r#""system":[{"type":"image"}]"#), &TRAITS, "system.0.type: Input should be 'text'".into()),
        (body(r#"[{"role":"user","content":[{"type":"text"}]}]"#, ""), &TRAITS, "messages.0.content.0.text.text: Field required".into()),
        (body(r#"[{"role":"user","content":[{"text":"x"}]}]"#, ""), &TRAITS, "messages.0.content.0: Unable to extract tag using discriminator 'type'".into()),
        (body(r#"[{"role":"user","content":[{"type":"video"}]}]"#, ""), &TRAITS, "messages.0.content.0: Input tag 'video' found using 'type' does not match any of the expected tags: 'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'".into()),
        (body(r#"[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"tool_use","id":"a b","name":"f","input":{}}]}]"#, TOOLS), &TRAITS, "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'".into()),
        (body(r#"[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f","input":[1]}]}]"#, TOOLS), &TRAITS, "messages.1.content.0.tool_use.input: Input should be a valid dictionary".into()),
        (body("[]", ""), &TRAITS, "messages: at least one message is required".into()),
        (body(r#"[{"role":"assistant","content":"Hi"}]"#, ""), &TRAITS, "messages: first message must use the \"user\" role".into()),
        (body(&format!("[{USER},{USER}]"), ""), &TRAITS, "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"user\" roles in a row".into()),
        (body(r#"[{"role":"user","content":""}]"#, ""), &TRAITS, "messages.0: all messages must have non-empty content except for the optional final assistant message".into()),
        (body(r#"[{"role":"user","content":[{"type":"text","text":""}]}]"#, ""), &TRAITS, "messages: text content blocks must be non-empty".into()),
        (body(r#"[{"role":"user","content":" \n"}]"#, ""), &TRAITS, "messages: text content blocks must contain non-whitespace text".into()),
        (body(r#"[{"role":"user","content":"Hi"},{"role":"assistant","content":"Sure "}]"#, ""), &TRAITS, "messages: final assistant content cannot end with trailing whitespace".into()),
        (body(&format!("[{USER},{CALL},{RESULT}]"), ""), &TRAITS, "Requests which include `tool_use` or `tool_result` blocks must define tools.".into()),
        (body(&format!("[{USER},{CALL},{USER}]"), TOOLS), &TRAITS, "messages.2: Did not find 1 `tool_result` block(s) at the beginning of this message. Messages following `tool_use` blocks must begin with a matching number of `tool_result` blocks.".into()),
        (body(&format!("[{USER},{CALL},{}]", RESULT.replace("01A", "01B")), TOOLS), &TRAITS, "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_bdrk_01B. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.".into()),
        (body(&format!("[{}]", RESULT), TOOLS), &TRAITS, "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_bdrk_01A. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.".into()),
        (body(&format!("[{}]", CALL.replace("assistant", "user")), TOOLS), &TRAITS, "messages.0.content.1: `tool_use` blocks can only be in `assistant` messages".into()),
        (body(&user, r#""tool_choice":{"type":"any"}"#), &TRAITS, "tool_choice may only be specified while providing tools.".into()),
        (body(&user, &format!(r#"{TOOLS},"tool_choice":{{"type":"tool","name":"nope"}}"#)), &TRAITS, "tool_choice.name: Tool 'nope' not found in tools".into()),
        (body(&user, r#""thinking":{"type":"enabled","budget_tokens":2048}"#), &TRAITS, "This model doesn't support the thinking field. Remove thinking and try again.".into()),
        (body(&user, r#""tools":[{"type":"computer_20241022","name":"computer","display_height_px":768,"display_width_px":1024}]"#), &TRAITS, "This model doesn't support the computer_20241022 tool. Remove tools.0 and try again.".into()),
        (body(&user, TOOLS), &NO_TOOLS, "This model doesn't support tool use.".into()),
        (body(image, ""), &TRAITS, "This model doesn't support the image content block that you provided. Try again with a supported content block.".into()),
        (body(&format!("[{USER},{CALL},{}]", RESULT.replace(r#"{"type":"text","text":"21C"}"#, r#"{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}"#)), TOOLS), &TRAITS, "This model doesn't support the document content block that you provided. Try again with a supported content block.".into()),
        (body(&user, "").replace(r#""max_tokens":100"#, r#""max_tokens":5000"#), &TRAITS, "The maximum tokens you requested exceeds the model limit of 4096. Try again with a maximum tokens value that is lower than 4096.".into()),
    ];
    for (body, traits, expected) in table {
        let err = Anthropic.decode(body.as_bytes(), traits).unwrap_err();
        assert_eq!(err.message(), expected, "body: {body}");
        assert_eq!(
            matches!(err, DialectError::Unsupported(_)),
            expected.starts_with("This model doesn't support"),
            "kind for {body}"
        );
    }
}

#[test]
fn legacy_prompt_parsing() {
    let parse = |p: &str| legacy::parse_prompt(p);
    let (system, messages) = parse("\n\nHuman: Tell me a joke\n\nAssistant:").unwrap();
    assert_eq!(system, None);
    assert_eq!(
        messages,
        vec![ChatMessage::text(Role::User, "Tell me a joke")]
    );

    let (system, messages) = parse("You are a pirate.\n\nHuman: Hi\n\nAssistant: Arr.\n\nHuman: More\n\nHuman: please\n\nAssistant: {").unwrap();
    assert_eq!(system.as_deref(), Some("You are a pirate."));
    assert_eq!(
        messages,
        vec![
            ChatMessage::text(Role::User, "Hi"),
            ChatMessage::text(Role::Assistant, "Arr."),
            ChatMessage::text(Role::User, "More\n\nplease"),
            ChatMessage::text(Role::Assistant, "{"),
        ]
    );
    // Sanitised: no leading blank line, trailing spaces.
    let (_, messages) = parse("Human: Hello\n\nAssistant: ").unwrap();
    assert_eq!(messages, vec![ChatMessage::text(Role::User, "Hello")]);

    let start = "prompt must start with \"\n\nHuman:\" turn after an optional system prompt";
    let end = "prompt must end with \"\n\nAssistant:\" turn";
    for (prompt, expected) in [
        ("Hello, world", start),
        ("Hello, world\n\nAssistant:", start),
        ("\n\nAssistant: Hello\n\nHuman: Hi\n\nAssistant:", start),
        ("\n\nHuman: Hello, Claude", end),
        (
            "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: How many toes?",
            end,
        ),
        ("\n\nHuman: Hello, Claude \nAssistant:", end),
        ("", start),
    ] {
        assert_eq!(parse(prompt).unwrap_err().message(), expected, "{prompt:?}");
    }
}

#[test]
fn legacy_body() {
    let d =
        decode(r#"{"prompt":"\n\nHuman: Hi\n\nAssistant:","max_tokens_to_sample":300}"#).unwrap();
    assert_eq!(d.max_tokens, 300);
    assert_eq!(d.sampling.temperature, LEGACY_DEFAULT_TEMPERATURE);
    assert_eq!(d.sampling.top_p, Some(LEGACY_DEFAULT_TOP_P));
    assert_eq!(d.sampling.top_k, Some(LEGACY_DEFAULT_TOP_K));
    assert_eq!(d.echo, json!({"format": "text_completions"}));
    let d =
        decode(r#"{"prompt":"\n\nHuman: Hi\n\nAssistant:","max_tokens_to_sample":5,"top_k":0}"#)
            .unwrap();
    assert_eq!(d.sampling.top_k, None);

    let table = [
        ("{}", "Malformed input request: #: required key [prompt] not found#: required key [max_tokens_to_sample] not found, please reformat your input and try again."),
        (r#"{"Messages":[],"MaxTokens":5,"AnthropicVersion":"x"}"#, "Malformed input request: #: required key [prompt] not found#: required key [max_tokens_to_sample] not found#: extraneous key [Messages] is not permitted#: extraneous key [MaxTokens] is not permitted#: extraneous key [AnthropicVersion] is not permitted, please reformat your input and try again."),
        (r#"{"prompt":"\n\nHuman: Hi\n\nAssistant:","max_tokens_to_sample":"9"}"#, "Malformed input request: #/max_tokens_to_sample: expected type: Integer, found: String, please reformat your input and try again."),
        (r#"{"prompt":"\n\nHuman: Hi\n\nAssistant:","max_tokens_to_sample":9,"stop_sequences":"x"}"#, "Malformed input request: #/stop_sequences: expected type: JSONArray, found: String, please reformat your input and try again."),
        (r#"{"prompt":"\n\nHuman: Hi\n\nAssistant:","max_tokens_to_sample":9,"anthropic_version":"v1"}"#, "Invalid API version: v1"),
        (r#"{"prompt":"\n\nHuman: Hi\n\nAssistant:","max_tokens_to_sample":9000}"#, "The maximum tokens you requested exceeds the model limit of 4096. Try again with a maximum tokens value that is lower than 4096."),
        (r#"{"prompt":"Hi","max_tokens_to_sample":9}"#, "prompt must start with \"\n\nHuman:\" turn after an optional system prompt"),
    ];
    for (body, expected) in table {
        assert_eq!(
            decode(body).unwrap_err().message(),
            expected,
            "body: {body}"
        );
    }
}

#[test]
fn model_names_and_ids() {
    for (id, name) in [
        (
            "anthropic.claude-3-haiku-20240307-v1:0",
            "claude-3-haiku-20240307",
        ),
        (
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            "claude-3-5-sonnet-20241022",
        ),
        (
            "anthropic.claude-3-haiku-20240307-v1:0:200k",
            "claude-3-haiku-20240307",
        ),
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "claude-sonnet-4-5-20250929",
        ),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "claude-3-haiku-20240307",
        ),
        ("anthropic.claude-opus-5", "claude-opus-5"),
        ("anthropic.claude-v2", "claude-2.0"),
        ("anthropic.claude-v2:1", "claude-2.1"),
        ("anthropic.claude-instant-v1", "claude-instant-1.2"),
    ] {
        assert_eq!(model_name(id), name, "{id}");
    }
    assert_eq!(
        message_id("0123456789abcdef0123456789abcdef"),
        message_id("0123456789abcdef0123456789abcdef")
    );
    assert_ne!(
        message_id("0123456789abcdef0123456789abcdef"),
        message_id("0123456789abcdef0123456789abcdee")
    );
    let id = message_id("not hex");
    assert!(id.starts_with("msg_bdrk_01") && id.len() == "msg_bdrk_01".len() + 22);
    assert_eq!(
        tool_use_id("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"),
        "toolu_bdrk_01kZJMlvQmRJ6eAyJE5GIl7Q"
    );
    assert_eq!(tool_use_id("toolu_bdrk_01X"), "toolu_bdrk_01X");
    assert_eq!(tool_use_id("call.1:a"), "toolu_bdrk_01call_1_a");
}

#[test]
fn check_model_refuses_text_completions_on_messages_models() {
    let legacy =
        decode(r#"{"prompt":"\n\nHuman: Hi\n\nAssistant:","max_tokens_to_sample":9}"#).unwrap();
    assert_eq!(
        check_model("anthropic.claude-3-haiku-20240307-v1:0", &legacy)
            .unwrap_err()
            .message(),
        "\"claude-3-haiku-20240307\" is not supported on this API. Please use the Messages API instead."
    );
    assert!(check_model("anthropic.claude-v2:1", &legacy).is_ok());
    let messages = decode(&body(&format!("[{USER}]"), "")).unwrap();
    assert!(check_model("anthropic.claude-3-haiku-20240307-v1:0", &messages).is_ok());
    assert!(check_model("anthropic.claude-v2", &messages).is_ok());
}

fn ctx(echo: Value) -> ResponseCtx {
    ResponseCtx {
        model_id: "anthropic.claude-3-haiku-20240307-v1:0".into(),
        response_id: "0123456789abcdef0123456789abcdef".into(),
        created_unix: 0,
        echo,
        prompt_caching: false,
    }
}

fn chunks(
    encoder: &mut dyn ChunkEncoder,
    events: impl FnOnce(&mut dyn ChunkEncoder) -> Vec<Vec<u8>>,
) -> Vec<Value> {
    events(encoder)
        .into_iter()
        .map(|c| serde_json::from_slice(&c).unwrap())
        .collect()
}

#[test]
fn stream_opens_text_blocks_lazily_and_indexes_tool_blocks() {
    let mut encoder = Anthropic.chunk_encoder(&ctx(Value::Null));
    let metrics = InvocationMetrics::default();
    let got = chunks(encoder.as_mut(), |e| {
        let mut out = e.start(7);
        out.extend(e.text(""));
        out.extend(e.tool_call("tooluse_A", "f", ""));
        out.extend(e.text("after"));
        out.extend(e.finish(
            &StopReason::EndTurn,
            Usage {
                input_tokens: 7,
                output_tokens: 9,
                ..Default::default()
            },
            &metrics,
        ));
        out
    });
    let types: Vec<&str> = got.iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(got[1]["content_block"]["id"], "toolu_bdrk_01A");
    assert_eq!(got[2]["delta"]["partial_json"], "{}");
    assert_eq!(got[4]["index"], 1);
    assert_eq!(got[7]["delta"]["stop_reason"], "tool_use");
    assert_eq!(got[7]["usage"]["output_tokens"], 9);
}

#[test]
fn encode_follows_the_echoed_format() {
    let completion = Completion {
        reasoning: None,
        text: " Sure.".into(),
        tool_calls: vec![],
        stop_reason: StopReason::StopSequence("END".into()),
        usage: Usage {
            input_tokens: 3,
            output_tokens: 2,
            ..Default::default()
        },
        latency_ms: 5,
    };
    let messages: Value =
        serde_json::from_slice(&Anthropic.encode(&ctx(Value::Null), &completion)).unwrap();
    assert_eq!(messages["type"], "message");
    assert_eq!(messages["stop_reason"], "stop_sequence");
    assert_eq!(messages["stop_sequence"], "END");
    let legacy: Value = serde_json::from_slice(
        &Anthropic.encode(&ctx(BodyFormat::TextCompletions.echo()), &completion),
    )
    .unwrap();
    assert_eq!(
        legacy,
        json!({"type": "completion", "completion": " Sure.", "stop_reason": "stop_sequence", "stop": "END"})
    );
}

#[test]
fn dated_api_versions_are_accepted() {
    let body = |v: &str| {
        format!(
            r#"{{"anthropic_version":"{v}","max_tokens":5,"messages":[{{"role":"user","content":"hi"}}]}}"#
        )
    };
    for ok in ["bedrock-2023-05-31", "2023-06-01", "2026-10-21"] {
        assert!(
            Anthropic.decode(body(ok).as_bytes(), &TRAITS).is_ok(),
            "{ok}"
        );
    }
    for bad in ["2023-6-1", "latest", "bedrock-2023-05-3x"] {
        assert_eq!(
            Anthropic
                .decode(body(bad).as_bytes(), &TRAITS)
                .unwrap_err()
                .to_string(),
            format!("Invalid API version: {bad}")
        );
    }
}
