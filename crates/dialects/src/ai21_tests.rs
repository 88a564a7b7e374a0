use super::*;
use crate::InvocationMetrics;
use bedrock_local_core::{ChatMessage, Prompt, StopReason, Usage};

const TRAITS: ModelTraits = ModelTraits {
    max_output_tokens: 4096,
    default_max_tokens: 512,
    supports_system: true,
    supports_tools: true,
    supports_reasoning: false,
};

fn decode(body: &str) -> Result<Decoded> {
    Jamba.decode(body.as_bytes(), &TRAITS)
}

fn err(body: &str) -> String {
    decode(body).unwrap_err().message().to_owned()
}

fn ctx() -> ResponseCtx {
    ResponseCtx {
        model_id: "ai21.jamba-1-5-mini-v1:0".into(),
        response_id: "0123456789abcdef0123456789abcdef".into(),
        created_unix: 1_700_000_000,
        echo: Value::Null,
        prompt_caching: false,
    }
}

#[test]
fn ids() {
    assert!(handles("ai21.jamba-1-5-mini-v1:0"));
    assert!(handles("ai21.jamba-instruct-v1:0"));
    assert!(!handles("ai21.j2-ultra-v1"));
}

#[test]
fn doc_body_and_defaults() {
    let d = decode(
        r#"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],
        "max_tokens":256,"temperature":0.7,"top_p":0.9,"stop":["\n"],"n":1,"frequency_penalty":0,"presence_penalty":0}"#,
    )
    .unwrap();
    assert_eq!(
        d.prompt,
        Prompt::Chat {
            system: Some("Be brief.".into()),
            messages: vec![ChatMessage::text(Role::User, "Hi")],
            tools: vec![],
            tool_choice: ToolChoice::Auto,
        }
    );
    assert_eq!(
        (d.max_tokens, d.sampling.temperature, d.sampling.top_p),
        (256, 0.7, Some(0.9))
    );
    assert_eq!(d.stop_sequences, ["\n"]);
    let d = decode(r#"{"messages":[{"role":"user","content":"Hi"}],"stop":"END","max_tokens":0}"#)
        .unwrap();
    assert_eq!(
        (d.max_tokens, d.sampling.temperature, d.sampling.top_p),
        (1, 1.0, Some(1.0))
    );
    assert_eq!(d.stop_sequences, ["END"]);
    assert_eq!(
        decode(r#"{"messages":[{"role":"user","content":"Hi"}]}"#)
            .unwrap()
            .max_tokens,
        4096
    );
}

#[test]
fn tools_documents_and_history() {
    let d = decode(
        r#"{"messages":[
          {"role":"user","content":"Weather?"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"w","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"c1","content":"21C"}],
        "tools":[{"type":"function","function":{"name":"w","description":"weather","parameters":{"type":"object"}}}],
        "documents":[{"content":"Paris is in France."},{"content":"Rome is in Italy.","metadata":[{"key":"k","value":"v"}]}]}"#,
    )
    .unwrap();
    let Prompt::Chat {
        system,
        messages,
        tools,
        ..
    } = d.prompt
    else {
        panic!("chat")
    };
    assert_eq!(
        system.as_deref(),
        Some("Documents:\n\nParis is in France.\n\nRome is in Italy.")
    );
    assert_eq!(tools[0].description.as_deref(), Some("weather"));
    assert_eq!(
        messages[1].content,
        [ContentPart::ToolUse {
            id: "c1".into(),
            name: "w".into(),
            input_json: "{}".into()
        }]
    );
    assert_eq!(
        messages[2].content,
        [ContentPart::ToolResult {
            id: "c1".into(),
            content: "21C".into(),
            is_error: false
        }]
    );
}

#[test]
fn validation_messages() {
    let table = [
        ("{}", "#: required key [messages] not found"),
        (
            r#"{"messages":[{"role":"user","content":"x"}],"stream":true}"#,
            "#: extraneous key [stream] is not permitted",
        ),
        (
            r#"{"messages":[{"role":"user","content":"x"}],"max_tokens":5000,"temperature":2.5}"#,
            "#/max_tokens: 5000 is not less or equal to 4096#/temperature: 2.5 is not less or equal to 2",
        ),
        (
            r#"{"messages":[{"role":"bot","content":"x"}]}"#,
            "#/messages/0/role: bot is not a valid enum value",
        ),
        (
            r#"{"messages":[{"role":"user","content":["x"]},{"role":"user"}]}"#,
            "#/messages/0/content: expected type: String, found: JSONArray#/messages/1: required key [content] not found",
        ),
        (
            r#"{"messages":[{"role":"tool","content":"x"}]}"#,
            "#/messages/0: required key [tool_call_id] not found",
        ),
        (
            r#"{"messages":[{"role":"user","content":"x"}],"stop":5}"#,
            "#/stop: expected type: JSONArray, found: Integer",
        ),
        (
            r#"{"messages":[{"role":"user","content":"x"}],"stop":["a",1]}"#,
            "#/stop/1: expected type: String, found: Integer",
        ),
        (
            r#"{"messages":[{"role":"user","content":"x"}],"n":17}"#,
            "#/n: 17 is not less or equal to 16",
        ),
    ];
    for (body, detail) in table {
        assert_eq!(
            err(body),
            format!("Malformed input request: {detail}, please reformat your input and try again."),
            "{body}"
        );
    }
    assert!(matches!(
        decode(r#"{"messages":[{"role":"system","content":"x"}]}"#),
        Err(DialectError::Validation(_))
    ));
    assert!(matches!(
        decode(r#"{"messages":[{"role":"user","content":"x"}],"n":2}"#),
        Err(DialectError::Unsupported(_))
    ));
}

#[test]
fn response_and_stream() {
    let c = Completion {
        reasoning: None,
        text: "Hello!".into(),
        tool_calls: vec![],
        stop_reason: StopReason::EndTurn,
        usage: Usage {
            input_tokens: 12,
            output_tokens: 3,
            ..Default::default()
        },
        latency_ms: 5,
    };
    assert_eq!(
        String::from_utf8(Jamba.encode(&ctx(), &c)).unwrap(),
        r#"{"id":"chatcmpl-0123456789abcdef0123456789abcdef","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","tool_calls":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#
    );
    let mut enc = Jamba.chunk_encoder(&ctx());
    let mut chunks = enc.start(12);
    chunks.extend(enc.text("I"));
    chunks.extend(enc.finish(
        &StopReason::MaxTokens,
        c.usage,
        &InvocationMetrics::default(),
    ));
    let chunks: Vec<String> = chunks
        .into_iter()
        .map(|c| String::from_utf8(c).unwrap())
        .collect();
    assert_eq!(
        chunks,
        [
            r#"{"id":"chatcmpl-0123456789abcdef0123456789abcdef","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            r#"{"id":"chatcmpl-0123456789abcdef0123456789abcdef","choices":[{"index":0,"delta":{"content":"I"},"finish_reason":null}]}"#,
            r#"{"id":"chatcmpl-0123456789abcdef0123456789abcdef","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#,
            r#"{"amazon-bedrock-invocationMetrics":{"inputTokenCount":0,"outputTokenCount":0,"invocationLatency":0,"firstByteLatency":0}}"#,
        ]
    );
}
