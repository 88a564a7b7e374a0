use super::command::CohereCommand;
use super::*;
use bedrock_local_core::{ChatMessage, ContentPart, Prompt, Role, ToolChoice};

const TRAITS: ModelTraits = ModelTraits {
    max_output_tokens: 4000,
    default_max_tokens: 512,
    supports_system: true,
    supports_tools: true,
    supports_reasoning: false,
};

fn decode(body: &str) -> Result<Decoded> {
    CohereChat.decode(body.as_bytes(), &TRAITS)
}

fn m(detail: &str) -> String {
    format!("Malformed input request: {detail}, please reformat your input and try again.")
}

fn ctx(echo: Value) -> ResponseCtx {
    ResponseCtx {
        model_id: "cohere.command-r-v1:0".into(),
        response_id: "0123456789abcdef0123456789abcdef".into(),
        created_unix: 1_700_000_000,
        echo,
        prompt_caching: false,
    }
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

const METRICS: &str = r#""amazon-bedrock-invocationMetrics":{"inputTokenCount":9,"outputTokenCount":2,"invocationLatency":100,"firstByteLatency":30}"#;

fn strings_of(chunks: Vec<Vec<u8>>) -> Vec<String> {
    chunks
        .into_iter()
        .map(|c| String::from_utf8(c).unwrap())
        .collect()
}

#[test]
fn dialect_by_model_id() {
    let name = |id: &str| dialect(id).map(|d| d.name());
    assert_eq!(name("cohere.command-r-v1:0"), Some("cohere"));
    assert_eq!(name("cohere.command-r-plus-v1:0"), Some("cohere"));
    assert_eq!(name("cohere.command-text-v14"), Some("cohere-command"));
    assert_eq!(
        name("cohere.command-light-text-v14"),
        Some("cohere-command")
    );
    assert_eq!(name("cohere.embed-english-v3"), None);
}

#[test]
fn ids_are_uuids() {
    assert_eq!(
        uuid_text("0123456789abcdef0123456789abcdef"),
        "01234567-89ab-cdef-0123-456789abcdef"
    );
    assert_eq!(
        generation_id("0123456789abcdef1111111111111111"),
        "11111111-1111-1111-0123-456789abcdef"
    );
    assert_eq!(uuid_text("short"), "short");
    assert_eq!(generation_id("short"), "short");
}

#[test]
fn defaults() {
    let d = decode(r#"{"message": "Hi"}"#).unwrap();
    assert_eq!(
        d.prompt,
        Prompt::Chat {
            system: None,
            messages: vec![ChatMessage::text(Role::User, "Hi")],
            tools: vec![],
            tool_choice: ToolChoice::Auto,
        }
    );
    assert_eq!(d.max_tokens, 512);
    assert_eq!(d.sampling.temperature, 0.3);
    assert_eq!(d.sampling.top_p, Some(0.75));
    assert_eq!(d.sampling.top_k, None);
    assert_eq!(d.sampling.seed, 0);
    assert_eq!(d.echo, json!({"chat_history": [], "message": "Hi"}));
}

#[test]
fn history_tools_documents_and_results() {
    let body = r#"{
      "message": "What's the weather in Paris?",
      "chat_history": [
        {"role": "USER", "message": "Hi"},
        {"role": "CHATBOT", "message": "Hello!", "tool_calls": [{"name": "clock", "parameters": {}}]},
        {"role": "TOOL", "tool_results": [{"call": {"name": "clock", "parameters": {}}, "outputs": [{"time": "noon"}]}]},
        {"role": "SYSTEM", "message": "Be terse."}
      ],
      "preamble": "You are a weather bot.",
      "documents": [{"title": "Paris", "snippet": "Paris is in France.", "year": 2024}],
      "tools": [{"name": "get_weather", "description": "Weather now",
                 "parameter_definitions": {"city": {"description": "city", "type": "str", "required": true},
                                           "days": {"type": "int"}}}],
      "tool_results": [{"call": {"name": "get_weather", "parameters": {"city": "Paris"}}, "outputs": [{"tempC": 21}]}],
      "k": 40, "p": 0.5, "seed": 42, "stop_sequences": ["\n\n"], "max_tokens": 4000
    }"#;
    let d = decode(body).unwrap();
    let Prompt::Chat {
        system,
        messages,
        tools,
        ..
    } = d.prompt
    else {
        panic!("not a chat");
    };
    assert_eq!(
        system.as_deref(),
        Some("You are a weather bot.\n\nBe terse.\n\nDocuments:\n\nDocument 0\ntitle: Paris\nsnippet: Paris is in France.\nyear: 2024")
    );
    let call = |id: &str, name: &str, input: &str| ContentPart::ToolUse {
        id: id.into(),
        name: name.into(),
        input_json: input.into(),
    };
    let result = |id: &str, content: &str| ContentPart::ToolResult {
        id: id.into(),
        content: content.into(),
        is_error: false,
    };
    assert_eq!(
        messages,
        [
            ChatMessage::text(Role::User, "Hi"),
            ChatMessage {
                role: Role::Assistant,
                content: vec![
                    ContentPart::Text("Hello!".into()),
                    call("cohere_call_0", "clock", "{}")
                ],
            },
            ChatMessage {
                role: Role::User,
                content: vec![
                    result("cohere_call_0", r#"[{"time":"noon"}]"#),
                    ContentPart::Text("What's the weather in Paris?".into()),
                ],
            },
            ChatMessage {
                role: Role::Assistant,
                content: vec![call("cohere_call_1", "get_weather", r#"{"city":"Paris"}"#)],
            },
            ChatMessage {
                role: Role::User,
                content: vec![result("cohere_call_1", r#"[{"tempC":21}]"#)],
            },
        ]
    );
    assert_eq!(tools.len(), 1);
    assert_eq!(
        tools[0].input_schema_json,
        r#"{"type":"object","properties":{"city":{"type":"string","description":"city"},"days":{"type":"integer"}},"required":["city"]}"#
    );
    assert_eq!(d.sampling.top_k, Some(40));
    assert_eq!(d.sampling.top_p, Some(0.5));
    assert_eq!(d.sampling.seed, 42);
    assert_eq!(d.stop_sequences, ["\n\n"]);
    assert_eq!(d.max_tokens, 4000);
}

#[test]
fn raw_prompting_feeds_the_message_verbatim() {
    let d = decode(r#"{"message": "<BOS_TOKEN>hi", "raw_prompting": true}"#).unwrap();
    assert_eq!(d.prompt, Prompt::Raw("<BOS_TOKEN>hi".into()));
}

#[test]
fn validation_messages() {
    let table = [
        ("{}", m("#: required key [message] not found")),
        (
            r#"{"message":"x","chat_history":[{"role":"user","message":"a"}]}"#,
            m("#/chat_history/0/role: user is not a valid enum value"),
        ),
        (
            r#"{"message":"x","chat_history":[{"role":"USER"}]}"#,
            m("#/chat_history/0: required key [message] not found"),
        ),
        (
            r#"{"message":"x","p":1}"#,
            m("#/p: 1 is not less or equal to 0.99"),
        ),
        (
            r#"{"message":"x","k":501}"#,
            m("#/k: 501 is not less or equal to 500"),
        ),
        (
            r#"{"message":"x","max_tokens":4001}"#,
            m("#/max_tokens: 4001 is not less or equal to 4000"),
        ),
        (
            r#"{"message":"x","top_p":0.5}"#,
            m("#: extraneous key [top_p] is not permitted"),
        ),
        (
            r#"{"message":"x","tools":[{"name":"f"}]}"#,
            m("#/tools/0: required key [description] not found"),
        ),
        (
            r#"{"message":"x","tool_results":[{"call":{"name":"f"},"outputs":[]}]}"#,
            m("#/tool_results/0/call: required key [parameters] not found"),
        ),
        (
            r#"{"message":"x","prompt_truncation":"ON"}"#,
            m("#/prompt_truncation: ON is not a valid enum value"),
        ),
        (
            r#"{"message":""}"#,
            m("#/message: expected minLength: 1, actual: 0"),
        ),
    ];
    for (body, message) in table {
        assert_eq!(decode(body).unwrap_err().message(), message, "body {body}");
    }
    assert!(matches!(
        decode(r#"{"message":"x","search_queries_only":true}"#),
        Err(DialectError::Unsupported(_))
    ));
    assert!(decode(r#"{"message":"x","search_queries_only":false}"#).is_ok());
}

fn completion(text: &str, reason: StopReason, calls: Vec<(String, String, String)>) -> Completion {
    Completion {
        reasoning: None,
        text: text.into(),
        tool_calls: calls,
        stop_reason: reason,
        usage: Usage {
            input_tokens: 9,
            output_tokens: 7,
            ..Default::default()
        },
        latency_ms: 10,
    }
}

#[test]
fn encode_response() {
    let echo = json!({"chat_history": [{"role": "USER", "message": "Hi"}], "message": "Weather?"});
    let c = completion("It's 21 °C.", StopReason::EndTurn, vec![]);
    assert_eq!(
        String::from_utf8(CohereChat.encode(&ctx(echo.clone()), &c)).unwrap(),
        r#"{"response_id":"01234567-89ab-cdef-0123-456789abcdef","text":"It's 21 °C.","generation_id":"01234567-89ab-cdef-0123-456789abcdef","chat_history":[{"role":"USER","message":"Hi"},{"role":"USER","message":"Weather?"},{"role":"CHATBOT","message":"It's 21 °C."}],"finish_reason":"COMPLETE","meta":{"api_version":{"version":"1"},"billed_units":{"input_tokens":9,"output_tokens":7}}}"#
    );
    let call = completion(
        "",
        StopReason::ToolUse,
        vec![(
            "tooluse_x".into(),
            "get_weather".into(),
            r#"{"city":"Paris"}"#.into(),
        )],
    );
    let v: Value = serde_json::from_slice(&CohereChat.encode(&ctx(echo), &call)).unwrap();
    assert_eq!(v["finish_reason"], "COMPLETE");
    assert_eq!(
        v["tool_calls"],
        json!([{"name": "get_weather", "parameters": {"city": "Paris"}}])
    );
    assert_eq!(v["chat_history"][2]["tool_calls"], v["tool_calls"]);
    assert_eq!(finish_reason(&StopReason::MaxTokens), "MAX_TOKENS");
    assert_eq!(
        finish_reason(&StopReason::StopSequence("\n".into())),
        "STOP_SEQUENCE"
    );
}

#[test]
fn stream_events() {
    let mut enc = CohereChat.chunk_encoder(&ctx(json!({"chat_history": [], "message": "Hi"})));
    let mut chunks = enc.start(9);
    chunks.extend(enc.text("Hel"));
    chunks.extend(enc.text(""));
    chunks.extend(enc.text("lo"));
    chunks.extend(enc.tool_call("tooluse_x", "f", "not json"));
    chunks.extend(enc.finish(
        &StopReason::ToolUse,
        Usage {
            input_tokens: 9,
            output_tokens: 2,
            ..Default::default()
        },
        &metrics(),
    ));
    let response = r#"{"response_id":"01234567-89ab-cdef-0123-456789abcdef","text":"Hello","generation_id":"01234567-89ab-cdef-0123-456789abcdef","chat_history":[{"role":"USER","message":"Hi"},{"role":"CHATBOT","message":"Hello","tool_calls":[{"name":"f","parameters":"not json"}]}],"finish_reason":"COMPLETE","tool_calls":[{"name":"f","parameters":"not json"}],"meta":{"api_version":{"version":"1"},"billed_units":{"input_tokens":9,"output_tokens":2}}}"#;
    assert_eq!(
        strings_of(chunks),
        [
            r#"{"is_finished":false,"event_type":"stream-start","generation_id":"01234567-89ab-cdef-0123-456789abcdef"}"#.to_owned(),
            r#"{"is_finished":false,"event_type":"text-generation","text":"Hel"}"#.to_owned(),
            r#"{"is_finished":false,"event_type":"text-generation","text":"lo"}"#.to_owned(),
            r#"{"is_finished":false,"event_type":"tool-calls-generation","tool_calls":[{"name":"f","parameters":"not json"}]}"#.to_owned(),
            format!(r#"{{"is_finished":true,"event_type":"stream-end","finish_reason":"COMPLETE","response":{response},{METRICS}}}"#),
        ]
    );
}

fn command(body: &str) -> Result<Decoded> {
    CohereCommand.decode(body.as_bytes(), &TRAITS)
}

#[test]
fn command_decode() {
    let d = command(
        r#"{"prompt": "Write a tagline", "stream": true, "k": 0, "return_likelihoods": "NONE"}"#,
    )
    .unwrap();
    assert_eq!(
        d.prompt,
        Prompt::Chat {
            system: None,
            messages: vec![ChatMessage::text(Role::User, "Write a tagline")],
            tools: vec![],
            tool_choice: ToolChoice::Auto,
        }
    );
    assert_eq!(d.sampling.temperature, 0.9);
    assert_eq!(d.sampling.top_p, Some(0.75));
    assert_eq!(d.sampling.top_k, None);
    assert_eq!(d.max_tokens, 512);
    assert_eq!(d.echo, json!({"prompt": "Write a tagline", "stream": true}));
    let table = [
        ("{}", m("#: required key [prompt] not found")),
        (
            r#"{"prompt":"x","temperature":5.5}"#,
            m("#/temperature: 5.5 is not less or equal to 5"),
        ),
        (
            r#"{"prompt":"x","stop_sequences":["a","b","c","d","e"]}"#,
            m("#/stop_sequences: expected maximum item count: 4, found: 5"),
        ),
        (
            r#"{"prompt":"x","num_generations":6}"#,
            m("#/num_generations: 6 is not less or equal to 5"),
        ),
        (
            r#"{"prompt":"x","truncate":"MIDDLE"}"#,
            m("#/truncate: MIDDLE is not a valid enum value"),
        ),
        (
            r#"{"prompt":"x","stream":"yes"}"#,
            m("#/stream: expected type: Boolean, found: String"),
        ),
        (
            r#"{"prompt":"x","message":"y"}"#,
            m("#: extraneous key [message] is not permitted"),
        ),
    ];
    for (body, message) in table {
        assert_eq!(command(body).unwrap_err().message(), message, "body {body}");
    }
    assert!(matches!(
        command(r#"{"prompt":"x","num_generations":2}"#),
        Err(DialectError::Unsupported(_))
    ));
}

#[test]
fn command_encode_and_streams() {
    let legacy = |stream: bool| {
        let mut c = ctx(json!({"prompt": "Write a tagline", "stream": stream}));
        c.model_id = "cohere.command-text-v14".into();
        c
    };
    let full = r#"{"generations":[{"id":"01234567-89ab-cdef-0123-456789abcdef","text":"Go far.","finish_reason":"COMPLETE"}],"id":"01234567-89ab-cdef-0123-456789abcdef","prompt":"Write a tagline"}"#;
    let c = completion("Go far.", StopReason::StopSequence("\n".into()), vec![]);
    assert_eq!(CohereCommand.encode(&legacy(false), &c), full.as_bytes());
    let run = |stream: bool| {
        let mut enc = CohereCommand.chunk_encoder(&legacy(stream));
        let mut chunks = enc.start(3);
        chunks.extend(enc.text("Go"));
        chunks.extend(enc.text(" far."));
        chunks.extend(enc.finish(&StopReason::EndTurn, Usage::default(), &metrics()));
        strings_of(chunks)
    };
    assert_eq!(
        run(false),
        [format!("{},{METRICS}}}", &full[..full.len() - 1])]
    );
    assert_eq!(
        run(true),
        [
            r#"{"text":"Go","is_finished":false}"#.to_owned(),
            r#"{"text":" far.","is_finished":false}"#.to_owned(),
            format!(
                r#"{{"is_finished":true,"finish_reason":"COMPLETE","response":{full},{METRICS}}}"#
            ),
        ]
    );
    let long = completion("Go", StopReason::MaxTokens, vec![]);
    let v: Value = serde_json::from_slice(&CohereCommand.encode(&legacy(false), &long)).unwrap();
    assert_eq!(v["generations"][0]["finish_reason"], "MAX_TOKENS");
}
