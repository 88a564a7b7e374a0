//! Record and replay through the real binary: server A (tiny models) is the upstream, server
//! B records through it (`--record DIR --upstream <A>`), server C replays the cassettes with A
//! gone (`--replay DIR`), byte for byte and chunk for chunk, and misses fail loudly or fall
//! through to the local model.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::path::Path;

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::primitives::Blob;
use common::Server;
use serde_json::Value;

const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const LLAMA: &str = "meta.llama3-8b-instruct-v1:0";
const AKID: &str = "AKIDRECORDTEST";
const SECRET: &str = "record-secret-value";
const TOKEN: &str = "record-session-token";

/// What the three SDK calls returned, as comparable strings/bytes.
#[derive(Debug, PartialEq)]
struct Outcomes {
    converse: String,
    stream: Vec<String>,
    invoke: Vec<u8>,
}

async fn three_calls(server: &Server) -> Outcomes {
    let client = common::runtime_client(server).await;
    let out = client
        .converse()
        .model_id(HAIKU)
        .messages(common::user("Say hello."))
        .inference_config(common::greedy(8))
        .send()
        .await
        .unwrap();
    let converse = format!(
        "{:?} {:?} {:?} {:?}",
        out.output(),
        out.stop_reason(),
        out.usage(),
        out.metrics()
    );
    let mut stream = client
        .converse_stream()
        .model_id(HAIKU)
        .messages(common::user("Tell me a story."))
        .inference_config(common::greedy(8))
        .send()
        .await
        .unwrap()
        .stream;
    let mut events = Vec::new();
    while let Some(event) = stream.recv().await.unwrap() {
        events.push(format!("{event:?}"));
    }
    let invoke = client
        .invoke_model()
        .model_id(LLAMA)
        .content_type("application/json")
        .body(Blob::new(
            r#"{"prompt": "Hello", "max_gen_len": 6, "temperature": 0}"#,
        ))
        .send()
        .await
        .unwrap()
        .body
        .into_inner();
    Outcomes {
        converse,
        stream: events,
        invoke,
    }
}

/// Replayed outcomes equal the recorded ones. The stream's cassette was recorded a second
/// time by the raw request (its bytes are compared exactly there), so only the latency in its
/// metadata event may differ from the first SDK recording.
fn assert_replayed(replayed: &Outcomes, recorded: &Outcomes) {
    assert_eq!(replayed.converse, recorded.converse);
    assert_eq!(replayed.invoke, recorded.invoke);
    let mask = |events: &[String]| -> Vec<String> {
        events
            .iter()
            .map(|e| match e.find("latency_ms: ") {
                Some(i) => {
                    let rest = &e[i + "latency_ms: ".len()..];
                    let digits = rest.chars().take_while(char::is_ascii_digit).count();
                    format!("{}latency_ms: _{}", &e[..i], &rest[digits..])
                }
                None => e.clone(),
            })
            .collect()
    };
    assert_eq!(mask(&replayed.stream), mask(&recorded.stream));
}

/// The cassette files in `dir` (name, parsed content, raw text).
fn cassettes(dir: &Path) -> Vec<(String, Value, String)> {
    let mut out: Vec<(String, Value, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
        .map(|n| {
            let text = std::fs::read_to_string(dir.join(&n)).unwrap();
            (n, serde_json::from_str(&text).unwrap(), text)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A raw HTTP/1.1 POST that keeps the chunks of a chunked response apart:
/// `(status, lower-case headers, body chunks)`.
fn post_chunks(base: &str, path: &str, body: &[u8]) -> (u16, Vec<(String, String)>, Vec<Vec<u8>>) {
    let authority = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00\r\n\
         X-Amz-Date: 20261126T000000Z\r\nContent-Type: application/json\r\n\
         Accept: application/vnd.amazon.eventstream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut rest = &all[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if !chunked {
        return (status, headers, vec![rest.to_vec()]);
    }
    let mut chunks = Vec::new();
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[eol + 2..];
        if size == 0 {
            break;
        }
        chunks.push(rest[..size].to_vec());
        rest = &rest[size + 2..];
    }
    (status, headers, chunks)
}

#[tokio::test(flavor = "multi_thread")]
async fn record_through_an_upstream_then_replay_byte_for_byte() {
    let cassette_dir = tempfile::tempdir().unwrap();
    let dir = cassette_dir.path().join("cassettes");
    let dir_s = dir.display().to_string();
    let env = [
        ("AWS_ACCESS_KEY_ID", AKID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", TOKEN),
    ];

    // A: the upstream. B: records through A.
    let a = common::start_tiny();
    let b = common::start_tiny_env(&["--record", &dir_s, "--upstream", &a.base], &env);
    let recorded = three_calls(&b).await;
    assert!(!recorded.stream.is_empty());

    let files = cassettes(&dir);
    let names: Vec<&str> = files.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(files.len(), 3, "{names:?}");
    assert!(names[0].starts_with("converse-") && !names[0].starts_with("converse-stream-"));
    assert!(names[1].starts_with("converse-stream-"));
    assert!(names[2].starts_with("invoke-"));
    for (name, json, text) in &files {
        for secret in [AKID, SECRET, TOKEN, "Authorization", "authorization"] {
            assert!(!text.contains(secret), "{name} contains {secret}");
        }
        assert_eq!(json["version"], 1);
        assert_eq!(json["response"]["status"], 200, "{name}: {text}");
    }
    let stream_cassette = &files[1].1;
    assert_eq!(stream_cassette["request"]["model_id"], HAIKU);
    assert!(
        stream_cassette["response"]["headers"][0][1]
            .as_str()
            .unwrap()
            .contains("eventstream"),
        "{stream_cassette}"
    );
    let stored_events = stream_cassette["response"]["events"]
        .as_array()
        .unwrap()
        .len();
    assert!(stored_events >= 3);

    // Set BEDROCK_LOCAL_KEEP_CASSETTES=DIR to look at what was recorded.
    if let Some(keep) = std::env::var_os("BEDROCK_LOCAL_KEEP_CASSETTES") {
        std::fs::create_dir_all(&keep).unwrap();
        for (name, _, text) in &files {
            std::fs::write(Path::new(&keep).join(name), text).unwrap();
        }
    }

    // A saw the forwarded calls.
    let history = common::raw(&a, "GET", "/_bedrock_local/calls", None).json();
    let apis: Vec<&str> = history["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["api"].as_str().unwrap())
        .collect();
    for api in ["Converse", "ConverseStream", "InvokeModel"] {
        assert!(apis.contains(&api), "{apis:?}");
    }

    // The same stream request raw through B (re-recording the same cassette) for its bytes.
    let stream_body = serde_json::to_vec(&stream_cassette["request"]["body"]).unwrap();
    let stream_path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream";
    let (status, _, b_chunks) = post_chunks(&b.base, stream_path, &stream_body);
    assert_eq!(status, 200);
    let b_bytes = b_chunks.concat();
    assert_eq!(cassettes(&dir).len(), 3, "re-recording overwrites");
    drop(a);
    drop(b);

    // C: replays with the upstream gone.
    let c = common::start_tiny_with(&["--replay", &dir_s]);
    assert_replayed(&three_calls(&c).await, &recorded);
    let (status, headers, c_chunks) = post_chunks(&c.base, stream_path, &stream_body);
    assert_eq!(status, 200);
    assert!(headers
        .iter()
        .any(|(k, v)| k == "content-type" && v == "application/vnd.amazon.eventstream"));
    assert_eq!(c_chunks.concat(), b_bytes, "replayed stream bytes differ");
    let events = cassettes(&dir)[1].1["response"]["events"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(c_chunks.len(), events, "one chunk per recorded message");
    for chunk in &c_chunks {
        let len = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as usize;
        assert_eq!(
            len,
            chunk.len(),
            "a chunk is exactly one event-stream message"
        );
    }

    // A miss fails loudly, naming the cassette it looked for.
    let err = common::runtime_client(&c)
        .await
        .converse()
        .model_id(HAIKU)
        .messages(common::user("A prompt nobody recorded."))
        .inference_config(common::greedy(8))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let message = err.message().unwrap_or_default().to_string();
    assert!(message.contains("no cassette matches"), "{message}");
    assert!(
        message.contains("converse-") && message.contains(".json"),
        "{message}"
    );
    assert!(message.contains(HAIKU), "{message}");
    // C's call history shows the replayed calls with their cassettes (the miss was never
    // answered by anything, so it is not there).
    let history = common::raw(&c, "GET", "/_bedrock_local/calls", None).json();
    let calls = history["calls"].as_array().unwrap();
    let by_cassette: Vec<(&str, &str)> = calls
        .iter()
        .map(|c| (c["api"].as_str().unwrap(), c["cassette"].as_str().unwrap()))
        .collect();
    assert_eq!(by_cassette.len(), 4, "{by_cassette:?}");
    assert_eq!(by_cassette[0].0, "Converse");
    assert!(by_cassette[0].1.starts_with("converse-"));
    assert!(
        calls[0]["input_tokens"].as_u64().unwrap() > 0,
        "{}",
        calls[0]
    );
    assert!(calls[0]["local_model"].is_null());
    drop(c);

    // With --replay-miss model the local model answers misses; hits still replay.
    let d = common::start_tiny_with(&["--replay", &dir_s, "--replay-miss", "model"]);
    let out = common::runtime_client(&d)
        .await
        .converse()
        .model_id(HAIKU)
        .messages(common::user("A prompt nobody recorded."))
        .inference_config(common::greedy(4))
        .send()
        .await
        .unwrap();
    assert!(out.usage().unwrap().output_tokens() > 0);
    assert_replayed(&three_calls(&d).await, &recorded);
}

#[test]
fn record_needs_an_upstream_and_excludes_replay() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedrock-local"))
        .args(["serve", "--record", "x", "--replay", "y"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn record_mode_errors_are_aws_errors() {
    let dir = tempfile::tempdir().unwrap();
    let dir_s = dir.path().display().to_string();
    let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
    let path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";

    // Nothing listens on port 1: the upstream is unavailable.
    let unreachable = common::start_tiny_env(
        &["--record", &dir_s, "--upstream", "http://127.0.0.1:1"],
        &[
            ("AWS_ACCESS_KEY_ID", AKID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ],
    );
    let r = common::raw(&unreachable, "POST", path, Some(body));
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.error_type.as_deref(), Some("ServiceUnavailableException"));
    drop(unreachable);

    // No credentials anywhere: AccessDenied saying so; other paths still work.
    let no_creds = common::start_tiny_env(
        &["--record", &dir_s, "--upstream", "http://127.0.0.1:1"],
        &[
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_PROFILE", "bedrock-local-test-none"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_CONFIG_FILE", "/dev/null"),
        ],
    );
    let r = common::raw(&no_creds, "POST", path, Some(body));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.message().contains("no credentials found"), "{}", r.body);
    assert!(common::alive(&no_creds));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
