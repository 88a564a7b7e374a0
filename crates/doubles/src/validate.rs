//! The checks a rule passes before it takes effect, and the compiled form of its prompt
//! condition.
//!
//! Refusing a bad rule at `add` time, with a message naming the field, is what keeps a typo in
//! a test from silently turning into "the rule never matches" or a malformed wire response.

use crate::spec::{Api, PromptMatch, Respond, RuleSpec};
use bedrock_local_aws::error::AwsErrorCode;
use regex::{Regex, RegexBuilder};

/// The longest accepted rule id.
const MAX_ID_LEN: usize = 128;

/// The compiled size limit of a prompt regex (bytes), against pathological patterns.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A rule's prompt condition, ready to run.
#[derive(Debug)]
pub(crate) enum Matcher {
    /// Case-sensitive substring.
    Contains(String),
    /// Unanchored regex search.
    Regex(Regex),
}

impl Matcher {
    /// Whether the condition holds for `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        match self {
            Matcher::Contains(needle) => text.contains(needle.as_str()),
            Matcher::Regex(regex) => regex.is_match(text),
        }
    }
}

/// The error codes a rule may answer with: the exception shapes of the `bedrock-runtime`
/// service model (the control-plane-only shapes are left out).
pub(crate) fn runtime_error_codes() -> impl Iterator<Item = AwsErrorCode> {
    AwsErrorCode::ALL.into_iter().filter(|code| {
        !matches!(
            code,
            AwsErrorCode::ResourceInUse | AwsErrorCode::TooManyTags
        )
    })
}

fn names(codes: impl Iterator<Item = AwsErrorCode>) -> String {
    codes.map(AwsErrorCode::name).collect::<Vec<_>>().join(", ")
}

/// Checks everything about `spec` that does not depend on other rules (ids' uniqueness is the
/// caller's) and compiles its prompt condition. The error is a message naming the problem.
pub(crate) fn check(spec: &RuleSpec) -> Result<Option<Matcher>, String> {
    if let Some(id) = &spec.id {
        check_id(id)?;
    }
    if spec.model.as_deref() == Some("") {
        return Err("model pattern is empty (leave `model` out to match every model)".into());
    }
    if let Some(apis) = &spec.api {
        if apis.0.is_empty() {
            return Err("api list is empty (leave `api` out to match every API)".into());
        }
    }
    if spec.times == Some(0) {
        return Err("times must be at least 1 (leave `times` out to repeat forever)".into());
    }
    if let Some(p) = spec.probability {
        if !(0.0..=1.0).contains(&p) {
            return Err(format!("probability {p} is outside 0..=1"));
        }
    }
    check_respond(spec)?;
    Ok(match &spec.prompt {
        None => None,
        Some(PromptMatch::Contains(needle)) => Some(Matcher::Contains(needle.clone())),
        Some(PromptMatch::Regex(pattern)) => {
            let regex = RegexBuilder::new(pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("prompt regex `{pattern}` does not compile: {e}"))?;
            Some(Matcher::Regex(regex))
        }
    })
}

/// Ids appear in control-API paths (`DELETE .../rules/{id}`), so they are short and plain.
fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("id is empty (leave `id` out to get r1, r2, ...)".into());
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!("id is longer than {MAX_ID_LEN} bytes"));
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if !id.chars().all(plain) {
        return Err(format!(
            "id `{id}` has characters other than ASCII letters, digits, '-', '_', '.', ':'"
        ));
    }
    Ok(())
}

fn check_respond(spec: &RuleSpec) -> Result<(), String> {
    match &spec.respond {
        Respond::Text(_) | Respond::Drop { .. } | Respond::Passthrough => Ok(()),
        Respond::ToolCall { name, input } => {
            if name.is_empty() {
                return Err("tool_call name is empty".into());
            }
            if !input.is_object() {
                return Err(format!(
                    "tool_call input must be a JSON object, got `{input}`"
                ));
            }
            Ok(())
        }
        Respond::Error {
            code, after_chunks, ..
        } => {
            let known = AwsErrorCode::from_name(code)
                .filter(|known| runtime_error_codes().any(|runtime| runtime == *known));
            let Some(known) = known else {
                return Err(format!(
                    "unknown error code `{code}`; the Bedrock runtime error codes are: {}",
                    names(runtime_error_codes())
                ));
            };
            if after_chunks.is_some() {
                check_in_stream(spec, known)?;
            }
            Ok(())
        }
    }
}

/// An in-stream error needs a code with an event-stream form, and a rule that can match a
/// streaming API whose stream union has that event.
fn check_in_stream(spec: &RuleSpec, code: AwsErrorCode) -> Result<(), String> {
    let name = code.name();
    if code.in_stream_name().is_none() {
        return Err(format!(
            "`{name}` has no in-stream form, so it cannot have after_chunks; in-stream codes are: {}",
            names(runtime_error_codes().filter(|c| c.in_stream_name().is_some()))
        ));
    }
    let apis = spec.api.as_ref().map(|set| set.0.as_slice());
    if let Some(apis) = apis {
        if !apis.iter().any(|api| api.streaming()) {
            return Err(format!(
                "after_chunks needs a streaming API (ConverseStream or \
                 InvokeModelWithResponseStream) but api is only {}",
                apis.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let may_be_converse_stream = apis.is_none_or(|apis| apis.contains(&Api::ConverseStream));
    if code == AwsErrorCode::ModelTimeout && may_be_converse_stream {
        return Err(
            "ModelTimeoutException is not an in-stream event of ConverseStream; with \
                    after_chunks restrict `api` to InvokeModelWithResponseStream"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
