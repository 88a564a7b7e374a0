//! JSON schemas compiled into the small node graph the [`Matcher`](super::Matcher) walks and
//! [`validate`](fn@super::validate) checks.
//!
//! Supported (enforced while decoding and checked by the validator): `type` (one or a list),
//! `enum`, `const`, `properties`, `required`, `additionalProperties`, `items`,
//! `minItems`/`maxItems`, `minLength`/`maxLength`, `anyOf`/`oneOf` (both as "any of"), a
//! one-element `allOf`, and local `$ref`s (`#`, `#/$defs/...`, any JSON pointer into the same
//! document, recursion included). Anything else (`pattern`, `format`, numeric bounds, tuple
//! `items`, several `allOf` branches, external refs...) is not enforced: the part of the
//! schema it sits on falls back to "any JSON value" (or is just not checked, for annotations
//! on an otherwise supported node), so decoding never dead-ends on a keyword we do not know.
//!
//! One deliberate narrowing: an object schema that lists `properties` but says nothing about
//! `additionalProperties` gets no other properties. JSON Schema would allow any, but a model
//! inventing argument names helps nobody, and the output is still valid for the schema.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

/// Index of a node in a [`Schema`].
pub type NodeId = u32;

/// Any JSON value.
pub const ANY: NodeId = 0;
/// Any object (any keys, any values).
pub const ANY_OBJECT: NodeId = 1;
/// Any array.
pub const ANY_ARRAY: NodeId = 2;
/// Any string.
pub const ANY_STRING: NodeId = 3;
/// Any number.
pub const ANY_NUMBER: NodeId = 4;
/// `true` or `false`.
pub const BOOLEAN: NodeId = 5;
/// `null`.
pub const NULL: NodeId = 6;
/// No value at all (the `false` schema, an empty `enum`).
pub const NEVER: NodeId = 7;

/// Objects with more properties than this are treated as free-form objects.
pub const MAX_PROPERTIES: usize = 128;

/// What a value must look like.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Any JSON value.
    Any,
    /// A number; `integer` forbids a fraction and an exponent.
    Number {
        /// Whole numbers only.
        integer: bool,
    },
    /// A string of `min..=max` characters.
    String {
        /// Fewest characters.
        min_chars: u32,
        /// Most characters (`u32::MAX`: no limit).
        max_chars: u32,
    },
    /// Exactly one of a set of values (an index into [`Schema::literals`]).
    Literals(u32),
    /// An array.
    Array {
        /// Schema of every item.
        items: NodeId,
        /// Fewest items.
        min_items: u32,
        /// Most items (`u32::MAX`: no limit).
        max_items: u32,
    },
    /// An object (an index into [`Schema::objects`]).
    Object(u32),
    /// Any one of these (empty: nothing matches).
    Union(Vec<NodeId>),
}

/// A set of allowed values, each in its compact JSON spelling (the one a model must write).
#[derive(Debug, Clone, PartialEq)]
pub struct LiteralSet {
    /// The spellings, sorted and deduplicated.
    pub spellings: Vec<Vec<u8>>,
    /// The values, for the validator.
    pub values: Vec<Json>,
}

/// The shape of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectShape {
    /// Declared property names as written inside the quotes (JSON-escaped), sorted.
    pub keys: Vec<Vec<u8>>,
    /// The same names, unescaped, in the same order.
    pub names: Vec<String>,
    /// Schema of each declared property, in the same order.
    pub values: Vec<NodeId>,
    /// Bit i set: `keys[i]` is required.
    pub required: u128,
    /// Schema of other properties; `None`: no others allowed.
    pub additional: Option<NodeId>,
}

/// A compiled schema graph. Several roots (one per tool) may share one graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The nodes; ids below [`NEVER`] + 1 are the built-in ones.
    pub nodes: Vec<Node>,
    /// Literal sets referenced by [`Node::Literals`].
    pub literals: Vec<LiteralSet>,
    /// Object shapes referenced by [`Node::Object`].
    pub objects: Vec<ObjectShape>,
}

impl Default for Schema {
    fn default() -> Self {
        Self::new()
    }
}

impl Schema {
    /// A graph holding only the built-in nodes.
    pub fn new() -> Self {
        let mut s = Self {
            nodes: Vec::new(),
            literals: Vec::new(),
            objects: vec![ObjectShape {
                keys: Vec::new(),
                names: Vec::new(),
                values: Vec::new(),
                required: 0,
                additional: Some(ANY),
            }],
        };
        let bool_set = s.add_literals(vec![Json::Bool(false), Json::Bool(true)]);
        let null_set = s.add_literals(vec![Json::Null]);
        s.nodes = vec![
            Node::Any,
            Node::Object(0),
            Node::Array {
                items: ANY,
                min_items: 0,
                max_items: u32::MAX,
            },
            Node::String {
                min_chars: 0,
                max_chars: u32::MAX,
            },
            Node::Number { integer: false },
            Node::Literals(bool_set),
            Node::Literals(null_set),
            Node::Union(Vec::new()),
        ];
        s
    }

    /// The node with this id (out of range: [`Node::Any`]).
    pub fn node(&self, id: NodeId) -> &Node {
        self.nodes.get(id as usize).unwrap_or(&Node::Any)
    }

    /// Adds a node and returns its id.
    pub fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        (self.nodes.len() - 1) as NodeId
    }

    /// Adds a set of allowed values; returns its index.
    pub fn add_literals(&mut self, values: Vec<Json>) -> u32 {
        let mut pairs: Vec<(Vec<u8>, Json)> =
            values.into_iter().map(|v| (spelling(&v), v)).collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|a, b| a.0 == b.0);
        let (spellings, values) = pairs.into_iter().unzip();
        self.literals.push(LiteralSet { spellings, values });
        (self.literals.len() - 1) as u32
    }

    /// Adds an object shape from `(name, schema, required)` triples; returns its node id.
    pub fn add_object(
        &mut self,
        properties: Vec<(String, NodeId, bool)>,
        additional: Option<NodeId>,
    ) -> NodeId {
        if properties.len() > MAX_PROPERTIES {
            return ANY_OBJECT;
        }
        let mut props: Vec<(Vec<u8>, String, NodeId, bool)> = properties
            .into_iter()
            .map(|(name, node, required)| (key_spelling(&name), name, node, required))
            .collect();
        props.sort_by(|a, b| a.0.cmp(&b.0));
        props.dedup_by(|a, b| a.0 == b.0);
        let mut shape = ObjectShape {
            keys: Vec::with_capacity(props.len()),
            names: Vec::with_capacity(props.len()),
            values: Vec::with_capacity(props.len()),
            required: 0,
            additional,
        };
        for (i, (key, name, node, required)) in props.into_iter().enumerate() {
            shape.keys.push(key);
            shape.names.push(name);
            shape.values.push(node);
            if required {
                shape.required |= 1 << i;
            }
        }
        self.objects.push(shape);
        let index = (self.objects.len() - 1) as u32;
        self.push(Node::Object(index))
    }

    /// Compiles one JSON schema document (its `$ref`s resolve inside it) into this graph;
    /// returns the root node.
    pub fn compile(&mut self, document: &Json) -> NodeId {
        let mut compiler = Compiler {
            schema: self,
            document,
            refs: HashMap::new(),
        };
        compiler.compile(document, 0)
    }
}

/// The compact JSON spelling of a value (`serde_json`'s, which keeps key order).
fn spelling(value: &Json) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// A property name as written between the quotes of a JSON key.
fn key_spelling(name: &str) -> Vec<u8> {
    let quoted = spelling(&Json::String(name.to_owned()));
    quoted
        .get(1..quoted.len().saturating_sub(1))
        .unwrap_or_default()
        .to_vec()
}

/// Nesting deeper than this while compiling (not through `$ref`) is treated as "any value".
const MAX_COMPILE_DEPTH: usize = 64;

struct Compiler<'a> {
    schema: &'a mut Schema,
    document: &'a Json,
    refs: HashMap<String, NodeId>,
}

impl Compiler<'_> {
    fn compile(&mut self, value: &Json, depth: usize) -> NodeId {
        if depth > MAX_COMPILE_DEPTH {
            return ANY;
        }
        let obj = match value {
            Json::Bool(false) => return NEVER,
            Json::Object(obj) => obj,
            _ => return ANY,
        };
        if let Some(Json::String(reference)) = obj.get("$ref") {
            return self.reference(reference, depth);
        }
        if let Some(values) = obj.get("enum").and_then(Json::as_array) {
            if values.is_empty() {
                return NEVER;
            }
            let set = self.schema.add_literals(values.clone());
            return self.schema.push(Node::Literals(set));
        }
        if let Some(value) = obj.get("const") {
            let set = self.schema.add_literals(vec![value.clone()]);
            return self.schema.push(Node::Literals(set));
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alternatives) = obj.get(key).and_then(Json::as_array) {
                return self.union(alternatives, depth);
            }
        }
        if let Some(all) = obj.get("allOf").and_then(Json::as_array) {
            return match all.as_slice() {
                [only] => self.compile(only, depth + 1),
                _ => ANY,
            };
        }
        match obj.get("type") {
            Some(Json::String(t)) => self.typed(t, obj, depth),
            Some(Json::Array(types)) => {
                let alternatives: Vec<NodeId> = types
                    .iter()
                    .map(|t| match t {
                        Json::String(t) => self.typed(t, obj, depth),
                        _ => ANY,
                    })
                    .collect();
                self.union_of(alternatives)
            }
            _ if ["properties", "required", "additionalProperties"]
                .iter()
                .any(|k| obj.contains_key(*k)) =>
            {
                self.object(obj, depth)
            }
            _ if obj.contains_key("items") => self.typed("array", obj, depth),
            _ => ANY,
        }
    }

    fn union(&mut self, alternatives: &[Json], depth: usize) -> NodeId {
        if alternatives.is_empty() {
            return ANY;
        }
        let ids = alternatives
            .iter()
            .map(|a| self.compile(a, depth + 1))
            .collect();
        self.union_of(ids)
    }

    fn union_of(&mut self, mut ids: Vec<NodeId>) -> NodeId {
        ids.dedup();
        if ids.contains(&ANY) {
            return ANY;
        }
        match ids.as_slice() {
            [] => NEVER,
            [only] => *only,
            _ => self.schema.push(Node::Union(ids)),
        }
    }

    fn typed(&mut self, t: &str, obj: &Map<String, Json>, depth: usize) -> NodeId {
        let count = |key: &str, default: u32| {
            obj.get(key)
                .and_then(Json::as_u64)
                .map_or(default, |n| u32::try_from(n).unwrap_or(u32::MAX))
        };
        match t {
            "null" => NULL,
            "boolean" => BOOLEAN,
            "integer" => self.schema.push(Node::Number { integer: true }),
            "number" => ANY_NUMBER,
            "string" => {
                let (min_chars, max_chars) = (count("minLength", 0), count("maxLength", u32::MAX));
                if min_chars > max_chars {
                    return NEVER;
                }
                if (min_chars, max_chars) == (0, u32::MAX) {
                    return ANY_STRING;
                }
                self.schema.push(Node::String {
                    min_chars,
                    max_chars,
                })
            }
            "array" => {
                let items = match obj.get("items") {
                    Some(items @ (Json::Object(_) | Json::Bool(_))) => {
                        self.compile(items, depth + 1)
                    }
                    _ => ANY,
                };
                let (min_items, max_items) = (count("minItems", 0), count("maxItems", u32::MAX));
                if min_items > max_items || (items == NEVER && min_items > 0) {
                    return NEVER;
                }
                self.schema.push(Node::Array {
                    items,
                    min_items,
                    max_items,
                })
            }
            "object" => self.object(obj, depth),
            _ => ANY,
        }
    }

    fn object(&mut self, obj: &Map<String, Json>, depth: usize) -> NodeId {
        let properties = obj.get("properties").and_then(Json::as_object);
        let additional = match obj.get("additionalProperties") {
            Some(Json::Bool(false)) => None,
            Some(schema @ Json::Object(_)) => Some(self.compile(schema, depth + 1)),
            Some(_) => Some(ANY),
            None if properties.is_some_and(|p| !p.is_empty()) => None,
            None => Some(ANY),
        };
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Json::as_array)
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        let mut props: Vec<(String, NodeId, bool)> = Vec::new();
        if let Some(properties) = properties {
            for (name, schema) in properties {
                let node = self.compile(schema, depth + 1);
                props.push((name.clone(), node, required.contains(&name.as_str())));
            }
        }
        // A required name without a declared schema takes the schema of other properties.
        for name in required {
            if !props.iter().any(|p| p.0 == name) {
                props.push((name.to_owned(), additional.unwrap_or(ANY), true));
            }
        }
        if props.is_empty() && additional == Some(ANY) {
            return ANY_OBJECT;
        }
        self.schema.add_object(props, additional)
    }

    fn reference(&mut self, reference: &str, depth: usize) -> NodeId {
        if let Some(&id) = self.refs.get(reference) {
            return id;
        }
        let Some(pointer) = reference.strip_prefix('#') else {
            return ANY; // another document: not available
        };
        let Some(target) = self.document.pointer(pointer) else {
            return ANY;
        };
        // Reserve the id first so that recursive references find it.
        let id = self.schema.push(Node::Any);
        self.refs.insert(reference.to_owned(), id);
        let compiled = self.compile(target, depth + 1);
        let node = if compiled == id {
            Node::Any
        } else {
            self.schema.node(compiled).clone()
        };
        self.schema.nodes[id as usize] = node;
        id
    }
}
