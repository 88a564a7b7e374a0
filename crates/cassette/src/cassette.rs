//! Cassette files: one JSON file per recorded exchange.
//!
//! A cassette holds the normalised request (its key names the file), the response status, the
//! response headers that matter to clients (`content-type`, `x-amzn-errortype`,
//! `x-amzn-bedrock-*`; never dates, request ids or anything credential-like), and the body:
//! text for ordinary responses, or the list of event-stream messages exactly as received
//! (base64, one entry per message) for streams. Bodies are scrubbed of account ids before
//! they are written. Writing goes through a temporary file and a rename, so a reader never
//! sees half a cassette; recording the same request again overwrites.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::normalise::NormalisedRequest;
use crate::{eventstream, scrub, Error, Result};

/// The cassette format version written in every file.
pub const FORMAT_VERSION: u32 = 1;

/// One recorded exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cassette {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// What was asked.
    pub request: NormalisedRequest,
    /// What the upstream answered.
    pub response: RecordedResponse,
}

/// The stored answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// HTTP status.
    pub status: u16,
    /// Kept headers, names lower-case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body as text (non-stream responses that are UTF-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body as base64 (non-stream responses that are not UTF-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// Event-stream messages, base64, one per message, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
}

/// True for the response headers a cassette keeps (and record mode passes on).
pub fn keep_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "content-type" || name == "x-amzn-errortype" || name.starts_with("x-amzn-bedrock-")
}

impl RecordedResponse {
    /// Builds the stored form of an upstream answer: filters headers, scrubs the body, and
    /// splits event streams into messages (bytes after the last whole message are kept as a
    /// final entry so nothing received is lost).
    pub fn new(status: u16, headers: &[(String, String)], body: &[u8]) -> Self {
        let headers: Vec<(String, String)> = headers
            .iter()
            .filter(|(k, _)| keep_header(k))
            .map(|(k, v)| (k.to_ascii_lowercase(), scrub::text(v)))
            .collect();
        let is_stream = headers
            .iter()
            .any(|(k, v)| k == "content-type" && eventstream::is_event_stream(v));
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut response = Self {
            status,
            headers,
            body: None,
            body_base64: None,
            events: None,
        };
        if is_stream {
            let (messages, rest) = eventstream::split_messages(body);
            let mut events: Vec<String> = messages
                .iter()
                .map(|m| b64.encode(scrub::event_message(m)))
                .collect();
            if !rest.is_empty() {
                events.push(b64.encode(rest));
            }
            response.events = Some(events);
        } else {
            match std::str::from_utf8(body) {
                Ok(text) => response.body = Some(scrub::text(text)),
                Err(_) => response.body_base64 = Some(b64.encode(body)),
            }
        }
        response
    }

    /// The body chunks to send: one per event-stream message, else the whole body as one.
    pub fn chunks(&self) -> Result<Vec<Vec<u8>>> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let bad = |e: base64::DecodeError| Error::BadCassette {
            path: PathBuf::new(),
            detail: format!("bad base64: {e}"),
        };
        if let Some(events) = &self.events {
            return events.iter().map(|e| b64.decode(e).map_err(bad)).collect();
        }
        if let Some(text) = &self.body {
            return Ok(vec![text.as_bytes().to_vec()]);
        }
        if let Some(raw) = &self.body_base64 {
            return Ok(vec![b64.decode(raw).map_err(bad)?]);
        }
        Ok(Vec::new())
    }
}

impl Cassette {
    /// A cassette for this exchange.
    pub fn new(request: NormalisedRequest, response: RecordedResponse) -> Self {
        Self {
            version: FORMAT_VERSION,
            request,
            response,
        }
    }

    /// Writes `dir/<operation>-<key>.json` (creating `dir`), replacing any earlier file;
    /// returns the path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(self.request.file_name());
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::BadCassette {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        text.push('\n');
        let tmp = dir.join(format!(".{}.tmp", self.request.file_name()));
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(path)
    }

    /// Reads the cassette for `request` from `dir`: `Ok(None)` when there is no such file.
    pub fn find(dir: &Path, request: &NormalisedRequest) -> Result<Option<Self>> {
        let path = dir.join(request.file_name());
        match std::fs::read(&path) {
            Ok(bytes) => Self::parse(&path, &bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    /// Parses a cassette file's bytes (`path` is for the error message).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::BadCassette {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn text_responses_keep_only_the_headers_that_matter_and_scrub_arns() {
        let r = RecordedResponse::new(
            400,
            &headers(&[
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", "ValidationException:http://internal"),
                ("x-amzn-RequestId", "abc"),
                ("Date", "now"),
                ("X-Amzn-Bedrock-Input-Token-Count", "12"),
                ("Authorization", "secret"),
            ]),
            br#"{"message":"arn:aws:bedrock:us-east-1:123456789012:x"}"#,
        );
        let names: Vec<&str> = r.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "content-type",
                "x-amzn-errortype",
                "x-amzn-bedrock-input-token-count"
            ]
        );
        assert_eq!(
            r.body.as_deref(),
            Some(r#"{"message":"arn:aws:bedrock:us-east-1:000000000000:x"}"#)
        );
        assert_eq!(
            r.chunks().unwrap(),
            vec![r.body.clone().unwrap().into_bytes()]
        );
    }

    #[test]
    fn streams_are_stored_one_message_per_entry_and_round_trip() {
        let mut a = 16u32.to_be_bytes().to_vec();
        a.resize(16, 7);
        let mut b = 20u32.to_be_bytes().to_vec();
        b.resize(20, 8);
        let body = [a.clone(), b.clone()].concat();
        let r = RecordedResponse::new(
            200,
            &headers(&[("content-type", "application/vnd.amazon.eventstream")]),
            &body,
        );
        assert_eq!(r.events.as_ref().unwrap().len(), 2);
        assert_eq!(r.chunks().unwrap(), vec![a, b]);

        let dir = tempfile::tempdir().unwrap();
        let req = NormalisedRequest::new("POST", "converse-stream", "m", br#"{"x":1}"#);
        let cassette = Cassette::new(req.clone(), r);
        let path = cassette.write(dir.path()).unwrap();
        assert_eq!(path.file_name().unwrap().to_str().unwrap(), req.file_name());
        assert_eq!(Cassette::find(dir.path(), &req).unwrap(), Some(cassette));
        let other = NormalisedRequest::new("POST", "converse-stream", "m", br#"{"x":2}"#);
        assert_eq!(Cassette::find(dir.path(), &other).unwrap(), None);
        std::fs::write(dir.path().join(other.file_name()), "nope").unwrap();
        assert!(Cassette::find(dir.path(), &other).is_err());
    }
}
