//! Tests of the schema compiler, the matcher and the validator, and of constrained selection
//! driven by random logits.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value as Json};

use super::*;
use crate::sampling::Sampler;
use bedrock_local_core::SamplingParams;

fn compile(schema: &Json) -> (Schema, NodeId) {
    let mut graph = Schema::new();
    let root = graph.compile(schema);
    (graph, root)
}

/// Whether `text` is a complete value for `schema` by the matcher.
fn matches(schema: &Json, text: &str) -> bool {
    let (graph, root) = compile(schema);
    let mut m = Matcher::new(&graph, root, b"");
    m.feed(text.as_bytes()) == Feed::Accepted && m.can_end()
}

/// How many bytes of `text` the matcher takes before rejecting (`text.len()` if none).
fn accepted_prefix(schema: &Json, text: &str) -> usize {
    let (graph, root) = compile(schema);
    let m = Matcher::new(&graph, root, b"");
    (0..=text.len())
        .rev()
        .find(|&n| n == 0 || m.accepts(&text.as_bytes()[..n]))
        .unwrap_or(0)
}

#[test]
fn any_value_accepts_json_and_rejects_the_rest() {
    let any = json!({});
    for ok in [
        "{}",
        "[]",
        " {\"a\": [1, -2.5e3, true, null, \"x\\n\\u00e9\\\"\"], \"b\": {}}",
        "\"héllo ✓ 😀\"",
        "0",
        "-0.1",
        "1E+2",
        "[[[]]]",
        "{\n  \"k\": false\n}",
    ] {
        assert!(matches(&any, ok), "{ok:?}");
    }
    for bad in [
        "{,}",
        "[1,]",
        "01",
        "-a",
        "\"\u{1}\"",
        "{\"a\" 1}",
        "tru",
        "\"\\x\"",
        "1.",
        "{} {}",
        "[1 2]",
        "{\"a\":1,}",
        "\"\\ud800\"",
        "nul",
        "'a'",
    ] {
        assert!(!matches(&any, bad), "{bad:?}");
    }
}

#[test]
fn invalid_utf8_is_refused_inside_strings() {
    let (graph, root) = compile(&json!({"type": "string"}));
    let m = Matcher::new(&graph, root, b"");
    assert!(m.accepts("\"é".as_bytes()));
    assert!(m.accepts(&[b'"', 0xC3])); // a character split over two tokens
    assert!(!m.accepts(&[b'"', 0x80])); // a lone continuation byte
    assert!(!m.accepts(&[b'"', 0xC0, 0x80])); // overlong
    assert!(!m.accepts(&[b'"', 0xED, 0xA0, 0x80])); // a surrogate
    assert!(!m.accepts(&[b'"', 0xC3, b'"'])); // a character cut by the closing quote
}

fn weather() -> Json {
    json!({
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"}
        },
        "required": ["city"]
    })
}

#[test]
fn objects_follow_properties_required_and_additional_properties() {
    let w = weather();
    assert!(matches(&w, r#"{"city": "Paris"}"#));
    assert!(matches(&w, r#"{"unit":"celsius","city":"Paris","days":3}"#));
    assert!(!matches(&w, r#"{"city": 1}"#));
    assert!(!matches(&w, r#"{"unit": "kelvin", "city": "x"}"#));
    assert!(!matches(&w, r#"{"city": "x", "days": 1.5}"#));
    assert!(!matches(&w, r#"{"city": "x", "city": "y"}"#));
    // Rejected at the first byte that cannot lead anywhere.
    assert_eq!(accepted_prefix(&w, r#"{"town": "x"}"#), 2);
    assert_eq!(accepted_prefix(&w, r#"{"unit": "celsius"}"#), 18);
    assert_eq!(accepted_prefix(&w, r#"{}"#), 1);
    // Extra properties: none when properties are listed, any when allowed or unspecified.
    assert!(!matches(&w, r#"{"city": "x", "extra": 1}"#));
    let open = json!({"type": "object", "properties": {"a": {"type": "string"}},
                      "additionalProperties": true});
    assert!(matches(&open, r#"{"zz": [1, {"q": null}], "a": "s"}"#));
    let typed = json!({"type": "object", "additionalProperties": {"type": "integer"}});
    assert!(matches(&typed, r#"{"x": 1, "y": -2}"#));
    assert!(!matches(&typed, r#"{"x": "1"}"#));
    assert!(matches(
        &json!({"type": "object"}),
        r#"{"x": {"y": [true]}}"#
    ));
    // A required name with no declared schema is still required.
    let bare = json!({"type": "object", "required": ["q"], "additionalProperties": false});
    assert!(matches(&bare, r#"{"q": [1]}"#));
    assert!(!matches(&bare, r#"{}"#));
}

#[test]
fn scalars_enums_and_consts() {
    let int = json!({"type": "integer"});
    assert!(matches(&int, "-42"));
    assert!(!matches(&int, "4.2"));
    assert!(!matches(&int, "4e2"));
    assert!(matches(&int, "1234567890123456789")); // 19 digits: still an i64/u64
    assert!(!matches(&int, "12345678901234567890"));
    let num = json!({"type": "number"});
    assert!(matches(&num, "4.25e-3"));
    assert!(!matches(&num, "\"4\""));
    let s = json!({"type": "string", "minLength": 2, "maxLength": 3});
    assert!(matches(&s, "\"ab\""));
    assert!(matches(&s, "\"a\\nb\"")); // an escape is one character
    assert!(matches(&s, "\"日本語\""));
    assert!(!matches(&s, "\"a\""));
    assert!(!matches(&s, "\"abcd\""));
    let e = json!({"enum": ["a", 1, null, [1, 2], {"k": "v"}]});
    for ok in ["\"a\"", "1", "null", "[1,2]", "{\"k\":\"v\"}"] {
        assert!(matches(&e, ok), "{ok}");
    }
    assert!(!matches(&e, "\"b\""));
    assert!(!matches(&e, "12"));
    assert!(matches(&json!({"const": "x"}), "\"x\""));
    assert!(!matches(&json!({"const": "x"}), "\"y\""));
    assert!(matches(&json!({"type": "boolean"}), "false"));
    assert!(!matches(&json!({"type": "boolean"}), "null"));
    assert!(!matches(&json!(false), "null"));
    assert!(!matches(&json!({"enum": []}), "null"));
}

#[test]
fn arrays_unions_and_references() {
    let list = json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2});
    assert!(matches(&list, r#"["a", "b"]"#));
    assert!(!matches(&list, "[]"));
    assert!(!matches(&list, r#"["a", "b", "c"]"#));
    assert!(!matches(&list, "[1]"));
    let nullable = json!({"type": ["string", "null"]});
    assert!(matches(&nullable, "null"));
    assert!(matches(&nullable, "\"n\""));
    assert!(!matches(&nullable, "1"));
    // Two object alternatives stay in play until a key decides.
    let either = json!({"anyOf": [
        {"type": "object", "properties": {"name": {"type": "string"}, "a": {"type": "integer"}},
         "required": ["a"]},
        {"type": "object", "properties": {"name": {"type": "string"}, "b": {"type": "boolean"}},
         "required": ["b"]}
    ]});
    assert!(matches(&either, r#"{"name": "x", "a": 1}"#));
    assert!(matches(&either, r#"{"name": "x", "b": true}"#));
    assert!(!matches(&either, r#"{"name": "x", "a": true}"#));
    assert!(!matches(&either, r#"{"name": "x"}"#));
    // Pydantic style: $defs, $ref, Optional as anyOf with null, recursion.
    let tree = json!({
        "$defs": {"Node": {"type": "object", "properties": {
            "value": {"type": "integer"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
        }, "required": ["value"]}},
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/Node"},
                       "label": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null}},
        "required": ["root"]
    });
    assert!(matches(
        &tree,
        r#"{"root": {"value": 1, "children": [{"value": 2, "children": []}]}, "label": null}"#
    ));
    assert!(!matches(
        &tree,
        r#"{"root": {"value": 1, "children": [{"children": []}]}}"#
    ));
    // A union that contains itself does not loop.
    let selfish = json!({"$defs": {"A": {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "string"}]}},
                         "$ref": "#/$defs/A"});
    assert!(matches(&selfish, "\"s\""));
    // Unknown keywords and external references fall back to any value.
    assert!(matches(
        &json!({"type": "string", "pattern": "^a$"}),
        "\"b\""
    ));
    assert!(matches(&json!({"$ref": "other.json#/x"}), "[1]"));
}

#[test]
fn the_trailer_ends_the_match_and_whitespace_is_capped() {
    let (graph, root) = compile(&json!({"type": "object"}));
    let mut m = Matcher::new(&graph, root, b"</tool_call>");
    assert_eq!(m.feed(b"{\"a\": 1}\n</tool"), Feed::Accepted);
    assert!(!m.accepts(b"x"));
    assert_eq!(m.feed(b"_call>rest"), Feed::Done(6));
    assert!(m.is_done());
    let m = Matcher::new(&graph, root, b"</tool_call>");
    assert!(m.accepts(&[b' '; 16]));
    assert!(!m.accepts(&[b' '; 17]));
    assert!(m.accepts(b" \n    {\n  \"k\": [\n    1\n  ]\n}"));
    assert!(!m.accepts(b"{\n\n"));
    // After the value, only a line break may come before the trailer.
    assert!(m.accepts(b"{}\n</tool_call>"));
    assert!(m.accepts(b"{}\r\n</tool_call>"));
    assert!(!m.accepts(b"{}   "));
    assert!(m.accepts(b"{\"k\": \"                                             \"}"));
    let firsts = m.next_bytes();
    let allowed: Vec<u8> = (0u8..=255).filter(|&b| firsts[b as usize]).collect();
    assert_eq!(allowed, b"\t\n\r {".to_vec());
}

#[test]
fn the_validator_agrees_with_the_matcher() {
    let schemas = [
        weather(),
        json!({"type": "array", "items": {"type": ["integer", "boolean"]}, "maxItems": 3}),
        json!({"type": "object", "properties": {"s": {"type": "string", "maxLength": 2},
               "o": {"type": "object", "properties": {"n": {"type": "null"}}}},
               "additionalProperties": false}),
        json!({"anyOf": [{"type": "string"}, {"type": "number"}]}),
    ];
    let mut rng = StdRng::seed_from_u64(5);
    for schema in &schemas {
        let (graph, root) = compile(schema);
        for _ in 0..400 {
            let value = random_value(&mut rng, 0);
            let valid = validate(&graph, root, &value).is_ok();
            for text in [value.to_string(), pretty(&value)] {
                assert_eq!(matches(schema, &text), valid, "{schema} vs {text}");
            }
        }
    }
}

fn pretty(value: &Json) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn random_value(rng: &mut StdRng, depth: usize) -> Json {
    let keys = ["city", "unit", "days", "s", "o", "n", "x"];
    match rng.random_range(0..if depth > 2 { 6 } else { 8 }) {
        0 => Json::Null,
        1 => Json::Bool(rng.random()),
        2 => json!(rng.random_range(-50..50)),
        3 => json!(rng.random_range(-5.0f64..5.0)),
        4 => json!(["celsius", "kelvin", "", "ab", "Paris", "é"][rng.random_range(0..6)]),
        5 => json!(rng.random_range(0..3)),
        6 => Json::Array(
            (0..rng.random_range(0..5))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Json::Object(
            (0..rng.random_range(0..4))
                .map(|_| {
                    let k = keys[rng.random_range(0..keys.len())].to_string();
                    (k, random_value(rng, depth + 1))
                })
                .collect(),
        ),
    }
}

/// A filter over a made-up vocabulary, from a matcher.
struct Vocab<'a> {
    pieces: &'a [&'a str],
    matcher: &'a Matcher<'a>,
}

impl TokenFilter for Vocab<'_> {
    fn allows(&self, id: u32) -> bool {
        self.matcher.accepts(self.pieces[id as usize].as_bytes())
    }
}

#[test]
fn random_logits_under_the_filter_always_give_valid_json() {
    // Multi-character pieces, and every printable ASCII character (as real vocabularies
    // have), so any valid prefix can be completed.
    let ascii: String = (b' '..=b'~').map(char::from).collect();
    let mut pieces: Vec<&str> = vec![
        "{\"", "\":", "\": ", "\",", ", \"", "\n", "  ", "city", "unit", "days", "Paris",
        "celsius", "fahr", "enheit", "23", "true", "null", "\\n", "é", "}}", "\"}", "a b", "ci",
        "ty", "\"c",
    ];
    pieces.extend((0..ascii.len()).map(|i| &ascii[i..i + 1]));
    let schema = json!({"type": "object", "properties": {
        "city": {"type": "string", "maxLength": 12},
        "unit": {"enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"}},
        "required": ["city", "unit", "days"], "additionalProperties": false});
    let (graph, root) = compile(&schema);
    for seed in 0..40u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let params = SamplingParams {
            temperature: if seed % 2 == 0 { 0.0 } else { 1.0 },
            top_p: None,
            top_k: None,
            seed,
        };
        let mut sampler = Sampler::new(&params);
        let mut matcher = Matcher::new(&graph, root, b"");
        let mut text = String::new();
        for _ in 0..400 {
            if matcher.can_end() {
                break;
            }
            let logits: Vec<f32> = (0..pieces.len())
                .map(|_| rng.random_range(-3.0..3.0))
                .collect();
            let filter = Vocab {
                pieces: &pieces,
                matcher: &matcher,
            };
            let id = select(&logits, &mut sampler, &filter).expect("some token fits");
            let piece = pieces[id as usize];
            assert_eq!(matcher.feed(piece.as_bytes()), Feed::Accepted);
            text.push_str(piece);
        }
        let value: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        validate(&graph, root, &value).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
}

#[test]
fn top_candidates_are_in_logit_order() {
    let logits = [0.5, f32::NAN, 2.0, 2.0, -1.0];
    assert_eq!(
        top_candidates(&logits, 3),
        vec![(2, 2.0), (3, 2.0), (0, 0.5)]
    );
    assert_eq!(top_candidates(&logits, 10).len(), 4);
    assert!(top_candidates(&logits, 0).is_empty());
}

#[test]
fn token_table_keeps_bytes_and_first_byte_index() {
    let table = TokenTable::new(vec![b"ab".to_vec(), Vec::new(), b"a".to_vec(), vec![0xC3]]);
    assert_eq!(table.len(), 4);
    assert_eq!(table.bytes(0), b"ab");
    assert_eq!(table.bytes(1), b"");
    assert_eq!(table.bytes(3), &[0xC3]);
    assert_eq!(table.bytes(99), b"");
    assert_eq!(table.starting_with(b'a'), &[0, 2]);
    assert_eq!(table.starting_with(0xC3), &[3]);
}
