//! A model invocation job: its persisted state, its status machine and its wire shape.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::time_fmt::format_ms;

/// `ModelInvocationJobStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobStatus {
    /// Accepted, not looked at yet.
    Submitted,
    /// The input is being listed and counted.
    Validating,
    /// Waiting for the runner (one job runs at a time).
    Scheduled,
    /// Records are being processed.
    InProgress,
    /// Every record succeeded.
    Completed,
    /// Some records failed.
    PartiallyCompleted,
    /// The job could not run (no input, missing bucket, every record failed...).
    Failed,
    /// StopModelInvocationJob was called; the runner is finishing the current record.
    Stopping,
    /// Stopped by request.
    Stopped,
    /// The timeout passed before the job finished.
    Expired,
}

impl JobStatus {
    /// Every status, in the service model's order of the lifecycle.
    pub const ALL: [JobStatus; 10] = [
        JobStatus::Submitted,
        JobStatus::Validating,
        JobStatus::Scheduled,
        JobStatus::InProgress,
        JobStatus::Completed,
        JobStatus::PartiallyCompleted,
        JobStatus::Failed,
        JobStatus::Stopping,
        JobStatus::Stopped,
        JobStatus::Expired,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Submitted => "Submitted",
            JobStatus::Validating => "Validating",
            JobStatus::Scheduled => "Scheduled",
            JobStatus::InProgress => "InProgress",
            JobStatus::Completed => "Completed",
            JobStatus::PartiallyCompleted => "PartiallyCompleted",
            JobStatus::Failed => "Failed",
            JobStatus::Stopping => "Stopping",
            JobStatus::Stopped => "Stopped",
            JobStatus::Expired => "Expired",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// True once the job will never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed
                | JobStatus::PartiallyCompleted
                | JobStatus::Failed
                | JobStatus::Stopped
                | JobStatus::Expired
        )
    }

    /// Whether the lifecycle (bedrock-wire §7.4) allows moving from `self` to `next`.
    pub fn can_move_to(self, next: JobStatus) -> bool {
        use JobStatus::*;
        match (self, next) {
            (s, _) if s.is_terminal() => false,
            (Stopping, Stopped | Failed) => true,
            (Stopping, _) => false,
            (_, Stopping | Failed) => true,
            (Submitted, Validating)
            | (Validating, Scheduled)
            | (Scheduled, InProgress)
            | (InProgress, Completed | PartiallyCompleted)
            | (Scheduled | InProgress, Expired) => true,
            _ => false,
        }
    }
}

/// `ModelInvocationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum InvocationType {
    /// Records are InvokeModel bodies (the default).
    #[default]
    InvokeModel,
    /// Records are Converse bodies.
    Converse,
}

impl InvocationType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvocationType::InvokeModel => "InvokeModel",
            InvocationType::Converse => "Converse",
        }
    }
}

/// Counters of a set of records (one input file, or the whole job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Records with an output line.
    pub processed: u64,
    /// Records answered by the model.
    pub success: u64,
    /// Records that failed.
    pub error: u64,
    /// Prompt tokens of the successful records.
    pub input_tokens: u64,
    /// Generated tokens of the successful records.
    pub output_tokens: u64,
}

impl Counts {
    /// Adds another set of counts.
    pub fn add(&mut self, other: &Counts) {
        self.processed += other.processed;
        self.success += other.success;
        self.error += other.error;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// One `.jsonl` input object of a job, found at validation time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputFile {
    /// The object key in the input bucket.
    pub key: String,
    /// Its name relative to the input URI (`batch_input.jsonl`); the output is `<name>.out`.
    pub name: String,
    /// Non-empty lines (records) in it.
    pub records: u64,
    /// Counts of its finished records (kept in step with the spool).
    pub counts: Counts,
    /// The `.out` object is uploaded.
    pub done: bool,
}

/// Everything known about a job; this is what `job.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// 12 characters `[a-z0-9]`.
    pub job_id: String,
    /// `arn:aws:bedrock:REGION:ACCOUNT:model-invocation-job/ID`.
    pub job_arn: String,
    /// `jobName`.
    pub job_name: String,
    /// `modelId`, as given.
    pub model_id: String,
    /// `roleArn`, as given.
    pub role_arn: String,
    /// `clientRequestToken`, if given.
    pub client_request_token: Option<String>,
    /// The request body minus the token, to tell a retry from a conflicting reuse of a token.
    pub request_fingerprint: Value,
    /// `inputDataConfig`, echoed back.
    pub input_data_config: Value,
    /// `outputDataConfig`, echoed back.
    pub output_data_config: Value,
    /// `vpcConfig`, echoed back (ignored locally).
    pub vpc_config: Option<Value>,
    /// `timeoutDurationInHours`.
    pub timeout_hours: u32,
    /// `modelInvocationType`.
    pub invocation_type: InvocationType,
    /// Input `s3Uri`.
    pub input_uri: String,
    /// Output `s3Uri`.
    pub output_uri: String,
    /// Current status.
    pub status: JobStatus,
    /// Why the job failed or partly failed.
    pub message: Option<String>,
    /// Unix ms.
    pub submit_time: i64,
    /// Unix ms.
    pub last_modified_time: i64,
    /// Unix ms, set at a terminal status.
    pub end_time: Option<i64>,
    /// The input objects, once validated.
    pub files: Option<Vec<InputFile>>,
    /// Tags as `(key, value)`: the create call's `tags`, then TagResource/UntagResource.
    /// Jobs saved before tags were kept load with none.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

impl Job {
    /// `submitTime + timeoutDurationInHours`, Unix ms.
    pub fn expiration_time(&self) -> i64 {
        self.submit_time + i64::from(self.timeout_hours) * 3_600_000
    }

    /// Records in every input file (0 before validation).
    pub fn total_records(&self) -> u64 {
        self.files.iter().flatten().map(|f| f.records).sum()
    }

    /// The counts of every input file.
    pub fn counts(&self) -> Counts {
        let mut total = Counts::default();
        for f in self.files.iter().flatten() {
            total.add(&f.counts);
        }
        total
    }

    /// Moves to `next` when the lifecycle allows it; sets `endTime` at a terminal status.
    /// Returns whether the status changed.
    pub fn transition(&mut self, next: JobStatus, now: i64) -> bool {
        if !self.status.can_move_to(next) {
            return false;
        }
        self.status = next;
        self.last_modified_time = now;
        if next.is_terminal() {
            self.end_time = Some(now);
        }
        true
    }

    /// The GetModelInvocationJob response (and, with `jobName`, a list summary).
    pub fn to_wire(&self) -> Value {
        let counts = self.counts();
        let mut out = Map::new();
        out.insert("jobArn".into(), json!(self.job_arn));
        out.insert("jobName".into(), json!(self.job_name));
        out.insert("modelId".into(), json!(self.model_id));
        if let Some(token) = &self.client_request_token {
            out.insert("clientRequestToken".into(), json!(token));
        }
        out.insert("roleArn".into(), json!(self.role_arn));
        out.insert("status".into(), json!(self.status.as_str()));
        if let Some(message) = &self.message {
            out.insert("message".into(), json!(message));
        }
        out.insert("submitTime".into(), json!(format_ms(self.submit_time)));
        out.insert(
            "lastModifiedTime".into(),
            json!(format_ms(self.last_modified_time)),
        );
        if let Some(end) = self.end_time {
            out.insert("endTime".into(), json!(format_ms(end)));
        }
        out.insert("inputDataConfig".into(), self.input_data_config.clone());
        out.insert("outputDataConfig".into(), self.output_data_config.clone());
        if let Some(vpc) = &self.vpc_config {
            out.insert("vpcConfig".into(), vpc.clone());
        }
        out.insert("timeoutDurationInHours".into(), json!(self.timeout_hours));
        out.insert(
            "jobExpirationTime".into(),
            json!(format_ms(self.expiration_time())),
        );
        out.insert(
            "modelInvocationType".into(),
            json!(self.invocation_type.as_str()),
        );
        out.insert("totalRecordCount".into(), json!(self.total_records()));
        out.insert("processedRecordCount".into(), json!(counts.processed));
        out.insert("successRecordCount".into(), json!(counts.success));
        out.insert("errorRecordCount".into(), json!(counts.error));
        Value::Object(out)
    }

    /// `manifest.json.out`.
    pub fn manifest(&self) -> Value {
        let counts = self.counts();
        json!({
            "totalRecordCount": self.total_records(),
            "processedRecordCount": counts.processed,
            "successRecordCount": counts.success,
            "errorRecordCount": counts.error,
            "inputTokenCount": counts.input_tokens,
            "outputTokenCount": counts.output_tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;

    #[test]
    fn lifecycle_moves_forward_only() {
        let path = [Submitted, Validating, Scheduled, InProgress, Completed];
        for pair in path.windows(2) {
            assert!(pair[0].can_move_to(pair[1]), "{pair:?}");
            assert!(!pair[1].can_move_to(pair[0]), "{pair:?}");
        }
        assert!(InProgress.can_move_to(PartiallyCompleted));
        for s in [Submitted, Validating, Scheduled, InProgress] {
            assert!(s.can_move_to(Stopping), "{s:?}");
            assert!(s.can_move_to(Failed), "{s:?}");
        }
        assert!(Stopping.can_move_to(Stopped));
        assert!(!Stopping.can_move_to(InProgress));
        assert!(!Stopping.can_move_to(Completed));
        assert!(!Submitted.can_move_to(InProgress));
        for t in [Completed, PartiallyCompleted, Failed, Stopped, Expired] {
            assert!(t.is_terminal());
            for s in JobStatus::ALL {
                assert!(!t.can_move_to(s), "{t:?} -> {s:?}");
            }
        }
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobStatus::parse("completed"), None);
    }
}
