//! Bedrock ARNs, typed. This is the only place in the project where ARNs are built or parsed.
//!
//! Mirrors the ARN patterns of botocore's `bedrock` model (`FoundationModelArn`,
//! `InferenceProfileArn`, `ModelInvocationJobArn`) and bedrock-wire §1.5 / §8:
//!
//! - `arn:aws:bedrock:REGION::foundation-model/MODEL_ID` — the account is **empty**;
//! - `arn:aws:bedrock:REGION:ACCOUNT:inference-profile/PROFILE_ID`;
//! - `arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID`;
//! - `arn:aws:bedrock:REGION:ACCOUNT:model-invocation-job/JOB_ID` (12 lower-case alphanumerics).
//!
//! Resource ids may contain `:` (`anthropic.claude-3-haiku-20240307-v1:0`), so only the first
//! five colons separate fields.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// What an ARN names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ArnResource {
    /// A foundation model, by its model id.
    FoundationModel(String),
    /// A system-defined (cross-region) inference profile, by its id (`us.meta.llama3-…`).
    InferenceProfile(String),
    /// An application inference profile, by its generated id.
    ApplicationInferenceProfile(String),
    /// A batch inference job, by its 12-character id.
    ModelInvocationJob(String),
}

impl ArnResource {
    /// The resource type as written in the ARN (`foundation-model`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            ArnResource::FoundationModel(_) => "foundation-model",
            ArnResource::InferenceProfile(_) => "inference-profile",
            ArnResource::ApplicationInferenceProfile(_) => "application-inference-profile",
            ArnResource::ModelInvocationJob(_) => "model-invocation-job",
        }
    }

    /// The id after the `/`.
    pub fn id(&self) -> &str {
        match self {
            ArnResource::FoundationModel(id)
            | ArnResource::InferenceProfile(id)
            | ArnResource::ApplicationInferenceProfile(id)
            | ArnResource::ModelInvocationJob(id) => id,
        }
    }
}

/// A Bedrock ARN (`arn:PARTITION:bedrock:REGION:ACCOUNT:TYPE/ID`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    /// `aws`, `aws-us-gov`, `aws-cn`, …
    pub partition: String,
    /// The region (`us-east-1`).
    pub region: String,
    /// The 12-digit account; empty for foundation models.
    pub account: String,
    /// What the ARN names.
    pub resource: ArnResource,
}

impl Arn {
    /// `arn:aws:bedrock:REGION::foundation-model/MODEL_ID`.
    pub fn foundation_model(region: impl Into<String>, model_id: impl Into<String>) -> Self {
        Self::new(
            region,
            String::new(),
            ArnResource::FoundationModel(model_id.into()),
        )
    }

    /// `arn:aws:bedrock:REGION:ACCOUNT:inference-profile/PROFILE_ID`.
    pub fn inference_profile(
        region: impl Into<String>,
        account: impl Into<String>,
        profile_id: impl Into<String>,
    ) -> Self {
        Self::new(
            region,
            account,
            ArnResource::InferenceProfile(profile_id.into()),
        )
    }

    /// `arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID`.
    pub fn application_inference_profile(
        region: impl Into<String>,
        account: impl Into<String>,
        id: impl Into<String>,
    ) -> Self {
        Self::new(
            region,
            account,
            ArnResource::ApplicationInferenceProfile(id.into()),
        )
    }

    /// `arn:aws:bedrock:REGION:ACCOUNT:model-invocation-job/JOB_ID`.
    pub fn model_invocation_job(
        region: impl Into<String>,
        account: impl Into<String>,
        job_id: impl Into<String>,
    ) -> Self {
        Self::new(
            region,
            account,
            ArnResource::ModelInvocationJob(job_id.into()),
        )
    }

    fn new(region: impl Into<String>, account: impl Into<String>, resource: ArnResource) -> Self {
        Self {
            partition: "aws".to_owned(),
            region: region.into(),
            account: account.into(),
            resource,
        }
    }

    /// True when `s` starts like an ARN, for inputs that may be an id or an ARN.
    pub fn looks_like_arn(s: &str) -> bool {
        s.starts_with("arn:")
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:bedrock:{}:{}:{}/{}",
            self.partition,
            self.region,
            self.account,
            self.resource.kind(),
            self.resource.id()
        )
    }
}

fn is_region(s: &str) -> bool {
    (1..=20).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_partition(s: &str) -> bool {
    s == "aws" || s.strip_prefix("aws-").is_some_and(|rest| !rest.is_empty())
}

impl FromStr for Arn {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason: &'static str| Error::InvalidArn {
            arn: s.to_owned(),
            reason,
        };
        let mut fields = s.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(rest)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(bad(
                "expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE",
            ));
        };
        if !is_partition(partition) {
            return Err(bad("unknown partition"));
        }
        if service != "bedrock" {
            return Err(bad("not a bedrock ARN"));
        }
        if !is_region(region) {
            return Err(bad("invalid region"));
        }
        let (kind, id) = rest
            .split_once('/')
            .ok_or(bad("expected TYPE/ID after the account"))?;
        if id.is_empty() {
            return Err(bad("empty resource id"));
        }
        let resource = match kind {
            "foundation-model" => ArnResource::FoundationModel(id.to_owned()),
            "inference-profile" => ArnResource::InferenceProfile(id.to_owned()),
            "application-inference-profile" => {
                ArnResource::ApplicationInferenceProfile(id.to_owned())
            }
            "model-invocation-job" => ArnResource::ModelInvocationJob(id.to_owned()),
            _ => return Err(bad("unsupported resource type")),
        };
        match &resource {
            ArnResource::FoundationModel(_) if !account.is_empty() => {
                return Err(bad("foundation-model ARNs have an empty account"));
            }
            ArnResource::FoundationModel(_) => {}
            // InferenceProfileArn allows an empty account; AWS-issued ones have one.
            ArnResource::InferenceProfile(_) | ArnResource::ApplicationInferenceProfile(_) => {
                if !account.is_empty() && !is_account(account) {
                    return Err(bad("the account must be 12 digits"));
                }
            }
            ArnResource::ModelInvocationJob(job) => {
                if !is_account(account) {
                    return Err(bad("the account must be 12 digits"));
                }
                let valid_job = job.len() == 12
                    && job
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
                if !valid_job {
                    return Err(bad("job ids are 12 lower-case letters or digits"));
                }
            }
        }
        Ok(Self {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foundation_model_has_empty_account_and_keeps_colons() {
        let arn = Arn::foundation_model("us-east-1", "anthropic.claude-3-haiku-20240307-v1:0");
        let text =
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";
        assert_eq!(arn.to_string(), text);
        assert_eq!(text.parse::<Arn>().unwrap(), arn);
    }

    #[test]
    fn every_kind_round_trips() {
        for arn in [
            Arn::inference_profile(
                "us-east-1",
                "000000000000",
                "us.meta.llama3-2-1b-instruct-v1:0",
            ),
            Arn::application_inference_profile("eu-west-1", "123456789012", "abcdef123456"),
            Arn::model_invocation_job("us-west-2", "123456789012", "abcdefghijkl"),
        ] {
            assert_eq!(arn.to_string().parse::<Arn>().unwrap(), arn);
        }
        assert_eq!(
            Arn::model_invocation_job("us-east-1", "123456789012", "abcdefghijkl").to_string(),
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghijkl"
        );
    }

    #[test]
    fn other_partitions_parse() {
        let arn: Arn =
            "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/meta.llama3-8b-instruct-v1:0"
                .parse()
                .unwrap();
        assert_eq!(arn.partition, "aws-us-gov");
        assert_eq!(
            arn.resource,
            ArnResource::FoundationModel("meta.llama3-8b-instruct-v1:0".into())
        );
    }

    #[test]
    fn invalid_arns_are_rejected() {
        for s in [
            "",
            "meta.llama3-8b-instruct-v1:0",
            "arn:aws:s3:::bucket/key",
            "arn:aws:bedrock:us-east-1:123456789012:foundation-model/x.y",
            "arn:aws:bedrock:us-east-1::guardrail/abc",
            "arn:aws:bedrock:us-east-1::foundation-model/",
            "arn:aws:bedrock:US-EAST-1::foundation-model/x.y",
            "arn:aws:bedrock:us-east-1:12345:inference-profile/us.x.y",
            "arn:aws:bedrock:us-east-1::model-invocation-job/abcdefghijkl",
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/ABC",
            "arn:azure:bedrock:us-east-1::foundation-model/x.y",
            "arn:aws:bedrock:us-east-1::foundation-model",
        ] {
            assert!(s.parse::<Arn>().is_err(), "{s:?} should be rejected");
        }
    }
}
