//! The runner's S3 access, over HTTP with `aws-sdk-s3`: bedrock-local's own S3 endpoint by
//! default, any S3-compatible service (LocalStack, MinIO, AWS) by configuration.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

/// Where the runner's S3 is and how to sign for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// Endpoint URL (`http://127.0.0.1:4566`).
    pub endpoint: String,
    /// Access key id (any value for bedrock-local's own S3).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Signing region.
    pub region: String,
    /// Path-style addressing (`http://host/bucket/key`); virtual-host style otherwise.
    pub path_style: bool,
}

/// A bucket and key (or key prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Key or prefix, without the leading `/` (may be empty).
    pub key: String,
}

/// Splits `s3://bucket/key...`.
pub fn parse_uri(uri: &str) -> Option<S3Location> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| S3Location {
        bucket: bucket.to_string(),
        key: key.to_string(),
    })
}

/// Which listed keys are inputs of `location`, with their names relative to it: the object
/// itself when the key names one, else every `.jsonl` in the "folder".
pub fn select_inputs(location: &S3Location, keys: &[String]) -> Vec<(String, String)> {
    let key = location.key.as_str();
    if keys.iter().any(|k| k == key) && !key.is_empty() {
        let name = key.rsplit('/').next().unwrap_or(key).to_string();
        return vec![(key.to_string(), name)];
    }
    let folder = if key.is_empty() || key.ends_with('/') {
        key.to_string()
    } else {
        format!("{key}/")
    };
    let mut out: Vec<(String, String)> = keys
        .iter()
        .filter(|k| k.ends_with(".jsonl"))
        .filter_map(|k| {
            k.strip_prefix(folder.as_str())
                .map(|name| (k.clone(), name.to_string()))
        })
        .filter(|(_, name)| !name.is_empty())
        .collect();
    out.sort();
    out
}

/// The output key of `name` for a job: `<prefix>/<jobId>/<name>`.
pub fn output_key(output: &S3Location, job_id: &str, name: &str) -> String {
    let prefix = output.key.trim_end_matches('/');
    if prefix.is_empty() {
        format!("{job_id}/{name}")
    } else {
        format!("{prefix}/{job_id}/{name}")
    }
}

/// An S3 client.
#[derive(Debug, Clone)]
pub struct S3 {
    client: aws_sdk_s3::Client,
}

fn describe<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    err: SdkError<E, R>,
) -> String {
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => aws_sdk_s3::error::DisplayErrorContext(&err).to_string(),
            }
        }
        _ => aws_sdk_s3::error::DisplayErrorContext(&err).to_string(),
    }
}

impl S3 {
    /// A client for these settings. Checksums are computed and checked only where S3 requires
    /// them, for compatibility with every S3 emulator.
    pub fn new(settings: &S3Settings) -> Self {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&settings.endpoint)
            .region(Region::new(settings.region.clone()))
            .credentials_provider(Credentials::new(
                settings.access_key_id.clone(),
                settings.secret_access_key.clone(),
                None,
                None,
                "bedrock-local-batch",
            ))
            .force_path_style(settings.path_style)
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            )
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            )
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
        }
    }

    /// Fails with a message when the bucket does not exist or cannot be reached.
    pub async fn head_bucket(&self, bucket: &str) -> Result<(), String> {
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 404 => {
                Err(format!("The S3 bucket {bucket} does not exist."))
            }
            Err(e) => Err(format!(
                "The S3 bucket {bucket} cannot be read: {}",
                describe(e)
            )),
        }
    }

    /// Every key under `prefix`.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = self.client.list_objects_v2().bucket(bucket).prefix(prefix);
            if let Some(t) = token.take() {
                request = request.continuation_token(t);
            }
            let page = request
                .send()
                .await
                .map_err(|e| format!("Listing s3://{bucket}/{prefix} failed: {}", describe(e)))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(keys)
    }

    /// An object's bytes.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| format!("Reading s3://{bucket}/{key} failed: {}", describe(e)))?;
        let data = object
            .body
            .collect()
            .await
            .map_err(|e| format!("Reading s3://{bucket}/{key} failed: {e}"))?;
        Ok(data.into_bytes().to_vec())
    }

    /// Writes an object.
    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), String> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("Writing s3://{bucket}/{key} failed: {}", describe(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn uris_split_into_bucket_and_key() {
        let l = parse_uri("s3://in-bucket").unwrap();
        assert_eq!((l.bucket.as_str(), l.key.as_str()), ("in-bucket", ""));
        let l = parse_uri("s3://in-bucket/dir/a.jsonl").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.key.as_str()),
            ("in-bucket", "dir/a.jsonl")
        );
        assert!(parse_uri("http://x").is_none());
    }

    #[test]
    fn inputs_are_one_object_or_every_jsonl_in_a_folder() {
        let all = keys(&[
            "a.jsonl",
            "dir/b.jsonl",
            "dir/c.txt",
            "dir/sub/d.jsonl",
            "dir2/e.jsonl",
        ]);
        let loc = |k: &str| S3Location {
            bucket: "b".into(),
            key: k.into(),
        };
        assert_eq!(
            select_inputs(&loc(""), &all),
            vec![
                ("a.jsonl".into(), "a.jsonl".into()),
                ("dir/b.jsonl".into(), "dir/b.jsonl".into()),
                ("dir/sub/d.jsonl".into(), "dir/sub/d.jsonl".into()),
                ("dir2/e.jsonl".into(), "dir2/e.jsonl".into()),
            ]
        );
        assert_eq!(
            select_inputs(&loc("dir"), &all),
            vec![
                ("dir/b.jsonl".into(), "b.jsonl".into()),
                ("dir/sub/d.jsonl".into(), "sub/d.jsonl".into()),
            ]
        );
        assert_eq!(select_inputs(&loc("dir/"), &all).len(), 2);
        assert_eq!(
            select_inputs(&loc("dir/b.jsonl"), &all),
            vec![("dir/b.jsonl".into(), "b.jsonl".into())]
        );
        assert!(select_inputs(&loc("nothing/"), &all).is_empty());
    }

    #[test]
    fn outputs_go_under_the_job_id() {
        let out = parse_uri("s3://out-bucket").unwrap();
        assert_eq!(
            output_key(&out, "abcd1234efgh", "batch_input.jsonl.out"),
            "abcd1234efgh/batch_input.jsonl.out"
        );
        let out = parse_uri("s3://out-bucket/results/").unwrap();
        assert_eq!(
            output_key(&out, "abcd1234efgh", "manifest.json.out"),
            "results/abcd1234efgh/manifest.json.out"
        );
    }
}
