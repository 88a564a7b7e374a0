//! AWS Signature Version 4 signing of forwarded requests (header form).
//!
//! Follows the published SigV4 algorithm: a canonical request (method, canonical URI,
//! canonical query, sorted lower-case headers, signed-header list, hex SHA-256 of the
//! payload), a string to sign (`AWS4-HMAC-SHA256`, timestamp, scope, hash of the canonical
//! request), a signing key derived by HMAC-SHA256 chaining over date, region, service and
//! `aws4_request`, and the `Authorization` header. For every service but S3 the canonical URI
//! encodes each path segment a second time, so the path given here is the one on the wire
//! (already encoded once) and this module encodes it again.

use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

use crate::credentials::Credentials;

/// The algorithm name.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Everything but unreserved characters (`A-Z a-z 0-9 - . _ ~`) is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// URI-encodes one path segment the SigV4 way (RFC 3986 unreserved characters kept).
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, UNRESERVED).to_string()
}

/// Who signs, where, and when.
#[derive(Debug, Clone)]
pub struct SigningParams<'a> {
    /// The credentials.
    pub credentials: &'a Credentials,
    /// Signing region (`us-east-1`).
    pub region: &'a str,
    /// Signing name (`bedrock` for every Bedrock API).
    pub service: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'a str,
}

/// The `x-amz-date` value for `now`.
pub fn amz_date(now: time::OffsetDateTime) -> String {
    let now = now.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this never fails.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The SigV4 signing key for a date (`YYYYMMDD`), region and service.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn collapse(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The headers to add to a request so it is signed: `x-amz-date`, `x-amz-security-token`
/// (with temporary credentials) and `authorization`.
///
/// `path` is the request path as sent (segments already percent-encoded once), `query` the
/// canonical query string (empty for Bedrock runtime calls), `headers` every other header
/// to sign (`host` must be among them).
pub fn sign(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    payload: &[u8],
    params: &SigningParams<'_>,
) -> Vec<(String, String)> {
    let mut added = vec![("x-amz-date".to_string(), params.amz_date.to_string())];
    if let Some(token) = &params.credentials.session_token {
        added.push(("x-amz-security-token".to_string(), token.clone()));
    }
    let mut canonical: Vec<(String, String)> = headers
        .iter()
        .chain(added.iter())
        .map(|(k, v)| (k.to_ascii_lowercase(), collapse(v)))
        .collect();
    canonical.sort();
    let signed_headers = canonical
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_uri = if path.is_empty() || path == "/" {
        "/".to_string()
    } else {
        path.split('/')
            .map(encode_segment)
            .collect::<Vec<_>>()
            .join("/")
    };
    let header_block: String = canonical
        .iter()
        .map(|(k, v)| format!("{k}:{v}\n"))
        .collect();
    let canonical_request = format!(
        "{method}\n{canonical_uri}\n{query}\n{header_block}\n{signed_headers}\n{}",
        hex::encode(Sha256::digest(payload))
    );
    let date = params.amz_date.get(..8).unwrap_or(params.amz_date);
    let scope = format!("{date}/{}/{}/aws4_request", params.region, params.service);
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{scope}\n{}",
        params.amz_date,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let key = signing_key(
        &params.credentials.secret_access_key,
        date,
        params.region,
        params.service,
    );
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    added.push((
        "authorization".to_string(),
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            params.credentials.access_key_id
        ),
    ));
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_credentials() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    fn authorization(added: &[(String, String)]) -> &str {
        &added.iter().find(|(k, _)| k == "authorization").unwrap().1
    }

    #[test]
    fn the_documented_signing_key_example() {
        // AWS docs, "Deriving the signing key": 20120215 / us-east-1 / iam.
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn the_get_vanilla_test_vector() {
        let creds = example_credentials();
        let params = SigningParams {
            credentials: &creds,
            region: "us-east-1",
            service: "service",
            amz_date: "20150830T123600Z",
        };
        let added = sign(
            "GET",
            "/",
            "",
            &[("Host".into(), "example.amazonaws.com".into())],
            b"",
            &params,
        );
        assert_eq!(
            authorization(&added),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn the_iam_list_users_example() {
        let creds = example_credentials();
        let params = SigningParams {
            credentials: &creds,
            region: "us-east-1",
            service: "iam",
            amz_date: "20150830T123600Z",
        };
        let added = sign(
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &[
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded; charset=utf-8".into(),
                ),
                ("Host".into(), "iam.amazonaws.com".into()),
            ],
            b"",
            &params,
        );
        assert!(authorization(&added).ends_with(
            "SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        ));
    }

    #[test]
    fn session_tokens_are_sent_and_signed_and_paths_double_encoded() {
        let mut creds = example_credentials();
        creds.session_token = Some("TOKEN".into());
        let params = SigningParams {
            credentials: &creds,
            region: "us-west-2",
            service: "bedrock",
            amz_date: "20261126T101500Z",
        };
        let headers = [("host".to_string(), "h".to_string())];
        let a = sign(
            "POST",
            "/model/m%3A0/converse",
            "",
            &headers,
            b"{}",
            &params,
        );
        assert!(a.contains(&("x-amz-security-token".into(), "TOKEN".into())));
        assert!(authorization(&a).contains("SignedHeaders=host;x-amz-date;x-amz-security-token"));
        assert!(authorization(&a).contains("/20261126/us-west-2/bedrock/aws4_request"));
        // A different body or path gives a different signature; the same inputs the same.
        let b = sign(
            "POST",
            "/model/m%3A0/converse",
            "",
            &headers,
            b"{ }",
            &params,
        );
        let c = sign(
            "POST",
            "/model/m%3A1/converse",
            "",
            &headers,
            b"{}",
            &params,
        );
        let d = sign(
            "POST",
            "/model/m%3A0/converse",
            "",
            &headers,
            b"{}",
            &params,
        );
        assert_ne!(authorization(&a), authorization(&b));
        assert_ne!(authorization(&a), authorization(&c));
        assert_eq!(authorization(&a), authorization(&d));
        assert_eq!(encode_segment("m:0/x y"), "m%3A0%2Fx%20y");
        assert_eq!(encode_segment("m%3A0"), "m%253A0");
    }

    #[test]
    fn amz_date_formats_utc() {
        let t = time::macros::datetime!(2026-11-26 09:05:03 UTC);
        assert_eq!(amz_date(t), "20261126T090503Z");
    }
}
