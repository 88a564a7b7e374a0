use super::*;
use crate::DialectError;
use bedrock_local_core::{ChatMessage, ContentPart, Prompt, Role, ToolChoice, ToolSpec};

const TRAITS: ModelTraits = ModelTraits {
    max_output_tokens: 2048,
    default_max_tokens: 512,
    supports_system: true,
    supports_tools: true,
    supports_reasoning: false,
};

const NO_SYSTEM_NO_TOOLS: ModelTraits = ModelTraits {
    supports_system: false,
    supports_tools: false,
    supports_reasoning: false,
    ..TRAITS
};

fn user(text: &str) -> String {
    format!(
        r#"{{"role":"user","content":[{{"text":{}}}]}}"#,
        serde_json::json!(text)
    )
}

fn assistant(text: &str) -> String {
    format!(
        r#"{{"role":"assistant","content":[{{"text":{}}}]}}"#,
        serde_json::json!(text)
    )
}

fn with_messages<S: AsRef<str>>(messages: &[S], rest: &str) -> String {
    let sep = if rest.is_empty() { "" } else { "," };
    let joined: Vec<&str> = messages.iter().map(AsRef::as_ref).collect();
    format!(r#"{{"messages":[{}]{sep}{rest}}}"#, joined.join(","))
}

fn message_of(body: &str, traits: &ModelTraits) -> DialectError {
    decode_request(body.as_bytes(), traits).unwrap_err()
}

const TOOLS: &str = r#""toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object"}}}}]}"#;
const TOOL_USE: &str = r#"{"role":"assistant","content":[{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}}]}"#;
const TOOL_RESULT: &str = r#"{"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_1","content":[{"json":{"tempC":21}}]}}]}"#;

#[test]
fn validation_messages_in_order() {
    let u_owned = user("hi");
    let a_owned = assistant("hello");
    let (u, a) = (u_owned.as_str(), a_owned.as_str());
    let image = r#"{"role":"user","content":[{"text":"what?"},{"image":{"format":"png","source":{"bytes":"iVBORw=="}}}]}"#;
    let malformed = "Malformed input request, please reformat your input and try again.";
    let table: Vec<(String, ModelTraits, &str)> = vec![
        // Step 2: JSON and shapes.
        ("{not json".into(), TRAITS, malformed),
        ("[]".into(), TRAITS, malformed),
        ("{}".into(), TRAITS, "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null"),
        ("".into(), TRAITS, "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null"),
        (r#"{"messages":"hi"}"#.into(), TRAITS, "1 validation error detected: Value 'hi' at 'messages' failed to satisfy constraint: Member must be a list"),
        (r#"{"messages":[{"content":[{"text":"x"}]}]}"#.into(), TRAITS, "1 validation error detected: Value null at 'messages.0.role' failed to satisfy constraint: Member must not be null"),
        (r#"{"messages":[{"role":"system","content":[{"text":"x"}]}]}"#.into(), TRAITS, "1 validation error detected: Value 'system' at 'messages.0.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]"),
        (r#"{"messages":[{"role":"user"}]}"#.into(), TRAITS, "1 validation error detected: Value null at 'messages.0.content' failed to satisfy constraint: Member must not be null"),
        (r#"{"messages":[{"role":"user","content":"hi"}]}"#.into(), TRAITS, "1 validation error detected: Value 'hi' at 'messages.0.content' failed to satisfy constraint: Member must be a list"),
        (r#"{"messages":[{"role":"user","content":[{"text":5}]}]}"#.into(), TRAITS, "1 validation error detected: Value '5' at 'messages.0.content.0.text' failed to satisfy constraint: Member must be a string"),
        (r#"{"messages":[{"role":"user","content":[{}]}]}"#.into(), TRAITS, "1 validation error detected: Value '{}' at 'messages.0.content.0' failed to satisfy constraint: Member must have exactly one of the following members set: [text, image, document, video, audio, toolUse, toolResult, guardContent, cachePoint, reasoningContent, citationsContent, searchResult]"),
        (r#"{"messages":[{"role":"user","content":[{"text":"a","cachePoint":{"type":"default"}}]}]}"#.into(), TRAITS, "1 validation error detected: Value '{\"text\":\"a\",\"cachePoint\":{\"type\":\"default\"}}' at 'messages.0.content.0' failed to satisfy constraint: Member must have exactly one of the following members set: [text, image, document, video, audio, toolUse, toolResult, guardContent, cachePoint, reasoningContent, citationsContent, searchResult]"),
        (with_messages(&[u], r#""inferenceConfig":{"maxTokens":0}"#), TRAITS, "1 validation error detected: Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"),
        (with_messages(&[u], r#""inferenceConfig":{"maxTokens":-5}"#), TRAITS, "1 validation error detected: Value '-5' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"),
        (with_messages(&[u], r#""inferenceConfig":{"maxTokens":"10"}"#), TRAITS, "1 validation error detected: Value '10' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must be an integer"),
        (with_messages(&[u], r#""inferenceConfig":{"maxTokens":1.5}"#), TRAITS, "1 validation error detected: Value '1.5' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must be an integer"),
        (with_messages(&[u], r#""inferenceConfig":{"temperature":1.5}"#), TRAITS, "1 validation error detected: Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1"),
        (with_messages(&[u], r#""inferenceConfig":{"topP":-0.5}"#), TRAITS, "1 validation error detected: Value '-0.5' at 'inferenceConfig.topP' failed to satisfy constraint: Member must have value greater than or equal to 0"),
        (with_messages(&[u], r#""inferenceConfig":{"temperature":"warm"}"#), TRAITS, "1 validation error detected: Value 'warm' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must be a number"),
        (with_messages(&[u], r#""inferenceConfig":{"stopSequences":"END"}"#), TRAITS, "1 validation error detected: Value 'END' at 'inferenceConfig.stopSequences' failed to satisfy constraint: Member must be a list"),
        (with_messages(&[u], r#""inferenceConfig":{"stopSequences":["a",""]}"#), TRAITS, "1 validation error detected: Value '' at 'inferenceConfig.stopSequences.1' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        (with_messages(&[u], r#""inferenceConfig":{"maxTokens":0,"temperature":2}"#), TRAITS, "2 validation errors detected: Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1; Value '2' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1"),
        (with_messages(&[u], r#""inferenceConfig":5"#), TRAITS, "1 validation error detected: Value '5' at 'inferenceConfig' failed to satisfy constraint: Member must be a structure"),
        (with_messages(&[u], r#""system":[{"text":""}]"#), TRAITS, "1 validation error detected: Value '' at 'system.0.text' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        (with_messages(&[u], r#""performanceConfig":{"latency":"fast"}"#), TRAITS, "1 validation error detected: Value 'fast' at 'performanceConfig.latency' failed to satisfy constraint: Member must satisfy enum value set: [standard, optimized]"),
        (with_messages(&[u], r#""serviceTier":{}"#), TRAITS, "1 validation error detected: Value null at 'serviceTier.type' failed to satisfy constraint: Member must not be null"),
        (with_messages(&[u], r#""toolConfig":{"tools":[]}"#), TRAITS, "1 validation error detected: Value '[]' at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        (with_messages(&[u], r#""toolConfig":{}"#), TRAITS, "1 validation error detected: Value null at 'toolConfig.tools' failed to satisfy constraint: Member must not be null"),
        (with_messages(&[u], r#""toolConfig":{"tools":[{"toolSpec":{"name":"bad name","inputSchema":{"json":{}}}}]}"#), TRAITS, "1 validation error detected: Value 'bad name' at 'toolConfig.tools.0.toolSpec.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+"),
        (with_messages(&[u], r#""toolConfig":{"tools":[{"toolSpec":{"name":"f"}}]}"#), TRAITS, "1 validation error detected: Value null at 'toolConfig.tools.0.toolSpec.inputSchema' failed to satisfy constraint: Member must not be null"),
        (with_messages(&[u, r#"{"role":"assistant","content":[{"toolUse":{"toolUseId":"x y","name":"f","input":{}}}]}"#], TOOLS), TRAITS, "1 validation error detected: Value 'x y' at 'messages.1.content.0.toolUse.toolUseId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.:-]+"),
        // Step 2: content and text.
        (r#"{"messages":[{"role":"user","content":[]}]}"#.into(), TRAITS, "The content field in the Message object at messages.0 is empty. Add a ContentBlock object to the content field and try again."),
        (with_messages(&[user("  \n ").as_str()], ""), TRAITS, "The text field in the ContentBlock object at messages.0.content.0 is blank. Add text to the text field, and try again."),
        // Step 3: the conversation.
        (r#"{"messages":[]}"#.into(), TRAITS, "1 validation error detected: Value '[]' at 'messages' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        (with_messages(&[a, u], ""), TRAITS, "A conversation must start with a user message. Try again with a conversation that starts with a user message."),
        (with_messages(&[u, u], ""), TRAITS, "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."),
        (with_messages(&[u, a, a], ""), TRAITS, "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."),
        // Step 4: tools.
        (with_messages(&[u, TOOL_USE, TOOL_RESULT], ""), TRAITS, "The toolConfig field must be defined when using toolUse and toolResult content blocks."),
        (with_messages(&[u, TOOL_USE], ""), TRAITS, "The toolConfig field must be defined when using toolUse and toolResult content blocks."),
        (with_messages(&[TOOL_RESULT], TOOLS), TRAITS, "The toolResult block at messages.0.content.0 has toolUseId tooluse_1, which doesn't match a toolUse block in the previous assistant message. Try again with a matching toolUseId."),
        (with_messages(&[TOOL_USE.replace("assistant", "user").as_str()], TOOLS), TRAITS, "The toolUse block at messages.0.content.0 is in a user message. toolUse blocks are only allowed in assistant messages."),
        (with_messages(&[u, TOOL_RESULT.replace("user", "assistant").as_str()], TOOLS), TRAITS, "The toolResult block at messages.1.content.0 is in an assistant message. toolResult blocks are only allowed in user messages."),
        // Step 5: feature gates.
        (with_messages(&[u], r#""system":[{"text":"Be terse."}]"#), NO_SYSTEM_NO_TOOLS, "This model doesn't support system messages. Try again without a system message or use a model that supports system messages."),
        (with_messages(&[u], TOOLS), NO_SYSTEM_NO_TOOLS, "This model doesn't support tool use."),
        (with_messages(&[u], r#""toolConfig":{"tools":[{"systemTool":{"name":"web_search"}}]}"#), TRAITS, "This model doesn't support the toolConfig.tools.systemTool field. Remove toolConfig.tools.systemTool and try again."),
        (with_messages(&[u], &format!("{},\"toolChoice\":{{\"tool\":{{\"name\":\"nope\"}}}}}}", &TOOLS[..TOOLS.len() - 1])), TRAITS, "The tool nope in toolConfig.toolChoice.tool is not defined in toolConfig.tools. Add the tool to toolConfig.tools and try again."),
        (with_messages(&[image], ""), TRAITS, "This model doesn't support the image content block that you provided. Try again with a supported content block."),
        (r#"{"messages":[{"role":"user","content":[{"document":{"name":"d","source":{"text":"x"}}}]}]}"#.into(), TRAITS, "This model doesn't support the document content block that you provided. Try again with a supported content block."),
        (with_messages(&[u, TOOL_USE, r#"{"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_1","content":[{"image":{"format":"png","source":{"bytes":"AA=="}}}]}}]}"#], TOOLS), TRAITS, "This model doesn't support the image content block that you provided. Try again with a supported content block."),
        (with_messages(&[u], r#""outputConfig":{"textFormat":{"type":"json_schema"}}"#), TRAITS, "This model doesn't support the outputConfig field. Remove outputConfig and try again."),
        (with_messages(&[u], r#""additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":1024}}"#), TRAITS, "This model doesn't support reasoning. Remove thinking from additionalModelRequestFields and try again."),
        (with_messages(&[u], r#""additionalModelRequestFields":{"top_k":"many"}"#), TRAITS, "The model returned the following errors: Malformed input request: #/top_k: expected type: Integer, found: String, please reformat your input and try again."),
        (with_messages(&[u], r#""additionalModelRequestFields":[1]"#), TRAITS, "The model returned the following errors: Malformed input request, please reformat your input and try again."),
        // Step 6: the model's limit.
        (with_messages(&[u], r#""inferenceConfig":{"maxTokens":4096}"#), TRAITS, "The maximum tokens you requested exceeds the model limit of 2048. Try again with a maximum tokens value that is lower than 2048."),
    ];
    for (body, traits, expected) in table {
        let err = message_of(&body, &traits);
        assert_eq!(err.message(), expected, "body: {body}");
        let is_unsupported = expected.starts_with("This model doesn't support");
        assert_eq!(
            matches!(err, DialectError::Unsupported(_)),
            is_unsupported,
            "kind for {body}"
        );
    }
}

#[test]
fn minimal_request_defaults() {
    let r = decode_request(with_messages(&[user("Say Hello!")], "").as_bytes(), &TRAITS).unwrap();
    assert_eq!(
        r.decoded.prompt,
        Prompt::Chat {
            system: None,
            messages: vec![ChatMessage::text(Role::User, "Say Hello!")],
            tools: vec![],
            tool_choice: ToolChoice::Auto,
        }
    );
    assert_eq!(r.decoded.max_tokens, 512);
    assert_eq!(r.decoded.sampling.temperature, DEFAULT_TEMPERATURE);
    assert_eq!(r.decoded.sampling.top_p, Some(DEFAULT_TOP_P));
    assert_eq!(r.decoded.sampling.top_k, None);
    assert!(r.decoded.stop_sequences.is_empty());
    assert_eq!(r.echo, ResponseEcho::default());
}

#[test]
fn full_request_decodes() {
    let body = with_messages(
        &[
            r#"{"role":"user","content":[{"text":"Hello"},{"cachePoint":{"type":"default"}},{"text":"World"},{"guardContent":{"text":{"text":"guarded"}}}]}"#.into(),
            assistant("Hi"),
            user("Again"),
            r#"{"role":"assistant","content":[{"text":"Sure:"}]}"#.into(),
        ],
        r#""system":[{"text":"Be terse."},{"cachePoint":{"type":"default"}},{"guardContent":{"text":{"text":"No swearing."}}}],
           "inferenceConfig":{"maxTokens":2048,"temperature":0,"topP":1,"stopSequences":["END","\n\n"]},
           "additionalModelRequestFields":{"top_k":40,"unknown":"ignored"},
           "additionalModelResponseFieldPaths":["/stop_sequence"],
           "requestMetadata":{"team":"search"},
           "guardrailConfig":{"guardrailIdentifier":"abc","guardrailVersion":"1"},
           "performanceConfig":{},
           "serviceTier":{"type":"flex"},
           "someFutureMember":{"x":1}"#,
    );
    let r = decode_request(body.as_bytes(), &TRAITS).unwrap();
    let Prompt::Chat {
        system, messages, ..
    } = &r.decoded.prompt
    else {
        panic!("not a chat");
    };
    assert_eq!(system.as_deref(), Some("Be terse.\nNo swearing."));
    assert_eq!(
        messages[0].content,
        vec![ContentPart::Text("Hello\nWorld\nguarded".into())]
    );
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[3], ChatMessage::text(Role::Assistant, "Sure:"));
    assert_eq!(r.decoded.max_tokens, 2048);
    assert!(r.decoded.sampling.is_greedy());
    assert_eq!(r.decoded.sampling.top_p, Some(1.0));
    assert_eq!(r.decoded.sampling.top_k, Some(40));
    assert_eq!(r.decoded.stop_sequences, ["END", "\n\n"]);
    assert_eq!(
        r.echo,
        ResponseEcho {
            performance_latency: Some("standard".into()),
            service_tier: Some("flex".into()),
            prompt_caching: true,
        }
    );
    // The cache point in messages[0] is the last one (the system's comes before it).
    assert_eq!(
        r.decoded.cache_point,
        Some(bedrock_local_core::CachePoint::Message(0))
    );
}

#[test]
fn top_k_spellings() {
    for (fields, expected) in [
        (r#"{"topK":5}"#, Some(5)),
        (r#"{"k":7}"#, Some(7)),
        (r#"{"top_k":0}"#, None),
    ] {
        let body = with_messages(
            &[user("x")],
            &format!(r#""additionalModelRequestFields":{fields}"#),
        );
        let r = decode_request(body.as_bytes(), &TRAITS).unwrap();
        assert_eq!(r.decoded.sampling.top_k, expected, "{fields}");
    }
}

#[test]
fn tool_round_trip_decodes() {
    let body = with_messages(
        &[user("Weather in Paris?").as_str(), TOOL_USE, TOOL_RESULT],
        &format!(
            "{},\"toolChoice\":{{\"any\":{{}}}}}}",
            &TOOLS[..TOOLS.len() - 1]
        ),
    );
    let r = decode_request(body.as_bytes(), &TRAITS).unwrap();
    let Prompt::Chat {
        messages,
        tools,
        tool_choice,
        ..
    } = r.decoded.prompt
    else {
        panic!("not a chat");
    };
    assert_eq!(
        tools,
        vec![ToolSpec {
            name: "get_weather".into(),
            description: None,
            input_schema_json: r#"{"type":"object"}"#.into(),
        }]
    );
    assert_eq!(tool_choice, ToolChoice::Any);
    assert_eq!(
        messages[1].content,
        vec![ContentPart::ToolUse {
            id: "tooluse_1".into(),
            name: "get_weather".into(),
            input_json: r#"{"city":"Paris"}"#.into(),
        }]
    );
    assert_eq!(
        messages[2].content,
        vec![ContentPart::ToolResult {
            id: "tooluse_1".into(),
            content: r#"{"tempC":21}"#.into(),
            is_error: false,
        }]
    );
}

#[test]
fn default_max_tokens_never_exceeds_the_limit() {
    let traits = ModelTraits {
        max_output_tokens: 100,
        default_max_tokens: 4096,
        ..TRAITS
    };
    let r = decode_request(with_messages(&[user("x")], "").as_bytes(), &traits).unwrap();
    assert_eq!(r.decoded.max_tokens, 100);
}

#[test]
fn tool_use_ids() {
    assert_eq!(tool_use_id(0), "tooluse_AAAAAAAAAAAAAAAAAAAAAA");
    let a = tool_use_id(u128::MAX);
    assert_eq!(a.len(), 30);
    assert!(a["tooluse_".len()..]
        .chars()
        .all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(tool_use_id(1), tool_use_id(2));
}

#[test]
fn stream_events() {
    use bedrock_local_core::{StopReason, Usage};
    let s = |e: stream::StreamEvent| (e.0, String::from_utf8(e.1).unwrap());
    assert_eq!(
        s(stream::message_start()),
        ("messageStart", r#"{"role":"assistant"}"#.into())
    );
    assert_eq!(
        s(stream::text_delta(0, "Hel")),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":0,"delta":{"text":"Hel"}}"#.into()
        )
    );
    assert_eq!(
        s(stream::tool_use_start(1, "tooluse_lU3dsc1DQf6nkai4BGO8WQ", "get_weather")),
        (
            "contentBlockStart",
            r#"{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_lU3dsc1DQf6nkai4BGO8WQ","name":"get_weather"}}}"#.into()
        )
    );
    assert_eq!(
        s(stream::tool_use_delta(1, "{\"city\":")),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}}"#.into()
        )
    );
    assert_eq!(
        s(stream::content_block_stop(1)),
        ("contentBlockStop", r#"{"contentBlockIndex":1}"#.into())
    );
    assert_eq!(
        s(stream::message_stop(&StopReason::StopSequence(
            "END".into()
        ))),
        ("messageStop", r#"{"stopReason":"stop_sequence"}"#.into())
    );
    let usage = Usage {
        input_tokens: 412,
        output_tokens: 58,
        ..Default::default()
    };
    assert_eq!(
        s(stream::metadata(usage, 1432, &ResponseEcho::default())),
        (
            "metadata",
            r#"{"usage":{"inputTokens":412,"outputTokens":58,"totalTokens":470},"metrics":{"latencyMs":1432}}"#.into()
        )
    );
    let echo = ResponseEcho {
        performance_latency: Some("optimized".into()),
        service_tier: Some("priority".into()),
        prompt_caching: false,
    };
    assert!(s(stream::metadata(usage, 1, &echo)).1.ends_with(
        r#""performanceConfig":{"latency":"optimized"},"serviceTier":{"type":"priority"}}"#
    ));
}

#[test]
fn encode_response_echoes_the_request() {
    use crate::Completion;
    use bedrock_local_core::{StopReason, Usage};
    let body = with_messages(
        &[user("x").as_str()],
        r#""performanceConfig":{"latency":"optimized"}"#,
    );
    let request = decode_request(body.as_bytes(), &TRAITS).unwrap();
    let completion = Completion {
        reasoning: None,
        text: String::new(),
        tool_calls: vec![],
        stop_reason: StopReason::MaxTokens,
        usage: Usage {
            input_tokens: 3,
            output_tokens: 0,
            ..Default::default()
        },
        latency_ms: 5,
    };
    assert_eq!(
        String::from_utf8(encode_response(&request, &completion)).unwrap(),
        r#"{"output":{"message":{"role":"assistant","content":[{"text":""}]}},"stopReason":"max_tokens","usage":{"inputTokens":3,"outputTokens":0,"totalTokens":3},"metrics":{"latencyMs":5},"performanceConfig":{"latency":"optimized"}}"#
    );
    // Tool calls only: no empty text block; inputs kept as JSON, `{}` when empty.
    let tools_only = Completion {
        tool_calls: vec![
            ("tooluse_a".into(), "f".into(), String::new()),
            ("tooluse_b".into(), "g".into(), "not json".into()),
        ],
        stop_reason: StopReason::EndTurn,
        ..completion
    };
    let v: serde_json::Value =
        serde_json::from_slice(&encode_response(&request, &tools_only)).unwrap();
    assert_eq!(v["stopReason"], "tool_use");
    assert_eq!(
        v["output"]["message"]["content"],
        serde_json::json!([
            {"toolUse": {"toolUseId": "tooluse_a", "name": "f", "input": {}}},
            {"toolUse": {"toolUseId": "tooluse_b", "name": "g", "input": "not json"}}
        ])
    );
}
