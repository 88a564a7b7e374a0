//! Bedrock's JSON schema for Claude bodies, with the everit wording of `crate::everit`.
//!
//! The observed messages show how the schema is built (bedrock-wire §2.4, §5.2; client
//! reports):
//!
//! - A body **with** `messages` fails with `#: subject must not be valid against schema
//!   {"required":["messages"]}` (the Text Completions branch refusing it) followed by the
//!   violations of the Messages branch: `#: required key [max_tokens] not found`,
//!   `#: extraneous key [stream] is not permitted`, `#/messages/1/content: expected type: String,
//!   found: JSONArray#/messages/1/content: expected minimum item count: 1, found: 0` (content is
//!   a string or a non-empty array, and both alternatives are reported).
//! - A body **without** `messages` is checked against the Text Completions branch alone:
//!   `#: required key [prompt] not found#: required key [max_tokens_to_sample] not found#:
//!   extraneous key [Messages] is not permitted…` (observed).
//!
//! Which keys each branch declares, their order, and the ranges are **unconfirmed**: the
//! Messages branch declares what the AWS user guide documents (plus `metadata`), the ranges
//! are the guide's (`temperature`/`top_p` 0–1, `top_k` 0–500); `max_tokens` ≥ 1 and the
//! `role` enum text (`system is not a valid enum value`) are everit's wording for the
//! constraints we assume. Content blocks are only required to be objects here; their members
//! are Claude's own checks (`content.rs`).

use serde_json::{Map, Value};

use crate::everit::{self, found_type, Kind, Property, Schema};
use crate::Result;

/// The first violation of every failing Messages body.
const NOT_TEXT_COMPLETIONS: &str =
    "#: subject must not be valid against schema {\"required\":[\"messages\"]}";

const STRING: Kind = Kind::String { min_length: None };
const UNIT: Kind = Kind::Number {
    min: Some(0.0),
    max: Some(1.0),
};
const TOP_K: Kind = Kind::Integer {
    min: Some(0),
    max: Some(500),
};
const STRINGS: Kind = Kind::Array {
    items: Some(&STRING),
    max_items: None,
};
const OBJECTS: Kind = Kind::Array {
    items: Some(&Kind::AnyObject),
    max_items: None,
};

/// How one declared member of the Messages branch is checked.
enum Check {
    /// An everit kind.
    Kind(Kind),
    /// `messages`: an array of `{role, content}` objects.
    Messages,
    /// `system`: a string or an array of objects.
    StringOrObjects,
}

/// The members of the Messages branch, in the order they are checked.
const MESSAGES_BRANCH: [(&str, Check); 13] = [
    ("anthropic_version", Check::Kind(STRING)),
    ("anthropic_beta", Check::Kind(STRINGS)),
    (
        "max_tokens",
        Check::Kind(Kind::Integer {
            min: Some(1),
            max: None,
        }),
    ),
    ("messages", Check::Messages),
    ("system", Check::StringOrObjects),
    ("temperature", Check::Kind(UNIT)),
    ("top_p", Check::Kind(UNIT)),
    ("top_k", Check::Kind(TOP_K)),
    ("stop_sequences", Check::Kind(STRINGS)),
    ("tools", Check::Kind(OBJECTS)),
    ("tool_choice", Check::Kind(Kind::AnyObject)),
    ("thinking", Check::Kind(Kind::AnyObject)),
    ("metadata", Check::Kind(Kind::AnyObject)),
];

/// The Text Completions branch.
const TEXT_COMPLETIONS_BRANCH: Schema = Schema {
    required: &["prompt", "max_tokens_to_sample"],
    properties: &[
        Property {
            name: "prompt",
            kind: STRING,
        },
        Property {
            name: "max_tokens_to_sample",
            kind: Kind::Integer {
                min: Some(1),
                max: None,
            },
        },
        Property {
            name: "temperature",
            kind: UNIT,
        },
        Property {
            name: "top_p",
            kind: UNIT,
        },
        Property {
            name: "top_k",
            kind: TOP_K,
        },
        Property {
            name: "stop_sequences",
            kind: STRINGS,
        },
        Property {
            name: "anthropic_version",
            kind: STRING,
        },
    ],
};

/// Parses a body as a JSON object (`Malformed input request, …` otherwise).
pub(super) fn parse(body: &[u8]) -> Result<Map<String, Value>> {
    everit::parse_object(body)
}

/// Checks a Messages body (one with a `messages` key) against the Messages branch.
pub(super) fn check_messages_body(object: &Map<String, Value>) -> Result<()> {
    let mut out = Vec::new();
    // `messages` is present: that is what chose this branch.
    if !object.contains_key("max_tokens") {
        out.push("#: required key [max_tokens] not found".to_owned());
    }
    for (name, check) in &MESSAGES_BRANCH {
        let Some(value) = object.get(*name) else {
            continue;
        };
        let at = format!("#/{name}");
        match check {
            Check::Kind(kind) => everit::check_value(&at, *kind, value, &mut out),
            Check::Messages => messages(&at, value, &mut out),
            Check::StringOrObjects => string_or_objects(&at, value, 0, &mut out),
        }
    }
    for key in object.keys() {
        if !MESSAGES_BRANCH.iter().any(|(name, _)| name == key) {
            out.push(format!("#: extraneous key [{key}] is not permitted"));
        }
    }
    if out.is_empty() {
        return Ok(());
    }
    out.insert(0, NOT_TEXT_COMPLETIONS.to_owned());
    everit::finish(&out)
}

/// Checks a Text Completions body (one without `messages`).
pub(super) fn check_text_completions_body(object: &Map<String, Value>) -> Result<()> {
    let mut out = Vec::new();
    everit::check_object("#", object, &TEXT_COMPLETIONS_BRANCH, &mut out);
    everit::finish(&out)
}

fn messages(at: &str, value: &Value, out: &mut Vec<String>) {
    let Value::Array(items) = value else {
        out.push(format!(
            "{at}: expected type: JSONArray, found: {}",
            found_type(value)
        ));
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let at = format!("{at}/{i}");
        let Value::Object(message) = item else {
            out.push(format!(
                "{at}: expected type: JSONObject, found: {}",
                found_type(item)
            ));
            continue;
        };
        for key in ["role", "content"] {
            if !message.contains_key(key) {
                out.push(format!("{at}: required key [{key}] not found"));
            }
        }
        if let Some(role) = message.get("role") {
            everit::check_value(
                &format!("{at}/role"),
                Kind::Enum(&["user", "assistant"]),
                role,
                out,
            );
        }
        if let Some(content) = message.get("content") {
            string_or_objects(&format!("{at}/content"), content, 1, out);
        }
    }
}

/// A string, or an array of at least `min_items` objects. Like everit's `oneOf`, a failure
/// reports both alternatives: the string one first.
fn string_or_objects(at: &str, value: &Value, min_items: usize, out: &mut Vec<String>) {
    match value {
        Value::String(_) => {}
        Value::Array(list) => {
            let mut inner = Vec::new();
            if list.len() < min_items {
                inner.push(format!(
                    "{at}: expected minimum item count: {min_items}, found: {}",
                    list.len()
                ));
            }
            for (j, item) in list.iter().enumerate() {
                if !item.is_object() {
                    inner.push(format!(
                        "{at}/{j}: expected type: JSONObject, found: {}",
                        found_type(item)
                    ));
                }
            }
            if !inner.is_empty() {
                out.push(format!("{at}: expected type: String, found: JSONArray"));
                out.extend(inner);
            }
        }
        other => {
            let found = found_type(other);
            out.push(format!("{at}: expected type: String, found: {found}"));
            out.push(format!("{at}: expected type: JSONArray, found: {found}"));
        }
    }
}
