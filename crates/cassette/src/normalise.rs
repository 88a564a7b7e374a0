//! The normalised form of a runtime request and the cassette key derived from it.
//!
//! Two requests that mean the same thing must find the same cassette whatever their JSON key
//! order or path encoding, so the key is computed over: the method, the operation (path
//! suffix), the model id percent-decoded, and the body parsed as JSON with every object's keys
//! sorted (the raw bytes, base64, when the body is not JSON). Account ids in ARNs are scrubbed
//! before hashing, so a cassette recorded in one account replays in another. Headers are not
//! part of the key and are never stored.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::scrub;

/// A runtime request reduced to what identifies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalisedRequest {
    /// HTTP method (`POST`).
    pub method: String,
    /// Operation path suffix (`converse`, `converse-stream`, `invoke`, ...).
    pub operation: String,
    /// Model id as decoded from the path (account ids in ARNs scrubbed).
    pub model_id: String,
    /// The body as JSON with sorted object keys, when it parses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// The body as base64, when it is not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

impl NormalisedRequest {
    /// Normalises a request; `model_id` must already be percent-decoded (the router does).
    pub fn new(method: &str, operation: &str, model_id: &str, body: &[u8]) -> Self {
        let (body, body_base64) = match serde_json::from_slice::<Value>(body) {
            Ok(json) => (Some(scrub::json(sort_keys(json))), None),
            Err(_) if body.is_empty() => (None, None),
            Err(_) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(body)),
            ),
        };
        Self {
            method: method.to_ascii_uppercase(),
            operation: operation.to_string(),
            model_id: scrub::text(model_id),
            body,
            body_base64,
        }
    }

    /// The cassette key: the first 16 hex digits of the SHA-256 of this value's JSON.
    pub fn key(&self) -> String {
        // Serialising a struct of strings and JSON values cannot fail; an empty digest input
        // would still give a stable (if useless) key.
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        let digest = hex::encode(Sha256::digest(&bytes));
        digest[..16].to_string()
    }

    /// The cassette file name: `<operation>-<key>.json`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.json", self.operation, self.key())
    }
}

/// Rebuilds `value` with every object's keys in sorted order (serde_json keeps insertion
/// order in this workspace).
pub fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut sorted = Map::new();
            for (k, v) in entries {
                sorted.insert(k, sort_keys(v));
            }
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_and_whitespace_do_not_change_the_key() {
        let a = NormalisedRequest::new(
            "POST",
            "converse",
            "m:0",
            br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"temperature":0.0,"maxTokens":5}}"#,
        );
        let b = NormalisedRequest::new(
            "post",
            "converse",
            "m:0",
            br#"{ "inferenceConfig": {"maxTokens":5, "temperature":0.0},
                  "messages":[{"content":[{"text":"hi"}],"role":"user"}] }"#,
        );
        assert_eq!(a, b);
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key().len(), 16);
        assert!(a.file_name().starts_with("converse-"));
        assert!(a.file_name().ends_with(".json"));
        let text = serde_json::to_string(&a).unwrap();
        assert!(text.find("inferenceConfig").unwrap() < text.find("messages").unwrap());
    }

    #[test]
    fn anything_that_matters_changes_the_key() {
        let base = NormalisedRequest::new("POST", "converse", "m", br#"{"a":1}"#);
        for other in [
            NormalisedRequest::new("POST", "converse-stream", "m", br#"{"a":1}"#),
            NormalisedRequest::new("POST", "converse", "n", br#"{"a":1}"#),
            NormalisedRequest::new("POST", "converse", "m", br#"{"a":2}"#),
            NormalisedRequest::new("PUT", "converse", "m", br#"{"a":1}"#),
        ] {
            assert_ne!(base.key(), other.key());
        }
    }

    #[test]
    fn non_json_bodies_are_kept_as_base64() {
        let r = NormalisedRequest::new("POST", "invoke", "m", b"\x00not json");
        assert!(r.body.is_none());
        assert_eq!(r.body_base64.as_deref(), Some("AG5vdCBqc29u"));
        let empty = NormalisedRequest::new("POST", "invoke", "m", b"");
        assert!(empty.body.is_none() && empty.body_base64.is_none());
    }

    #[test]
    fn account_ids_in_model_arns_do_not_change_the_key() {
        let a = NormalisedRequest::new(
            "POST",
            "converse",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.m",
            b"{}",
        );
        let b = NormalisedRequest::new(
            "POST",
            "converse",
            "arn:aws:bedrock:us-east-1:210987654321:inference-profile/us.m",
            b"{}",
        );
        assert_eq!(a.key(), b.key());
        assert_eq!(
            a.model_id,
            "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.m"
        );
    }
}
