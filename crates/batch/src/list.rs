//! ListModelInvocationJobs: filters, sort order and pagination over the known jobs.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::error::BatchError;
use crate::job::{Job, JobStatus};
use crate::time_fmt::parse_ms;
use crate::validate::Violations;

/// Default and largest page size.
const MAX_RESULTS: usize = 1000;

fn invalid(v: Violations) -> BatchError {
    v.into_result()
        .err()
        .unwrap_or_else(|| BatchError::Validation("Invalid request.".into()))
}

/// Applies the query to `jobs` and renders the response.
pub fn list(mut jobs: Vec<Job>, query: &HashMap<String, String>) -> Result<Value, BatchError> {
    let mut v = Violations::default();
    let status = query.get("statusEquals").and_then(|s| {
        let parsed = JobStatus::parse(s);
        if parsed.is_none() {
            let names: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
            v.push(
                s,
                "statusEquals",
                &format!("Member must satisfy enum value set: [{}]", names.join(", ")),
            );
        }
        parsed
    });
    let mut time_param = |name: &str| {
        let text = query.get(name)?;
        let parsed = parse_ms(text);
        if parsed.is_none() {
            v.push(text, name, "Member must be a timestamp");
        }
        parsed
    };
    let after = time_param("submitTimeAfter");
    let before = time_param("submitTimeBefore");
    if let Some(by) = query.get("sortBy") {
        if by != "CreationTime" {
            v.push(
                by,
                "sortBy",
                "Member must satisfy enum value set: [CreationTime]",
            );
        }
    }
    let ascending = match query.get("sortOrder").map(String::as_str) {
        None | Some("Descending") => false,
        Some("Ascending") => true,
        Some(other) => {
            v.push(
                other,
                "sortOrder",
                "Member must satisfy enum value set: [Ascending, Descending]",
            );
            false
        }
    };
    let max_results = match query.get("maxResults") {
        None => MAX_RESULTS,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n < 1 => {
                v.push(
                    text,
                    "maxResults",
                    "Member must have value greater than or equal to 1",
                );
                MAX_RESULTS
            }
            Ok(n) if n > MAX_RESULTS as i64 => {
                v.push(
                    text,
                    "maxResults",
                    "Member must have value less than or equal to 1000",
                );
                MAX_RESULTS
            }
            Ok(n) => n as usize,
            Err(_) => {
                v.push(text, "maxResults", "Member must be an integer");
                MAX_RESULTS
            }
        },
    };
    std::mem::take(&mut v).into_result()?;
    let start = match query.get("nextToken") {
        None => 0,
        Some(token) => token
            .strip_prefix("jobs-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                let mut v = Violations::default();
                v.push(
                    token,
                    "nextToken",
                    "Member must be a token returned by a previous call",
                );
                invalid(v)
            })?,
    };
    let name_contains = query.get("nameContains").map(|s| s.to_lowercase());

    jobs.retain(|job| {
        status.is_none_or(|s| job.status == s)
            && after.is_none_or(|t| job.submit_time > t)
            && before.is_none_or(|t| job.submit_time < t)
            && name_contains
                .as_deref()
                .is_none_or(|n| job.job_name.to_lowercase().contains(n))
    });
    jobs.sort_by(|a, b| {
        let order = a
            .submit_time
            .cmp(&b.submit_time)
            .then_with(|| a.job_id.cmp(&b.job_id));
        if ascending {
            order
        } else {
            order.reverse()
        }
    });
    let end = start.saturating_add(max_results).min(jobs.len());
    let page: Vec<Value> = jobs
        .get(start.min(jobs.len())..end)
        .unwrap_or_default()
        .iter()
        .map(Job::to_wire)
        .collect();
    let mut out = json!({ "invocationJobSummaries": page });
    if end < jobs.len() {
        out["nextToken"] = json!(format!("jobs-{end}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::InvocationType;

    fn job(id: &str, name: &str, submit: i64, status: JobStatus) -> Job {
        Job {
            job_id: id.into(),
            job_arn: format!("arn:aws:bedrock:us-east-1:000000000000:model-invocation-job/{id}"),
            job_name: name.into(),
            model_id: "m.m-v1:0".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            client_request_token: None,
            request_fingerprint: Value::Null,
            input_data_config: json!({}),
            output_data_config: json!({}),
            vpc_config: None,
            timeout_hours: 24,
            invocation_type: InvocationType::InvokeModel,
            input_uri: "s3://in".into(),
            output_uri: "s3://out".into(),
            status,
            message: None,
            submit_time: submit,
            last_modified_time: submit,
            end_time: None,
            files: None,
            tags: Vec::new(),
        }
    }

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ids(v: &Value) -> Vec<String> {
        v["invocationJobSummaries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| {
                j["jobArn"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    fn jobs() -> Vec<Job> {
        vec![
            job("aaaaaaaaaaaa", "Nightly-One", 1_000, JobStatus::Completed),
            job("bbbbbbbbbbbb", "nightly-two", 2_000, JobStatus::InProgress),
            job("cccccccccccc", "adhoc", 3_000, JobStatus::Completed),
        ]
    }

    #[test]
    fn newest_first_by_default_and_filters_combine() {
        let all = list(jobs(), &q(&[])).unwrap();
        assert_eq!(ids(&all), ["cccccccccccc", "bbbbbbbbbbbb", "aaaaaaaaaaaa"]);
        assert!(all.get("nextToken").is_none());
        let asc = list(
            jobs(),
            &q(&[("sortOrder", "Ascending"), ("sortBy", "CreationTime")]),
        )
        .unwrap();
        assert_eq!(ids(&asc), ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"]);
        let f = list(
            jobs(),
            &q(&[("statusEquals", "Completed"), ("nameContains", "NIGHTLY")]),
        )
        .unwrap();
        assert_eq!(ids(&f), ["aaaaaaaaaaaa"]);
        let t = list(
            jobs(),
            &q(&[
                ("submitTimeAfter", "1970-01-01T00:00:01.000Z"),
                ("submitTimeBefore", "1970-01-01T00:00:03Z"),
            ]),
        )
        .unwrap();
        assert_eq!(ids(&t), ["bbbbbbbbbbbb"]);
    }

    #[test]
    fn pages_follow_next_tokens() {
        let first = list(jobs(), &q(&[("maxResults", "2")])).unwrap();
        assert_eq!(ids(&first).len(), 2);
        let token = first["nextToken"].as_str().unwrap().to_string();
        let second = list(jobs(), &q(&[("maxResults", "2"), ("nextToken", &token)])).unwrap();
        assert_eq!(ids(&second), ["aaaaaaaaaaaa"]);
        assert!(second.get("nextToken").is_none());
    }

    #[test]
    fn bad_parameters_are_validation_errors() {
        for (k, v, want) in [
            (
                "statusEquals",
                "Done",
                "Member must satisfy enum value set: [Submitted, Validating",
            ),
            (
                "maxResults",
                "0",
                "Member must have value greater than or equal to 1",
            ),
            (
                "maxResults",
                "1001",
                "Member must have value less than or equal to 1000",
            ),
            (
                "sortOrder",
                "Up",
                "Member must satisfy enum value set: [Ascending, Descending]",
            ),
            ("nextToken", "zzz", "at 'nextToken'"),
        ] {
            match list(jobs(), &q(&[(k, v)])) {
                Err(BatchError::Validation(m)) => assert!(m.contains(want), "{m}"),
                other => panic!("{k}={v}: {other:?}"),
            }
        }
    }
}
