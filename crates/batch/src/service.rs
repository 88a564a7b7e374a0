//! [`Batch`]: the four job operations over durable job state, and the runners they start.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;
use serde_json::{json, Value};

use crate::error::BatchError;
use crate::invoker::RecordInvoker;
use crate::job::{Job, JobStatus};
use crate::persist::JobStore;
use crate::s3::{S3Settings, S3};
use crate::time_fmt::now_ms;
use crate::validate;

/// Settings of the batch service (plain data; the CLI fills it).
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Where job state lives (`<data_dir>/batch`).
    pub dir: PathBuf,
    /// The S3 the runner reads inputs from and writes outputs to.
    pub s3: S3Settings,
    /// Account id in job ARNs.
    pub account_id: String,
    /// How long a job stays in each of Submitted, Validating and Scheduled at least, so a
    /// client polling GetModelInvocationJob can observe every state.
    pub state_dwell: Duration,
}

/// Batch inference jobs. Cheap to clone; every clone shares the same jobs.
#[derive(Clone)]
pub struct Batch {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: BatchConfig,
    pub(crate) store: JobStore,
    pub(crate) jobs: Mutex<HashMap<String, Job>>,
    pub(crate) invoker: Arc<dyn RecordInvoker>,
    pub(crate) s3: S3,
    /// One job processes records at a time; the others wait in Scheduled.
    pub(crate) slot: tokio::sync::Semaphore,
    /// Jobs with a live runner task.
    pub(crate) running: Mutex<HashSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn new_job_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..12)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

fn not_found(identifier: &str) -> BatchError {
    BatchError::NotFound(format!(
        "The model invocation job {identifier} does not exist."
    ))
}

impl Inner {
    /// A copy of a job.
    pub(crate) fn snapshot(&self, job_id: &str) -> Option<Job> {
        lock(&self.jobs).get(job_id).cloned()
    }

    /// Changes a job and persists it before anyone can see the change; returns the new state.
    pub(crate) fn update(
        &self,
        job_id: &str,
        change: impl FnOnce(&mut Job),
    ) -> Result<Job, BatchError> {
        let mut jobs = lock(&self.jobs);
        let job = jobs.get_mut(job_id).ok_or_else(|| not_found(job_id))?;
        let mut next = job.clone();
        change(&mut next);
        if next != *job {
            self.store.save(&next)?;
            *job = next.clone();
        }
        Ok(next)
    }

    /// Moves a job to `status` (if the lifecycle allows), with a message.
    pub(crate) fn set_status(
        &self,
        job_id: &str,
        status: JobStatus,
        message: Option<String>,
    ) -> Result<Job, BatchError> {
        self.update(job_id, |job| {
            if job.transition(status, now_ms()) {
                if let Some(m) = message {
                    job.message = Some(m);
                }
            }
        })
    }
}

impl Batch {
    /// Opens the job directory and loads every job in it (call [`Batch::resume`] to continue
    /// the unfinished ones).
    pub fn open(config: BatchConfig, invoker: Arc<dyn RecordInvoker>) -> Result<Self, BatchError> {
        let store = JobStore::open(config.dir.clone())?;
        let jobs = store
            .load_all()?
            .into_iter()
            .map(|job| (job.job_id.clone(), job))
            .collect();
        let s3 = S3::new(&config.s3);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                store,
                jobs: Mutex::new(jobs),
                invoker,
                s3,
                slot: tokio::sync::Semaphore::new(1),
                running: Mutex::new(HashSet::new()),
            }),
        })
    }

    /// Starts a runner for every job that is not finished (after a restart). Returns how many.
    /// Must be called inside a tokio runtime.
    pub fn resume(&self) -> usize {
        let mut pending: Vec<(i64, String)> = lock(&self.inner.jobs)
            .values()
            .filter(|job| !job.status.is_terminal())
            .map(|job| (job.submit_time, job.job_id.clone()))
            .collect();
        pending.sort();
        for (_, id) in &pending {
            tracing::info!(job_id = %id, "resuming batch job");
            self.spawn_runner(id.clone());
        }
        pending.len()
    }

    fn spawn_runner(&self, job_id: String) {
        if !lock(&self.inner.running).insert(job_id.clone()) {
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            crate::runner::run(&inner, &job_id).await;
            lock(&inner.running).remove(&job_id);
        });
    }

    /// CreateModelInvocationJob: validates `body`, persists the job, starts its runner, and
    /// answers `{"jobArn"}`. ARNs use `region` and the configured account. A retry with the
    /// same `clientRequestToken` and parameters answers the same job.
    pub fn create(&self, body: &[u8], region: &str) -> Result<Value, BatchError> {
        let request = validate::create_request(body)?;
        if let Some(token) = &request.client_request_token {
            let jobs = lock(&self.inner.jobs);
            if let Some(existing) = jobs
                .values()
                .find(|j| j.client_request_token.as_deref() == Some(token.as_str()))
            {
                if existing.request_fingerprint == request.fingerprint {
                    return Ok(json!({ "jobArn": existing.job_arn }));
                }
                return Err(BatchError::Conflict(format!(
                    "The clientRequestToken {token} was already used with different parameters."
                )));
            }
        }
        self.inner
            .invoker
            .check_model(&request.model_id)
            .map_err(|e| BatchError::Validation(e.message))?;

        let now = now_ms();
        let job = {
            let mut jobs = lock(&self.inner.jobs);
            let mut job_id = new_job_id();
            while jobs.contains_key(&job_id) {
                job_id = new_job_id();
            }
            let job_arn = bedrock_local_aws::Arn::model_invocation_job(
                region,
                self.inner.config.account_id.clone(),
                job_id.clone(),
            )
            .to_string();
            let job = Job {
                job_id,
                job_arn,
                job_name: request.job_name,
                model_id: request.model_id,
                role_arn: request.role_arn,
                client_request_token: request.client_request_token,
                request_fingerprint: request.fingerprint,
                input_data_config: request.input_data_config,
                output_data_config: request.output_data_config,
                vpc_config: request.vpc_config,
                timeout_hours: request.timeout_hours,
                invocation_type: request.invocation_type,
                input_uri: request.input_uri,
                output_uri: request.output_uri,
                status: JobStatus::Submitted,
                message: None,
                submit_time: now,
                last_modified_time: now,
                end_time: None,
                files: None,
                tags: request.tags,
            };
            self.inner.store.save(&job)?;
            jobs.insert(job.job_id.clone(), job.clone());
            job
        };
        tracing::info!(job_id = %job.job_id, job_name = %job.job_name, model_id = %job.model_id, "batch job submitted");
        self.spawn_runner(job.job_id.clone());
        Ok(json!({ "jobArn": job.job_arn }))
    }

    /// GetModelInvocationJob by id or ARN.
    pub fn get(&self, identifier: &str) -> Result<Value, BatchError> {
        let id = validate::job_identifier(identifier)?;
        self.inner
            .snapshot(&id)
            .map(|job| job.to_wire())
            .ok_or_else(|| not_found(identifier))
    }

    /// ListModelInvocationJobs with its query parameters.
    pub fn list(&self, query: &HashMap<String, String>) -> Result<Value, BatchError> {
        let jobs: Vec<Job> = lock(&self.inner.jobs).values().cloned().collect();
        crate::list::list(jobs, query)
    }

    /// The tags of a job, by id or ARN (ListTagsForResource).
    pub fn tags(&self, identifier: &str) -> Result<Vec<(String, String)>, BatchError> {
        let id = validate::job_identifier(identifier)?;
        self.inner
            .snapshot(&id)
            .map(|job| job.tags)
            .ok_or_else(|| not_found(identifier))
    }

    /// Replaces the tags of a job, by id or ARN, and saves it (TagResource, UntagResource).
    pub fn set_tags(
        &self,
        identifier: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), BatchError> {
        let id = validate::job_identifier(identifier)?;
        if self.inner.snapshot(&id).is_none() {
            return Err(not_found(identifier));
        }
        self.inner.update(&id, |job| job.tags = tags)?;
        Ok(())
    }

    /// StopModelInvocationJob: a running job moves to Stopping, and to Stopped once its runner
    /// has written what it finished. Stopping a finished job is a ConflictException.
    pub fn stop(&self, identifier: &str) -> Result<(), BatchError> {
        let id = validate::job_identifier(identifier)?;
        let job = self
            .inner
            .snapshot(&id)
            .ok_or_else(|| not_found(identifier))?;
        if job.status.is_terminal() {
            return Err(BatchError::Conflict(format!(
                "The model invocation job {} is already {} and cannot be stopped.",
                job.job_arn,
                job.status.as_str()
            )));
        }
        self.inner.set_status(&id, JobStatus::Stopping, None)?;
        tracing::info!(job_id = %id, "batch job stopping");
        // A job whose runner ended (it should not happen) still reaches Stopped.
        self.spawn_runner(id);
        Ok(())
    }
}
