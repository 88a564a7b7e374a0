//! Golden tests: request/response/stream fixtures under `tests/golden/<dialect>/`, asserted
//! exactly (see `tests/golden/README.md` for the file conventions and sources).

// Test helpers outside #[test] functions: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use bedrock_local_core::{ContentPart, Prompt, StopReason, ToolChoice, Usage};
use bedrock_local_dialects::converse::{self, stream, ResponseEcho};
use bedrock_local_dialects::{
    invoke_dialect, Completion, Decoded, DialectError, InvocationMetrics, ModelTraits, ResponseCtx,
};
use serde_json::{json, Value};

const DEFAULT_TRAITS: ModelTraits = ModelTraits {
    max_output_tokens: 2048,
    default_max_tokens: 512,
    supports_system: true,
    supports_tools: true,
    supports_reasoning: false,
};

fn dir(dialect: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(dialect)
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Case names in a directory that have a file with this suffix.
fn cases(dialect: &str, suffix: &str) -> BTreeSet<String> {
    fs::read_dir(dir(dialect))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(suffix).map(str::to_owned)
        })
        .collect()
}

fn float(x: f32) -> Value {
    json!(format!("{x}").parse::<f64>().unwrap())
}

/// The neutral JSON form of a decoded request (see the README).
fn decoded_json(d: &Decoded) -> Value {
    let prompt = match &d.prompt {
        Prompt::Raw(text) => json!({ "raw": text }),
        Prompt::Chat {
            system,
            messages,
            tools,
            tool_choice,
        } => {
            let messages: Vec<Value> = messages
                .iter()
                .map(|m| {
                    let content: Vec<Value> = m
                        .content
                        .iter()
                        .map(|part| match part {
                            ContentPart::Text(t) => json!({ "text": t }),
                            ContentPart::ToolUse {
                                id,
                                name,
                                input_json,
                            } => json!({ "toolUse": {"id": id, "name": name, "input_json": input_json} }),
                            ContentPart::ToolResult {
                                id,
                                content,
                                is_error,
                            } => json!({ "toolResult": {"id": id, "content": content, "is_error": is_error} }),
                        })
                        .collect();
                    json!({ "role": m.role.as_str(), "content": content })
                })
                .collect();
            let tools: Vec<Value> = tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema_json": t.input_schema_json}))
                .collect();
            let choice = match tool_choice {
                ToolChoice::Auto => json!("auto"),
                ToolChoice::Any => json!("any"),
                ToolChoice::Tool(name) => json!({ "tool": name }),
            };
            json!({ "chat": {"system": system, "messages": messages, "tools": tools, "tool_choice": choice} })
        }
    };
    json!({
        "prompt": prompt,
        "max_tokens": d.max_tokens,
        "temperature": float(d.sampling.temperature),
        "top_p": d.sampling.top_p.map(float),
        "top_k": d.sampling.top_k,
        "stop_sequences": d.stop_sequences,
    })
}

fn stop_reason(v: &Value) -> StopReason {
    match v {
        Value::String(s) if s == "end_turn" => StopReason::EndTurn,
        Value::String(s) if s == "max_tokens" => StopReason::MaxTokens,
        Value::String(s) if s == "tool_use" => StopReason::ToolUse,
        other => StopReason::StopSequence(other["stop_sequence"].as_str().unwrap().to_owned()),
    }
}

fn completion(v: &Value) -> Completion {
    Completion {
        reasoning: None,
        text: v["text"].as_str().unwrap().to_owned(),
        tool_calls: v["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let s = |i: usize| c[i].as_str().unwrap().to_owned();
                (s(0), s(1), s(2))
            })
            .collect(),
        stop_reason: stop_reason(&v["stop_reason"]),
        usage: Usage {
            input_tokens: v["input_tokens"].as_u64().unwrap() as u32,
            output_tokens: v["output_tokens"].as_u64().unwrap() as u32,
            ..Default::default()
        },
        latency_ms: v["latency_ms"].as_u64().unwrap(),
    }
}

fn traits(dialect: &str, case: &str) -> ModelTraits {
    let path = dir(dialect).join(format!("{case}.traits.json"));
    if !path.exists() {
        return DEFAULT_TRAITS;
    }
    let v = read_json(&path);
    ModelTraits {
        max_output_tokens: v["max_output_tokens"].as_u64().unwrap() as u32,
        default_max_tokens: v["default_max_tokens"].as_u64().unwrap() as u32,
        supports_system: v["supports_system"].as_bool().unwrap(),
        supports_tools: v["supports_tools"].as_bool().unwrap(),
        supports_reasoning: false,
    }
}

fn check_requests(
    dialect: &str,
    decode: impl Fn(&[u8], &ModelTraits) -> Result<Decoded, DialectError>,
) {
    let names = cases(dialect, ".request.json");
    assert!(!names.is_empty());
    for case in names {
        let d = dir(dialect);
        let body = fs::read(d.join(format!("{case}.request.json"))).unwrap();
        let result = decode(&body, &traits(dialect, &case));
        let decoded_path = d.join(format!("{case}.decoded.json"));
        if decoded_path.exists() {
            let got = decoded_json(&result.unwrap_or_else(|e| panic!("{dialect}/{case}: {e}")));
            assert_eq!(got, read_json(&decoded_path), "{dialect}/{case}");
        } else {
            let expected = read_json(&d.join(format!("{case}.error.json")));
            let err = result.expect_err(&case);
            let kind = match err {
                DialectError::Validation(_) => "Validation",
                DialectError::Unsupported(_) => "Unsupported",
            };
            assert_eq!(
                json!({"kind": kind, "message": err.message()}),
                expected,
                "{dialect}/{case}"
            );
        }
    }
}

fn check_responses(dialect: &str, encode: impl Fn(&str, &Value) -> Vec<u8>) {
    let names = cases(dialect, ".completion.json");
    assert!(!names.is_empty());
    for case in names {
        let d = dir(dialect);
        let got = String::from_utf8(encode(
            &case,
            &read_json(&d.join(format!("{case}.completion.json"))),
        ))
        .unwrap();
        // Re-serialising the fixture compactly keeps its key order (serde_json preserve_order).
        let expected = read_json(&d.join(format!("{case}.response.json"))).to_string();
        assert_eq!(got, expected, "{dialect}/{case}");
    }
}

/// The fixed response identity of every golden case (a `NAME.ctx.json` may override fields:
/// `model_id`, `response_id`, `created_unix`, `echo`).
fn response_ctx(dialect: &str, case: &str, model_id: &str) -> ResponseCtx {
    let mut ctx = ResponseCtx {
        model_id: model_id.to_owned(),
        response_id: "0123456789abcdef0123456789abcdef".to_owned(),
        created_unix: 1_700_000_000,
        echo: Value::Null,
        prompt_caching: false,
    };
    let path = dir(dialect).join(format!("{case}.ctx.json"));
    if path.exists() {
        let v = read_json(&path);
        if let Some(m) = v["model_id"].as_str() {
            ctx.model_id = m.to_owned();
        }
        if let Some(r) = v["response_id"].as_str() {
            ctx.response_id = r.to_owned();
        }
        if let Some(c) = v["created_unix"].as_u64() {
            ctx.created_unix = c;
        }
        if let Some(e) = v.get("echo") {
            ctx.echo = e.clone();
        }
    }
    ctx
}

/// InvokeModel dialect directories: every `tests/golden/<dir>` holding a `model_id.txt` (the
/// model id whose provider picks the dialect).
fn invoke_dirs() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut dirs: Vec<(String, String)> = fs::read_dir(root)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let model = fs::read_to_string(e.path().join("model_id.txt")).ok()?;
            Some((
                e.file_name().into_string().unwrap(),
                model.trim().to_owned(),
            ))
        })
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn invoke_dialect_requests() {
    let dirs = invoke_dirs();
    assert!(dirs.iter().any(|(d, _)| d == "meta"));
    for (name, model_id) in dirs {
        let dialect = invoke_dialect(&model_id).unwrap_or_else(|| panic!("{name}: no dialect"));
        check_requests(&name, |body, t| dialect.decode(body, t));
    }
}

#[test]
fn invoke_dialect_responses() {
    for (name, model_id) in invoke_dirs() {
        let dialect = invoke_dialect(&model_id).unwrap();
        if cases(&name, ".completion.json").is_empty() {
            continue;
        }
        check_responses(&name, |case, v| {
            dialect.encode(&response_ctx(&name, case, &model_id), &completion(v))
        });
    }
}

fn metrics(m: &Value) -> InvocationMetrics {
    let n = |k: &str| m[k].as_u64().unwrap();
    InvocationMetrics {
        input_token_count: n("input_token_count") as u32,
        output_token_count: n("output_token_count") as u32,
        invocation_latency_ms: n("invocation_latency_ms"),
        first_byte_latency_ms: n("first_byte_latency_ms"),
        ..Default::default()
    }
}

/// `NAME.stream.json`: `events` (`{"start": n}`, `{"text": s}`, `{"tool_call": [id, name,
/// input_json]}`, `{"finish": {...}}`) fed to a fresh chunk encoder must give `chunks`.
#[test]
fn invoke_dialect_streams() {
    for (name, model_id) in invoke_dirs() {
        let dialect = invoke_dialect(&model_id).unwrap();
        for case in cases(&name, ".stream.json") {
            let fixture = read_json(&dir(&name).join(format!("{case}.stream.json")));
            let mut encoder = dialect.chunk_encoder(&response_ctx(&name, &case, &model_id));
            let mut chunks = Vec::new();
            for event in fixture["events"].as_array().unwrap() {
                if let Some(n) = event.get("start") {
                    chunks.extend(encoder.start(n.as_u64().unwrap() as u32));
                } else if let Some(t) = event.get("text") {
                    chunks.extend(encoder.text(t.as_str().unwrap()));
                } else if let Some(c) = event.get("tool_call") {
                    let s = |i: usize| c[i].as_str().unwrap();
                    chunks.extend(encoder.tool_call(s(0), s(1), s(2)));
                } else {
                    let f = &event["finish"];
                    let n = |v: &Value| v.as_u64().unwrap() as u32;
                    chunks.extend(encoder.finish(
                        &stop_reason(&f["stop_reason"]),
                        Usage {
                            input_tokens: n(&f["input_tokens"]),
                            output_tokens: n(&f["output_tokens"]),
                            ..Default::default()
                        },
                        &metrics(&f["metrics"]),
                    ));
                }
            }
            let got: Vec<String> = chunks
                .into_iter()
                .map(|c| String::from_utf8(c).unwrap())
                .collect();
            let expected: Vec<String> = fixture["chunks"]
                .as_array()
                .unwrap()
                .iter()
                .map(Value::to_string)
                .collect();
            assert_eq!(got, expected, "{name}/{case}");
        }
    }
}

#[test]
fn converse_requests() {
    check_requests("converse", |body, t| {
        converse::decode_request(body, t).map(|r| r.decoded)
    });
}

#[test]
fn converse_responses() {
    check_responses("converse", |_, v| {
        let echo = ResponseEcho {
            performance_latency: v["echo"]["performance_latency"].as_str().map(str::to_owned),
            service_tier: v["echo"]["service_tier"].as_str().map(str::to_owned),
            prompt_caching: false,
        };
        converse::encode_response_with(&completion(v), &echo)
    });
}

#[test]
fn converse_stream_text_then_tool() {
    let events = [
        stream::message_start(),
        stream::text_delta(0, "Let me check"),
        stream::text_delta(0, " the weather."),
        stream::content_block_stop(0),
        stream::tool_use_start(1, "tooluse_lU3dsc1DQf6nkai4BGO8WQ", "get_weather"),
        stream::tool_use_delta(1, "{\"city\":"),
        stream::tool_use_delta(1, "\"Paris\"}"),
        stream::content_block_stop(1),
        stream::message_stop(&StopReason::ToolUse),
        stream::metadata(
            Usage {
                input_tokens: 412,
                output_tokens: 58,
                ..Default::default()
            },
            1432,
            &ResponseEcho::default(),
        ),
    ];
    let fixture = read_json(&dir("converse").join("text_then_tool.stream.json"));
    let expected: Vec<(String, String)> = fixture
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_owned(), pair[1].to_string()))
        .collect();
    let got: Vec<(String, String)> = events
        .into_iter()
        .map(|(t, payload)| (t.to_owned(), String::from_utf8(payload).unwrap()))
        .collect();
    assert_eq!(got, expected);
}
