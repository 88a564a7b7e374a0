//! S3 on the server's port: the `aws s3` commands of LocalStack's guide through the real CLI,
//! and the Rust SDK path-style and virtual-host style (ranges, copies, batch deletes,
//! listings with delimiter and pagination, multipart, keys that try to escape the bucket).
//! The CLI test is skipped with a message when the CLI is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};

fn aws(server: &common::Server, args: &[&str]) -> Option<(bool, String, String)> {
    common::aws_cli(&server.base, args, None)
}

fn md5_hex(bytes: &[u8]) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys;print(hashlib.md5(sys.stdin.buffer.read()).hexdigest())",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Deterministic, incompressible-looking bytes.
fn pattern(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn aws_cli_s3_commands() {
    let server = common::start_tiny();
    let dir = tempfile::tempdir().unwrap();
    let Some((ok, _, stderr)) = aws(&server, &["s3", "mb", "s3://in-bucket"]) else {
        eprintln!("skipped: the aws CLI is not installed");
        return;
    };
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = aws(&server, &["s3", "mb", "s3://in-bucket"]).unwrap();
    assert!(
        !ok && stderr.contains("BucketAlreadyOwnedByYou"),
        "{stderr}"
    );
    let (ok, _, stderr) = aws(&server, &["s3", "mb", "s3://Bad_Bucket"]).unwrap();
    assert!(!ok, "{stderr}");

    let input = dir.path().join("batch_input.jsonl");
    let lines = "{\"prompt\": \"hello\"}\n{\"prompt\": \"world\"}\n";
    std::fs::write(&input, lines).unwrap();
    let (ok, _, stderr) = aws(
        &server,
        &["s3", "cp", input.to_str().unwrap(), "s3://in-bucket"],
    )
    .unwrap();
    assert!(ok, "{stderr}");

    let (ok, stdout, stderr) = aws(&server, &["s3", "ls"]).unwrap();
    assert!(ok && stdout.contains("in-bucket"), "{stdout}{stderr}");
    let (ok, stdout, stderr) = aws(&server, &["s3", "ls", "s3://in-bucket"]).unwrap();
    assert!(
        ok && stdout.contains("batch_input.jsonl") && stdout.contains(&lines.len().to_string()),
        "{stdout}{stderr}"
    );
    let (ok, stdout, stderr) = aws(
        &server,
        &["s3", "cp", "s3://in-bucket/batch_input.jsonl", "-"],
    )
    .unwrap();
    assert!(ok, "{stderr}");
    assert_eq!(stdout, lines);

    // More than the CLI's 8 MB multipart threshold: uploaded in parts, read back whole.
    let big = pattern(9 * 1024 * 1024 + 123);
    let big_path = dir.path().join("big.bin");
    std::fs::write(&big_path, &big).unwrap();
    let (ok, _, stderr) = aws(
        &server,
        &[
            "s3",
            "cp",
            big_path.to_str().unwrap(),
            "s3://in-bucket/dir/big.bin",
        ],
    )
    .unwrap();
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = aws(
        &server,
        &[
            "s3api",
            "head-object",
            "--bucket",
            "in-bucket",
            "--key",
            "dir/big.bin",
        ],
    )
    .unwrap();
    assert!(ok, "{stderr}");
    let head: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(head["ContentLength"], big.len());
    assert!(head["ETag"].as_str().unwrap().ends_with("-2\""), "{head}");
    let back = dir.path().join("back.bin");
    let (ok, _, stderr) = aws(
        &server,
        &[
            "s3",
            "cp",
            "s3://in-bucket/dir/big.bin",
            back.to_str().unwrap(),
        ],
    )
    .unwrap();
    assert!(ok, "{stderr}");
    assert!(std::fs::read(&back).unwrap() == big);

    let (ok, stdout, _) = aws(&server, &["s3", "ls", "s3://in-bucket"]).unwrap();
    assert!(ok && stdout.contains("PRE dir/"), "{stdout}");
    let (ok, _, stderr) = aws(&server, &["s3", "rb", "s3://in-bucket"]).unwrap();
    assert!(!ok && stderr.contains("BucketNotEmpty"), "{stderr}");
    let (ok, _, stderr) = aws(&server, &["s3", "rm", "s3://in-bucket", "--recursive"]).unwrap();
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = aws(&server, &["s3", "rb", "s3://in-bucket"]).unwrap();
    assert!(ok, "{stderr}");
    let (ok, stdout, _) = aws(&server, &["s3", "ls"]).unwrap();
    assert!(ok && !stdout.contains("in-bucket"), "{stdout}");
}

/// A client, and the number of requests it sent virtual-host style.
async fn s3_client(
    server: &common::Server,
    path_style: bool,
) -> (aws_sdk_s3::Client, Arc<AtomicUsize>) {
    let rewritten = Arc::new(AtomicUsize::new(0));
    let config = common::sdk_config(server).await;
    let mut builder = aws_sdk_s3::config::Builder::from(&config).force_path_style(path_style);
    if !path_style {
        // `<bucket>.localhost` does not resolve everywhere: connect to the loopback address
        // while keeping the virtual-host name in the Host header.
        let port = server.base.rsplit(':').next().unwrap().to_string();
        builder = builder
            .endpoint_url(format!("http://localhost:{port}"))
            .interceptor(LoopbackConnect {
                port,
                rewritten: rewritten.clone(),
            });
    }
    (aws_sdk_s3::Client::from_conf(builder.build()), rewritten)
}

#[derive(Debug)]
struct LoopbackConnect {
    port: String,
    rewritten: Arc<AtomicUsize>,
}

impl aws_sdk_s3::config::Intercept for LoopbackConnect {
    fn name(&self) -> &'static str {
        "LoopbackConnect"
    }

    fn modify_before_transmit(
        &self,
        context: &mut aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _components: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let request = context.request_mut();
        let uri: http::Uri = request.uri().parse()?;
        let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        if !authority.ends_with(&format!(".localhost:{}", self.port)) {
            // Names that cannot be host names (the invalid-bucket check) go path-style.
            return Ok(());
        }
        self.rewritten
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        request.headers_mut().insert("host", authority);
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        request.set_uri(format!("http://127.0.0.1:{}{path}", self.port))?;
        Ok(())
    }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                out.extend(files_under(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

async fn exercise(client: &aws_sdk_s3::Client, bucket: &str) {
    let err = client
        .create_bucket()
        .bucket("Not_Valid")
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("InvalidBucketName"), "{err:?}");
    client.create_bucket().bucket(bucket).send().await.unwrap();
    client.head_bucket().bucket(bucket).send().await.unwrap();

    // Keys that look like paths, escapes or encodings are just keys.
    let keys = [
        "a",
        "a/b",
        "a/b/c",
        "../../escape",
        "/abs/path",
        "back\\slash\\..\\x",
        "%2e%2e%2fencoded",
        "sp ace+plus&amp=q?",
        "ünïcødé/ключ",
    ];
    for key in keys {
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(format!("body of {key}").into_bytes()))
            .content_type("text/plain")
            .metadata("origin", "test")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
    }
    for key in keys {
        let got = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
        assert_eq!(got.content_type(), Some("text/plain"));
        assert_eq!(
            got.metadata().unwrap().get("origin").map(String::as_str),
            Some("test")
        );
        let want = format!("body of {key}");
        assert_eq!(
            got.e_tag(),
            Some(format!("\"{}\"", md5_hex(want.as_bytes())).as_str())
        );
        let body = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(body.as_ref(), want.as_bytes(), "{key}");
    }

    // Ranges.
    let got = client
        .get_object()
        .bucket(bucket)
        .key("a/b")
        .range("bytes=2-5")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_range(), Some("bytes 2-5/11"));
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"dy o"
    );
    let got = client
        .get_object()
        .bucket(bucket)
        .key("a/b")
        .range("bytes=-3")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"a/b"
    );
    let err = client
        .get_object()
        .bucket(bucket)
        .key("a")
        .range("bytes=100-")
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("InvalidRange"), "{err:?}");
    let err = client
        .get_object()
        .bucket(bucket)
        .key("missing")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_no_such_key());

    // Copy, keeping and replacing metadata.
    client
        .copy_object()
        .bucket(bucket)
        .key("copy/of-a")
        .copy_source(format!("{bucket}/a"))
        .send()
        .await
        .unwrap();
    let head = client
        .head_object()
        .bucket(bucket)
        .key("copy/of-a")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(9));
    assert_eq!(head.content_type(), Some("text/plain"));
    client
        .copy_object()
        .bucket(bucket)
        .key("copy/of-a")
        .copy_source(format!("{bucket}/copy/of-a"))
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
        .content_type("application/x-new")
        .send()
        .await
        .unwrap();
    let head = client
        .head_object()
        .bucket(bucket)
        .key("copy/of-a")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/x-new"));

    // ListObjectsV2 with a delimiter.
    let page = client
        .list_objects_v2()
        .bucket(bucket)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let top: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = page
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(
        top,
        [
            "%2e%2e%2fencoded",
            "a",
            "back\\slash\\..\\x",
            "sp ace+plus&amp=q?"
        ]
    );
    assert_eq!(prefixes, ["../", "/", "a/", "copy/", "ünïcødé/"]);

    // ... and paginated two at a time, through the SDK's paginator.
    let mut all = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .max_keys(2)
        .into_paginator()
        .send();
    let mut page_count = 0;
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        page_count += 1;
        assert!(page.contents().len() <= 2);
        all.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
    }
    let mut want: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    want.push("copy/of-a".into());
    want.sort();
    assert_eq!(all, want);
    assert_eq!(page_count, 5);

    // ListObjects (v1) with a marker.
    let v1 = client
        .list_objects()
        .bucket(bucket)
        .prefix("a")
        .marker("a/b")
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = v1.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["a/b/c"]);

    // Batch delete, then the bucket can go only once it is empty.
    let err = client
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("BucketNotEmpty"), "{err:?}");
    let ids: Vec<ObjectIdentifier> = want
        .iter()
        .map(|k| ObjectIdentifier::builder().key(k).build().unwrap())
        .collect();
    let deleted = client
        .delete_objects()
        .bucket(bucket)
        .delete(Delete::builder().set_objects(Some(ids)).build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.deleted().len(), want.len());
    assert!(deleted.errors().is_empty());
    let left = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(left.key_count(), Some(0));
    client.delete_bucket().bucket(bucket).send().await.unwrap();
    let err = client
        .head_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_not_found());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_path_style() {
    let server = common::start_tiny();
    let (client, rewritten) = s3_client(&server, true).await;
    exercise(&client, "path-style").await;
    assert_eq!(rewritten.load(Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_virtual_host_style() {
    let server = common::start_tiny();
    let (client, rewritten) = s3_client(&server, false).await;
    exercise(&client, "virtual-host").await;
    assert!(rewritten.load(Ordering::Relaxed) > 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_multipart_and_path_safety() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = common::start_in(dir.path(), &[]);
    let (client, _) = s3_client(&server, true).await;
    client.create_bucket().bucket("mpu").send().await.unwrap();

    let first = pattern(5 * 1024 * 1024);
    let second = b"the small last part".to_vec();
    let upload = client
        .create_multipart_upload()
        .bucket("mpu")
        .key("joined.bin")
        .content_type("application/octet-stream")
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap();
    let mut parts = Vec::new();
    for (n, bytes) in [(1, &first), (2, &second)] {
        let part = client
            .upload_part()
            .bucket("mpu")
            .key("joined.bin")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(bytes.clone()))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(part.e_tag().unwrap())
                .build(),
        );
    }
    let listed = client
        .list_parts()
        .bucket("mpu")
        .key("joined.bin")
        .upload_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.parts().len(), 2);
    let done = client
        .complete_multipart_upload()
        .bucket("mpu")
        .key("joined.bin")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let raw: Vec<u8> = hex_pair(&md5_hex(&first), &md5_hex(&second));
    let want = format!("\"{}-2\"", md5_hex(&raw));
    assert_eq!(done.e_tag(), Some(want.as_str()));
    let got = client
        .get_object()
        .bucket("mpu")
        .key("joined.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(got.e_tag(), Some(want.as_str()));
    let body = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(body.len(), first.len() + second.len());
    assert!(body[..first.len()] == first[..] && body[first.len()..] == second[..]);

    // An aborted upload is gone.
    let upload = client
        .create_multipart_upload()
        .bucket("mpu")
        .key("aborted")
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap();
    client
        .abort_multipart_upload()
        .bucket("mpu")
        .key("aborted")
        .upload_id(id)
        .send()
        .await
        .unwrap();
    let err = client
        .list_parts()
        .bucket("mpu")
        .key("aborted")
        .upload_id(id)
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("NoSuchUpload"), "{err:?}");

    // Escaping keys: every file the store wrote is inside the bucket's directory.
    for key in [
        "../../../outside",
        "..\\..\\outside",
        "/etc/outside",
        "%2e%2e%2foutside",
    ] {
        client
            .put_object()
            .bucket("mpu")
            .key(key)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }
    let s3_root = data.join("s3");
    let in_s3 = files_under(&s3_root);
    assert!(!in_s3.is_empty());
    for file in in_s3 {
        assert!(file.starts_with(s3_root.join("mpu")), "{}", file.display());
    }
    for file in files_under(dir.path()) {
        assert!(
            !file.to_string_lossy().contains("outside"),
            "{}",
            file.display()
        );
    }
    drop(server);
    drop(dir);
}

fn hex_pair(a: &str, b: &str) -> Vec<u8> {
    let decode = |s: &str| {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect::<Vec<u8>>()
    };
    let mut out = decode(a);
    out.extend(decode(b));
    out
}
