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
//! schema order, then extraneous keys in body order. Nested objects and arrays extend the
//! pointer (`#/textGenerationConfig/topP`, `#/stop/0`); everit's texts for them
//! (`expected maximum item count: 10, found: 11`, `xyz is not a valid enum value`) are
//! **unconfirmed** from Bedrock.

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
    /// `true` or `false`.
    Boolean,
    /// A string from a fixed set.
    Enum(&'static [&'static str]),
    /// An array, each item of `items` (any JSON when `None`), with at most `max_items` items.
    Array {
        items: Option<&'static Kind>,
        max_items: Option<usize>,
    },
    /// An object checked against its own schema (pointers nest: `#/a/b`).
    Object(&'static Schema),
    /// An object with any members (free-form maps such as a JSON schema).
    AnyObject,
    /// Any JSON value (the dialect checks it).
    Any,
}

/// One declared property.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Property {
    pub name: &'static str,
    pub kind: Kind,
}

/// A property (shorter to read in schema tables).
pub(crate) const fn prop(name: &'static str, kind: Kind) -> Property {
    Property { name, kind }
}

/// An array whose items are all `items`, with at most `max_items` of them.
pub(crate) const fn array_of(items: &'static Kind, max_items: Option<usize>) -> Kind {
    Kind::Array {
        items: Some(items),
        max_items,
    }
}

/// An integer in `min..=max`.
pub(crate) const fn integer(min: Option<i64>, max: Option<i64>) -> Kind {
    Kind::Integer { min, max }
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

fn wrong_type(at: &str, expected: &str, value: &Value, out: &mut Vec<String>) {
    out.push(format!(
        "{at}: expected type: {expected}, found: {}",
        found_type(value)
    ));
}

/// Checks one value of kind `kind` found at pointer `at` (`#/name`, `#/list/0`).
pub(crate) fn check_value(at: &str, kind: Kind, value: &Value, out: &mut Vec<String>) {
    match kind {
        Kind::String { min_length } => match value {
            Value::String(s) => {
                let len = s.chars().count();
                if let Some(min) = min_length.filter(|min| len < *min) {
                    out.push(format!("{at}: expected minLength: {min}, actual: {len}"));
                }
            }
            other => wrong_type(at, "String", other, out),
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
            None => wrong_type(at, "Number", value, out),
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
            None => wrong_type(at, "Integer", value, out),
        },
        Kind::Boolean => {
            if !value.is_boolean() {
                wrong_type(at, "Boolean", value, out);
            }
        }
        // everit prints the offending value itself (strings without quotes).
        Kind::Enum(allowed) => match value {
            Value::String(s) if allowed.contains(&s.as_str()) => {}
            Value::String(s) => out.push(format!("{at}: {s} is not a valid enum value")),
            other => out.push(format!("{at}: {other} is not a valid enum value")),
        },
        Kind::Array { items, max_items } => match value {
            Value::Array(list) => {
                if let Some(max) = max_items.filter(|max| list.len() > *max) {
                    out.push(format!(
                        "{at}: expected maximum item count: {max}, found: {}",
                        list.len()
                    ));
                }
                if let Some(item) = items {
                    for (i, v) in list.iter().enumerate() {
                        check_value(&format!("{at}/{i}"), *item, v, out);
                    }
                }
            }
            other => wrong_type(at, "JSONArray", other, out),
        },
        Kind::Object(schema) => match value {
            Value::Object(map) => check_object(at, map, schema, out),
            other => wrong_type(at, "JSONObject", other, out),
        },
        Kind::AnyObject => {
            if !value.is_object() {
                wrong_type(at, "JSONObject", value, out);
            }
        }
        Kind::Any => {}
    }
}

/// Checks an object found at pointer `at` (`#` for the body itself) against `schema`, in
/// everit's order: missing required keys, declared properties, extraneous keys.
pub(crate) fn check_object(
    at: &str,
    object: &Map<String, Value>,
    schema: &Schema,
    out: &mut Vec<String>,
) {
    for key in schema.required {
        if !object.contains_key(*key) {
            out.push(format!("{at}: required key [{key}] not found"));
        }
    }
    for property in schema.properties {
        if let Some(value) = object.get(property.name) {
            check_value(
                &format!("{at}/{}", property.name),
                property.kind,
                value,
                out,
            );
        }
    }
    for key in object.keys() {
        if !schema.properties.iter().any(|p| p.name == key) {
            out.push(format!("{at}: extraneous key [{key}] is not permitted"));
        }
    }
}

/// Parses `body` as a JSON object, or the schema-less `Malformed input request` failure.
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, DialectError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(DialectError::Validation(MALFORMED.to_owned())),
    }
}

/// The violations as one ValidationException, or `Ok` when there are none.
pub(crate) fn finish(violations: &[String]) -> Result<(), DialectError> {
    if violations.is_empty() {
        Ok(())
    } else {
        Err(malformed(&violations.concat()))
    }
}

/// Parses `body` and checks it against `schema`; returns the object on success, or the
/// ValidationException with every violation concatenated.
pub(crate) fn validate(body: &[u8], schema: &Schema) -> Result<Map<String, Value>, DialectError> {
    let object = parse_object(body)?;
    let mut violations = Vec::new();
    check_object("#", &object, schema, &mut violations);
    finish(&violations)?;
    Ok(object)
}

/// `Malformed input request: <detail>, please reformat your input and try again.`
pub(crate) fn malformed(detail: &str) -> DialectError {
    DialectError::Validation(format!(
        "Malformed input request: {detail}, please reformat your input and try again."
    ))
}

/// A number member (already type-checked by the schema) as `f32`; `default` when absent.
pub(crate) fn number_or(object: &Map<String, Value>, key: &str, default: f32) -> f32 {
    object
        .get(key)
        .and_then(Value::as_f64)
        .map_or(default, |v| v as f32)
}

/// A non-negative integer member (already range-checked by the schema) as `u32`; `None` when
/// absent or out of range.
pub(crate) fn count(object: &Map<String, Value>, key: &str) -> Option<u32> {
    object
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
}

/// The strings of a validated string array (empty when absent).
pub(crate) fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
