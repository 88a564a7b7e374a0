//! The final check of a tool call's arguments against its compiled schema.
//!
//! It checks exactly what the [`Matcher`](super::Matcher) enforces (see
//! [`schema`](super::schema) for the supported keywords), so a call decoded under the matcher
//! always passes; a failure means a bug, and is reported as one rather than handed to the
//! caller as a tool call.

use serde_json::Value as Json;

use super::schema::{Node, NodeId, Schema};

/// Checks `value` against `node`; the error names the first offending place (`$.a[2]`).
pub fn validate(schema: &Schema, node: NodeId, value: &Json) -> Result<(), String> {
    check(schema, node, value, "$", 0)
}

/// Recursion deeper than this (a union that contains itself) fails the check.
const MAX_RECURSION: usize = 256;

fn check(
    schema: &Schema,
    node: NodeId,
    value: &Json,
    path: &str,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_RECURSION {
        return Err(format!("{path}: the schema nests too deeply"));
    }
    let depth = depth + 1;
    match schema.node(node) {
        Node::Any => Ok(()),
        &Node::Number { integer } => match value {
            Json::Number(n) if !integer || n.is_i64() || n.is_u64() => Ok(()),
            _ if integer => Err(format!("{path}: expected an integer, got {value}")),
            _ => Err(format!("{path}: expected a number, got {value}")),
        },
        &Node::String {
            min_chars,
            max_chars,
        } => {
            let Json::String(s) = value else {
                return Err(format!("{path}: expected a string, got {value}"));
            };
            let n = s.chars().count();
            if n < min_chars as usize || n > max_chars as usize {
                return Err(format!(
                    "{path}: string of {n} characters, expected {min_chars} to {max_chars}"
                ));
            }
            Ok(())
        }
        &Node::Literals(set) => {
            let allowed = &schema.literals[set as usize].values;
            if allowed.contains(value) {
                Ok(())
            } else {
                Err(format!("{path}: {value} is not one of the allowed values"))
            }
        }
        &Node::Array {
            items,
            min_items,
            max_items,
        } => {
            let Json::Array(list) = value else {
                return Err(format!("{path}: expected an array, got {value}"));
            };
            if list.len() < min_items as usize || list.len() > max_items as usize {
                return Err(format!(
                    "{path}: {} items, expected {min_items} to {max_items}",
                    list.len()
                ));
            }
            for (i, item) in list.iter().enumerate() {
                check(schema, items, item, &format!("{path}[{i}]"), depth)?;
            }
            Ok(())
        }
        &Node::Object(shape) => {
            let Json::Object(map) = value else {
                return Err(format!("{path}: expected an object, got {value}"));
            };
            let shape = &schema.objects[shape as usize];
            for (i, name) in shape.names.iter().enumerate() {
                if shape.required & (1u128 << i) != 0 && !map.contains_key(name) {
                    return Err(format!("{path}: missing required property {name:?}"));
                }
            }
            for (key, item) in map {
                let child = format!("{path}.{key}");
                match shape.names.iter().position(|n| n == key) {
                    Some(i) => check(schema, shape.values[i], item, &child, depth)?,
                    None => match shape.additional {
                        Some(node) => check(schema, node, item, &child, depth)?,
                        None => return Err(format!("{path}: unexpected property {key:?}")),
                    },
                }
            }
            Ok(())
        }
        Node::Union(alternatives) => {
            let mut first_error = None;
            for &alt in alternatives {
                match check(schema, alt, value, path, depth) {
                    Ok(()) => return Ok(()),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            Err(first_error.unwrap_or_else(|| format!("{path}: no value is allowed here")))
        }
    }
}
