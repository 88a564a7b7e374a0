use super::*;
use bedrock_local_core::{ChatMessage, ContentPart, Prompt, Role};

const TRAITS: ModelTraits = ModelTraits {
    max_output_tokens: 10000,
    default_max_tokens: 5000,
    supports_system: true,
    supports_tools: true,
    supports_reasoning: false,
};

fn decode(body: &str) -> Result<Decoded> {
    Nova.decode(body.as_bytes(), &TRAITS)
}

fn err(body: &str) -> (String, &'static str) {
    match decode(body).unwrap_err() {
        DialectError::Validation(m) => (m, "Validation"),
        DialectError::Unsupported(m) => (m, "Unsupported"),
    }
}

fn malformed(detail: &str) -> (String, &'static str) {
    (
        format!("Malformed input request: {detail}, please reformat your input and try again."),
        "Validation",
    )
}

fn ctx() -> ResponseCtx {
    ResponseCtx {
        model_id: "amazon.nova-lite-v1:0".into(),
        response_id: "0123456789abcdef0123456789abcdef".into(),
        created_unix: 1_700_000_000,
        echo: Value::Null,
        prompt_caching: false,
    }
}

#[test]
fn which_ids() {
    assert!(handles("amazon.nova-micro-v1:0"));
    assert!(handles("amazon.nova-2-lite-v1:0"));
    assert!(handles("amazon.nova-premier-v1:0"));
    assert!(!handles("amazon.nova-canvas-v1:0"));
    assert!(!handles("amazon.nova-reel-v1:1"));
    assert!(!handles("amazon.nova-sonic-v1:0"));
    assert!(!handles("amazon.nova-2-multimodal-embeddings-v1:0"));
    assert!(!handles("amazon.titan-text-express-v1"));
}

#[test]
fn defaults_and_both_spellings() {
    let d = decode(r#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}"#).unwrap();
    assert_eq!(
        d.prompt,
        Prompt::Chat {
            system: None,
            messages: vec![ChatMessage::text(Role::User, "Hi")],
            tools: vec![],
            tool_choice: ToolChoice::Auto,
        }
    );
    assert_eq!(d.max_tokens, 5000);
    assert_eq!(d.sampling.temperature, 0.7);
    assert_eq!(d.sampling.top_p, Some(0.9));
    assert_eq!(d.sampling.top_k, None);
    let camel = decode(r#"{"schemaVersion":"messages-v1","messages":[{"role":"user","content":[{"text":"Hi"}]}],
        "inferenceConfig":{"maxTokens":300,"temperature":0.2,"topP":0.5,"topK":20,"stopSequences":["END"]}}"#)
    .unwrap();
    let snake = decode(r#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}],
        "inferenceConfig":{"max_new_tokens":300,"temperature":0.2,"top_p":0.5,"top_k":20,"stopSequences":["END"]}}"#)
    .unwrap();
    assert_eq!(camel, snake);
    assert_eq!(camel.max_tokens, 300);
    assert_eq!(camel.sampling.top_k, Some(20));
    assert_eq!(camel.stop_sequences, ["END"]);
}

#[test]
fn system_tools_and_history() {
    let d = decode(
        r#"{"system":[{"text":"Be brief."},{"cachePoint":{"type":"default"}}],
        "messages":[
          {"role":"user","content":[{"text":"Weather?"}]},
          {"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"w","input":{"c":"P"}}}]},
          {"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"json":{"t":21}},{"text":"ok"}],"status":"error"}}]}],
        "toolConfig":{"tools":[{"toolSpec":{"name":"w","description":"d","inputSchema":{"json":{"type":"object"}}}}],
                      "toolChoice":{"tool":{"name":"w"}}}}"#,
    )
    .unwrap();
    let Prompt::Chat {
        system,
        messages,
        tools,
        tool_choice,
    } = d.prompt
    else {
        panic!("chat expected")
    };
    assert_eq!(system.as_deref(), Some("Be brief."));
    assert_eq!(tool_choice, ToolChoice::Tool("w".into()));
    assert_eq!(tools[0].input_schema_json, r#"{"type":"object"}"#);
    assert_eq!(
        messages[2].content,
        [ContentPart::ToolResult {
            id: "t1".into(),
            content: "{\"t\":21}\nok".into(),
            is_error: true,
        }]
    );
}

#[test]
fn schema_violations() {
    let table = [
        ("{}", "#: required key [messages] not found"),
        (
            r#"{"messages":[],"top_p":0.5}"#,
            "#: extraneous key [top_p] is not permitted",
        ),
        (
            r#"{"messages":[{"role":"bot","content":"x"}]}"#,
            "#/messages/0/role: bot is not a valid enum value#/messages/0/content: expected type: JSONArray, found: String",
        ),
        (
            r#"{"messages":[{"role":"user","content":[{"text":"a","foo":1}]}]}"#,
            "#/messages/0/content/0: extraneous key [foo] is not permitted",
        ),
        (
            r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"inferenceConfig":{"temperature":2,"maxTokens":0}}"#,
            "#/inferenceConfig/maxTokens: 0 is not greater or equal to 1#/inferenceConfig/temperature: 2 is not less or equal to 1",
        ),
        (
            r#"{"schemaVersion":"messages-v2","messages":[{"role":"user","content":[{"text":"a"}]}]}"#,
            "#/schemaVersion: messages-v2 is not a valid enum value",
        ),
        (
            r#"{"messages":[{"role":"user","content":[{}]}]}"#,
            "#/messages/0/content/0: 0 subschemas matched instead of one",
        ),
        (
            r#"{"messages":[{"role":"user","content":[{"text":"a","image":{}}]}]}"#,
            "#/messages/0/content/0: 2 subschemas matched instead of one",
        ),
    ];
    for (body, detail) in table {
        assert_eq!(err(body), malformed(detail), "{body}");
    }
    assert_eq!(
        err("[]").0,
        "Malformed input request, please reformat your input and try again."
    );
}

#[test]
fn converse_rules_apply() {
    assert_eq!(
        err(r#"{"messages":[{"role":"user","content":[{"text":"a"}]},{"role":"user","content":[{"text":"b"}]}]}"#).0,
        "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
    );
    assert_eq!(
        err(r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"inferenceConfig":{"maxTokens":20000}}"#).0,
        "The maximum tokens you requested exceeds the model limit of 10000. Try again with a maximum tokens value that is lower than 10000."
    );
    assert_eq!(
        err(r#"{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"aGk="}}}]}]}"#),
        ("This model doesn't support the image content block that you provided. Try again with a supported content block.".into(), "Unsupported")
    );
    assert_eq!(
        err(r#"{"messages":[{"role":"user","content":[{"text":"a"},{"video":{"format":"mp4","source":{"s3Location":{"uri":"s3://b/k"}}}}]}]}"#).1,
        "Unsupported"
    );
    assert_eq!(
        err(r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"inferenceConfig":{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"low"}}}"#).1,
        "Unsupported"
    );
    assert!(decode(r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"inferenceConfig":{"reasoningConfig":{"type":"disabled"}}}"#).is_ok());
}

#[test]
fn encode_text_and_tool() {
    let c = Completion {
        reasoning: None,
        text: "Hi".into(),
        tool_calls: vec![],
        stop_reason: StopReason::MaxTokens,
        usage: Usage {
            input_tokens: 4,
            output_tokens: 2,
            ..Default::default()
        },
        latency_ms: 9,
    };
    assert_eq!(
        String::from_utf8(Nova.encode(&ctx(), &c)).unwrap(),
        r#"{"output":{"message":{"role":"assistant","content":[{"text":"Hi"}]}},"stopReason":"max_tokens","usage":{"inputTokens":4,"outputTokens":2,"totalTokens":6,"cacheReadInputTokenCount":0,"cacheWriteInputTokenCount":0}}"#
    );
    let tool = Completion {
        text: String::new(),
        tool_calls: vec![("tooluse_a".into(), "w".into(), r#"{"c":"P"}"#.into())],
        stop_reason: StopReason::ToolUse,
        ..c
    };
    let v: Value = serde_json::from_slice(&Nova.encode(&ctx(), &tool)).unwrap();
    assert_eq!(v["stopReason"], "tool_use");
    assert_eq!(
        v["output"]["message"]["content"][0]["toolUse"]["input"]["c"],
        "P"
    );
}

#[test]
fn stream_chunks_wrap_converse_events() {
    let mut enc = Nova.chunk_encoder(&ctx());
    let mut chunks = enc.start(5);
    chunks.extend(enc.text("A red"));
    chunks.extend(enc.tool_call("tooluse_a", "w", "{}"));
    chunks.extend(enc.finish(
        &StopReason::EndTurn,
        Usage {
            input_tokens: 5,
            output_tokens: 7,
            ..Default::default()
        },
        &InvocationMetrics {
            input_token_count: 5,
            output_token_count: 7,
            invocation_latency_ms: 20,
            first_byte_latency_ms: 3,
            ..Default::default()
        },
    ));
    let chunks: Vec<Value> = chunks
        .iter()
        .map(|c| serde_json::from_slice(c).unwrap())
        .collect();
    let names: Vec<&str> = chunks
        .iter()
        .map(|c| c.as_object().unwrap().keys().next().unwrap().as_str())
        .collect();
    assert_eq!(
        names,
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockStop",
            "contentBlockStart",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    assert_eq!(chunks[1]["contentBlockDelta"]["delta"]["text"], "A red");
    assert_eq!(chunks[6]["messageStop"]["stopReason"], "tool_use");
    assert_eq!(
        chunks[7]["metadata"]["usage"],
        json!({"inputTokens": 5, "outputTokens": 7})
    );
    assert_eq!(
        chunks[7]["amazon-bedrock-invocationMetrics"]["invocationLatency"],
        20
    );
}
