//! Bedrock batch inference: model invocation jobs and the runner that executes them.
//!
//! The facade's job handlers stay thin and call [`Batch`]: [`Batch::create`] validates a
//! CreateModelInvocationJob body the way Bedrock does (Coral-style messages), mints the job id
//! and ARN, persists the job and starts its runner; [`Batch::get`], [`Batch::list`] and
//! [`Batch::stop`] answer the other three operations with their wire JSON.
//!
//! The runner reads every `.jsonl` object under the job's input URI and writes
//! `<output>/<jobId>/<input name>.out` plus `manifest.json.out` **over HTTP with
//! `aws-sdk-s3`**: by default against bedrock-local's own S3 endpoint (same port), or any S3
//! (LocalStack, MinIO, AWS) by configuration — one code path for both. Each record goes through
//! a [`RecordInvoker`], which the facade implements with exactly its InvokeModel/Converse path,
//! so this crate never sees a dialect, the registry or the engine.
//!
//! Durability: one JSON file per job under `<data_dir>/batch/<jobId>/job.json`, written
//! atomically; finished records are appended (and synced) to a spool file per input file and
//! uploaded when the file is done, so a server killed mid-job resumes ([`Batch::resume`])
//! without losing or repeating a record.
//!
//! Must not: depend on the facade, know a provider body format, or hold an HTTP framework type.

mod error;
mod invoker;
mod job;
mod list;
mod persist;
mod record;
mod runner;
mod s3;
mod service;
mod time_fmt;
mod validate;

pub use error::BatchError;
pub use invoker::{InvokeOutput, RecordError, RecordInvoker};
pub use job::{InvocationType, JobStatus};
pub use s3::S3Settings;
pub use service::{Batch, BatchConfig};
