//! Batch inference jobs end to end on the real binary and tiny models: LocalStack's guide
//! step 4 through the `aws` CLI, every job operation through the AWS SDK for Rust, the status
//! paths (Completed, PartiallyCompleted, Failed, Stopped), a restart mid-job, and the runner
//! pointed at an external S3 (a second bedrock-local instance).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_bedrock::types::{
    ModelInvocationJobInputDataConfig, ModelInvocationJobOutputDataConfig,
    ModelInvocationJobS3InputDataConfig, ModelInvocationJobS3OutputDataConfig,
    ModelInvocationJobStatus as Status,
};

const ROLE: &str = "arn:aws:iam::123456789012:role/MyBatchInferenceRole";
const MODEL: &str = "mistral.mistral-small-2402-v1:0";

async fn s3_client(server: &common::Server) -> aws_sdk_s3::Client {
    let config = common::sdk_config(server).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

async fn bedrock(server: &common::Server) -> aws_sdk_bedrock::Client {
    aws_sdk_bedrock::Client::new(&common::sdk_config(server).await)
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: String) {
    let _ = s3.create_bucket().bucket(bucket).send().await;
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into_bytes().into())
        .send()
        .await
        .unwrap();
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    String::from_utf8(out.body.collect().await.unwrap().to_vec()).unwrap()
}

fn input_config(uri: &str) -> ModelInvocationJobInputDataConfig {
    ModelInvocationJobInputDataConfig::S3InputDataConfig(
        ModelInvocationJobS3InputDataConfig::builder()
            .s3_uri(uri)
            .build()
            .unwrap(),
    )
}

fn output_config(uri: &str) -> ModelInvocationJobOutputDataConfig {
    ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
        ModelInvocationJobS3OutputDataConfig::builder()
            .s3_uri(uri)
            .build()
            .unwrap(),
    )
}

async fn create(client: &aws_sdk_bedrock::Client, name: &str, input: &str, output: &str) -> String {
    client
        .create_model_invocation_job()
        .job_name(name)
        .role_arn(ROLE)
        .model_id(MODEL)
        .input_data_config(input_config(input))
        .output_data_config(output_config(output))
        .send()
        .await
        .unwrap()
        .job_arn()
        .to_string()
}

/// Polls until the job is terminal; returns every status seen and the last response.
async fn wait(
    client: &aws_sdk_bedrock::Client,
    arn: &str,
) -> (
    Vec<Status>,
    aws_sdk_bedrock::operation::get_model_invocation_job::GetModelInvocationJobOutput,
) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut seen = Vec::new();
    loop {
        let job = client
            .get_model_invocation_job()
            .job_identifier(arn)
            .send()
            .await
            .unwrap();
        let status = job.status().cloned().unwrap();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if matches!(
            status,
            Status::Completed
                | Status::PartiallyCompleted
                | Status::Failed
                | Status::Stopped
                | Status::Expired
        ) {
            return (seen, job);
        }
        assert!(Instant::now() < deadline, "job stuck in {status:?}");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

fn job_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

fn lines(body: &str) -> Vec<serde_json::Value> {
    body.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn job_api_validates_and_reports_unknown_jobs() {
    let server = common::start_tiny();
    let client = bedrock(&server).await;

    let err = client
        .create_model_invocation_job()
        .job_name("bad name")
        .role_arn(ROLE)
        .model_id(MODEL)
        .input_data_config(input_config("s3://in-bucket"))
        .output_data_config(output_config("s3://out-bucket"))
        .timeout_duration_in_hours(200)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    let message = aws_sdk_bedrock::error::ProvideErrorMetadata::message(&err).unwrap();
    assert!(message.starts_with("2 validation errors detected: Value 'bad name' at 'jobName' failed to satisfy constraint"), "{message}");
    assert!(message.contains("Value '200' at 'timeoutDurationInHours' failed to satisfy constraint: Member must have value less than or equal to 168"), "{message}");

    let err = client
        .create_model_invocation_job()
        .job_name("j")
        .role_arn(ROLE)
        .model_id("amazon.titan-embed-text-v2:0")
        .input_data_config(input_config("s3://in-bucket"))
        .output_data_config(output_config("s3://out-bucket"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        err.is_validation_exception(),
        "embedding models cannot batch text: {err:?}"
    );

    let err = client
        .get_model_invocation_job()
        .job_identifier("abcdefghijkl")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = client
        .stop_model_invocation_job()
        .job_identifier("arn:aws:bedrock:us-east-1:000000000000:model-invocation-job/abcdefghijkl")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let bad = common::raw(&server, "GET", "/model-invocation-job/NOT-AN-ID", None);
    assert_eq!(bad.status, 400);
    assert!(bad.message().contains("at 'jobIdentifier'"), "{}", bad.body);

    let list = client.list_model_invocation_jobs().send().await.unwrap();
    assert!(list.invocation_job_summaries().is_empty());
    assert!(list.next_token().is_none());

    // A job whose input bucket cannot be read fails with a message naming it.
    let arn = create(&client, "no-input", "s3://in-bucket", "s3://in-bucket").await;
    let (seen, job) = wait(&client, &arn).await;
    assert_eq!(
        &seen[..2],
        &[Status::Submitted, Status::Validating],
        "{seen:?}"
    );
    assert_eq!(job.status(), Some(&Status::Failed));
    assert!(
        job.message().unwrap().contains("in-bucket"),
        "{:?}",
        job.message()
    );
    assert!(job.end_time().is_some());
    let list = client
        .list_model_invocation_jobs()
        .status_equals(Status::Failed)
        .send()
        .await
        .unwrap();
    assert_eq!(list.invocation_job_summaries()[0].job_arn(), arn);
}

fn mistral_record(id: &str, prompt: &str, max_tokens: u32) -> String {
    serde_json::json!({
        "recordId": id,
        "modelInput": {"prompt": format!("<s>[INST] {prompt} [/INST]"), "max_tokens": max_tokens}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_every_operation_and_status_path() {
    let server = common::start_tiny();
    let client = bedrock(&server).await;
    let s3 = s3_client(&server).await;
    let _ = s3.create_bucket().bucket("out-bucket").send().await;

    // Completed: AWS-format records in one object; every state observable.
    let records: Vec<String> = (1..=3)
        .map(|i| mistral_record(&format!("CALL{i:07}"), "Say hello", 24))
        .collect();
    put(
        &s3,
        "in-bucket",
        "batch_input.jsonl",
        records.join("\n") + "\n",
    )
    .await;
    let arn = create(
        &client,
        "nightly-one",
        "s3://in-bucket/batch_input.jsonl",
        "s3://out-bucket/",
    )
    .await;
    assert!(
        arn.starts_with("arn:aws:bedrock:us-east-1:000000000000:model-invocation-job/"),
        "{arn}"
    );
    let id = job_id(&arn).to_string();
    assert_eq!(id.len(), 12);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    let (seen, job) = wait(&client, &arn).await;
    assert_eq!(
        &seen[..3],
        &[Status::Submitted, Status::Validating, Status::Scheduled],
        "{seen:?}"
    );
    assert_eq!(seen.last(), Some(&Status::Completed), "{seen:?}");
    assert_eq!(job.total_record_count(), Some(3));
    assert_eq!(job.processed_record_count(), Some(3));
    assert_eq!(job.success_record_count(), Some(3));
    assert_eq!(job.error_record_count(), Some(0));
    assert!(job.end_time().is_some());
    assert_eq!(job.timeout_duration_in_hours(), Some(168));
    let submit = job.submit_time().secs();
    assert_eq!(
        job.job_expiration_time().unwrap().secs(),
        submit + 168 * 3600
    );
    let by_id = client
        .get_model_invocation_job()
        .job_identifier(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.job_arn(), arn);
    let out = lines(&get(&s3, "out-bucket", &format!("{id}/batch_input.jsonl.out")).await);
    let ids: Vec<&str> = out
        .iter()
        .map(|l| l["recordId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CALL0000001", "CALL0000002", "CALL0000003"]);
    for line in &out {
        assert!(
            line["modelOutput"]["outputs"][0]["text"].is_string(),
            "{line}"
        );
        assert_eq!(line["modelInput"]["max_tokens"], 24);
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&get(&s3, "out-bucket", &format!("{id}/manifest.json.out")).await)
            .unwrap();
    assert_eq!(manifest["totalRecordCount"], 3);
    assert_eq!(manifest["successRecordCount"], 3);
    assert_eq!(manifest["errorRecordCount"], 0);
    assert!(manifest["inputTokenCount"].as_u64().unwrap() > 0);
    assert!(manifest["outputTokenCount"].as_u64().unwrap() > 0);

    // PartiallyCompleted: a folder with a plain provider body and a line that is not JSON.
    put(
        &s3,
        "in-bucket",
        "mixed/part.jsonl",
        "{\"prompt\": \"Say hello\", \"max_tokens\": 8}\n\nnot json\n".to_string(),
    )
    .await;
    let arn = create(
        &client,
        "nightly-two",
        "s3://in-bucket/mixed/",
        "s3://out-bucket/results",
    )
    .await;
    let (_, job) = wait(&client, &arn).await;
    assert_eq!(job.status(), Some(&Status::PartiallyCompleted));
    assert!(
        job.message().unwrap().contains("1 of 2 records failed"),
        "{:?}",
        job.message()
    );
    let out = lines(
        &get(
            &s3,
            "out-bucket",
            &format!("results/{}/part.jsonl.out", job_id(&arn)),
        )
        .await,
    );
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["recordId"], "00000000001");
    assert!(out[0]["modelOutput"].is_object());
    assert_eq!(out[1]["error"]["errorCode"], 400);
    assert!(out[1]["modelOutput"].is_null());

    // Failed: the input bucket does not exist.
    let arn = create(&client, "adhoc", "s3://no-such-bucket", "s3://out-bucket").await;
    let (_, job) = wait(&client, &arn).await;
    assert_eq!(job.status(), Some(&Status::Failed));
    assert!(
        job.message().unwrap().contains("no-such-bucket"),
        "{:?}",
        job.message()
    );
    assert!(job.end_time().is_some());

    // Stopping -> Stopped, then stopping again conflicts.
    let many: Vec<String> = (0..60)
        .map(|i| mistral_record(&format!("S{i}"), "Count to ten", 200))
        .collect();
    put(&s3, "in-bucket", "long/long.jsonl", many.join("\n")).await;
    let arn = create(
        &client,
        "to-stop",
        "s3://in-bucket/long/",
        "s3://out-bucket",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = client
            .get_model_invocation_job()
            .job_identifier(&arn)
            .send()
            .await
            .unwrap();
        if job.status() == Some(&Status::InProgress) {
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    client
        .stop_model_invocation_job()
        .job_identifier(&arn)
        .send()
        .await
        .unwrap();
    let (seen, job) = wait(&client, &arn).await;
    assert_eq!(job.status(), Some(&Status::Stopped), "{seen:?}");
    assert!(job.processed_record_count().unwrap() < 60);
    let err = client
        .stop_model_invocation_job()
        .job_identifier(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");

    // clientRequestToken: a retry is the same job, a reuse with other parameters conflicts.
    let send = |name: &'static str| {
        client
            .create_model_invocation_job()
            .job_name(name)
            .role_arn(ROLE)
            .model_id(MODEL)
            .client_request_token("token-1")
            .input_data_config(input_config("s3://in-bucket/batch_input.jsonl"))
            .output_data_config(output_config("s3://out-bucket"))
            .send()
    };
    let first = send("retried").await.unwrap();
    let again = send("retried").await.unwrap();
    assert_eq!(first.job_arn(), again.job_arn());
    let err = send("other").await.unwrap_err().into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");
    wait(&client, first.job_arn()).await;

    // List: filters, sort, pagination.
    let all = client.list_model_invocation_jobs().send().await.unwrap();
    let names: Vec<&str> = all
        .invocation_job_summaries()
        .iter()
        .map(|j| j.job_name())
        .collect();
    assert_eq!(
        names,
        ["retried", "to-stop", "adhoc", "nightly-two", "nightly-one"]
    );
    let nightly = client
        .list_model_invocation_jobs()
        .name_contains("nightly")
        .status_equals(Status::Completed)
        .send()
        .await
        .unwrap();
    assert_eq!(nightly.invocation_job_summaries().len(), 1);
    assert_eq!(
        nightly.invocation_job_summaries()[0].job_name(),
        "nightly-one"
    );
    let mut pages = client
        .list_model_invocation_jobs()
        .sort_order(aws_sdk_bedrock::types::SortOrder::Ascending)
        .max_results(2)
        .into_paginator()
        .send();
    let mut paged = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        assert!(page.invocation_job_summaries().len() <= 2);
        paged.extend(
            page.invocation_job_summaries()
                .iter()
                .map(|j| j.job_name().to_string()),
        );
    }
    assert_eq!(
        paged,
        ["nightly-one", "nightly-two", "adhoc", "to-stop", "retried"]
    );
}

fn aws(base: &str, args: &[&str], cwd: &Path) -> Option<(bool, String, String)> {
    common::aws_cli(base, args, Some(cwd))
}

/// LocalStack's guide, step 4, command for command.
#[test]
fn guide_step_4_through_the_aws_cli() {
    let server = common::start_tiny();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let (ok, stdout, stderr) = aws(&server.base, args, dir.path()).unwrap();
        eprintln!("$ aws {}\n{stdout}", args.join(" "));
        assert!(ok, "aws {args:?}: {stderr}");
        stdout
    };
    if aws(&server.base, &["--version"], dir.path()).is_none() {
        eprintln!("skipped: the aws CLI is not installed");
        return;
    }
    std::fs::write(
        dir.path().join("batch_input.jsonl"),
        "{\"prompt\": \"Say hello\", \"max_tokens\": 50, \"temperature\": 0.5}\n{\"prompt\": \"Say goodbye\", \"max_tokens\": 50, \"temperature\": 0.5}\n",
    )
    .unwrap();
    run(&["s3", "mb", "s3://in-bucket"]);
    run(&["s3", "cp", "batch_input.jsonl", "s3://in-bucket"]);
    run(&["s3", "mb", "s3://out-bucket"]);
    let created = run(&[
        "bedrock",
        "create-model-invocation-job",
        "--job-name",
        "my-batch-job",
        "--model-id",
        MODEL,
        "--role-arn",
        ROLE,
        "--input-data-config",
        r#"{"s3InputDataConfig": {"s3Uri": "s3://in-bucket"}}"#,
        "--output-data-config",
        r#"{"s3OutputDataConfig": {"s3Uri": "s3://out-bucket"}}"#,
    ]);
    let arn = serde_json::from_str::<serde_json::Value>(&created).unwrap()["jobArn"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let job: serde_json::Value = serde_json::from_str(&run(&[
            "bedrock",
            "get-model-invocation-job",
            "--job-identifier",
            &arn,
        ]))
        .unwrap();
        match job["status"].as_str().unwrap() {
            "Completed" => break,
            "Failed" | "PartiallyCompleted" | "Stopped" => panic!("{job}"),
            _ => {}
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = run(&[
        "s3",
        "cp",
        &format!("s3://out-bucket/{}/batch_input.jsonl.out", job_id(&arn)),
        "-",
    ]);
    let out = lines(&out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["modelInput"]["prompt"], "Say hello");
    assert!(
        out[0]["modelOutput"]["outputs"][0]["text"].is_string(),
        "{}",
        out[0]
    );
    let listed = run(&["s3", "ls", &format!("s3://out-bucket/{}/", job_id(&arn))]);
    assert!(listed.contains("manifest.json.out"), "{listed}");
}

/// Kill -9 mid-job, restart on the same data dir: the job completes with every record exactly
/// once.
#[tokio::test(flavor = "multi_thread")]
async fn a_job_killed_mid_run_resumes_with_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let total = 40;
    let records: Vec<String> = (0..total)
        .map(|i| mistral_record(&format!("R{i:04}"), "Tell a long story", 160))
        .collect();
    let arn = {
        let server = common::start_in(dir.path(), &[]);
        let client = bedrock(&server).await;
        let s3 = s3_client(&server).await;
        let _ = s3.create_bucket().bucket("restart-out").send().await;
        put(&s3, "restart-in", "batch/records.jsonl", records.join("\n")).await;
        let arn = create(
            &client,
            "survivor",
            "s3://restart-in/batch/",
            "s3://restart-out",
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let job = client
                .get_model_invocation_job()
                .job_identifier(&arn)
                .send()
                .await
                .unwrap();
            let done = job.processed_record_count().unwrap_or(0);
            assert_ne!(
                job.status(),
                Some(&Status::Completed),
                "finished before the kill; make records longer"
            );
            if done >= 3 {
                eprintln!("killing the server with {done} of {total} records done");
                break;
            }
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        arn
        // The server is killed (SIGKILL) here.
    };
    let server = common::start_in(dir.path(), &[]);
    let client = bedrock(&server).await;
    let (_, job) = wait(&client, &arn).await;
    assert_eq!(
        job.status(),
        Some(&Status::Completed),
        "{:?}",
        job.message()
    );
    assert_eq!(job.processed_record_count(), Some(total));
    assert_eq!(job.success_record_count(), Some(total));
    let s3 = s3_client(&server).await;
    let out = lines(
        &get(
            &s3,
            "restart-out",
            &format!("{}/records.jsonl.out", job_id(&arn)),
        )
        .await,
    );
    let ids: Vec<String> = out
        .iter()
        .map(|l| l["recordId"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..total).map(|i| format!("R{i:04}")).collect();
    assert_eq!(ids, expected, "every record exactly once, in input order");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), total as usize);
    let manifest: serde_json::Value = serde_json::from_str(
        &get(
            &s3,
            "restart-out",
            &format!("{}/manifest.json.out", job_id(&arn)),
        )
        .await,
    )
    .unwrap();
    assert_eq!(manifest["processedRecordCount"], total);
}

/// BEDROCK_BATCH_S3_*: the runner reads and writes another S3 (here a second bedrock-local).
#[tokio::test(flavor = "multi_thread")]
async fn the_runner_can_use_an_external_s3() {
    let external = common::start_tiny();
    let ext_s3 = s3_client(&external).await;
    put(
        &ext_s3,
        "ext-in",
        "input.jsonl",
        mistral_record("X1", "Hi", 8) + "\n",
    )
    .await;
    let _ = ext_s3.create_bucket().bucket("ext-out").send().await;

    let dir = tempfile::tempdir().unwrap();
    let server = common::start_in(
        dir.path(),
        &[
            ("BEDROCK_BATCH_S3_ENDPOINT", &external.base),
            ("BEDROCK_BATCH_S3_ACCESS_KEY_ID", "ext"),
            ("BEDROCK_BATCH_S3_SECRET_ACCESS_KEY", "ext-secret"),
            ("BEDROCK_BATCH_S3_REGION", "us-west-2"),
            ("BEDROCK_BATCH_S3_PATH_STYLE", "true"),
        ],
    );
    let client = bedrock(&server).await;
    let arn = create(
        &client,
        "external",
        "s3://ext-in/input.jsonl",
        "s3://ext-out",
    )
    .await;
    let (_, job) = wait(&client, &arn).await;
    assert_eq!(
        job.status(),
        Some(&Status::Completed),
        "{:?}",
        job.message()
    );
    let out = lines(
        &get(
            &ext_s3,
            "ext-out",
            &format!("{}/input.jsonl.out", job_id(&arn)),
        )
        .await,
    );
    assert_eq!(out[0]["recordId"], "X1");
    let own = s3_client(&server).await;
    assert!(
        own.head_bucket().bucket("ext-out").send().await.is_err(),
        "nothing written to the local S3"
    );
}
