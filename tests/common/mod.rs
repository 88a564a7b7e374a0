//! Test support: start the real `bedrock-local` binary on an ephemeral port and talk to it.
//!
//! Tiny random-weight GGUF models (written by `bedrock_local_engine::testing`) are served
//! through a `file` source in a test models.toml, so the whole path (registry, sha256
//! verification, engine, facade) runs without any download.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bedrock_local_engine::testing::{write_tiny_gguf, TinyArch};
use sha2::{Digest, Sha256};

/// A running server; killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sha256_file(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    hex::encode(Sha256::digest(&bytes))
}

/// Writes the three tiny models and a models.toml naming them; returns the toml path.
pub fn write_tiny_models(dir: &Path) -> PathBuf {
    let mut toml = String::from("default_text_model = \"tiny-qwen2\"\n\n");
    for (name, arch_name, arch) in [
        ("tiny-qwen2", "qwen2", TinyArch::Qwen2),
        ("tiny-gemma3", "gemma3", TinyArch::Gemma3),
        ("tiny-llama", "llama", TinyArch::Llama),
    ] {
        let file = dir.join(format!("{name}.gguf"));
        write_tiny_gguf(&file, arch).unwrap();
        let size = std::fs::metadata(&file).unwrap().len();
        let sha = sha256_file(&file);
        toml.push_str(&format!(
            "[[model]]\nname = \"{name}\"\naliases = [\"{name}:latest\"]\ntask = \"text\"\narch = \"{arch_name}\"\nformat = \"gguf\"\n\n\
             [[model.files]]\nrole = \"weights\"\nname = \"{name}.gguf\"\nsize = {size}\nsha256 = \"{sha}\"\n\
             sources = [{{ kind = \"file\", path = \"{}\" }}]\n\n",
            file.display()
        ));
    }
    let path = dir.join("models.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// Starts the binary with these arguments and environment; waits for the listening line.
pub fn start(args: &[&str], env: &[(&str, &str)], dir: Option<tempfile::TempDir>) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bedrock-local"));
    cmd.args(args)
        .env_remove("DEFAULT_BEDROCK_MODEL")
        .env_remove("BEDROCK_PREWARM")
        .env_remove("BEDROCK_PULL_MODELS")
        .env_remove("GATEWAY_LISTEN")
        .env_remove("BEDROCK_LOCAL_CONFIG")
        .env("BEDROCK_LOCAL_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn bedrock-local");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("bedrock-local listening on ") {
                let _ = tx.send(rest.trim().to_string());
            }
        }
    });
    let base = match rx.recv_timeout(Duration::from_secs(300)) {
        Ok(base) => base,
        Err(_) => {
            let _ = child.kill();
            panic!("server did not start listening");
        }
    };
    Server {
        child,
        base,
        _dir: dir,
    }
}

/// A server over the tiny models, with extra flags.
pub fn start_tiny_with(extra: &[&str]) -> Server {
    start_tiny_env(extra, &[])
}

/// A server over the tiny models, with extra flags and environment variables.
pub fn start_tiny_env(extra: &[&str], env: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let toml = write_tiny_models(dir.path());
    let data = dir.path().join("data");
    let toml_s = toml.display().to_string();
    let data_s = data.display().to_string();
    let mut args = vec![
        "serve",
        "--port",
        "0",
        "--data-dir",
        &data_s,
        "--models-file",
        &toml_s,
    ];
    args.extend_from_slice(extra);
    start(&args, env, Some(dir))
}

/// A server over the tiny models (written into `dir` unless a `models.toml` is there) with
/// its data dir at `dir/data`, which outlives the server (for restarts and file checks).
pub fn start_in(dir: &Path, env: &[(&str, &str)]) -> Server {
    let toml = if dir.join("models.toml").exists() {
        dir.join("models.toml")
    } else {
        write_tiny_models(dir)
    };
    let data = dir.join("data");
    start(
        &[
            "serve",
            "--port",
            "0",
            "--data-dir",
            data.to_str().unwrap(),
            "--models-file",
            toml.to_str().unwrap(),
        ],
        env,
        None,
    )
}

/// A server over the tiny models.
pub fn start_tiny() -> Server {
    start_tiny_with(&[])
}

/// A raw HTTP answer.
pub struct Raw {
    pub status: u16,
    pub error_type: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Raw {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Sends a request the way botocore does (SigV4 scope `bedrock`, no signature check).
pub fn raw(server: &Server, method: &str, path: &str, body: Option<&[u8]>) -> Raw {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(300))
        .build();
    let req = agent
        .request(method, &format!("{}{}", server.base, path))
        .set(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        )
        .set("X-Amz-Date", "20261126T000000Z");
    let result = match body {
        Some(b) => req.set("Content-Type", "application/json").send_bytes(b),
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .map(|n| {
            let v = response.header(&n).unwrap_or_default().to_string();
            (n, v)
        })
        .collect();
    let error_type = response.header("x-amzn-ErrorType").map(str::to_string);
    let body = response.into_string().unwrap_or_default();
    Raw {
        status,
        error_type,
        headers,
        body,
    }
}

/// AWS SDK configuration pointed at the server (static test credentials).
pub async fn sdk_config(server: &Server) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&server.base)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .load()
        .await
}

/// True when the server still answers /health (after an abusive request).
pub fn alive(server: &Server) -> bool {
    raw(server, "GET", "/health", None).status == 200
}

/// Runs the `aws` CLI against `base` with test credentials and no user config, in `cwd` when
/// given: `(success, stdout, stderr)`, or `None` when the CLI is not installed.
pub fn aws_cli(base: &str, args: &[&str], cwd: Option<&Path>) -> Option<(bool, String, String)> {
    let mut cmd = Command::new("aws");
    cmd.args(args)
        .args(["--endpoint-url", base, "--region", "us-east-1"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let out = cmd.output().ok()?;
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// A bedrock-runtime client of the AWS SDK for Rust pointed at `server`.
pub async fn runtime_client(server: &Server) -> aws_sdk_bedrockruntime::Client {
    aws_sdk_bedrockruntime::Client::new(&sdk_config(server).await)
}

/// One user message of one text block (Converse).
pub fn user(text: &str) -> aws_sdk_bedrockruntime::types::Message {
    use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, Message};
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(text.into()))
        .build()
        .unwrap()
}

/// Greedy decoding of at most `max_tokens` tokens (Converse `inferenceConfig`).
pub fn greedy(max_tokens: i32) -> aws_sdk_bedrockruntime::types::InferenceConfiguration {
    aws_sdk_bedrockruntime::types::InferenceConfiguration::builder()
        .max_tokens(max_tokens)
        .temperature(0.0)
        .build()
}
