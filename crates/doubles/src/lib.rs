//! The test-double layer of bedrock-local, as pure logic: the rules a test suite installs
//! (scripted text, tool calls, errors, dropped connections, added latency, pass-through), the
//! deterministic chunking of scripted text for streaming APIs, and the bounded call history.
//!
//! This crate does no IO and owns no clock other than stamping history records: the HTTP
//! server builds a [`Call`] per invocation, asks [`Rules::decide`] what to do, carries the
//! [`Decision`] out, and pushes a [`CallRecord`] into the [`History`]. Keeping the rules here,
//! away from the handlers, is what makes them apply identically to every runtime API and
//! dialect, unary and streaming.

mod chunks;
mod glob;
mod history;
mod rules;
mod spec;
mod validate;

pub use chunks::chunks;
pub use glob::glob_match;
pub use history::{CallError, CallRecord, History, HistoryFilter};
pub use rules::{Call, Decision, RuleInfo, Rules};
pub use spec::{Api, ApiSet, PromptMatch, Respond, RuleSpec, Scope};

/// The echo model: the server answers it itself with the last user message, instantly.
pub const ECHO_MODEL_ID: &str = "local.echo";

/// The request-echo model: the server answers it itself with a JSON description of the request.
pub const ECHO_REQUEST_MODEL_ID: &str = "local.echo-request";

/// Everything that can go wrong in this crate: a rule that does not validate, or a rules
/// document that does not parse. The messages name the rule and the problem; the control API
/// returns them to the caller as they are.
#[derive(Debug, thiserror::Error)]
pub enum DoublesError {
    /// A rule parsed but is not acceptable (bad regex, unknown error code, probability out of
    /// range, `times: 0`, tool input not an object, duplicate id, ...).
    #[error("invalid rule: {0}")]
    InvalidRule(String),
    /// A rules document (file or control-API body) is not JSON of the expected shape.
    #[error("invalid rules document: {0}")]
    Parse(String),
}
