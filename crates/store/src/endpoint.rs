//! The HTTP side: an s3s service over the store, addressed path-style or virtual-host style,
//! with LocalStack's policy of never checking credentials.
//!
//! s3s verifies every SigV4 signature it sees against a secret it must know; an emulator
//! accepts any credentials. So before a request reaches s3s the signature is removed (the
//! `Authorization` header, presigned-URL query parameters) and an `aws-chunked` body is
//! decoded here ([`crate::chunked`]), leaving an anonymous request with plain bytes, which
//! s3s serves without an auth provider.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use http::header::{HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH};
use http_body_util::{BodyDataStream, StreamBody};
use s3s::host::{S3Host, VirtualHost};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::S3Result;

use crate::error::StoreError;
use crate::layout::valid_bucket_name;
use crate::store::S3Store;

use crate::chunked::StdError;

/// Query parameters of presigned URLs (SigV4 and SigV2): dropped before s3s sees them.
const PRESIGN_PARAMS: &[&str] = &[
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "Signature",
    "Expires",
];

/// Host-name labels of Bedrock endpoints, which are never bucket names here.
const BEDROCK_HOSTS: &[&str] = &[
    "bedrock",
    "bedrock-runtime",
    "bedrock-agent",
    "bedrock-agent-runtime",
];

/// How a `Host` header addresses S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3HostKind {
    /// Virtual-host style: the bucket is in the host name.
    Bucket(String),
    /// An S3 endpoint name without a bucket (`s3.localhost`, `s3.us-east-1.amazonaws.com`).
    Endpoint,
    /// Not an S3 host name (`localhost`, an IP address, `bedrock-runtime.…`).
    Other,
}

/// Classifies a `Host` header (port allowed): `<bucket>.localhost`, `<bucket>.s3.localhost`,
/// `<bucket>.s3.localhost.localstack.cloud`, `<bucket>.s3[.<region>].amazonaws.com` name a
/// bucket; `s3.…` names are S3 endpoints; everything else is not S3 by its host.
pub fn classify_host(host: &str) -> S3HostKind {
    let host = strip_port(host).to_ascii_lowercase();
    for (suffix, bare_bucket_ok) in [
        (".localhost.localstack.cloud", true),
        (".localhost", true),
        (".amazonaws.com", false),
    ] {
        let Some(rest) = host.strip_suffix(suffix) else {
            continue;
        };
        if rest == "s3" || rest.starts_with("s3.") || rest.starts_with("s3-") {
            return S3HostKind::Endpoint;
        }
        let bucket = if let Some(b) = rest.strip_suffix(".s3") {
            Some(b)
        } else if let Some(at) = rest.rfind(".s3.").or_else(|| rest.rfind(".s3-")) {
            Some(&rest[..at])
        } else if bare_bucket_ok {
            Some(rest)
        } else {
            None
        };
        return match bucket {
            Some(b)
                if valid_bucket_name(b)
                    && !BEDROCK_HOSTS.contains(&b.split('.').next().unwrap_or_default()) =>
            {
                S3HostKind::Bucket(b.to_string())
            }
            _ => S3HostKind::Other,
        };
    }
    S3HostKind::Other
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host;
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Virtual-host parsing for s3s, by [`classify_host`].
struct LocalHosts;

impl S3Host for LocalHosts {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        Ok(match classify_host(host) {
            S3HostKind::Bucket(bucket) => VirtualHost::new(host).with_bucket(bucket),
            _ => VirtualHost::new(host),
        })
    }
}

/// S3 over HTTP: give it any request the router classified as S3.
#[derive(Clone)]
pub struct S3Endpoint {
    service: S3Service,
    store: Arc<S3Store>,
}

impl std::fmt::Debug for S3Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Endpoint")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl S3Endpoint {
    /// Serves `store`.
    pub fn new(store: S3Store) -> Self {
        let mut builder = S3ServiceBuilder::new(store.clone());
        builder.set_host(LocalHosts);
        Self {
            service: builder.build(),
            store: Arc::new(store),
        }
    }

    /// Opens the store at `root` (see [`S3Store::open`]) and serves it.
    pub fn open(root: impl Into<std::path::PathBuf>) -> Result<Self, StoreError> {
        Ok(Self::new(S3Store::open(root)?))
    }

    /// The store behind the endpoint.
    pub fn store(&self) -> &S3Store {
        &self.store
    }

    /// Answers one S3 request. The body streams to disk; no size limit applies beyond S3's.
    pub async fn handle<B>(&self, request: http::Request<B>) -> http::Response<s3s::Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        StdError: From<B::Error>,
    {
        let (mut parts, body) = request.into_parts();
        strip_signature(&mut parts);
        let body = if is_aws_chunked(&parts.headers) {
            unwrap_aws_chunked_headers(&mut parts.headers);
            let data = Box::pin(
                BodyDataStream::new(body).map_err(|e: B::Error| -> StdError { StdError::from(e) }),
            );
            decoded_body(data)
        } else {
            s3s::Body::http_body_unsync(body)
        };
        match self
            .service
            .call(http::Request::from_parts(parts, body))
            .await
        {
            Ok(response) => response,
            Err(err) => {
                tracing::error!(error = ?err, "S3 request failed");
                let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>";
                let mut response = http::Response::new(s3s::Body::from(xml.to_string()));
                *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/xml"),
                );
                response
            }
        }
    }
}

/// The plain body of an aws-chunked request body. (Outside `handle`, whose where-clause
/// would otherwise steer the error type inference.)
fn decoded_body(
    data: std::pin::Pin<Box<dyn futures::Stream<Item = Result<Bytes, StdError>> + Send>>,
) -> s3s::Body {
    let frames = crate::chunked::decode(data).map_ok(http_body::Frame::data);
    s3s::Body::http_body_unsync(StreamBody::new(frames))
}

/// Drops the request's signature so s3s treats it as anonymous (credentials are not checked).
fn strip_signature(parts: &mut http::request::Parts) {
    parts.headers.remove(AUTHORIZATION);
    let Some(query) = parts.uri.query() else {
        return;
    };
    let is_presign = |pair: &str| {
        let name = pair.split('=').next().unwrap_or_default();
        PRESIGN_PARAMS.contains(&name)
    };
    if !query.split('&').any(is_presign) {
        return;
    }
    let kept: Vec<&str> = query.split('&').filter(|p| !is_presign(p)).collect();
    let path_and_query = if kept.is_empty() {
        parts.uri.path().to_string()
    } else {
        format!("{}?{}", parts.uri.path(), kept.join("&"))
    };
    let mut uri = std::mem::take(&mut parts.uri).into_parts();
    if let Ok(pq) = path_and_query.parse() {
        uri.path_and_query = Some(pq);
    }
    if let Ok(new_uri) = http::Uri::from_parts(uri) {
        parts.uri = new_uri;
    }
}

fn is_aws_chunked(headers: &http::HeaderMap) -> bool {
    let streaming = headers
        .get("x-amz-content-sha256")
        .is_some_and(|v| v.as_bytes().starts_with(b"STREAMING-"));
    let encoded = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("aws-chunked"))
        });
    streaming || encoded
}

/// Headers of a decoded aws-chunked request: the decoded length becomes Content-Length and
/// the `aws-chunked` coding and streaming markers go.
fn unwrap_aws_chunked_headers(headers: &mut http::HeaderMap) {
    match headers.remove("x-amz-decoded-content-length") {
        Some(len) => {
            headers.insert(CONTENT_LENGTH, len);
        }
        None => {
            headers.remove(CONTENT_LENGTH);
        }
    }
    let codings: Vec<String> = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    headers.remove(CONTENT_ENCODING);
    if let Ok(value) = HeaderValue::from_str(&codings.join(", ")) {
        if !codings.is_empty() {
            headers.insert(CONTENT_ENCODING, value);
        }
    }
    headers.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static("UNSIGNED-PAYLOAD"),
    );
    headers.remove("x-amz-trailer");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_classified() {
        let bucket = |b: &str| S3HostKind::Bucket(b.to_string());
        assert_eq!(
            classify_host("in-bucket.localhost:4566"),
            bucket("in-bucket")
        );
        assert_eq!(
            classify_host("in-bucket.s3.localhost:4566"),
            bucket("in-bucket")
        );
        assert_eq!(
            classify_host("in-bucket.s3.localhost.localstack.cloud:4566"),
            bucket("in-bucket")
        );
        assert_eq!(
            classify_host("my.bucket.s3.us-east-1.amazonaws.com"),
            bucket("my.bucket")
        );
        assert_eq!(classify_host("bk1.s3.amazonaws.com"), bucket("bk1"));
        assert_eq!(
            classify_host("bk1.s3-us-west-2.amazonaws.com"),
            bucket("bk1")
        );
        assert_eq!(classify_host("s3.localhost:4566"), S3HostKind::Endpoint);
        assert_eq!(
            classify_host("s3.us-east-1.amazonaws.com"),
            S3HostKind::Endpoint
        );
        for other in [
            "localhost:4566",
            "127.0.0.1:4566",
            "[::1]:4566",
            "bedrock-runtime.us-east-1.amazonaws.com",
            "bedrock-runtime.localhost:4566",
            "example.com",
            "UPPER_case.localhost",
        ] {
            assert_eq!(classify_host(other), S3HostKind::Other, "{other}");
        }
    }

    #[test]
    fn presigned_parameters_are_dropped() {
        let (mut parts, ()) = http::Request::get(
            "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&versionId=1&X-Amz-Signature=ab",
        )
        .header("authorization", "AWS4-HMAC-SHA256 Credential=x")
        .body(())
        .unwrap()
        .into_parts();
        strip_signature(&mut parts);
        assert_eq!(parts.uri.to_string(), "/b/k?versionId=1");
        assert!(parts.headers.get(AUTHORIZATION).is_none());
    }

    #[test]
    fn aws_chunked_headers_become_plain() {
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        );
        h.insert(
            CONTENT_ENCODING,
            HeaderValue::from_static("aws-chunked, gzip"),
        );
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("99"));
        h.insert(
            "x-amz-decoded-content-length",
            HeaderValue::from_static("11"),
        );
        h.insert(
            "x-amz-trailer",
            HeaderValue::from_static("x-amz-checksum-crc32"),
        );
        assert!(is_aws_chunked(&h));
        unwrap_aws_chunked_headers(&mut h);
        assert_eq!(h[CONTENT_LENGTH], "11");
        assert_eq!(h[CONTENT_ENCODING], "gzip");
        assert!(h.get("x-amz-trailer").is_none());
        assert!(!is_aws_chunked(&h));
    }
}
