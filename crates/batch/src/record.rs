//! Input records and output lines.
//!
//! Input: one JSON object per non-empty line, either AWS's `{"recordId", "modelInput"}` or a
//! plain provider body (LocalStack's guide), which gets a generated record id. Output: one
//! `{"recordId", "modelInput", "modelOutput"}` or `{"recordId", "modelInput", "error":
//! {"errorCode", "errorMessage"}}` line per record. The spool keeps each output line with its
//! token counts, so the counters can be rebuilt from the spool alone after a crash.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::invoker::{InvokeOutput, RecordError};

/// One input record.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRecord {
    /// The user's `recordId`, or a generated one.
    pub record_id: String,
    /// The provider body (or the raw line, as a string, when it is not JSON).
    pub model_input: Value,
    /// Why the line cannot be sent to the model at all.
    pub invalid: Option<String>,
}

/// The record id generated for the `n`-th record (0-based, across the job's files): stable, so
/// a resumed job names each record the same way.
pub fn generated_id(n: u64) -> String {
    format!("{:011}", n + 1)
}

/// True for lines that carry a record (blank lines are skipped everywhere).
pub fn is_record_line(line: &str) -> bool {
    !line.trim().is_empty()
}

/// Parses one non-empty input line; `n` is its record index within the job.
pub fn parse_line(line: &str, n: u64) -> InputRecord {
    let parsed: Result<Value, _> = serde_json::from_str(line.trim());
    match parsed {
        Ok(Value::Object(mut object)) if object.contains_key("modelInput") => {
            let record_id = match object.get("recordId") {
                Some(Value::String(id)) if !id.is_empty() => id.clone(),
                Some(Value::Number(id)) => id.to_string(),
                _ => generated_id(n),
            };
            let model_input = object.remove("modelInput").unwrap_or(Value::Null);
            let invalid = (!model_input.is_object())
                .then(|| "The modelInput of the record is not a JSON object.".to_string());
            InputRecord {
                record_id,
                model_input,
                invalid,
            }
        }
        Ok(body @ Value::Object(_)) => InputRecord {
            record_id: generated_id(n),
            model_input: body,
            invalid: None,
        },
        Ok(other) => InputRecord {
            record_id: generated_id(n),
            model_input: other,
            invalid: Some("The record is not a JSON object.".to_string()),
        },
        Err(e) => InputRecord {
            record_id: generated_id(n),
            model_input: Value::String(line.trim().to_string()),
            invalid: Some(format!("The record is not valid JSON: {e}")),
        },
    }
}

/// One spooled result: the output line plus what the counters need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpoolEntry {
    /// The model answered.
    pub ok: bool,
    /// Prompt tokens (0 for errors).
    pub input_tokens: u64,
    /// Generated tokens (0 for errors).
    pub output_tokens: u64,
    /// The `.out` line.
    pub line: Value,
}

impl SpoolEntry {
    /// The entry for a record and its outcome.
    pub fn new(record: &InputRecord, outcome: Result<InvokeOutput, RecordError>) -> Self {
        match outcome {
            Ok(out) => {
                let model_output =
                    serde_json::from_slice::<Value>(&out.body).unwrap_or_else(|_| {
                        Value::String(String::from_utf8_lossy(&out.body).into_owned())
                    });
                SpoolEntry {
                    ok: true,
                    input_tokens: u64::from(out.input_tokens),
                    output_tokens: u64::from(out.output_tokens),
                    line: json!({
                        "recordId": record.record_id,
                        "modelInput": record.model_input,
                        "modelOutput": model_output,
                    }),
                }
            }
            Err(err) => SpoolEntry {
                ok: false,
                input_tokens: 0,
                output_tokens: 0,
                line: json!({
                    "recordId": record.record_id,
                    "modelInput": record.model_input,
                    "error": {"errorCode": err.code, "errorMessage": err.message},
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_records_keep_their_id_and_input() {
        let r = parse_line(
            r#"{"recordId": "CALL0000001", "modelInput": {"prompt": "hi", "max_tokens": 5}}"#,
            7,
        );
        assert_eq!(r.record_id, "CALL0000001");
        assert_eq!(r.model_input, json!({"prompt": "hi", "max_tokens": 5}));
        assert!(r.invalid.is_none());
        let r = parse_line(r#"{"modelInput": {"prompt": "hi"}}"#, 7);
        assert_eq!(r.record_id, "00000000008");
    }

    #[test]
    fn plain_provider_bodies_get_generated_ids() {
        let r = parse_line(
            r#"  {"prompt": "Say hello", "max_tokens": 50, "temperature": 0.5}  "#,
            0,
        );
        assert_eq!(r.record_id, "00000000001");
        assert_eq!(r.model_input["prompt"], "Say hello");
        assert!(r.invalid.is_none());
    }

    #[test]
    fn bad_lines_are_bad_records() {
        let r = parse_line("not json", 2);
        assert_eq!(r.model_input, json!("not json"));
        assert!(r
            .invalid
            .unwrap()
            .starts_with("The record is not valid JSON"));
        assert!(parse_line("[1, 2]", 0).invalid.is_some());
        assert!(parse_line(r#"{"modelInput": "text"}"#, 0).invalid.is_some());
        assert!(!is_record_line("  \t"));
    }

    #[test]
    fn output_lines_have_the_documented_shapes() {
        let record = parse_line(r#"{"recordId": "r1", "modelInput": {"inputText": "x"}}"#, 0);
        let ok = SpoolEntry::new(
            &record,
            Ok(InvokeOutput {
                body: br#"{"results": [{"outputText": "blue"}]}"#.to_vec(),
                input_tokens: 8,
                output_tokens: 3,
            }),
        );
        assert_eq!(
            ok.line.to_string(),
            r#"{"recordId":"r1","modelInput":{"inputText":"x"},"modelOutput":{"results":[{"outputText":"blue"}]}}"#
        );
        assert_eq!((ok.ok, ok.input_tokens, ok.output_tokens), (true, 8, 3));
        let err = SpoolEntry::new(
            &record,
            Err(RecordError {
                code: 400,
                message: "bad request".into(),
            }),
        );
        assert_eq!(
            err.line.to_string(),
            r#"{"recordId":"r1","modelInput":{"inputText":"x"},"error":{"errorCode":400,"errorMessage":"bad request"}}"#
        );
        let back: SpoolEntry = serde_json::from_str(&serde_json::to_string(&err).unwrap()).unwrap();
        assert_eq!(back, err);
    }
}
