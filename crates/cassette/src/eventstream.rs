//! Splitting an `application/vnd.amazon.eventstream` byte stream into its messages.
//!
//! Each message starts with its total length (4 bytes, big-endian, prelude and CRCs
//! included), so a stream splits without decoding anything. Cassettes store one entry per
//! message, and replay sends one message per HTTP body chunk.

/// The content type of event-stream bodies.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// The smallest valid message: a 12-byte prelude and a 4-byte CRC.
const MIN_MESSAGE: usize = 16;

/// Splits `bytes` into complete messages; returns them and the unconsumed tail (an
/// incomplete last message, or bytes that cannot be a message: a length below 16).
pub fn split_messages(bytes: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let mut messages = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len < MIN_MESSAGE || len > rest.len() {
            break;
        }
        let (message, tail) = rest.split_at(len);
        messages.push(message);
        rest = tail;
    }
    (messages, rest)
}

/// True when a `content-type` value names an event stream.
pub fn is_event_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(CONTENT_TYPE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(fill: u8, len: usize) -> Vec<u8> {
        let mut m = (len as u32).to_be_bytes().to_vec();
        m.resize(len, fill);
        m
    }

    #[test]
    fn splits_on_the_length_prefix_and_keeps_a_partial_tail() {
        let a = message(1, 16);
        let b = message(2, 40);
        let c = message(3, 20);
        let mut all = [a.clone(), b.clone(), c.clone()].concat();
        let (msgs, rest) = split_messages(&all);
        assert_eq!(msgs, vec![&a[..], &b[..], &c[..]]);
        assert!(rest.is_empty());
        all.truncate(all.len() - 5);
        let (msgs, rest) = split_messages(&all);
        assert_eq!(msgs.len(), 2);
        assert_eq!(rest.len(), 15);
    }

    #[test]
    fn garbage_is_left_as_tail() {
        let (msgs, rest) = split_messages(&[0, 0, 0, 3, 9, 9]);
        assert!(msgs.is_empty());
        assert_eq!(rest.len(), 6);
        assert!(is_event_stream("application/vnd.amazon.eventstream"));
        assert!(!is_event_stream("application/json"));
    }
}
