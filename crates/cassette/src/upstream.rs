//! Forwarding a runtime call to the upstream Bedrock (blocking; the facade runs it on a
//! blocking thread and streams the body on).
//!
//! The upstream is either real Bedrock (`https://bedrock-runtime.{region}.amazonaws.com`, the
//! region from the caller's credential scope else the server's region) or any base URL (a
//! second bedrock-local in tests). Either way the request is rebuilt, not proxied: the path
//! is re-encoded from the decoded model id, only the headers Bedrock reads are passed on
//! (`content-type`, `accept`, `x-amzn-bedrock-*`), and it is signed afresh with SigV4 (service
//! `bedrock`) using the credentials from [`Credentials::load`].

use std::io::Read;
use std::sync::OnceLock;
use std::time::Duration;

use crate::credentials::Credentials;
use crate::sigv4::{self, SigningParams};
use crate::{Error, Result};

/// Where record mode sends calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// Real Bedrock in the request's region.
    Real,
    /// A base URL (`http://127.0.0.1:4566`), no trailing slash.
    Url(String),
}

impl std::str::FromStr for Upstream {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("real") {
            return Ok(Self::Real);
        }
        if !(s.starts_with("http://") || s.starts_with("https://")) {
            return Err(Error::Config(format!(
                "upstream {s:?}: expected `real` or an http(s):// base URL"
            )));
        }
        Ok(Self::Url(s.trim_end_matches('/').to_string()))
    }
}

impl Upstream {
    /// The base URL for a request signed for `region`.
    pub fn base_url(&self, region: &str) -> String {
        match self {
            Self::Real => format!("https://bedrock-runtime.{region}.amazonaws.com"),
            Self::Url(url) => url.clone(),
        }
    }
}

/// What is forwarded.
#[derive(Debug, Clone)]
pub struct ForwardRequest<'a> {
    /// Decoded model id.
    pub model_id: &'a str,
    /// Operation path suffix.
    pub operation: &'a str,
    /// Signing region (and real Bedrock's region).
    pub region: &'a str,
    /// Headers to pass on (already filtered by [`forward_header`]).
    pub headers: Vec<(String, String)>,
    /// The request body, unchanged.
    pub body: &'a [u8],
}

/// The upstream's answer; `body` is read as it arrives.
pub struct UpstreamResponse {
    /// HTTP status.
    pub status: u16,
    /// Every response header (first value of each).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Box<dyn Read + Send + Sync + 'static>,
}

/// True for the request headers passed on to the upstream.
pub fn forward_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "content-type" || name == "accept" || name.starts_with("x-amzn-bedrock-")
}

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(600))
            .build()
    })
}

/// Splits `http(s)://authority/prefix` into the `Host` value (default port dropped) and the
/// path prefix.
fn host_and_prefix(base: &str) -> (String, String) {
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let default_port = if scheme.eq_ignore_ascii_case("http") {
        ":80"
    } else {
        ":443"
    };
    let host = authority.strip_suffix(default_port).unwrap_or(authority);
    (host.to_string(), prefix.trim_end_matches('/').to_string())
}

impl Upstream {
    /// Sends the request, signed with `credentials`; returns once the response head is in.
    /// Error statuses are answers too (`Ok`); only transport failures are `Err`.
    pub fn forward(
        &self,
        request: &ForwardRequest<'_>,
        credentials: &Credentials,
    ) -> Result<UpstreamResponse> {
        let base = self.base_url(request.region);
        let (host, prefix) = host_and_prefix(&base);
        let path = format!(
            "{prefix}/model/{}/{}",
            sigv4::encode_segment(request.model_id),
            sigv4::encode_segment(request.operation)
        );
        let url = format!("{base}{}", &path[prefix.len()..]);
        let mut headers = request.headers.clone();
        headers.push(("host".to_string(), host));
        let amz_date = sigv4::amz_date(time::OffsetDateTime::now_utc());
        let params = SigningParams {
            credentials,
            region: request.region,
            service: "bedrock",
            amz_date: &amz_date,
        };
        headers.extend(sigv4::sign(
            "POST",
            &path,
            "",
            &headers,
            request.body,
            &params,
        ));
        let mut call = agent().post(&url);
        for (k, v) in &headers {
            call = call.set(k, v);
        }
        tracing::debug!(%url, operation = request.operation, "forwarding to the upstream");
        let response = match call.send_bytes(request.body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => {
                return Err(Error::Upstream {
                    url,
                    detail: e.to_string(),
                })
            }
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_string())))
            .collect();
        Ok(UpstreamResponse {
            status,
            headers,
            body: Box::new(response.into_reader()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_parse_and_name_their_base() {
        assert_eq!("real".parse::<Upstream>().unwrap(), Upstream::Real);
        assert_eq!(
            Upstream::Real.base_url("eu-west-1"),
            "https://bedrock-runtime.eu-west-1.amazonaws.com"
        );
        let u: Upstream = "http://127.0.0.1:9/".parse().unwrap();
        assert_eq!(u.base_url("x"), "http://127.0.0.1:9");
        assert!("ftp://x".parse::<Upstream>().is_err());
    }

    #[test]
    fn host_drops_default_ports_and_keeps_prefixes() {
        assert_eq!(
            host_and_prefix("https://a.example.com:443"),
            ("a.example.com".into(), String::new())
        );
        assert_eq!(
            host_and_prefix("http://127.0.0.1:4566/p/"),
            ("127.0.0.1:4566".into(), "/p".into())
        );
        assert!(forward_header("X-Amzn-Bedrock-Trace"));
        assert!(forward_header("Accept"));
        assert!(!forward_header("authorization"));
    }

    #[test]
    fn forwarded_requests_are_signed_so_the_signature_recomputes() {
        use std::io::{Read as _, Write as _};

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") || !seen.ends_with(b"{\"a\":1}") {
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0, "request ended early");
                seen.extend_from_slice(&buf[..n]);
            }
            conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Amzn-RequestId: r\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            )
            .unwrap();
            String::from_utf8(seen).unwrap()
        });
        let creds = Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "SECRET".into(),
            session_token: Some("TOKEN".into()),
        };
        let upstream: Upstream = format!("http://127.0.0.1:{port}").parse().unwrap();
        let request = ForwardRequest {
            model_id: "m:0",
            operation: "converse",
            region: "eu-central-1",
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"a":1}"#,
        };
        let mut response = upstream.forward(&request, &creds).unwrap();
        assert_eq!(response.status, 200);
        let mut body = String::new();
        response.body.read_to_string(&mut body).unwrap();
        assert_eq!(body, "{}");

        let seen = server.join().unwrap();
        let (head, _) = seen.split_once("\r\n\r\n").unwrap();
        let mut lines = head.split("\r\n");
        assert_eq!(lines.next().unwrap(), "POST /model/m%3A0/converse HTTP/1.1");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let get = |k: &str| headers.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(get("host"), format!("127.0.0.1:{port}"));
        assert_eq!(get("x-amz-security-token"), "TOKEN");
        let authorization = get("authorization");
        assert!(
            authorization.contains("Credential=AKID/"),
            "{authorization}"
        );
        assert!(authorization.contains("/eu-central-1/bedrock/aws4_request"));
        // Recompute the signature from what arrived.
        let amz_date = get("x-amz-date");
        let params = SigningParams {
            credentials: &Credentials {
                session_token: None,
                ..creds.clone()
            },
            region: "eu-central-1",
            service: "bedrock",
            amz_date: &amz_date,
        };
        let signed: Vec<(String, String)> = ["content-type", "host", "x-amz-security-token"]
            .iter()
            .map(|k| (k.to_string(), get(k)))
            .collect();
        let expected = sigv4::sign(
            "POST",
            "/model/m%3A0/converse",
            "",
            &signed,
            br#"{"a":1}"#,
            &params,
        );
        let expected = &expected
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1;
        assert_eq!(&authorization, expected);
    }
}
