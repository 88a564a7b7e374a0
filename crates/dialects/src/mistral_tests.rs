use super::*;
use bedrock_local_core::{ChatMessage, ContentPart, Prompt, Role, ToolChoice};

use crate::DialectError;

const TRAITS: ModelTraits = ModelTraits {
    max_output_tokens: 8192,
    default_max_tokens: 512,
    supports_system: false,
    supports_tools: false,
    supports_reasoning: false,
};

fn decode(body: &str) -> Result<Decoded> {
    Mistral.decode(body.as_bytes(), &TRAITS)
}

fn err(body: &str) -> String {
    decode(body).unwrap_err().message().to_owned()
}

fn ctx(format: &str) -> ResponseCtx {
    ResponseCtx {
        model_id: "mistral.mistral-large-2407-v1:0".into(),
        response_id: "0123456789abcdef0123456789abcdef".into(),
        created_unix: 1_700_000_000,
        echo: json!({ "format": format }),
        prompt_caching: false,
    }
}

fn chat(system: Option<&str>, messages: Vec<ChatMessage>) -> Prompt {
    Prompt::Chat {
        system: system.map(str::to_owned),
        messages,
        tools: vec![],
        tool_choice: ToolChoice::Auto,
    }
}

#[test]
fn text_defaults_and_inst_markup() {
    let d = decode(r#"{"prompt": "<s>[INST] What is your favourite condiment? [/INST]"}"#).unwrap();
    assert_eq!(
        d.prompt,
        chat(
            None,
            vec![ChatMessage::text(
                Role::User,
                "What is your favourite condiment?"
            )]
        )
    );
    assert_eq!(d.max_tokens, 512);
    assert_eq!(d.sampling.temperature, 0.5);
    assert_eq!(d.sampling.top_p, Some(0.9));
    assert_eq!(d.sampling.top_k, None);
    assert_eq!(d.echo, json!({"format": "text"}));
    assert!(d.stop_sequences.is_empty());
}

#[test]
fn text_parameters() {
    let d = decode(
        r#"{"prompt":"Once upon","max_tokens":8192,"stop":["</s>","\n"],"temperature":0,"top_p":1,"top_k":200}"#,
    )
    .unwrap();
    assert_eq!(d.prompt, Prompt::Raw("Once upon".into()));
    assert_eq!(d.max_tokens, 8192);
    assert_eq!(d.stop_sequences, ["</s>", "\n"]);
    assert_eq!(d.sampling.top_k, Some(200));
    assert!(d.sampling.is_greedy());
}

#[test]
fn text_validation_messages() {
    let m = |detail: &str| {
        format!("Malformed input request: {detail}, please reformat your input and try again.")
    };
    let table = [
        ("{}", m("#: required key [prompt] not found")),
        (
            r#"{"prompt":"x","stop_sequences":["a"]}"#,
            m("#: extraneous key [stop_sequences] is not permitted"),
        ),
        (
            r#"{"prompt":"x","stop":"a"}"#,
            m("#/stop: expected type: JSONArray, found: String"),
        ),
        (
            r#"{"prompt":"x","stop":["a",1]}"#,
            m("#/stop/1: expected type: String, found: Integer"),
        ),
        (
            r#"{"prompt":"x","stop":["1","2","3","4","5","6","7","8","9","10","11"]}"#,
            m("#/stop: expected maximum item count: 10, found: 11"),
        ),
        (
            r#"{"prompt":"x","top_k":0}"#,
            m("#/top_k: 0 is not greater or equal to 1"),
        ),
        (
            r#"{"prompt":"x","top_k":201}"#,
            m("#/top_k: 201 is not less or equal to 200"),
        ),
        (
            r#"{"prompt":"x","max_tokens":0}"#,
            m("#/max_tokens: 0 is not greater or equal to 1"),
        ),
        (
            r#"{"prompt":"x","max_tokens":8193}"#,
            m("#/max_tokens: 8193 is not less or equal to 8192"),
        ),
        (
            r#"{"prompt":"x","temperature":1.5}"#,
            m("#/temperature: 1.5 is not less or equal to 1"),
        ),
        (
            r#"{"prompt":""}"#,
            m("#/prompt: expected minLength: 1, actual: 0"),
        ),
        (
            "[]",
            "Malformed input request, please reformat your input and try again.".to_owned(),
        ),
    ];
    for (body, message) in table {
        assert_eq!(err(body), message, "body {body}");
    }
}

#[test]
fn chat_with_tool_round_trip() {
    let body = r#"{
      "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "v6RMMiRlT7ygYkT4uULjtg", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "v6RMMiRlT7ygYkT4uULjtg", "content": "{\"tempC\": 21}"}
      ],
      "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather now", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
      "tool_choice": "any",
      "max_tokens": 64
    }"#;
    let d = decode(body).unwrap();
    let Prompt::Chat {
        system,
        messages,
        tools,
        tool_choice,
    } = d.prompt
    else {
        panic!("not a chat");
    };
    assert_eq!(system.as_deref(), Some("Be brief."));
    assert_eq!(messages.len(), 3);
    assert_eq!(
        messages[1].content,
        [ContentPart::ToolUse {
            id: "v6RMMiRlT7ygYkT4uULjtg".into(),
            name: "get_weather".into(),
            input_json: r#"{"city": "Paris"}"#.into(),
        }]
    );
    assert_eq!(
        messages[2].content,
        [ContentPart::ToolResult {
            id: "v6RMMiRlT7ygYkT4uULjtg".into(),
            content: r#"{"tempC": 21}"#.into(),
            is_error: false,
        }]
    );
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0].description.as_deref(), Some("Weather now"));
    assert_eq!(
        tools[0].input_schema_json,
        r#"{"type":"object","properties":{"city":{"type":"string"}}}"#
    );
    assert_eq!(tool_choice, ToolChoice::Any);
    assert_eq!(d.max_tokens, 64);
    assert_eq!(d.sampling.temperature, 0.7);
    assert_eq!(d.sampling.top_p, Some(1.0));
    assert_eq!(d.echo, json!({"format": "chat"}));
}

#[test]
fn chat_merges_turns_and_keeps_a_prefix_prefill() {
    let d = decode(
        r#"{"messages":[{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"}]},{"role":"assistant","content":"c","prefix":true}],"tool_choice":"none","tools":[{"function":{"name":"f"}}]}"#,
    )
    .unwrap();
    assert_eq!(
        d.prompt,
        chat(
            None,
            vec![
                ChatMessage::text(Role::User, "a\n\nb"),
                ChatMessage::text(Role::Assistant, "c"),
            ]
        )
    );
}

#[test]
fn chat_tool_without_parameters_gets_an_empty_object_schema() {
    let d = decode(
        r#"{"messages":[{"role":"user","content":"hi"}],"tools":[{"function":{"name":"f"}}]}"#,
    )
    .unwrap();
    let Prompt::Chat { tools, .. } = d.prompt else {
        panic!("not a chat");
    };
    assert_eq!(
        tools[0].input_schema_json,
        r#"{"type":"object","properties":{}}"#
    );
}

#[test]
fn chat_validation_messages() {
    let m = |detail: &str| {
        format!("Malformed input request: {detail}, please reformat your input and try again.")
    };
    let table = [
        (r#"{"messages":[]}"#, m("#/messages: expected minimum item count: 1, found: 0")),
        (r#"{"messages":"hi"}"#, m("#/messages: expected type: JSONArray, found: String")),
        (r#"{"messages":[{"role":"bot","content":"x"}]}"#, m("#/messages/0/role: bot is not a valid enum value")),
        (r#"{"messages":[{"content":"x"}]}"#, m("#/messages/0: required key [role] not found")),
        (r#"{"messages":[{"role":"user"}]}"#, m("#/messages/0: required key [content] not found")),
        (r#"{"messages":[{"role":"user","content":5}]}"#, m("#/messages/0/content: expected type: String, found: Integer")),
        (r#"{"messages":[{"role":"user","content":"x"},{"role":"tool","content":"r"}]}"#, m("#/messages/1: required key [tool_call_id] not found")),
        (r#"{"messages":[{"role":"user","content":"x"}],"tool_choice":"required"}"#, m("#/tool_choice: required is not a valid enum value")),
        (r#"{"messages":[{"role":"user","content":"x"}],"top_k":5}"#, m("#: extraneous key [top_k] is not permitted")),
        (r#"{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}"#, m("#/tools/0: required key [function] not found")),
        (r#"{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f"}}]}]}"#, m("#/messages/1/tool_calls/0/function: required key [arguments] not found")),
        (r#"{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}]}"#, "Expected last role User or Tool (or Assistant with prefix True) for serving but got assistant".to_owned()),
        (r#"{"messages":[{"role":"user","content":"x"},{"role":"system","content":"y"}]}"#, "Expected last role User or Tool (or Assistant with prefix True) for serving but got system".to_owned()),
        (r#"{"messages":[{"role":"assistant","content":"x"},{"role":"user","content":"y"}]}"#, "Expected the first non-system message to have role user".to_owned()),
    ];
    for (body, message) in table {
        assert_eq!(err(body), message, "body {body}");
    }
    assert!(matches!(
        decode(
            r#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:"}}]}]}"#
        ),
        Err(DialectError::Unsupported(_))
    ));
}

fn completion(text: &str, stop: StopReason, calls: Vec<(String, String, String)>) -> Completion {
    Completion {
        reasoning: None,
        text: text.into(),
        tool_calls: calls,
        stop_reason: stop,
        usage: Usage {
            input_tokens: 9,
            output_tokens: 4,
            ..Default::default()
        },
        latency_ms: 10,
    }
}

#[test]
fn encode_text_and_chat() {
    let c = completion("I like lemon.", StopReason::EndTurn, vec![]);
    let text = String::from_utf8(Mistral.encode(&ctx("text"), &c)).unwrap();
    assert_eq!(
        text,
        r#"{"outputs":[{"text":"I like lemon.","stop_reason":"stop"}]}"#
    );
    let mut null_echo = ctx("text");
    null_echo.echo = Value::Null;
    assert_eq!(Mistral.encode(&null_echo, &c), text.as_bytes());
    let long = completion("I", StopReason::MaxTokens, vec![]);
    assert_eq!(
        String::from_utf8(Mistral.encode(&ctx("chat"), &long)).unwrap(),
        r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"I"},"stop_reason":"length"}]}"#
    );
    let call = completion(
        "",
        StopReason::ToolUse,
        vec![(
            "tooluse_v6RMMiRlT7ygYkT4uULjtg".into(),
            "get_weather".into(),
            r#"{"city":"Paris"}"#.into(),
        )],
    );
    assert_eq!(
        String::from_utf8(Mistral.encode(&ctx("chat"), &call)).unwrap(),
        r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[{"id":"v6RMMiRlT7ygYkT4uULjtg","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"stop_reason":"tool_calls"}]}"#
    );
}

fn metrics() -> InvocationMetrics {
    InvocationMetrics {
        input_token_count: 9,
        output_token_count: 2,
        invocation_latency_ms: 100,
        first_byte_latency_ms: 30,
        ..Default::default()
    }
}

fn run(format: &str, calls: bool) -> Vec<String> {
    let mut enc = Mistral.chunk_encoder(&ctx(format));
    let mut chunks = enc.start(9);
    chunks.extend(enc.text("I"));
    chunks.extend(enc.text(""));
    if calls {
        chunks.extend(enc.tool_call("tooluse_abc", "f", "{}"));
    }
    let stop = if calls {
        StopReason::ToolUse
    } else {
        StopReason::StopSequence("</s>".into())
    };
    chunks.extend(enc.finish(&stop, Usage::default(), &metrics()));
    chunks
        .into_iter()
        .map(|c| String::from_utf8(c).unwrap())
        .collect()
}

#[test]
fn stream_chunks() {
    let metrics = r#""amazon-bedrock-invocationMetrics":{"inputTokenCount":9,"outputTokenCount":2,"invocationLatency":100,"firstByteLatency":30}"#;
    assert_eq!(
        run("text", false),
        [
            r#"{"outputs":[{"text":"I","stop_reason":null}]}"#.to_owned(),
            format!(r#"{{"outputs":[{{"text":"","stop_reason":"stop"}}],{metrics}}}"#),
        ]
    );
    assert_eq!(
        run("chat", true),
        [
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"I"},"stop_reason":null}]}"#.to_owned(),
            format!(
                r#"{{"choices":[{{"index":0,"message":{{"role":"assistant","content":"","tool_calls":[{{"id":"abc","type":"function","function":{{"name":"f","arguments":"{{}}"}}}}]}},"stop_reason":"tool_calls"}}],{metrics}}}"#
            ),
        ]
    );
}
