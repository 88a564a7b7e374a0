//! `application/vnd.amazon.eventstream` framing: the binary messages of ConverseStream and
//! InvokeModelWithResponseStream responses.
//!
//! Mirrors the AWS event-stream encoding (bedrock-wire §3.1–§3.3): a 12-byte prelude (total
//! length, headers length, CRC-32 of those 8 bytes), string-typed headers, the payload, and a
//! CRC-32 of everything before it. Bedrock sends two kinds of messages: events
//! (`:event-type`, `:content-type: application/json`, `:message-type: event`) and modeled
//! exceptions (`:exception-type` in lowerCamel, `:message-type: exception`).
//!
//! Frames are written by `aws-smithy-eventstream`, the codec the AWS SDKs for Rust use, so the
//! bytes are exactly what an SDK client expects; this module adds Bedrock's header sets and the
//! limits clients enforce. It only frames bytes; what goes in a payload is the dialects' business.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};

use crate::error::ErrorBody;
use crate::{Error, Result};

/// Content type of a streaming response body.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// Prelude (total length, headers length, prelude CRC) plus the trailing message CRC.
const OVERHEAD: usize = 16;
/// botocore refuses headers sections larger than 128 KiB.
const MAX_HEADERS_LEN: usize = 128 * 1024;
/// botocore refuses payloads larger than 24 MiB.
const MAX_PAYLOAD_LEN: usize = 24 * 1024 * 1024;

/// Frames one message from string headers (in the given order) and a payload.
///
/// Fails when a header name exceeds 255 bytes, a value 65,535 bytes, the headers 128 KiB or the
/// payload 24 MiB (the limits clients enforce).
pub fn encode_message(headers: &[(&str, &str)], payload: &[u8]) -> Result<Vec<u8>> {
    let mut head_len = 0usize;
    for (name, value) in headers {
        if name.len() > usize::from(u8::MAX) {
            return Err(Error::EventStreamLimit(format!(
                "header name {name:?} is too long"
            )));
        }
        if value.len() > usize::from(u16::MAX) {
            return Err(Error::EventStreamLimit(format!(
                "header {name} value is too long"
            )));
        }
        head_len += 1 + name.len() + 3 + value.len();
    }
    if head_len > MAX_HEADERS_LEN {
        return Err(Error::EventStreamLimit(format!(
            "{head_len} bytes of headers"
        )));
    }
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::EventStreamLimit(format!(
            "{} bytes of payload",
            payload.len()
        )));
    }
    let mut message = Message::new(bytes::Bytes::copy_from_slice(payload));
    for (name, value) in headers {
        message = message.add_header(Header::new(
            (*name).to_owned(),
            HeaderValue::String((*value).to_owned().into()),
        ));
    }
    let mut out = Vec::with_capacity(OVERHEAD + head_len + payload.len());
    write_message_to(&message, &mut out)
        .map_err(|e| Error::EventStreamLimit(format!("framing failed: {e}")))?;
    Ok(out)
}

/// An event message: `event_type` is the member name of the stream union (`messageStart`,
/// `contentBlockDelta`, `chunk`, …) and `json` its JSON payload. Headers are in the order real
/// Bedrock sends them: `:event-type`, `:content-type`, `:message-type`.
pub fn event_message(event_type: &str, json: &[u8]) -> Result<Vec<u8>> {
    encode_message(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        json,
    )
}

/// An exception message for an error that happened after the stream started. The
/// `:exception-type` is the error's lowerCamel union member name; the payload is the same JSON
/// as the non-streaming error body (`{"message": ...}` plus modeled extras).
///
/// Fails for shapes that are not members of the stream unions (clients could not parse them).
pub fn exception_message(error: &ErrorBody) -> Result<Vec<u8>> {
    let exception_type = error
        .code
        .in_stream_name()
        .ok_or(Error::NotAStreamException(error.code.name()))?;
    encode_message(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        &error.to_json(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AwsErrorCode;
    use aws_smithy_eventstream::frame::{read_message_from, DecodedFrame, MessageFrameDecoder};

    fn decode(bytes: &[u8]) -> Message {
        read_message_from(bytes::Bytes::copy_from_slice(bytes)).unwrap()
    }

    fn header<'a>(message: &'a Message, name: &str) -> &'a str {
        let h = message
            .headers()
            .iter()
            .find(|h| h.name().as_str() == name)
            .unwrap();
        match h.value() {
            HeaderValue::String(s) => s.as_str(),
            other => panic!("{name} is not a string: {other:?}"),
        }
    }

    #[test]
    fn empty_message_test_vector() {
        // bedrock-wire §3.1: 00000010 00000000 05c248eb 7d98c8ff.
        let bytes = encode_message(&[], b"").unwrap();
        assert_eq!(
            bytes,
            [
                0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98,
                0xc8, 0xff
            ]
        );
        let m = decode(&bytes);
        assert!(m.headers().is_empty());
        assert!(m.payload().is_empty());
    }

    #[test]
    fn message_start_worked_example() {
        // bedrock-wire §3.1, verified there with botocore: 118 bytes, headers 82,
        // prelude CRC 0x96d5fade, message CRC 0x6fa8c599.
        let bytes = event_message("messageStart", br#"{"role":"assistant"}"#).unwrap();
        assert_eq!(bytes.len(), 118);
        assert_eq!(
            &bytes[0..12],
            &[0, 0, 0, 0x76, 0, 0, 0, 0x52, 0x96, 0xd5, 0xfa, 0xde]
        );
        assert_eq!(&bytes[114..], &[0x6f, 0xa8, 0xc5, 0x99]);
        let m = decode(&bytes);
        assert_eq!(header(&m, ":event-type"), "messageStart");
        assert_eq!(header(&m, ":content-type"), "application/json");
        assert_eq!(header(&m, ":message-type"), "event");
        assert_eq!(m.payload().as_ref(), br#"{"role":"assistant"}"#);
    }

    #[test]
    fn exception_frames_round_trip() {
        let err = ErrorBody::new(AwsErrorCode::ModelStreamError, "stream broke")
            .with_original_status_code(500)
            .with_original_message("inner");
        let m = decode(&exception_message(&err).unwrap());
        assert_eq!(header(&m, ":exception-type"), "modelStreamErrorException");
        assert_eq!(header(&m, ":message-type"), "exception");
        assert_eq!(header(&m, ":content-type"), "application/json");
        assert_eq!(
            m.payload().as_ref(),
            br#"{"message":"stream broke","originalStatusCode":500,"originalMessage":"inner"}"#
        );
        let throttled = ErrorBody::new(AwsErrorCode::Throttling, "Too many tokens");
        let m = decode(&exception_message(&throttled).unwrap());
        assert_eq!(header(&m, ":exception-type"), "throttlingException");
    }

    #[test]
    fn non_stream_shapes_are_refused() {
        let err = ErrorBody::new(AwsErrorCode::AccessDenied, "no");
        assert_eq!(
            exception_message(&err),
            Err(Error::NotAStreamException("AccessDeniedException"))
        );
    }

    #[test]
    fn streaming_decoder_reads_concatenated_frames_split_anywhere() {
        let texts = ["Hel", "lo", " wörld 🌍", ""];
        let mut stream = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let payload = format!(r#"{{"contentBlockIndex":{i},"delta":{{"text":"{t}"}}}}"#);
            stream.extend(event_message("contentBlockDelta", payload.as_bytes()).unwrap());
        }
        // Feed the decoder in 7-byte pieces, as a network would.
        let mut decoder = MessageFrameDecoder::new();
        let mut buffer = bytes::BytesMut::new();
        let mut got = Vec::new();
        for piece in stream.chunks(7) {
            buffer.extend_from_slice(piece);
            while let DecodedFrame::Complete(m) = decoder.decode_frame(&mut buffer).unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got.len(), texts.len());
        for (m, t) in got.iter().zip(texts) {
            assert_eq!(header(m, ":event-type"), "contentBlockDelta");
            let v: serde_json::Value = serde_json::from_slice(m.payload()).unwrap();
            assert_eq!(v["delta"]["text"], t);
        }
    }

    #[test]
    fn limits_are_errors() {
        let long_name = "x".repeat(256);
        assert!(encode_message(&[(&long_name, "v")], b"").is_err());
        let long_value = "v".repeat(65_536);
        assert!(encode_message(&[("n", &long_value)], b"").is_err());
        assert!(encode_message(&[], &vec![0u8; MAX_PAYLOAD_LEN + 1]).is_err());
        assert!(encode_message(&[], &vec![0u8; 1000]).is_ok());
    }
}
