//! What never reaches a cassette file: account ids.
//!
//! Request headers (and so credentials) are not stored at all; this module replaces the
//! 12-digit account id inside ARNs (`arn:<partition>:<service>:<region>:<account>:...`) with
//! `000000000000`, in text, in JSON strings, and inside event-stream messages (same length,
//! so only the message CRC is recomputed).

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

/// The account id written in place of real ones.
pub const SCRUBBED_ACCOUNT: &str = "000000000000";

/// An ARN up to its account id (group 1), the 12-digit account id, and the colon after it
/// (group 2).
const ARN_ACCOUNT: &str = r"(arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:)[0-9]{12}(:)";

fn arn_account() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(ARN_ACCOUNT).ok()).as_ref()
}

/// [`ARN_ACCOUNT`] over bytes (event-stream messages), compiled once.
fn arn_account_bytes() -> Option<&'static regex::bytes::Regex> {
    static RE: OnceLock<Option<regex::bytes::Regex>> = OnceLock::new();
    RE.get_or_init(|| regex::bytes::Regex::new(ARN_ACCOUNT).ok())
        .as_ref()
}

/// `text` with every ARN account id replaced by [`SCRUBBED_ACCOUNT`].
pub fn text(text: &str) -> String {
    match arn_account() {
        Some(re) => re
            .replace_all(text, format!("${{1}}{SCRUBBED_ACCOUNT}${{2}}").as_str())
            .into_owned(),
        None => text.to_string(),
    }
}

/// `value` with every string scrubbed (keys included).
pub fn json(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(text(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(json).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (text(&k), json(v))).collect())
        }
        other => other,
    }
}

/// One event-stream message with ARN account ids scrubbed; unchanged bytes when there are
/// none. The replacement has the same length, so only the trailing message CRC changes.
pub fn event_message(message: &[u8]) -> Vec<u8> {
    if message.len() < 16 {
        return message.to_vec();
    }
    let body_end = message.len() - 4;
    // Prelude (12 bytes) is lengths and their CRC: untouched. Scrub the rest as bytes.
    let lossy = String::from_utf8_lossy(&message[12..body_end]);
    if !lossy.contains("arn:aws") {
        return message.to_vec();
    }
    let mut out = message[..body_end].to_vec();
    scrub_bytes(&mut out[12..]);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// Replaces account ids in ARNs inside arbitrary bytes, in place (same length).
fn scrub_bytes(bytes: &mut [u8]) {
    let Some(bytes_re) = arn_account_bytes() else {
        return;
    };
    let spans: Vec<(usize, usize)> = bytes_re
        .captures_iter(bytes)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let prefix = c.get(1)?;
            Some((prefix.end(), whole.end() - 1))
        })
        .collect();
    for (start, end) in spans {
        for b in &mut bytes[start..end] {
            *b = b'0';
        }
    }
}

/// CRC-32 (IEEE 802.3, the one event-stream framing uses).
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_in_arns_are_replaced_and_nothing_else() {
        assert_eq!(
            text(
                r#"{"arn":"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/x","n":123456789012}"#
            ),
            r#"{"arn":"arn:aws:bedrock:us-east-1:000000000000:model-invocation-job/x","n":123456789012}"#
        );
        assert_eq!(
            text("arn:aws-us-gov:iam::123456789012:role/r"),
            "arn:aws-us-gov:iam::000000000000:role/r"
        );
        assert_eq!(text("no arns here"), "no arns here");
    }

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn event_messages_keep_their_length_and_get_a_valid_crc() {
        let payload = br#"{"arn":"arn:aws:bedrock:us-west-2:123456789012:foo"}"#;
        let total = (12 + payload.len() + 4) as u32;
        let mut msg = total.to_be_bytes().to_vec();
        msg.extend_from_slice(&0u32.to_be_bytes());
        let prelude_crc = crc32(&msg);
        msg.extend_from_slice(&prelude_crc.to_be_bytes());
        msg.extend_from_slice(payload);
        let crc = crc32(&msg);
        msg.extend_from_slice(&crc.to_be_bytes());

        let out = event_message(&msg);
        assert_eq!(out.len(), msg.len());
        let body = String::from_utf8_lossy(&out[12..out.len() - 4]).into_owned();
        assert!(body.contains(":000000000000:"), "{body}");
        let n = out.len();
        assert_eq!(crc32(&out[..n - 4]).to_be_bytes(), out[n - 4..]);
        let clean = event_message(b"0123456789abcdef-no-arn");
        assert_eq!(clean, b"0123456789abcdef-no-arn");
    }
}
