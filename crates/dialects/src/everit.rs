//! Schema checks for InvokeModel bodies, with the messages Bedrock's JSON-schema validator
//! produces.
//!
//! Bedrock validates each provider body against a JSON schema and reports failures as
//! `Malformed input request: <violations>, please reformat your input and try again.`, where
//! each violation is `#<pointer>: <text>` and several are concatenated with no separator
//! (bedrock-wire §2.4, observed). The texts follow the everit-org JSON-schema validator that
//! produced the observed ones: `required key [x] not found`, `extraneous key [x] is not
//! permitted`, `expected type: Number, found: String`, `expected maxLength: 2048, actual: 2049`.
//! Range texts (`1.5 is not less or equal to 1`) are everit's wording too; seeing them from
//! Bedrock is **unconfirmed**, as are the `found:` names for numbers (`Integer`/`BigDecimal`)
//! and `Null`.
//!
//! Order (everit's object visitor): missing required keys, then each declared property in
//! schema order, then extraneous keys in body order.

use serde_json::{Map, Value};

use crate::DialectError;

/// The message for a body that is not a JSON object at all.
pub(crate) const MALFORMED: &str =
    "Malformed input request, please reformat your input and try again.";

/// The JSON type a property must have.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A string, with an optional minimum length.
    String { min_length: Option<usize> },
    /// Any number, optionally bounded (inclusive).
    Number { min: Option<f64>, max: Option<f64> },
    /// An integral number, optionally bounded (inclusive).
    Integer { min: Option<i64>, max: Option<i64> },
}

/// One declared property.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Property {
    pub name: &'static str,
    pub kind: Kind,
}

/// A flat object schema with `additionalProperties: false`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schema {
    pub required: &'static [&'static str],
    pub properties: &'static [Property],
}

/// everit's name for the type of a JSON value (Java class names of org.json).
pub(crate) fn found_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "BigDecimal",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn check_property(name: &str, kind: Kind, value: &Value, out: &mut Vec<String>) {
    let at = format!("#/{name}");
    match kind {
        Kind::String { min_length } => match value {
            Value::String(s) => {
                let len = s.chars().count();
                if let Some(min) = min_length.filter(|min| len < *min) {
                    out.push(format!("{at}: expected minLength: {min}, actual: {len}"));
                }
            }
            other => out.push(format!(
                "{at}: expected type: String, found: {}",
                found_type(other)
            )),
        },
        Kind::Number { min, max } => match value.as_f64() {
            Some(v) => {
                let shown = value.to_string();
                if let Some(min) = min.filter(|min| v < *min) {
                    out.push(format!(
                        "{at}: {shown} is not greater or equal to {}",
                        number_text(min)
                    ));
                }
                if let Some(max) = max.filter(|max| v > *max) {
                    out.push(format!(
                        "{at}: {shown} is not less or equal to {}",
                        number_text(max)
                    ));
                }
            }
            None => out.push(format!(
                "{at}: expected type: Number, found: {}",
                found_type(value)
            )),
        },
        Kind::Integer { min, max } => match value.as_i64() {
            Some(v) => {
                if let Some(min) = min.filter(|min| v < *min) {
                    out.push(format!("{at}: {v} is not greater or equal to {min}"));
                }
                if let Some(max) = max.filter(|max| v > *max) {
                    out.push(format!("{at}: {v} is not less or equal to {max}"));
                }
            }
            None => out.push(format!(
                "{at}: expected type: Integer, found: {}",
                found_type(value)
            )),
        },
    }
}

/// Parses `body` and checks it against `schema`; returns the object on success, or the
/// ValidationException with every violation concatenated.
pub(crate) fn validate(body: &[u8], schema: &Schema) -> Result<Map<String, Value>, DialectError> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return Err(DialectError::Validation(MALFORMED.to_owned()));
    };
    let mut violations = Vec::new();
    for key in schema.required {
        if !object.contains_key(*key) {
            violations.push(format!("#: required key [{key}] not found"));
        }
    }
    for property in schema.properties {
        if let Some(value) = object.get(property.name) {
            check_property(property.name, property.kind, value, &mut violations);
        }
    }
    for key in object.keys() {
        if !schema.properties.iter().any(|p| p.name == key) {
            violations.push(format!("#: extraneous key [{key}] is not permitted"));
        }
    }
    if violations.is_empty() {
        Ok(object)
    } else {
        Err(malformed(&violations.concat()))
    }
}

/// `Malformed input request: <detail>, please reformat your input and try again.`
pub(crate) fn malformed(detail: &str) -> DialectError {
    DialectError::Validation(format!(
        "Malformed input request: {detail}, please reformat your input and try again."
    ))
}
