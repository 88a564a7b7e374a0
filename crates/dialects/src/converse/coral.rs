//! Coral-format constraint violations, collected while walking a JSON body.
//!
//! AWS JSON services check the constraints of the Smithy model (required, length, range,
//! enum, pattern) before the operation runs and report all violations at once
//! (bedrock-wire §2.5): `1 validation error detected: Value '0' at 'inferenceConfig.maxTokens'
//! failed to satisfy constraint: Member must have value greater than or equal to 1`, or
//! `2 validation errors detected: …; …`. Member paths are dotted with list indexes
//! (`messages.0.content.1`), which is **unconfirmed** for the index notation.
//!
//! Wrong JSON types have no documented Coral text (real Coral answers with an unmodeled
//! serialization error); we report them in the same format with the constraint
//! `Member must be <a type>` — our own wording, **unconfirmed**. Unknown members are ignored,
//! as restJson1 servers do for forward compatibility.

use serde_json::{Map, Value};

/// The longest rendering of a value inside a message; longer ones are cut with `...`.
const MAX_VALUE_CHARS: usize = 100;

/// Collects violations during one walk.
#[derive(Debug, Default)]
pub(super) struct Coral {
    violations: Vec<String>,
}

fn render(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > MAX_VALUE_CHARS {
        let cut: String = text.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut}...")
    } else {
        text
    }
}

impl Coral {
    /// Records `Value '<v>' at '<path>' failed to satisfy constraint: <constraint>`.
    pub fn violation(&mut self, value: &Value, path: &str, constraint: &str) {
        let shown = match value {
            Value::Null => "Value null".to_owned(),
            other => format!("Value '{}'", render(other)),
        };
        self.violations.push(format!(
            "{shown} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// Records `Value null at '<path>' … Member must not be null`.
    pub fn missing(&mut self, path: &str) {
        self.violation(&Value::Null, path, "Member must not be null");
    }

    /// The combined message, or `None` when nothing was violated.
    pub fn message(&self) -> Option<String> {
        match self.violations.len() {
            0 => None,
            1 => Some(format!(
                "1 validation error detected: {}",
                self.violations[0]
            )),
            n => Some(format!(
                "{n} validation errors detected: {}",
                self.violations.join("; ")
            )),
        }
    }

    /// A required member: missing or `null` is a violation.
    pub fn required<'a>(
        &mut self,
        object: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Value> {
        match object.get(key) {
            None | Some(Value::Null) => {
                self.missing(&join(path, key));
                None
            }
            Some(v) => Some(v),
        }
    }

    /// A structure value.
    pub fn object<'a>(&mut self, value: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.violation(other, path, "Member must be a structure");
                None
            }
        }
    }

    /// A list value.
    pub fn list<'a>(&mut self, value: &'a Value, path: &str) -> Option<&'a Vec<Value>> {
        match value {
            Value::Array(items) => Some(items),
            other => {
                self.violation(other, path, "Member must be a list");
                None
            }
        }
    }

    /// A string value.
    pub fn string<'a>(&mut self, value: &'a Value, path: &str) -> Option<&'a str> {
        match value {
            Value::String(s) => Some(s),
            other => {
                self.violation(other, path, "Member must be a string");
                None
            }
        }
    }

    /// A 32-bit integer value.
    pub fn integer(&mut self, value: &Value, path: &str) -> Option<i32> {
        match value.as_i64().and_then(|v| i32::try_from(v).ok()) {
            Some(v) => Some(v),
            None => {
                self.violation(value, path, "Member must be an integer");
                None
            }
        }
    }

    /// A float value (any JSON number).
    pub fn number(&mut self, value: &Value, path: &str) -> Option<f64> {
        match value.as_f64() {
            Some(v) => Some(v),
            None => {
                self.violation(value, path, "Member must be a number");
                None
            }
        }
    }

    /// A boolean value.
    pub fn boolean(&mut self, value: &Value, path: &str) -> Option<bool> {
        match value {
            Value::Bool(b) => Some(*b),
            other => {
                self.violation(other, path, "Member must be a boolean");
                None
            }
        }
    }

    /// A string from a fixed set (`Member must satisfy enum value set: [a, b]`).
    pub fn enumeration<'a>(
        &mut self,
        value: &'a Value,
        path: &str,
        allowed: &[&str],
    ) -> Option<&'a str> {
        let s = self.string(value, path)?;
        if allowed.contains(&s) {
            Some(s)
        } else {
            self.violation(
                value,
                path,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
            None
        }
    }

    /// A string of at least `min` characters (`NonEmptyString` and friends).
    pub fn min_length(&mut self, value: &Value, s: &str, path: &str, min: usize) -> bool {
        if s.chars().count() < min {
            self.violation(
                value,
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
            false
        } else {
            true
        }
    }

    /// A union: exactly one of `members` set (non-null). Returns the member and its value.
    /// Unknown keys are ignored; a union with no known member or several is a violation.
    pub fn union<'a>(
        &mut self,
        value: &'a Value,
        path: &str,
        members: &[&'static str],
    ) -> Option<(&'static str, &'a Value)> {
        let object = self.object(value, path)?;
        let mut set = members
            .iter()
            .filter_map(|m| object.get(*m).filter(|v| !v.is_null()).map(|v| (*m, v)));
        match (set.next(), set.next()) {
            (Some(only), None) => Some(only),
            _ => {
                self.violation(
                    value,
                    path,
                    &format!(
                        "Member must have exactly one of the following members set: [{}]",
                        members.join(", ")
                    ),
                );
                None
            }
        }
    }
}

/// `path.key`, or `key` at the top level.
pub(super) fn join(path: &str, key: impl std::fmt::Display) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// An optional member: absent and `null` are the same.
pub(super) fn optional<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|v| !v.is_null())
}
