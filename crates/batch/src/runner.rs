//! The runner of one job: walks the status machine, lists and counts the input, invokes every
//! record (one at a time, so interactive requests never wait behind more than one batch
//! record), spools each result durably, uploads each `.out` object when its file is done, and
//! writes `manifest.json.out` at the end.
//!
//! Restart safety: the spool of the file in progress is the truth. On resume its complete
//! lines are counted, the same number of input records is skipped, and processing continues;
//! a record whose result was not synced is simply run again, never twice in the output.

use crate::error::BatchError;
use crate::invoker::RecordError;
use crate::job::{Counts, InputFile, InvocationType, Job, JobStatus};
use crate::persist::{append_spool, out_body, read_spool};
use crate::record::{is_record_line, parse_line, SpoolEntry};
use crate::s3::{output_key, parse_uri, select_inputs, S3Location};
use crate::service::Inner;
use crate::time_fmt::now_ms;

/// The name of the job summary object.
pub const MANIFEST: &str = "manifest.json.out";

/// Runs a job until it reaches a terminal status. Storage failures fail the job.
pub async fn run(inner: &Inner, job_id: &str) {
    if let Err(e) = drive(inner, job_id).await {
        tracing::error!(job_id, error = %e, "batch job failed");
        let _ = inner.set_status(
            job_id,
            JobStatus::Failed,
            Some(format!("The job failed inside bedrock-local: {e}")),
        );
    }
}

async fn dwell(inner: &Inner) {
    tokio::time::sleep(inner.config.state_dwell).await;
}

async fn drive(inner: &Inner, job_id: &str) -> Result<(), BatchError> {
    loop {
        let Some(job) = inner.snapshot(job_id) else {
            return Ok(());
        };
        match job.status {
            s if s.is_terminal() => return Ok(()),
            JobStatus::Stopping => {
                finish_early(inner, &job, JobStatus::Stopped, None).await?;
            }
            JobStatus::Submitted => {
                dwell(inner).await;
                inner.set_status(job_id, JobStatus::Validating, None)?;
            }
            JobStatus::Validating => {
                dwell(inner).await;
                validate_input(inner, &job).await?;
            }
            JobStatus::Scheduled | JobStatus::InProgress => {
                let _permit = inner.slot.acquire().await;
                if job.status == JobStatus::Scheduled {
                    dwell(inner).await;
                    inner.set_status(job_id, JobStatus::InProgress, None)?;
                }
                process(inner, job_id).await?;
            }
            _ => return Ok(()),
        }
    }
}

fn fail(inner: &Inner, job_id: &str, message: String) -> Result<(), BatchError> {
    tracing::warn!(job_id, %message, "batch job failed");
    inner.set_status(job_id, JobStatus::Failed, Some(message))?;
    Ok(())
}

fn location(uri: &str) -> Result<S3Location, String> {
    parse_uri(uri).ok_or_else(|| format!("{uri} is not an S3 URI."))
}

/// Validating: the output bucket exists, the input has `.jsonl` objects; counts their records.
async fn validate_input(inner: &Inner, job: &Job) -> Result<(), BatchError> {
    let (input, output) = match (location(&job.input_uri), location(&job.output_uri)) {
        (Ok(i), Ok(o)) => (i, o),
        (Err(m), _) | (_, Err(m)) => return fail(inner, &job.job_id, m),
    };
    if let Err(m) = inner.s3.head_bucket(&input.bucket).await {
        return fail(inner, &job.job_id, m);
    }
    if let Err(m) = inner.s3.head_bucket(&output.bucket).await {
        return fail(inner, &job.job_id, m);
    }
    let keys = match inner.s3.list(&input.bucket, &input.key).await {
        Ok(k) => k,
        Err(m) => return fail(inner, &job.job_id, m),
    };
    let selected = select_inputs(&input, &keys);
    if selected.is_empty() {
        return fail(
            inner,
            &job.job_id,
            format!("No .jsonl input files were found at {}.", job.input_uri),
        );
    }
    let mut files = Vec::new();
    for (key, name) in selected {
        let body = match inner.s3.get(&input.bucket, &key).await {
            Ok(b) => b,
            Err(m) => return fail(inner, &job.job_id, m),
        };
        let records = String::from_utf8_lossy(&body)
            .lines()
            .filter(|l| is_record_line(l))
            .count() as u64;
        files.push(InputFile {
            key,
            name,
            records,
            counts: Counts::default(),
            done: false,
        });
    }
    let total: u64 = files.iter().map(|f| f.records).sum();
    inner.update(&job.job_id, |j| {
        if j.status == JobStatus::Validating {
            j.files = Some(files);
        }
    })?;
    if total == 0 {
        return fail(
            inner,
            &job.job_id,
            format!("The input at {} contains no records.", job.input_uri),
        );
    }
    inner.set_status(&job.job_id, JobStatus::Scheduled, None)?;
    Ok(())
}

fn counts_of(entries: &[SpoolEntry]) -> Counts {
    let mut c = Counts::default();
    for e in entries {
        c.processed += 1;
        if e.ok {
            c.success += 1;
            c.input_tokens += e.input_tokens;
            c.output_tokens += e.output_tokens;
        } else {
            c.error += 1;
        }
    }
    c
}

fn set_file_counts(
    inner: &Inner,
    job_id: &str,
    index: usize,
    counts: Counts,
) -> Result<(), BatchError> {
    inner.update(job_id, |j| {
        if let Some(f) = j.files.as_mut().and_then(|f| f.get_mut(index)) {
            f.counts = counts;
        }
    })?;
    Ok(())
}

/// Why processing must end before the last record: a stop request or the timeout.
fn interruption(inner: &Inner, job_id: &str) -> Option<(JobStatus, Option<String>)> {
    let job = inner.snapshot(job_id)?;
    if job.status != JobStatus::InProgress {
        return Some((JobStatus::Stopped, None));
    }
    (now_ms() > job.expiration_time()).then(|| {
        (
            JobStatus::Expired,
            Some(format!(
                "The job did not finish within its timeout of {} hours.",
                job.timeout_hours
            )),
        )
    })
}

/// InProgress: every file not uploaded yet, record by record, then the manifest.
async fn process(inner: &Inner, job_id: &str) -> Result<(), BatchError> {
    let Some(job) = inner.snapshot(job_id) else {
        return Ok(());
    };
    let files = job.files.clone().unwrap_or_default();
    let (input, output) = match (location(&job.input_uri), location(&job.output_uri)) {
        (Ok(i), Ok(o)) => (i, o),
        (Err(m), _) | (_, Err(m)) => return fail(inner, job_id, m),
    };
    let converse = job.invocation_type == InvocationType::Converse;
    let mut record_base = 0u64;
    for (index, file) in files.iter().enumerate() {
        if file.done {
            record_base += file.records;
            continue;
        }
        let spool = inner.store.spool_path(job_id, index);
        let mut entries = read_spool(&spool)?;
        let mut counts = counts_of(&entries);
        set_file_counts(inner, job_id, index, counts)?;
        if (entries.len() as u64) < file.records {
            let body = match inner.s3.get(&input.bucket, &file.key).await {
                Ok(b) => b,
                Err(m) => return fail(inner, job_id, m),
            };
            let text = String::from_utf8_lossy(&body);
            let lines = text.lines().filter(|l| is_record_line(l));
            for (i, line) in lines.enumerate().skip(entries.len()) {
                if let Some((status, message)) = interruption(inner, job_id) {
                    let job = inner.snapshot(job_id).unwrap_or(job);
                    return finish_early(inner, &job, status, message).await;
                }
                let record = parse_line(line, record_base + i as u64);
                let outcome = match &record.invalid {
                    Some(message) => Err(RecordError {
                        code: 400,
                        message: message.clone(),
                    }),
                    None => {
                        let body = serde_json::to_vec(&record.model_input)?;
                        inner.invoker.invoke(&job.model_id, converse, body).await
                    }
                };
                let entry = SpoolEntry::new(&record, outcome);
                append_spool(&spool, &entry)?;
                counts.add(&counts_of(std::slice::from_ref(&entry)));
                set_file_counts(inner, job_id, index, counts)?;
                entries.push(entry);
            }
        }
        let key = output_key(&output, job_id, &format!("{}.out", file.name));
        if let Err(m) = inner.s3.put(&output.bucket, &key, out_body(&entries)).await {
            return fail(inner, job_id, m);
        }
        inner.update(job_id, |j| {
            if let Some(f) = j.files.as_mut().and_then(|f| f.get_mut(index)) {
                f.done = true;
            }
        })?;
        record_base += file.records;
    }
    let job = inner.snapshot(job_id).unwrap_or(job);
    if let Err(m) = write_manifest(inner, &job, &output).await {
        return fail(inner, job_id, m);
    }
    let counts = job.counts();
    let (status, message) = if counts.error == 0 {
        (JobStatus::Completed, None)
    } else if counts.success == 0 {
        (
            JobStatus::Failed,
            Some(format!(
                "All {} records failed; each line of the .out files carries its error.",
                counts.error
            )),
        )
    } else {
        (
            JobStatus::PartiallyCompleted,
            Some(format!(
                "{} of {} records failed; each failed line of the .out files carries its error.",
                counts.error, counts.processed
            )),
        )
    };
    inner.set_status(job_id, status, message)?;
    tracing::info!(
        job_id,
        status = status.as_str(),
        records = counts.processed,
        errors = counts.error,
        "batch job finished"
    );
    Ok(())
}

async fn write_manifest(inner: &Inner, job: &Job, output: &S3Location) -> Result<(), String> {
    let key = output_key(output, &job.job_id, MANIFEST);
    inner
        .s3
        .put(
            &output.bucket,
            &key,
            job.manifest().to_string().into_bytes(),
        )
        .await
}

/// Stop or expiry: uploads what each unfinished file has so far and the manifest, then moves
/// to `status`.
async fn finish_early(
    inner: &Inner,
    job: &Job,
    status: JobStatus,
    message: Option<String>,
) -> Result<(), BatchError> {
    let mut problem = None;
    if let (Some(files), Ok(output)) = (&job.files, location(&job.output_uri)) {
        for (index, file) in files.iter().enumerate().filter(|(_, f)| !f.done) {
            let entries = read_spool(&inner.store.spool_path(&job.job_id, index))?;
            if entries.is_empty() {
                continue;
            }
            let key = output_key(&output, &job.job_id, &format!("{}.out", file.name));
            if let Err(m) = inner.s3.put(&output.bucket, &key, out_body(&entries)).await {
                problem = Some(m);
            }
        }
        if let Err(m) = write_manifest(inner, job, &output).await {
            problem = Some(m);
        }
    }
    let message = match (message, problem) {
        (Some(m), Some(p)) => Some(format!("{m} {p}")),
        (m, p) => m.or(p),
    };
    if status == JobStatus::Expired {
        // Expired is reached from InProgress; Stopped from Stopping.
        inner.set_status(&job.job_id, status, message)?;
    } else {
        inner.set_status(&job.job_id, JobStatus::Stopping, None)?;
        inner.set_status(&job.job_id, JobStatus::Stopped, message)?;
    }
    tracing::info!(job_id = %job.job_id, status = status.as_str(), "batch job ended early");
    Ok(())
}
