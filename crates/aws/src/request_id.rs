//! Request ids for `x-amzn-RequestId` (and `ResponseMetadata.RequestId` in botocore).
//!
//! Real Bedrock sends a lower-case hyphenated UUID (bedrock-wire §1.1 rule 5 and §2.1); so do
//! we, version 4. Tests that need stable ids build them from a number with
//! [`RequestId::from_u128`] instead of drawing random ones.

use std::fmt;

/// One request's id, a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(uuid::Uuid);

impl RequestId {
    /// A fresh random (version 4) id.
    pub fn new_v4() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// A fixed id, for deterministic tests and injected id generators.
    pub fn from_u128(value: u128) -> Self {
        Self(uuid::Uuid::from_u128(value))
    }

    /// The id as the header value (`2c5c8c3e-…`, lower case, hyphenated).
    pub fn to_header_value(&self) -> String {
        self.0.hyphenated().to_string()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_format() {
        let id = RequestId::new_v4().to_string();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert_eq!(id, id.to_lowercase());
        assert_ne!(RequestId::new_v4(), RequestId::new_v4());
    }

    #[test]
    fn deterministic_ids() {
        assert_eq!(
            RequestId::from_u128(1).to_header_value(),
            "00000000-0000-0000-0000-000000000001"
        );
    }
}
