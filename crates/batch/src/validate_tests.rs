use serde_json::json;

use super::*;

fn guide_body() -> serde_json::Value {
    json!({
        "jobName": "my-batch-job",
        "modelId": "mistral.mistral-small-2402-v1:0",
        "roleArn": "arn:aws:iam::123456789012:role/MyBatchInferenceRole",
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://in-bucket"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://out-bucket"}},
        "clientRequestToken": "72c1a12e-dfbf-46ca-b37b-8d9a435533c7"
    })
}

fn message(body: serde_json::Value) -> String {
    match create_request(body.to_string().as_bytes()) {
        Err(BatchError::Validation(m)) => m,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn the_guides_request_is_valid_with_defaults() {
    let req = create_request(guide_body().to_string().as_bytes()).unwrap();
    assert_eq!(req.job_name, "my-batch-job");
    assert_eq!(req.input_uri, "s3://in-bucket");
    assert_eq!(req.output_uri, "s3://out-bucket");
    assert_eq!(req.timeout_hours, DEFAULT_TIMEOUT_HOURS);
    assert_eq!(req.invocation_type, InvocationType::InvokeModel);
    assert_eq!(
        req.input_data_config["s3InputDataConfig"]["s3InputFormat"],
        "JSONL"
    );
    assert!(req.fingerprint.get("clientRequestToken").is_none());
}

#[test]
fn job_name_pattern_and_length() {
    let mut body = guide_body();
    body["jobName"] = json!("bad name!");
    assert_eq!(
        message(body),
        "1 validation error detected: Value 'bad name!' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\\+\\-\\.]){0,63}"
    );
    let mut body = guide_body();
    body["jobName"] = json!("a".repeat(64));
    assert!(message(body).contains("Member must have length less than or equal to 63"));
    for ok in ["a", "job-1.2+x", "A--b"] {
        let mut body = guide_body();
        body["jobName"] = json!(ok);
        assert!(create_request(body.to_string().as_bytes()).is_ok(), "{ok}");
    }
}

#[test]
fn several_violations_are_reported_together() {
    let mut body = guide_body();
    body["roleArn"] = json!("arn:aws:iam::123:user/x");
    body["timeoutDurationInHours"] = json!(12);
    body["modelInvocationType"] = json!("Chat");
    let m = message(body);
    assert!(m.starts_with("3 validation errors detected: "), "{m}");
    assert!(m.contains("Value 'arn:aws:iam::123:user/x' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+"), "{m}");
    assert!(m.contains("Value '12' at 'timeoutDurationInHours' failed to satisfy constraint: Member must have value greater than or equal to 24"), "{m}");
    assert!(m.contains("Value 'Chat' at 'modelInvocationType' failed to satisfy constraint: Member must satisfy enum value set: [InvokeModel, Converse]"), "{m}");
}

#[test]
fn timeout_bounds_and_s3_uris() {
    let mut body = guide_body();
    body["timeoutDurationInHours"] = json!(169);
    assert!(message(body).contains("Member must have value less than or equal to 168"));
    let mut body = guide_body();
    body["timeoutDurationInHours"] = json!(24);
    assert_eq!(
        create_request(body.to_string().as_bytes())
            .unwrap()
            .timeout_hours,
        24
    );
    for bad in [
        "s3://In-Bucket",
        "https://x/y",
        "s3://b/a b.jsonl",
        "s3://b/x=1",
    ] {
        let mut body = guide_body();
        body["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] = json!(bad);
        let m = message(body);
        assert!(
            m.contains(&format!(
                "Value '{bad}' at 'inputDataConfig.s3InputDataConfig.s3Uri'"
            )),
            "{m}"
        );
    }
    for good in [
        "s3://in-bucket/",
        "s3://in-bucket/dir/batch_input.jsonl",
        "s3://a.b-c/x/",
    ] {
        let mut body = guide_body();
        body["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] = json!(good);
        assert!(
            create_request(body.to_string().as_bytes()).is_ok(),
            "{good}"
        );
    }
}

#[test]
fn required_members_must_not_be_null() {
    let m = message(json!({"jobName": "x"}));
    assert!(m.starts_with("4 validation errors detected: "), "{m}");
    assert!(
        m.contains("Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
    );
    assert!(m.contains("Value null at 'outputDataConfig'"));
    assert!(matches!(
        create_request(b"[1]"),
        Err(BatchError::Validation(_))
    ));
}

#[test]
fn job_identifiers_are_ids_or_arns() {
    assert_eq!(job_identifier("abcd1234efgh").unwrap(), "abcd1234efgh");
    assert_eq!(
        job_identifier("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcd1234efgh")
            .unwrap(),
        "abcd1234efgh"
    );
    for bad in [
        "ABCD1234EFGH",
        "short",
        "abcd1234efgh0",
        "arn:aws:bedrock:us-east-1::model-invocation-job/abcd1234efgh",
    ] {
        match job_identifier(bad) {
            Err(BatchError::Validation(m)) => assert!(
                m.starts_with(&format!(
                    "1 validation error detected: Value '{bad}' at 'jobIdentifier'"
                )),
                "{m}"
            ),
            other => panic!("{bad}: {other:?}"),
        }
    }
}
