use super::*;
use crate::InvocationMetrics;
use bedrock_local_core::{ChatMessage, Prompt, StopReason, Usage};

const TRAITS: ModelTraits = ModelTraits {
    max_output_tokens: 32768,
    default_max_tokens: 4096,
    supports_system: true,
    supports_tools: true,
    supports_reasoning: false,
};

fn decode(body: &str) -> Result<Decoded> {
    OpenAi.decode(body.as_bytes(), &TRAITS)
}

fn err(body: &str) -> String {
    decode(body).unwrap_err().message().to_owned()
}

fn ctx(echo: Value) -> ResponseCtx {
    ResponseCtx {
        model_id: "openai.gpt-oss-20b-1:0".into(),
        response_id: "0123456789abcdef0123456789abcdef".into(),
        created_unix: 1_754_400_000,
        echo,
        prompt_caching: false,
    }
}

#[test]
fn doc_body() {
    let d = decode(
        r#"{"messages":[{"role":"developer","content":"Be brief."},{"role":"user","content":"Hi"}],
        "max_completion_tokens":256,"temperature":0.7,"top_p":0.9,"stop":["\n\n"],"reasoning_effort":"low"}"#,
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
    assert_eq!(d.max_tokens, 256);
    assert_eq!(d.sampling.temperature, 0.7);
    assert_eq!(d.sampling.top_p, Some(0.9));
    assert_eq!(d.stop_sequences, ["\n\n"]);
    assert_eq!(
        d.echo,
        json!({"model": null, "stream": null, "include_usage": false})
    );
}

#[test]
fn defaults_parts_and_tool_history() {
    let d = decode(
        r#"{"model":"openai.gpt-oss-20b-1:0","stream":false,"stop":"END","max_tokens":9,
        "messages":[
          {"role":"system","content":[{"type":"text","text":"A"},{"type":"text","text":"B"}]},
          {"role":"user","content":"Weather?"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"w","arguments":"{\"c\":\"P\"}"}}]},
          {"role":"tool","tool_call_id":"call_1","content":"21C"},
          {"role":"user","content":"Thanks"}],
        "tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object"}}}],
        "tool_choice":{"type":"function","function":{"name":"w"}}}"#,
    )
    .unwrap();
    assert_eq!(d.max_tokens, 9);
    assert_eq!(d.stop_sequences, ["END"]);
    assert_eq!(d.sampling.temperature, 1.0);
    let Prompt::Chat {
        system,
        messages,
        tools,
        tool_choice,
    } = d.prompt
    else {
        panic!("chat")
    };
    assert_eq!(system.as_deref(), Some("A\nB"));
    assert_eq!(tool_choice, ToolChoice::Tool("w".into()));
    assert_eq!(tools[0].input_schema_json, r#"{"type":"object"}"#);
    assert_eq!(messages.len(), 3);
    assert_eq!(
        messages[1].content,
        [ContentPart::ToolUse {
            id: "call_1".into(),
            name: "w".into(),
            input_json: r#"{"c":"P"}"#.into()
        }]
    );
    assert_eq!(
        messages[2].content,
        [
            ContentPart::ToolResult {
                id: "call_1".into(),
                content: "21C".into(),
                is_error: false
            },
            ContentPart::Text("Thanks".into())
        ]
    );
    assert_eq!(
        d.echo,
        json!({"model": "openai.gpt-oss-20b-1:0", "stream": false, "include_usage": false})
    );
    let d = decode(r#"{"messages":[{"role":"user","content":"x"}]}"#).unwrap();
    assert_eq!(d.max_tokens, 4096);
}

#[test]
fn tool_choice_modes() {
    let body = |choice: &str| {
        format!(
            r#"{{"messages":[{{"role":"user","content":"x"}}],"tools":[{{"type":"function","function":{{"name":"w"}}}}],"tool_choice":{choice}}}"#
        )
    };
    let choice = |c: &str| match decode(&body(c)).unwrap().prompt {
        Prompt::Chat {
            tools, tool_choice, ..
        } => (tools.len(), tool_choice),
        Prompt::Raw(_) => panic!("chat"),
    };
    assert_eq!(choice(r#""auto""#), (1, ToolChoice::Auto));
    assert_eq!(choice(r#""required""#), (1, ToolChoice::Any));
    assert_eq!(choice(r#""none""#), (0, ToolChoice::Auto));
    assert!(err(&body(r#"{"type":"function","function":{"name":"nope"}}"#)).contains("nope"));
}

#[test]
fn serde_errors_in_the_model_server_form() {
    assert_eq!(
        err(r#"{"messages":[{"role":"user","content":"x"}],"reasoning_effort":{"a":1}}"#),
        "Failed to deserialize the JSON body into the target type: reasoning_effort: invalid type: map, expected a string at line 1 column 63"
    );
    assert_eq!(
        err(r#"{"model":"m"}"#),
        "Failed to deserialize the JSON body into the target type: missing field `messages` at line 1 column 13"
    );
    assert_eq!(
        err(r#"{"messages":[{"role":"bot","content":"x"}]}"#),
        "Failed to deserialize the JSON body into the target type: messages[0].role: unknown variant `bot`, expected one of `system`, `developer`, `user`, `assistant`, `tool` at line 1 column 26"
    );
    assert_eq!(
        err(r#"{"messages":[{"role":"user","content":5}]}"#),
        "Failed to deserialize the JSON body into the target type: messages[0]: data did not match any variant of untagged enum Content at line 1 column 41"
    );
    assert_eq!(
        err(r#"{"messages":[{"role":"tool","content":"x"}]}"#),
        "Failed to deserialize the JSON body into the target type: messages[0]: missing field `tool_call_id` at line 1 column 43"
    );
    assert_eq!(
        err("not json"),
        "Failed to parse the request body as JSON: expected ident at line 1 column 2"
    );
    assert!(err(r#"{"messages":[]} x"#).starts_with("Failed to parse the request body as JSON"));
}

#[test]
fn refusals() {
    let image = r#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:,"}}]}]}"#;
    assert!(matches!(decode(image), Err(DialectError::Unsupported(_))));
    assert!(matches!(
        decode(r#"{"messages":[{"role":"user","content":"x"}],"n":2}"#),
        Err(DialectError::Unsupported(_))
    ));
    assert_eq!(
        err(r#"{"messages":[{"role":"user","content":"x"}],"max_completion_tokens":40000}"#),
        "The maximum tokens you requested exceeds the model limit of 32768. Try again with a maximum tokens value that is lower than 32768."
    );
    for body in [
        r#"{"messages":[]}"#,
        r#"{"messages":[{"role":"user","content":"x"}],"max_tokens":0}"#,
        r#"{"messages":[{"role":"user","content":"x"}],"temperature":3}"#,
        r#"{"messages":[{"role":"user","content":"x"}],"top_p":1.5}"#,
        r#"{"messages":[{"role":"user","content":"x"}],"n":0}"#,
    ] {
        assert!(
            matches!(decode(body), Err(DialectError::Validation(_))),
            "{body}"
        );
    }
}

#[test]
fn invocation_checks() {
    let id = "openai.gpt-oss-20b-1:0";
    let echo = |model: Value, stream: Value| json!({"model": model, "stream": stream});
    assert!(check_invocation(&echo(Value::Null, Value::Null), id, false).is_ok());
    assert!(check_invocation(&echo(Value::Null, Value::Null), id, true).is_ok());
    assert!(check_invocation(&echo(json!(id), json!(false)), id, false).is_ok());
    assert!(check_invocation(&echo(json!(id), json!(true)), id, true).is_ok());
    assert!(check_invocation(&echo(Value::Null, json!(true)), id, false).is_err());
    assert!(check_invocation(&echo(Value::Null, json!(false)), id, true).is_err());
    assert!(check_invocation(
        &echo(json!("openai.gpt-oss-120b-1:0"), Value::Null),
        id,
        false
    )
    .is_err());
}

#[test]
fn response_bodies() {
    let c = Completion {
        reasoning: None,
        text: "Hello!".into(),
        tool_calls: vec![],
        stop_reason: StopReason::EndTurn,
        usage: Usage {
            input_tokens: 21,
            output_tokens: 30,
            ..Default::default()
        },
        latency_ms: 5,
    };
    assert_eq!(
        String::from_utf8(OpenAi.encode(&ctx(Value::Null), &c)).unwrap(),
        r#"{"id":"chatcmpl-0123456789abcdef0123456789abcdef","object":"chat.completion","created":1754400000,"model":"openai.gpt-oss-20b-1:0","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":21,"completion_tokens":30,"total_tokens":51}}"#
    );
    let tool = Completion {
        text: String::new(),
        tool_calls: vec![("call_1".into(), "w".into(), String::new())],
        ..c
    };
    let v: Value = serde_json::from_slice(&OpenAi.encode(&ctx(Value::Null), &tool)).unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(v["choices"][0]["message"]["content"], Value::Null);
    assert_eq!(
        v["choices"][0]["message"]["tool_calls"],
        json!([{"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}])
    );
}

#[test]
fn stream_with_usage() {
    let mut enc = OpenAi.chunk_encoder(&ctx(json!({"include_usage": true})));
    let mut chunks = enc.start(3);
    chunks.extend(enc.text("Hi"));
    chunks.extend(enc.tool_call("call_1", "w", "{\"a\":1}"));
    chunks.extend(enc.finish(
        &StopReason::EndTurn,
        Usage {
            input_tokens: 3,
            output_tokens: 4,
            ..Default::default()
        },
        &InvocationMetrics::default(),
    ));
    let v: Vec<Value> = chunks
        .iter()
        .map(|c| serde_json::from_slice(c).unwrap())
        .collect();
    assert_eq!(v.len(), 5);
    assert_eq!(v[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(v[1]["choices"][0]["delta"]["content"], "Hi");
    assert_eq!(v[2]["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
    assert_eq!(v[3]["choices"][0]["finish_reason"], "tool_calls");
    assert!(v[3].get("amazon-bedrock-invocationMetrics").is_none());
    assert_eq!(v[4]["choices"], json!([]));
    assert_eq!(v[4]["usage"]["total_tokens"], 7);
    assert!(v[4].get("amazon-bedrock-invocationMetrics").is_some());
    assert!(v.iter().all(|c| c["object"] == "chat.completion.chunk"));
}
