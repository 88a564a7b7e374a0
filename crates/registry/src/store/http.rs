//! Blocking HTTP for the store (ureq 2): JSON GETs and resumable, hashed downloads.
//!
//! Runs on the engine thread or the CLI, never on the async runtime. A download streams into a
//! `.part` file; when the connection breaks the bytes are kept and the next attempt (in the same
//! call, or in a later run) asks for the rest with `Range: bytes=N-`. The sha256 covers the
//! kept prefix plus everything that arrives, so the caller can verify without re-reading.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::verify::{copy_hashing, finish_hex, BUF};
use crate::error::{RegistryError, Result};
use crate::progress::{NoProgress, Progress};

/// Attempts per download before giving up (the `.part` file stays for the next run).
const ATTEMPTS: u32 = 4;

/// A ureq agent with timeouts suited to large files.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    agent: ureq::Agent,
}

/// One failed attempt: retry (keep the part) or stop.
enum Failure {
    Retry(RegistryError),
    Fatal(RegistryError),
}

impl Http {
    pub(crate) fn new() -> Self {
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(Duration::from_secs(60))
            .try_proxy_from_env(true)
            .user_agent(concat!("bedrock-local/", env!("CARGO_PKG_VERSION")));
        if let Some(tls) = tls_config() {
            builder = builder.tls_config(tls);
        }
        Self {
            agent: builder.build(),
        }
    }

    /// GETs a URL and parses the JSON body. `Ok(None)` on 404.
    pub(crate) fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<Option<T>> {
        let response = match self.agent.get(url).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(404, _)) => return Ok(None),
            Err(ureq::Error::Status(code, _)) => {
                return Err(RegistryError::download(url, format!("HTTP {code}")))
            }
            Err(e) => return Err(RegistryError::download(url, e)),
        };
        let text = response
            .into_string()
            .map_err(|e| RegistryError::download(url, e))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| RegistryError::download(url, format!("unexpected JSON: {e}")))
    }

    /// Downloads `url` into `part` (resuming what is there) and returns the sha256 of the
    /// whole file. `expected_size` lets a complete part be recognised and a short body be
    /// treated as a broken connection.
    pub(crate) fn download(
        &self,
        url: &str,
        part: &Path,
        expected_size: Option<u64>,
        label: &str,
        progress: &dyn Progress,
    ) -> Result<String> {
        if let Some(dir) = part.parent() {
            super::create_dir(dir)?;
        }
        let mut attempt = 1;
        loop {
            match self.attempt(url, part, expected_size, label, progress) {
                Ok(sha) => return Ok(sha),
                Err(Failure::Retry(e)) if attempt < ATTEMPTS => {
                    tracing::warn!(url, attempt, error = %e, "download interrupted; resuming");
                    std::thread::sleep(Duration::from_millis(250 * u64::from(attempt)));
                    attempt += 1;
                }
                Err(Failure::Retry(e)) | Err(Failure::Fatal(e)) => return Err(e),
            }
        }
    }

    fn attempt(
        &self,
        url: &str,
        part: &Path,
        expected_size: Option<u64>,
        label: &str,
        progress: &dyn Progress,
    ) -> std::result::Result<String, Failure> {
        let io = |e: std::io::Error| Failure::Fatal(RegistryError::io(part, e));
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(part)
            .map_err(io)?;
        let mut have = file.metadata().map_err(io)?.len();
        if expected_size.is_some_and(|size| have > size) {
            file.set_len(0).map_err(io)?;
            have = 0;
        }
        let mut hasher = Sha256::new();
        if have > 0 {
            let mut existing = std::fs::File::open(part).map_err(io)?;
            copy_hashing(
                &mut existing,
                &mut std::io::sink(),
                &mut hasher,
                &NoProgress,
            )
            .map_err(io)?;
            if Some(have) == expected_size {
                return Ok(finish_hex(hasher));
            }
        }

        let mut request = self.agent.get(url);
        if have > 0 {
            tracing::info!(url, bytes = have, "resuming an earlier download");
            request = request.set("Range", &format!("bytes={have}-"));
        }
        let response = match request.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(416, _)) => {
                // Our part is not a prefix the server can continue: start over.
                file.set_len(0).map_err(io)?;
                return Err(Failure::Retry(RegistryError::download(
                    url,
                    "server refused to resume; restarting",
                )));
            }
            Err(ureq::Error::Status(code, _)) => {
                let e = RegistryError::download(url, format!("HTTP {code}"));
                return Err(if code >= 500 || code == 429 {
                    Failure::Retry(e)
                } else {
                    Failure::Fatal(e)
                });
            }
            Err(e) => return Err(Failure::Retry(RegistryError::download(url, e))),
        };

        match response.status() {
            206 => {
                let start = response
                    .header("Content-Range")
                    .and_then(content_range_start);
                if start != Some(have) {
                    file.set_len(0).map_err(io)?;
                    return Err(Failure::Retry(RegistryError::download(
                        url,
                        "server resumed at the wrong offset; restarting",
                    )));
                }
            }
            200 => {
                if have > 0 {
                    tracing::info!(
                        url,
                        "server ignored the range request; downloading from the start"
                    );
                    file.set_len(0).map_err(io)?;
                    hasher = Sha256::new();
                    have = 0;
                }
            }
            code => {
                return Err(Failure::Fatal(RegistryError::download(
                    url,
                    format!("unexpected HTTP {code}"),
                )))
            }
        }
        let total = expected_size.or_else(|| {
            response
                .header("Content-Length")
                .and_then(|v| v.parse::<u64>().ok())
                .map(|n| n + have)
        });

        progress.start(label, total);
        progress.advance(have);
        let mut reader = response.into_reader();
        let result = stream(&mut reader, &mut file, &mut hasher, progress);
        progress.finish();
        let got = match result {
            Ok(n) => have + n,
            Err(StreamError::Write(e)) => return Err(io(e)),
            Err(StreamError::Read(e, n)) => {
                let _ = file.flush();
                return Err(Failure::Retry(RegistryError::download(
                    url,
                    format!("connection lost after {} bytes ({e})", have + n),
                )));
            }
        };
        file.sync_all().map_err(io)?;
        match expected_size {
            Some(size) if got < size => Err(Failure::Retry(RegistryError::download(
                url,
                format!("body ended after {got} of {size} bytes"),
            ))),
            _ => Ok(finish_hex(hasher)),
        }
    }
}

/// TLS roots: the bundled Mozilla set plus the OS trust store (which includes a company proxy's
/// CA, or `SSL_CERT_FILE`). Built once. `None` falls back to ureq's bundled roots only.
fn tls_config() -> Option<Arc<rustls::ClientConfig>> {
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            tracing::debug!(native_roots = added, "TLS roots loaded");
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .ok()?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Some(Arc::new(config))
        })
        .clone()
}

enum StreamError {
    Read(std::io::Error, u64),
    Write(std::io::Error),
}

/// Like `copy_hashing`, but tells read errors (retry) from write errors (stop) and counts what
/// was written before a read error.
fn stream(
    reader: &mut dyn Read,
    file: &mut std::fs::File,
    hasher: &mut Sha256,
    progress: &dyn Progress,
) -> std::result::Result<u64, StreamError> {
    let mut buf = vec![0u8; BUF];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StreamError::Read(e, total)),
        };
        file.write_all(&buf[..n]).map_err(StreamError::Write)?;
        hasher.update(&buf[..n]);
        total += n as u64;
        progress.advance(n as u64);
    }
}

/// The first byte of `Content-Range: bytes START-END/TOTAL`.
fn content_range_start(value: &str) -> Option<u64> {
    let range = value.trim().strip_prefix("bytes")?.trim_start();
    range.split('-').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::content_range_start;

    #[test]
    fn parses_content_range() {
        assert_eq!(content_range_start("bytes 100-199/1000"), Some(100));
        assert_eq!(content_range_start("bytes 0-0/5"), Some(0));
        assert_eq!(content_range_start("items 1-2/3"), None);
    }
}
