//! Request paths → decoded segments, in the order that keeps ARNs intact.
//!
//! Mirrors the restJson1 label rules of bedrock-wire §1.5: model ids contain `:` and ARNs
//! contain `:` and `/`. The AWS SDKs send `%3A` and `%2F`; the Anthropic SDK sends a raw `:`.
//! So the raw path is split on `/` first and each segment is percent-decoded afterwards: a
//! decoded `%2F` stays inside its segment, and `%3A`, `%3a` and `:` all decode to `:`.
//! `+` is not a space in a path and is left alone.

use crate::{Error, Result};

/// Splits a raw request path (anything after `?` is ignored) into percent-decoded segments.
///
/// One leading `/` is dropped; `"/"` and `""` give no segments; empty segments are kept (so
/// `/model//invoke` has an empty model id, which the router can reject). A segment whose
/// decoded bytes are not UTF-8 is an error. Malformed escapes (`%G1`, a trailing `%`) are
/// kept literally, as most servers do.
pub fn split_path(raw_path: &str) -> Result<Vec<String>> {
    let path = raw_path.split_once('?').map_or(raw_path, |(p, _)| p);
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.is_empty() {
        return Ok(Vec::new());
    }
    path.split('/').map(decode_segment).collect()
}

/// Percent-decodes one raw path segment.
pub fn decode_segment(raw: &str) -> Result<String> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Error::InvalidPathEncoding(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        split_path(p).unwrap()
    }

    #[test]
    fn botocore_encoded_model_id() {
        assert_eq!(
            segs("/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"),
            ["model", "anthropic.claude-3-haiku-20240307-v1:0", "invoke"]
        );
    }

    #[test]
    fn lower_case_escape_and_raw_colon() {
        assert_eq!(
            segs("/model/meta.llama3-8b-instruct-v1%3a0/converse"),
            ["model", "meta.llama3-8b-instruct-v1:0", "converse"]
        );
        assert_eq!(
            segs("/model/meta.llama3-8b-instruct-v1:0/converse"),
            ["model", "meta.llama3-8b-instruct-v1:0", "converse"]
        );
    }

    #[test]
    fn encoded_slash_stays_in_its_segment() {
        assert_eq!(
            segs("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fanthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream"),
            [
                "model",
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
                "invoke-with-response-stream"
            ]
        );
        // The Anthropic SDK: raw ':' but '/' encoded.
        assert_eq!(
            segs("/model/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile%2Fabc/invoke"),
            [
                "model",
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc",
                "invoke"
            ]
        );
    }

    #[test]
    fn query_empty_and_odd_paths() {
        assert_eq!(
            segs("/model-invocation-jobs?statusEquals=Completed&x=%2F"),
            ["model-invocation-jobs"]
        );
        assert!(segs("/").is_empty());
        assert!(segs("").is_empty());
        assert_eq!(segs("/model//invoke"), ["model", "", "invoke"]);
        assert_eq!(segs("/foundation-models/"), ["foundation-models", ""]);
        assert_eq!(segs("/a+b/%G1/50%"), ["a+b", "%G1", "50%"]);
        assert_eq!(segs("/caf%C3%A9"), ["café"]);
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert_eq!(
            split_path("/model/%FF%FE/invoke"),
            Err(Error::InvalidPathEncoding("%FF%FE".into()))
        );
        assert!(split_path("/%C3").is_err());
    }
}
