//! LocalStack's Bedrock guide, steps 1-3, through the real `aws` CLI (what `awslocal` runs).
//! Skipped with a message when the CLI is not installed (`scripts/test.sh` installs it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

fn aws(server: &common::Server, args: &[&str]) -> Option<(bool, String, String)> {
    common::aws_cli(&server.base, args, None)
}

#[test]
fn localstack_guide_commands() {
    let server = common::start_tiny();
    let Some((ok, stdout, stderr)) = aws(&server, &["bedrock", "list-foundation-models"]) else {
        eprintln!("skipped: the aws CLI is not installed");
        return;
    };
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["modelSummaries"].as_array().unwrap().len() >= 40);

    let dir = tempfile::tempdir().unwrap();
    let outfile = dir.path().join("outfile.txt");
    let body = r#"{"prompt": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nSay Hello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", "max_gen_len": 2, "temperature": 0.9}"#;
    let (ok, _stdout, stderr) = aws(
        &server,
        &[
            "bedrock-runtime",
            "invoke-model",
            "--model-id",
            "meta.llama3-8b-instruct-v1:0",
            "--body",
            body,
            outfile.to_str().unwrap(),
        ],
    )
    .unwrap();
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&outfile).unwrap()).unwrap();
    assert!(v["generation"].is_string());
    assert!(v["generation_token_count"].as_u64().unwrap() <= 2);

    let (ok, stdout, stderr) = aws(
        &server,
        &[
            "bedrock-runtime",
            "converse",
            "--model-id",
            "meta.llama3-8b-instruct-v1:0",
            "--messages",
            r#"[{"role":"user","content":[{"text":"Say Hello!"}]}]"#,
            "--system",
            r#"[{"text":"You only say Hello!"}]"#,
            "--inference-config",
            r#"{"maxTokens": 4}"#,
        ],
    )
    .unwrap();
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["output"]["message"]["role"], "assistant");
    assert!(v["usage"]["inputTokens"].as_u64().unwrap() > 0);

    // An error reaches the CLI as Bedrock's exception.
    let (ok, _stdout, stderr) = aws(
        &server,
        &[
            "bedrock-runtime",
            "converse",
            "--model-id",
            "made.up-model-v1:0",
            "--messages",
            r#"[{"role":"user","content":[{"text":"x"}]}]"#,
        ],
    )
    .unwrap();
    assert!(!ok);
    assert!(stderr.contains("ValidationException"), "{stderr}");
    assert!(
        stderr.contains("The provided model identifier is invalid."),
        "{stderr}"
    );
}
