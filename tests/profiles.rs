//! Inference profiles through the AWS SDK for Rust, as a user's code drives them: list and get
//! the system profiles, create an application profile (cost tracking) from a foundation model
//! or a system profile, call Converse with its ARN, page through the list, delete it, and see
//! it survive a restart until then; tag profiles and batch jobs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_bedrock::types::{InferenceProfileModelSource, InferenceProfileType, Tag};

const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

async fn bedrock(server: &common::Server) -> aws_sdk_bedrock::Client {
    aws_sdk_bedrock::Client::new(&common::sdk_config(server).await)
}

fn code<E, R>(err: &aws_sdk_bedrock::error::SdkError<E, R>) -> String
where
    E: aws_sdk_bedrock::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .unwrap_or("(not a service error)")
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn system_profiles_list_page_and_get() {
    let server = common::start_tiny();
    let client = bedrock(&server).await;

    let all = client
        .list_inference_profiles()
        .type_equals(InferenceProfileType::SystemDefined)
        .send()
        .await
        .unwrap();
    let profiles = all.inference_profile_summaries();
    assert!(profiles.len() > 20, "only {} profiles", profiles.len());
    assert!(all.next_token().is_none());
    let us_haiku = profiles
        .iter()
        .find(|p| p.inference_profile_id() == format!("us.{HAIKU}"))
        .expect("us. Claude 3 Haiku is listed");
    assert_eq!(
        us_haiku.inference_profile_arn(),
        format!("arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.{HAIKU}")
    );
    assert_eq!(us_haiku.r#type(), &InferenceProfileType::SystemDefined);
    assert!(us_haiku.models().len() > 1);
    assert!(us_haiku.created_at().is_some());

    // Paging with the SDK's paginator sees every profile exactly once.
    let mut paged = Vec::new();
    let mut pages = client
        .list_inference_profiles()
        .type_equals(InferenceProfileType::SystemDefined)
        .max_results(7)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        assert!(page.inference_profile_summaries().len() <= 7);
        paged.extend(
            page.inference_profile_summaries()
                .iter()
                .map(|p| p.inference_profile_id().to_string()),
        );
    }
    let ids: Vec<String> = profiles
        .iter()
        .map(|p| p.inference_profile_id().to_string())
        .collect();
    assert_eq!(paged, ids);

    // Get by id and by ARN.
    for identifier in [
        us_haiku.inference_profile_id(),
        us_haiku.inference_profile_arn(),
    ] {
        let got = client
            .get_inference_profile()
            .inference_profile_identifier(identifier)
            .send()
            .await
            .unwrap();
        assert_eq!(
            got.inference_profile_name(),
            us_haiku.inference_profile_name()
        );
        assert_eq!(got.models().len(), us_haiku.models().len());
    }
    let missing = client
        .get_inference_profile()
        .inference_profile_identifier("us.no-such-model-v1:0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing), "ResourceNotFoundException");
    let bad = client
        .list_inference_profiles()
        .max_results(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "ValidationException");
    // System profiles cannot be deleted.
    let err = client
        .delete_inference_profile()
        .inference_profile_identifier(format!("us.{HAIKU}"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationException");
}

#[tokio::test(flavor = "multi_thread")]
async fn application_profile_answers_converse_survives_restart_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start_in(dir.path(), &[]);
    let client = bedrock(&server).await;

    let created = client
        .create_inference_profile()
        .inference_profile_name("team-a haiku")
        .description("Cost tracking for team A.")
        .model_source(InferenceProfileModelSource::CopyFrom(format!(
            "arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
        )))
        .tags(Tag::builder().key("team").value("a").build().unwrap())
        .send()
        .await
        .unwrap();
    let arn = created.inference_profile_arn().to_string();
    assert!(
        arn.starts_with("arn:aws:bedrock:us-east-1:000000000000:application-inference-profile/"),
        "{arn}"
    );
    let from_system = client
        .create_inference_profile()
        .inference_profile_name("us haiku")
        .model_source(InferenceProfileModelSource::CopyFrom(format!(
            "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.{HAIKU}"
        )))
        .send()
        .await
        .unwrap();

    // The same name again is a conflict; an unknown source is refused.
    let dup = client
        .create_inference_profile()
        .inference_profile_name("team-a haiku")
        .model_source(InferenceProfileModelSource::CopyFrom(format!(
            "arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
        )))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&dup), "ConflictException");
    let unknown = client
        .create_inference_profile()
        .inference_profile_name("nope")
        .model_source(InferenceProfileModelSource::CopyFrom(
            "arn:aws:bedrock:us-east-1::foundation-model/no.such-model-v1:0".into(),
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), "ValidationException");

    // Converse by the profile's ARN: real generation on the default model.
    let runtime = common::runtime_client(&server).await;
    let answer = runtime
        .converse()
        .model_id(&arn)
        .messages(common::user("Hello"))
        .inference_config(common::greedy(4))
        .send()
        .await
        .unwrap();
    assert!(answer.usage().unwrap().output_tokens() > 0);

    let got = client
        .get_inference_profile()
        .inference_profile_identifier(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.inference_profile_name(), "team-a haiku");
    assert_eq!(got.description(), Some("Cost tracking for team A."));
    assert_eq!(got.r#type(), &InferenceProfileType::Application);
    assert_eq!(
        got.models()[0].model_arn(),
        Some(format!("arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}").as_str())
    );
    let apps = client
        .list_inference_profiles()
        .type_equals(InferenceProfileType::Application)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = apps
        .inference_profile_summaries()
        .iter()
        .map(|p| p.inference_profile_name())
        .collect();
    assert_eq!(names, ["team-a haiku", "us haiku"]);

    // A restart keeps both.
    drop(server);
    let server = common::start_in(dir.path(), &[]);
    let client = bedrock(&server).await;
    let id = arn.rsplit('/').next().unwrap();
    let got = client
        .get_inference_profile()
        .inference_profile_identifier(id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.inference_profile_arn(), arn);

    client
        .delete_inference_profile()
        .inference_profile_identifier(&arn)
        .send()
        .await
        .unwrap();
    client
        .delete_inference_profile()
        .inference_profile_identifier(from_system.inference_profile_arn())
        .send()
        .await
        .unwrap();
    let gone = client
        .get_inference_profile()
        .inference_profile_identifier(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&gone), "ResourceNotFoundException");
    let again = client
        .delete_inference_profile()
        .inference_profile_identifier(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&again), "ResourceNotFoundException");
    let runtime = common::runtime_client(&server).await;
    let err = runtime
        .converse()
        .model_id(&arn)
        .messages(common::user("Hello"))
        .send()
        .await
        .unwrap_err();
    let service = err.as_service_error().unwrap();
    assert!(service.is_validation_exception(), "{service:?}");
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

async fn tags_of(client: &aws_sdk_bedrock::Client, arn: &str) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    tags.sort();
    tags
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_on_application_profiles_and_batch_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start_in(dir.path(), &[]);
    let client = bedrock(&server).await;

    let profile = client
        .create_inference_profile()
        .inference_profile_name("tagged")
        .model_source(InferenceProfileModelSource::CopyFrom(format!(
            "arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
        )))
        .tags(tag("team", "a"))
        .send()
        .await
        .unwrap()
        .inference_profile_arn()
        .to_string();
    // A batch job may name the application profile as its model; its create-time tags are kept.
    let job = client
        .create_model_invocation_job()
        .job_name("tagged-job")
        .role_arn("arn:aws:iam::123456789012:role/MyBatchInferenceRole")
        .model_id(&profile)
        .input_data_config(
            aws_sdk_bedrock::types::ModelInvocationJobInputDataConfig::S3InputDataConfig(
                aws_sdk_bedrock::types::ModelInvocationJobS3InputDataConfig::builder()
                    .s3_uri("s3://no-such-input/")
                    .build()
                    .unwrap(),
            ),
        )
        .output_data_config(
            aws_sdk_bedrock::types::ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
                aws_sdk_bedrock::types::ModelInvocationJobS3OutputDataConfig::builder()
                    .s3_uri("s3://no-such-output/")
                    .build()
                    .unwrap(),
            ),
        )
        .tags(tag("cost-center", "42"))
        .send()
        .await
        .unwrap()
        .job_arn()
        .to_string();

    assert_eq!(tags_of(&client, &profile).await, pairs(&[("team", "a")]));
    assert_eq!(
        tags_of(&client, &job).await,
        pairs(&[("cost-center", "42")])
    );

    for arn in [&profile, &job] {
        client
            .tag_resource()
            .resource_arn(arn.as_str())
            .tags(tag("team", "b"))
            .tags(tag("env", "ci"))
            .send()
            .await
            .unwrap();
        client
            .untag_resource()
            .resource_arn(arn.as_str())
            .tag_keys("cost-center")
            .tag_keys("not-there")
            .send()
            .await
            .unwrap();
    }
    let expected = pairs(&[("env", "ci"), ("team", "b")]);
    assert_eq!(tags_of(&client, &profile).await, expected);
    assert_eq!(tags_of(&client, &job).await, expected);

    // 50 tags per resource at most; a bad key is a validation error; unknown resources 404.
    let mut many = client.tag_resource().resource_arn(&profile);
    for i in 0..49 {
        many = many.tags(tag(&format!("k{i}"), "v"));
    }
    assert_eq!(
        code(&many.send().await.unwrap_err()),
        "TooManyTagsException"
    );
    let bad = client
        .tag_resource()
        .resource_arn(&profile)
        .tags(tag("bad!key", "v"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "ValidationException");
    let unknown = client
        .list_tags_for_resource()
        .resource_arn(
            "arn:aws:bedrock:us-east-1:000000000000:application-inference-profile/aaaaaaaaaaaa",
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), "ResourceNotFoundException");
    let system = client
        .tag_resource()
        .resource_arn(format!(
            "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.{HAIKU}"
        ))
        .tags(tag("a", "b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&system), "ValidationException");

    // Tags survive a restart.
    drop(server);
    let server = common::start_in(dir.path(), &[]);
    let client = bedrock(&server).await;
    assert_eq!(tags_of(&client, &profile).await, expected);
    assert_eq!(tags_of(&client, &job).await, expected);
}
