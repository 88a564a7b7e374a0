use super::*;
use bedrock_local_core::ChatMessage;

const TRAITS: ModelTraits = ModelTraits {
    max_output_tokens: 32768,
    default_max_tokens: 8192,
    supports_system: true,
    supports_tools: false,
    supports_reasoning: false,
};

fn decode(body: &str) -> Result<Decoded> {
    DeepSeek.decode(body.as_bytes(), &TRAITS)
}

fn err(body: &str) -> String {
    decode(body).unwrap_err().message().to_owned()
}

fn chat(system: Option<&str>, messages: Vec<ChatMessage>) -> Prompt {
    Prompt::Chat {
        system: system.map(str::to_owned),
        messages,
        tools: vec![],
        tool_choice: ToolChoice::Auto,
    }
}

fn ctx() -> ResponseCtx {
    ResponseCtx {
        model_id: "deepseek.r1-v1:0".into(),
        response_id: "0123456789abcdef0123456789abcdef".into(),
        created_unix: 1_700_000_000,
        echo: Value::Null,
        prompt_caching: false,
    }
}

#[test]
fn ids() {
    assert!(handles("deepseek.r1-v1:0"));
    assert!(!handles("deepseek.v3-v1:0"));
}

#[test]
fn defaults_and_raw_prompt() {
    let d = decode(r#"{"prompt":"Once upon a time"}"#).unwrap();
    assert_eq!(d.prompt, Prompt::Raw("Once upon a time".into()));
    assert_eq!(d.max_tokens, 8192);
    assert_eq!(d.sampling.temperature, 0.6);
    assert_eq!(d.sampling.top_p, Some(0.95));
    let d =
        decode(r#"{"prompt":"x","temperature":0,"top_p":1,"max_tokens":32768,"stop":["a","b"]}"#)
            .unwrap();
    assert_eq!(d.max_tokens, 32768);
    assert!(d.sampling.is_greedy());
    assert_eq!(d.stop_sequences, ["a", "b"]);
}

#[test]
fn markup_becomes_a_conversation() {
    let doc = "<｜begin▁of▁sentence｜><｜User｜>Why is the sky blue?<｜Assistant｜><think>\n";
    assert_eq!(
        parse_markup(doc),
        Some(chat(
            None,
            vec![ChatMessage::text(Role::User, "Why is the sky blue?")]
        ))
    );
    let multi = "<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜>Hello!<｜end▁of▁sentence｜><｜User｜>Bye<｜Assistant｜>";
    assert_eq!(
        parse_markup(multi),
        Some(chat(
            Some("Be brief."),
            vec![
                ChatMessage::text(Role::User, "Hi"),
                ChatMessage::text(Role::Assistant, "Hello!"),
                ChatMessage::text(Role::User, "Bye"),
            ]
        ))
    );
    // A prefill after the opener is kept; a missing assistant header is a last user turn.
    let prefill = "<｜User｜>Count<｜Assistant｜><think>\nOne,";
    assert_eq!(
        parse_markup(prefill),
        Some(chat(
            None,
            vec![
                ChatMessage::text(Role::User, "Count"),
                ChatMessage::text(Role::Assistant, "<think>\nOne,"),
            ]
        ))
    );
    assert_eq!(
        parse_markup("<｜User｜>Hi"),
        Some(chat(None, vec![ChatMessage::text(Role::User, "Hi")]))
    );
}

#[test]
fn malformed_markup_stays_raw() {
    for prompt in [
        "no markup at all",
        "<｜Assistant｜>Hi",
        "<｜User｜>Hi<｜tool▁calls▁begin｜><｜Assistant｜>",
        "<｜User｜>Hi<｜Assistant｜>Yo<｜end▁of▁sentence｜>junk",
    ] {
        assert_eq!(parse_markup(prompt), None, "{prompt}");
        assert_eq!(
            decode(&json!({ "prompt": prompt }).to_string())
                .unwrap()
                .prompt,
            Prompt::Raw(prompt.into())
        );
    }
}

#[test]
fn validation_messages() {
    let table = [
        ("{}", "#: required key [prompt] not found"),
        (
            r#"{"prompt":""}"#,
            "#/prompt: expected minLength: 1, actual: 0",
        ),
        (
            r#"{"prompt":"x","max_tokens":40000}"#,
            "#/max_tokens: 40000 is not less or equal to 32768",
        ),
        (
            r#"{"prompt":"x","max_tokens":0}"#,
            "#/max_tokens: 0 is not greater or equal to 1",
        ),
        (
            r#"{"prompt":"x","temperature":1.2}"#,
            "#/temperature: 1.2 is not less or equal to 1",
        ),
        (
            r#"{"prompt":"x","stop":"END"}"#,
            "#/stop: expected type: JSONArray, found: String",
        ),
        (
            r#"{"prompt":"x","stop":["1","2","3","4","5","6","7","8","9","10","11"]}"#,
            "#/stop: expected maximum item count: 10, found: 11",
        ),
        (
            r#"{"prompt":"x","stop":[1]}"#,
            "#/stop/0: expected type: String, found: Integer",
        ),
        (
            r#"{"prompt":"x","messages":[]}"#,
            "#: extraneous key [messages] is not permitted",
        ),
    ];
    for (body, detail) in table {
        assert_eq!(
            err(body),
            format!("Malformed input request: {detail}, please reformat your input and try again."),
            "{body}"
        );
    }
}

#[test]
fn response_and_stream() {
    let c = Completion {
        reasoning: None,
        text: "<think>\nRayleigh.\n</think>\n\nScattering.".into(),
        tool_calls: vec![],
        stop_reason: StopReason::MaxTokens,
        usage: Usage {
            input_tokens: 10,
            output_tokens: 12,
            ..Default::default()
        },
        latency_ms: 5,
    };
    assert_eq!(
        String::from_utf8(DeepSeek.encode(&ctx(), &c)).unwrap(),
        r#"{"choices":[{"text":"<think>\nRayleigh.\n</think>\n\nScattering.","stop_reason":"length"}]}"#
    );
    let mut enc = DeepSeek.chunk_encoder(&ctx());
    assert!(enc.start(10).is_empty());
    let mut chunks = enc.text("Hi");
    chunks.extend(enc.text(""));
    assert!(enc.tool_call("a", "b", "{}").is_empty());
    chunks.extend(enc.finish(
        &StopReason::StopSequence("x".into()),
        c.usage,
        &InvocationMetrics {
            input_token_count: 10,
            output_token_count: 1,
            invocation_latency_ms: 30,
            first_byte_latency_ms: 20,
            ..Default::default()
        },
    ));
    let chunks: Vec<String> = chunks
        .into_iter()
        .map(|c| String::from_utf8(c).unwrap())
        .collect();
    assert_eq!(
        chunks,
        [
            r#"{"choices":[{"text":"Hi","stop_reason":null}]}"#,
            r#"{"choices":[{"text":"","stop_reason":"stop"}],"amazon-bedrock-invocationMetrics":{"inputTokenCount":10,"outputTokenCount":1,"invocationLatency":30,"firstByteLatency":20}}"#,
        ]
    );
}
