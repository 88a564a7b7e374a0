use super::*;

use crate::DialectError;

const TRAITS: ModelTraits = ModelTraits {
    max_output_tokens: 8192,
    default_max_tokens: 512,
    supports_system: false,
    supports_tools: false,
    supports_reasoning: false,
};

fn decode(body: &str) -> Result<Decoded> {
    Titan.decode(body.as_bytes(), &TRAITS)
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
        model_id: "amazon.titan-text-express-v1".into(),
        response_id: "0123456789abcdef0123456789abcdef".into(),
        created_unix: 1_700_000_000,
        echo: Value::Null,
        prompt_caching: false,
    }
}

#[test]
fn ids() {
    assert!(handles("amazon.titan-text-express-v1"));
    assert!(handles("amazon.titan-text-premier-v1:0"));
    assert!(handles("amazon.titan-tg1-large"));
    assert!(!handles("amazon.titan-embed-text-v2:0"));
    assert!(!handles("amazon.nova-lite-v1:0"));
}

#[test]
fn defaults() {
    let d = decode(r#"{"inputText": "Write a haiku about rust"}"#).unwrap();
    assert_eq!(d.prompt, Prompt::Raw("Write a haiku about rust".into()));
    assert_eq!(d.max_tokens, 512);
    assert_eq!(d.sampling.temperature, 0.7);
    assert_eq!(d.sampling.top_p, Some(0.9));
    assert_eq!(d.sampling.top_k, None);
    assert!(d.stop_sequences.is_empty());
    assert_eq!(d.echo, Value::Null);
}

#[test]
fn config() {
    let d = decode(
        r#"{"inputText":"x","textGenerationConfig":{"temperature":0,"topP":1,"maxTokenCount":8192,"stopSequences":["User:"]}}"#,
    )
    .unwrap();
    assert_eq!(d.max_tokens, 8192);
    assert!(d.sampling.is_greedy());
    assert_eq!(d.sampling.top_p, Some(1.0));
    assert_eq!(d.stop_sequences, ["User:"]);
    let empty = decode(r#"{"inputText":"x","textGenerationConfig":{}}"#).unwrap();
    assert_eq!(empty.max_tokens, 512);
}

#[test]
fn user_bot_convention() {
    let cases = [
        (
            "User: Write a haiku about rust\nBot:",
            chat(
                None,
                vec![ChatMessage::text(Role::User, "Write a haiku about rust")],
            ),
        ),
        (
            "You are terse.\n\nUser: Hi\nBot: Hello!\nUser: Name a colour.\nline two\nBot: \n",
            chat(
                Some("You are terse."),
                vec![
                    ChatMessage::text(Role::User, "Hi"),
                    ChatMessage::text(Role::Assistant, "Hello!"),
                    ChatMessage::text(Role::User, "Name a colour.\nline two"),
                ],
            ),
        ),
        (
            "User: a\nUser: b\nBot:",
            chat(None, vec![ChatMessage::text(Role::User, "a\nb")]),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_user_bot(input), expected, "{input:?}");
    }
    for raw in [
        "Write a haiku",
        "User: hi",
        "User: hi\nBot: Hello",
        "User: hi Bot:",
        "Bot:",
        "Summary:\nBot:",
        "User: \nBot:",
        "Bot: hi\nUser: x\nBot:",
    ] {
        assert_eq!(parse_user_bot(raw), Prompt::Raw(raw.into()), "{raw:?}");
    }
}

#[test]
fn validation_messages() {
    let m = |detail: &str| {
        format!("Malformed input request: {detail}, please reformat your input and try again.")
    };
    let table = [
        ("{}", m("#: required key [inputText] not found")),
        (r#"{"prompt":"x"}"#, m("#: required key [inputText] not found#: extraneous key [prompt] is not permitted")),
        (r#"{"inputText":"x","textGenerationConfig":{"stopSequences":"User:"}}"#, m("#/textGenerationConfig/stopSequences: expected type: JSONArray, found: String")),
        (r#"{"inputText":"x","textGenerationConfig":{"max_tokens":5}}"#, m("#/textGenerationConfig: extraneous key [max_tokens] is not permitted")),
        (r#"{"inputText":"x","textGenerationConfig":"hot"}"#, m("#/textGenerationConfig: expected type: JSONObject, found: String")),
        (r#"{"inputText":"x","textGenerationConfig":{"maxTokenCount":9000}}"#, m("#/textGenerationConfig/maxTokenCount: 9000 is not less or equal to 8192")),
        (r#"{"inputText":"x","textGenerationConfig":{"maxTokenCount":-1}}"#, m("#/textGenerationConfig/maxTokenCount: -1 is not greater or equal to 0")),
        (r#"{"inputText":"x","textGenerationConfig":{"topP":1.1,"temperature":-1}}"#, m("#/textGenerationConfig/temperature: -1 is not greater or equal to 0#/textGenerationConfig/topP: 1.1 is not less or equal to 1")),
        (r#"{"inputText":""}"#, m("#/inputText: expected minLength: 1, actual: 0")),
        ("nope", "Malformed input request, please reformat your input and try again.".to_owned()),
    ];
    for (body, message) in table {
        let e = decode(body).unwrap_err();
        assert!(matches!(e, DialectError::Validation(_)));
        assert_eq!(e.message(), message, "body {body}");
    }
}

#[test]
fn encode_response() {
    let c = Completion {
        reasoning: None,
        text: "\nIron oxide blooms".into(),
        tool_calls: vec![],
        stop_reason: StopReason::EndTurn,
        usage: Usage {
            input_tokens: 11,
            output_tokens: 17,
            ..Default::default()
        },
        latency_ms: 5,
    };
    assert_eq!(
        String::from_utf8(Titan.encode(&ctx(), &c)).unwrap(),
        r#"{"inputTextTokenCount":11,"results":[{"tokenCount":17,"outputText":"\nIron oxide blooms","completionReason":"FINISH"}]}"#
    );
    assert_eq!(completion_reason(&StopReason::MaxTokens), "LENGTH");
    assert_eq!(
        completion_reason(&StopReason::StopSequence("User:".into())),
        "STOP_CRITERIA_MET"
    );
}

#[test]
fn stream_chunks() {
    let mut enc = Titan.chunk_encoder(&ctx());
    let mut chunks = enc.start(11);
    chunks.extend(enc.text("\nIron"));
    chunks.extend(enc.text(""));
    chunks.extend(enc.text(" oxide"));
    assert!(enc.tool_call("id", "f", "{}").is_empty());
    chunks.extend(enc.finish(
        &StopReason::MaxTokens,
        Usage {
            input_tokens: 11,
            output_tokens: 2,
            ..Default::default()
        },
        &InvocationMetrics {
            input_token_count: 11,
            output_token_count: 2,
            invocation_latency_ms: 90,
            first_byte_latency_ms: 40,
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
            r#"{"outputText":"\nIron","index":0,"totalOutputTextTokenCount":1,"completionReason":null,"inputTextTokenCount":11}"#,
            r#"{"outputText":" oxide","index":0,"totalOutputTextTokenCount":2,"completionReason":null,"inputTextTokenCount":null}"#,
            r#"{"outputText":"","index":0,"totalOutputTextTokenCount":2,"completionReason":"LENGTH","inputTextTokenCount":null,"amazon-bedrock-invocationMetrics":{"inputTokenCount":11,"outputTokenCount":2,"invocationLatency":90,"firstByteLatency":40}}"#,
        ]
    );
}
