//! Who signed a request, as far as routing needs to know: the SigV4 credential scope.
//!
//! Mirrors the AWS Signature Version 4 documents ("Authorization header" and "Query string
//! parameters" forms, signing scope `AKID/DATE/REGION/SERVICE/aws4_request`) as described in
//! bedrock-wire §1.2 and §1.6. The service in the scope is what tells S3 (`s3`) from every
//! Bedrock API (`bedrock`, runtime included); the region is the region ARNs are minted in.
//!
//! Nothing here verifies a signature: the emulator accepts any credentials, as LocalStack does.
//! A `Bearer` token (Bedrock API keys) is recognised but not kept, so tokens never travel
//! further than this parser.

use std::fmt;

use crate::{Error, Result};

/// The SigV4 algorithm name in `Authorization` headers and `X-Amz-Algorithm`.
pub const SIGV4_ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The parts of a SigV4 credential scope (`AKID/YYYYMMDD/REGION/SERVICE/aws4_request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    /// The access key id (`AKIDEXAMPLE`).
    pub access_key: String,
    /// The signing date, `YYYYMMDD`.
    pub date: String,
    /// The region the client signed for (`us-east-1`).
    pub region: String,
    /// The signing name: `bedrock` for every Bedrock API, `s3` for S3.
    pub service: String,
}

impl CredentialScope {
    /// Parses a credential value, `AKID/YYYYMMDD/REGION/SERVICE/aws4_request` (already
    /// percent-decoded when it came from a query string).
    pub fn parse(credential: &str) -> Result<Self> {
        let bad = |why: &str| Error::MalformedCredential(format!("{credential:?}: {why}"));
        let parts: Vec<&str> = credential.split('/').collect();
        let [access_key, date, region, service, terminator] = parts.as_slice() else {
            return Err(bad("expected 5 '/'-separated parts"));
        };
        if *terminator != "aws4_request" {
            return Err(bad("the scope must end with aws4_request"));
        }
        if access_key.is_empty() {
            return Err(bad("empty access key"));
        }
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the date must be YYYYMMDD"));
        }
        if region.is_empty() || service.is_empty() {
            return Err(bad("empty region or service"));
        }
        Ok(Self {
            access_key: (*access_key).to_owned(),
            date: (*date).to_owned(),
            region: (*region).to_owned(),
            service: (*service).to_owned(),
        })
    }
}

impl fmt::Display for CredentialScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/aws4_request",
            self.access_key, self.date, self.region, self.service
        )
    }
}

/// How a request authenticated itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// SigV4, from the `Authorization` header or a presigned URL.
    SigV4(CredentialScope),
    /// `Authorization: Bearer …` (Bedrock API keys; S3 never uses it). The token is dropped.
    Bearer,
    /// No credentials at all.
    None,
}

impl Auth {
    /// Reads the auth of a request from its `Authorization` header and its raw query string
    /// (without the leading `?`). The header wins over a presigned query.
    pub fn from_request(authorization: Option<&str>, raw_query: Option<&str>) -> Result<Self> {
        if let Some(header) = authorization {
            return parse_authorization(header);
        }
        match raw_query.map(presigned_scope).transpose()?.flatten() {
            Some(scope) => Ok(Auth::SigV4(scope)),
            None => Ok(Auth::None),
        }
    }

    /// The credential scope, when the request was SigV4-signed.
    pub fn scope(&self) -> Option<&CredentialScope> {
        match self {
            Auth::SigV4(scope) => Some(scope),
            Auth::Bearer | Auth::None => None,
        }
    }
}

/// Parses an `Authorization` header value: `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
/// Signature=…` or `Bearer <token>`.
pub fn parse_authorization(header: &str) -> Result<Auth> {
    let header = header.trim();
    let (scheme, rest) = header
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Auth::Bearer);
    }
    if scheme != SIGV4_ALGORITHM {
        return Err(Error::MalformedAuthorization(format!(
            "unsupported scheme {scheme:?}"
        )));
    }
    let credential = rest
        .split(',')
        .map(str::trim)
        .find_map(|component| component.strip_prefix("Credential="))
        .ok_or_else(|| Error::MalformedAuthorization("no Credential= component".to_owned()))?;
    CredentialScope::parse(credential).map(Auth::SigV4)
}

/// The scope of a presigned URL: the percent-decoded `X-Amz-Credential` query parameter, or
/// `None` when the query has none.
pub fn presigned_scope(raw_query: &str) -> Result<Option<CredentialScope>> {
    let Some(value) = raw_query
        .split('&')
        .find_map(|pair| pair.strip_prefix("X-Amz-Credential="))
    else {
        return Ok(None);
    };
    // Query strings may encode spaces as '+'; a credential never contains one.
    let decoded = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .map_err(|_| Error::MalformedCredential(format!("{value:?} is not UTF-8")))?;
    CredentialScope::parse(&decoded).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(region: &str, service: &str) -> CredentialScope {
        CredentialScope {
            access_key: "AKIDEXAMPLE".into(),
            date: "20261125".into(),
            region: region.into(),
            service: service.into(),
        }
    }

    #[test]
    fn captured_boto3_runtime_header() {
        // bedrock-wire §1.2, captured from botocore 1.43.11.
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=fdea0123";
        assert_eq!(
            parse_authorization(h).unwrap(),
            Auth::SigV4(scope("us-east-1", "bedrock"))
        );
    }

    #[test]
    fn captured_boto3_header_with_many_signed_headers() {
        // bedrock-wire §1.7.
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date;x-amzn-bedrock-guardrailidentifier;x-amzn-bedrock-guardrailversion;x-amzn-bedrock-performanceconfig-latency;x-amzn-bedrock-trace, Signature=abc";
        let auth = parse_authorization(h).unwrap();
        assert_eq!(auth.scope().unwrap().service, "bedrock");
    }

    #[test]
    fn s3_scope_and_other_region() {
        let h = "AWS4-HMAC-SHA256 Credential=test/20240101/eu-west-3/s3/aws4_request,SignedHeaders=host,Signature=x";
        assert_eq!(
            parse_authorization(h).unwrap(),
            Auth::SigV4(CredentialScope {
                access_key: "test".into(),
                date: "20240101".into(),
                region: "eu-west-3".into(),
                service: "s3".into(),
            })
        );
    }

    #[test]
    fn bearer_is_recognised_and_token_dropped() {
        assert_eq!(
            parse_authorization("Bearer ABSKabc==").unwrap(),
            Auth::Bearer
        );
        assert_eq!(parse_authorization("bearer x").unwrap(), Auth::Bearer);
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        for h in [
            "",
            "Basic dXNlcjpwYXNz",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=x",
            "AWS4-HMAC-SHA256 Credential=AKID/2026/us-east-1/bedrock/aws4_request",
            "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/bedrock/aws5_request",
            "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/bedrock",
            "AWS4-HMAC-SHA256 Credential=/20261125/us-east-1/bedrock/aws4_request",
            "AWS4-HMAC-SHA256 Credential=AKID/20261125//bedrock/aws4_request",
        ] {
            assert!(parse_authorization(h).is_err(), "{h:?} should fail");
        }
    }

    #[test]
    fn presigned_query() {
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261125%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Date=20261125T231414Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=abc";
        assert_eq!(presigned_scope(q).unwrap(), Some(scope("us-west-2", "s3")));
        assert_eq!(
            Auth::from_request(None, Some(q)).unwrap(),
            Auth::SigV4(scope("us-west-2", "s3"))
        );
        assert_eq!(presigned_scope("prefix=a%2Fb&max-keys=2").unwrap(), None);
        assert!(presigned_scope("X-Amz-Credential=AKID%2F2026").is_err());
    }

    #[test]
    fn header_wins_over_query_and_nothing_is_none() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=x";
        let q = "X-Amz-Credential=AKIDEXAMPLE%2F20261125%2Fus-west-2%2Fs3%2Faws4_request";
        assert_eq!(
            Auth::from_request(Some(h), Some(q)).unwrap(),
            Auth::SigV4(scope("us-east-1", "bedrock"))
        );
        assert_eq!(Auth::from_request(None, None).unwrap(), Auth::None);
        assert_eq!(Auth::from_request(None, Some("a=b")).unwrap(), Auth::None);
    }

    #[test]
    fn scope_round_trips_through_display() {
        let s = scope("us-east-1", "bedrock");
        assert_eq!(CredentialScope::parse(&s.to_string()).unwrap(), s);
    }
}
