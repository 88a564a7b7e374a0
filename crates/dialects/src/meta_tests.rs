use super::*;
use bedrock_local_core::{ChatMessage, Prompt, Role, ToolChoice};

const TRAITS: ModelTraits = ModelTraits {
    max_output_tokens: 2048,
    default_max_tokens: 512,
    supports_system: true,
    supports_tools: false,
    supports_reasoning: false,
};

fn decode(body: &str) -> Result<Decoded> {
    Meta.decode(body.as_bytes(), &TRAITS)
}

fn err(body: &str) -> String {
    decode(body).unwrap_err().message().to_owned()
}

#[test]
fn defaults() {
    let d = decode(r#"{"prompt": "Say hi"}"#).unwrap();
    assert_eq!(d.prompt, Prompt::Raw("Say hi".into()));
    assert_eq!(d.max_tokens, 512);
    assert_eq!(d.sampling.temperature, 0.5);
    assert_eq!(d.sampling.top_p, Some(0.9));
    assert_eq!(d.sampling.top_k, None);
    assert_eq!(d.sampling.seed, 0);
    assert!(d.stop_sequences.is_empty());
}

#[test]
fn guide_body_decodes_to_one_user_message() {
    let body = r#"{"prompt": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nSay Hello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", "max_gen_len": 2, "temperature": 0.9}"#;
    let d = decode(body).unwrap();
    assert_eq!(
        d.prompt,
        Prompt::Chat {
            system: None,
            messages: vec![ChatMessage::text(Role::User, "Say Hello!")],
            tools: vec![],
            tool_choice: ToolChoice::Auto,
        }
    );
    assert_eq!(d.max_tokens, 2);
    assert_eq!(d.sampling.temperature, 0.9);
}

#[test]
fn boundaries_are_accepted() {
    let d = decode(r#"{"prompt":"x","temperature":0,"top_p":1,"max_gen_len":2048}"#).unwrap();
    assert_eq!(d.max_tokens, 2048);
    assert!(d.sampling.is_greedy());
    assert!(decode(r#"{"prompt":"x","temperature":1.0,"top_p":0.0,"max_gen_len":1}"#).is_ok());
}

#[test]
fn validation_messages() {
    let table = [
        ("not json", "Malformed input request, please reformat your input and try again."),
        ("[1,2]", "Malformed input request, please reformat your input and try again."),
        ("\"prompt\"", "Malformed input request, please reformat your input and try again."),
        ("", "Malformed input request, please reformat your input and try again."),
        ("{}", "Malformed input request: #: required key [prompt] not found, please reformat your input and try again."),
        (r#"{"prompt":"x","foo":1}"#, "Malformed input request: #: extraneous key [foo] is not permitted, please reformat your input and try again."),
        (r#"{"prompt":"x","stream":true,"model":"m"}"#, "Malformed input request: #: extraneous key [stream] is not permitted#: extraneous key [model] is not permitted, please reformat your input and try again."),
        (r#"{"prompt":"x","images":["aGk="]}"#, "Malformed input request: #: extraneous key [images] is not permitted, please reformat your input and try again."),
        (r#"{"prompt":"x","temperature":"hot"}"#, "Malformed input request: #/temperature: expected type: Number, found: String, please reformat your input and try again."),
        (r#"{"prompt":"x","top_p":null}"#, "Malformed input request: #/top_p: expected type: Number, found: Null, please reformat your input and try again."),
        (r#"{"prompt":5}"#, "Malformed input request: #/prompt: expected type: String, found: Integer, please reformat your input and try again."),
        (r#"{"prompt":["a"]}"#, "Malformed input request: #/prompt: expected type: String, found: JSONArray, please reformat your input and try again."),
        (r#"{"prompt":""}"#, "Malformed input request: #/prompt: expected minLength: 1, actual: 0, please reformat your input and try again."),
        (r#"{"prompt":"x","max_gen_len":"9"}"#, "Malformed input request: #/max_gen_len: expected type: Integer, found: String, please reformat your input and try again."),
        (r#"{"prompt":"x","max_gen_len":2.5}"#, "Malformed input request: #/max_gen_len: expected type: Integer, found: BigDecimal, please reformat your input and try again."),
        (r#"{"prompt":"x","max_gen_len":4096}"#, "Malformed input request: #/max_gen_len: 4096 is not less or equal to 2048, please reformat your input and try again."),
        (r#"{"prompt":"x","max_gen_len":0}"#, "Malformed input request: #/max_gen_len: 0 is not greater or equal to 1, please reformat your input and try again."),
        (r#"{"prompt":"x","temperature":1.5}"#, "Malformed input request: #/temperature: 1.5 is not less or equal to 1, please reformat your input and try again."),
        (r#"{"prompt":"x","top_p":-0.1}"#, "Malformed input request: #/top_p: -0.1 is not greater or equal to 0, please reformat your input and try again."),
        (r#"{"foo":1,"temperature":"x"}"#, "Malformed input request: #: required key [prompt] not found#/temperature: expected type: Number, found: String#: extraneous key [foo] is not permitted, please reformat your input and try again."),
    ];
    for (body, message) in table {
        assert_eq!(err(body), message, "body {body:?}");
        assert!(matches!(
            decode(body),
            Err(crate::DialectError::Validation(_))
        ));
    }
}

#[test]
fn encode_response() {
    let c = Completion {
        reasoning: None,
        text: "Hello!".into(),
        tool_calls: vec![],
        stop_reason: StopReason::EndTurn,
        usage: Usage {
            input_tokens: 18,
            output_tokens: 3,
            ..Default::default()
        },
        latency_ms: 10,
    };
    assert_eq!(
        String::from_utf8(Meta.encode(&ctx(), &c)).unwrap(),
        r#"{"generation":"Hello!","prompt_token_count":18,"generation_token_count":3,"stop_reason":"stop"}"#
    );
    let long = Completion {
        stop_reason: StopReason::MaxTokens,
        ..c.clone()
    };
    assert!(String::from_utf8(Meta.encode(&ctx(), &long))
        .unwrap()
        .ends_with(r#""stop_reason":"length"}"#));
    let stop_seq = Completion {
        stop_reason: StopReason::StopSequence("\n".into()),
        ..c
    };
    assert!(String::from_utf8(Meta.encode(&ctx(), &stop_seq))
        .unwrap()
        .ends_with(r#""stop_reason":"stop"}"#));
}

#[test]
fn stream_chunks() {
    let mut enc = Meta.chunk_encoder(&ctx());
    assert!(enc.start(18).is_empty());
    let mut chunks = Vec::new();
    chunks.extend(enc.text("Hel"));
    chunks.extend(enc.text(""));
    chunks.extend(enc.text("lo"));
    assert!(enc.tool_call("id", "f", "{}").is_empty());
    chunks.extend(enc.finish(
        &StopReason::EndTurn,
        Usage {
            input_tokens: 18,
            output_tokens: 3,
            ..Default::default()
        },
        &InvocationMetrics {
            input_token_count: 18,
            output_token_count: 3,
            invocation_latency_ms: 120,
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
            r#"{"generation":"Hel","prompt_token_count":18,"generation_token_count":1,"stop_reason":null}"#,
            r#"{"generation":"lo","prompt_token_count":null,"generation_token_count":2,"stop_reason":null}"#,
            r#"{"generation":"","prompt_token_count":null,"generation_token_count":3,"stop_reason":"stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":18,"outputTokenCount":3,"invocationLatency":120,"firstByteLatency":40}}"#,
        ]
    );
}

#[test]
fn stream_without_text_puts_prompt_count_on_the_last_chunk() {
    let mut enc = Meta.chunk_encoder(&ctx());
    enc.start(7);
    let last = enc.finish(
        &StopReason::MaxTokens,
        Usage::default(),
        &InvocationMetrics::default(),
    );
    let v: Value = serde_json::from_slice(&last[0]).unwrap();
    assert_eq!(v["prompt_token_count"], 7);
    assert_eq!(v["stop_reason"], "length");
}

fn ctx() -> ResponseCtx {
    ResponseCtx {
        model_id: "meta.llama3-8b-instruct-v1:0".into(),
        response_id: "0123456789abcdef0123456789abcdef".into(),
        created_unix: 1_700_000_000,
        echo: serde_json::Value::Null,
        prompt_caching: false,
    }
}
