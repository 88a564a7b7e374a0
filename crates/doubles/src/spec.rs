//! The rule language as users write it: the serde shapes of a rule (JSON in the rules file
//! and the control API) and of the APIs it can match.
//!
//! These types only describe; [`crate::Rules::add`] validates them (regexes compile, error
//! codes exist, ranges hold) before a rule takes effect.

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The runtime APIs a rule can match. Serialized as the operation name (`"Converse"`,
/// `"ConverseStream"`, `"InvokeModel"`, `"InvokeModelWithResponseStream"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Api {
    /// `POST /model/{modelId}/converse`.
    Converse,
    /// `POST /model/{modelId}/converse-stream`.
    ConverseStream,
    /// `POST /model/{modelId}/invoke`.
    InvokeModel,
    /// `POST /model/{modelId}/invoke-with-response-stream`.
    InvokeModelWithResponseStream,
}

impl Api {
    /// Every API, in documentation order.
    pub const ALL: [Api; 4] = [
        Api::Converse,
        Api::ConverseStream,
        Api::InvokeModel,
        Api::InvokeModelWithResponseStream,
    ];

    /// The operation name, as serialized (`"ConverseStream"`).
    pub fn name(self) -> &'static str {
        match self {
            Api::Converse => "Converse",
            Api::ConverseStream => "ConverseStream",
            Api::InvokeModel => "InvokeModel",
            Api::InvokeModelWithResponseStream => "InvokeModelWithResponseStream",
        }
    }

    /// The API for an operation name, exactly as [`Api::name`] spells it.
    pub fn from_name(name: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|api| api.name() == name)
    }

    /// True for the event-stream APIs (`ConverseStream`, `InvokeModelWithResponseStream`).
    pub fn streaming(self) -> bool {
        matches!(
            self,
            Api::ConverseStream | Api::InvokeModelWithResponseStream
        )
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `api` field of a rule: one API name or a list of them. Serialized back as a string when
/// it holds one API and as a list otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSet(pub Vec<Api>);

impl ApiSet {
    /// Whether `api` is one of the set.
    pub fn contains(&self, api: Api) -> bool {
        self.0.contains(&api)
    }
}

impl Serialize for ApiSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(serializer),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ApiSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ApiSetVisitor;
        impl<'de> Visitor<'de> for ApiSetVisitor {
            type Value = ApiSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an API name or a list of API names")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<ApiSet, E> {
                Api::from_name(value)
                    .map(|api| ApiSet(vec![api]))
                    .ok_or_else(|| E::unknown_variant(value, API_NAMES))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ApiSet, A::Error> {
                let mut apis = Vec::new();
                while let Some(api) = seq.next_element::<Api>()? {
                    apis.push(api);
                }
                Ok(ApiSet(apis))
            }
        }
        deserializer.deserialize_any(ApiSetVisitor)
    }
}

const API_NAMES: &[&str] = &[
    "Converse",
    "ConverseStream",
    "InvokeModel",
    "InvokeModelWithResponseStream",
];

/// How a rule matches the prompt text: `{"contains": "weather"}` (case-sensitive substring) or
/// `{"regex": "^hi"}` (Rust `regex` syntax, unanchored search; `(?i)` for case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptMatch {
    /// The text contains this substring.
    Contains(String),
    /// The regex finds a match somewhere in the text.
    Regex(String),
}

/// What a rule's `prompt` is matched against: `"last_user"` (the default: the text of the last
/// user message) or `"prompt"` (the whole prompt: system and all messages, newline-joined).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The text of the last user message.
    #[default]
    LastUser,
    /// The whole prompt as text.
    Prompt,
}

/// What a rule answers with. Externally tagged, snake_case:
///
/// - `{"text": "Hello"}`: this text, stop reason `end_turn`; streamed as [`crate::chunks`].
/// - `{"tool_call": {"name": "get_weather", "input": {"city": "Paris"}}}`: one tool use
///   (`input` must be a JSON object), stop reason `tool_use`.
/// - `{"error": {"code": "ThrottlingException", "message": "slow down", "after_chunks": 3}}`:
///   a Bedrock runtime error. Without `after_chunks`, the HTTP error response (status and
///   `x-amzn-ErrorType` of the code). With it (streaming APIs only), that many text chunks and
///   then the in-stream exception event (only codes with an in-stream form are accepted); a
///   non-streaming call matching such a rule gets the HTTP error. `message` is optional.
/// - `{"drop": {"after_chunks": 1}}`: the connection is dropped after that many chunks
///   (`{"drop": {}}` or `after_chunks: 0`: before any byte of the response).
/// - `"passthrough"`: the real model answers (with `delay_ms`: pure latency injection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Respond {
    /// Fixed text.
    Text(String),
    /// One tool call.
    ToolCall {
        /// The tool's name.
        name: String,
        /// The tool's input, a JSON object.
        input: serde_json::Value,
    },
    /// A Bedrock runtime error, as an HTTP response or in-stream after some chunks.
    Error {
        /// The exception shape name, e.g. `ThrottlingException`.
        code: String,
        /// The error message; the server picks a default when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// Streaming only: the number of text chunks sent before the in-stream exception.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_chunks: Option<u32>,
    },
    /// The connection is dropped.
    Drop {
        /// Chunks sent before the drop (absent or 0: before any byte).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_chunks: Option<u32>,
    },
    /// The real model answers.
    Passthrough,
}

/// A rule as users write it. Every match field is optional (absent matches everything); the
/// rule applies when all present ones match. Unknown fields are refused.
///
/// ```json
/// {"id": "weather", "model": "anthropic.*", "api": ["Converse", "ConverseStream"],
///  "prompt": {"contains": "weather"}, "scope": "last_user",
///  "respond": {"text": "Sunny."}, "times": 2, "probability": 0.5, "delay_ms": 300}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The rule's id; when absent, [`crate::Rules::add`] assigns `r1`, `r2`, ... In a
    /// [`crate::RuleInfo`] the id lives in `RuleInfo::id` and this is `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Model-id glob ([`crate::glob_match`]) matched against the id as the caller sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The API or APIs the rule applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiSet>,
    /// The prompt condition, applied to the text `scope` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<PromptMatch>,
    /// What `prompt` is matched against (absent: `last_user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// The answer.
    pub respond: Respond,
    /// Absent: the rule repeats forever; `n` (at least 1): it answers the next `n` matching
    /// calls and is then removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// In `0..=1` (absent: 1): when the rule matches, it fires with this probability (from the
    /// seeded generator of [`crate::Rules`]), else the following rules are tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Added latency before answering, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

impl RuleSpec {
    /// A rule that matches every call and answers `respond`, repeating forever.
    pub fn new(respond: Respond) -> Self {
        RuleSpec {
            id: None,
            model: None,
            api: None,
            prompt: None,
            scope: None,
            respond,
            times: None,
            probability: None,
            delay_ms: None,
        }
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
