//! Validation as seen through the rule list: refused rules name their problem, `add_all` is
//! all-or-nothing, and the rules document parses with per-entry errors.

use crate::spec::{Respond, RuleSpec};
use crate::{DoublesError, Rules};
use serde_json::{json, Value};

fn text(t: &str) -> RuleSpec {
    RuleSpec::new(Respond::Text(t.into()))
}

fn spec(value: Value) -> RuleSpec {
    serde_json::from_value(value).unwrap()
}

fn refused(rules: &Rules, value: Value) -> String {
    let err = rules.add(spec(value)).unwrap_err();
    assert!(matches!(err, DoublesError::InvalidRule(_)));
    err.to_string()
}

#[test]
fn add_all_is_all_or_nothing() {
    let rules = Rules::new(1);
    rules.add(text("kept")).unwrap();
    let err = rules
        .add_all(vec![
            text("a"),
            spec(json!({"id": "bad", "respond": "passthrough", "probability": 2.0})),
        ])
        .unwrap_err()
        .to_string();
    assert!(err.contains("rule 2 (id \"bad\")"), "{err}");
    assert!(err.contains("probability 2 is outside 0..=1"), "{err}");
    assert_eq!(rules.list().len(), 1);
    let dup = rules
        .add_all(vec![
            RuleSpec {
                id: Some("x".into()),
                ..text("a")
            },
            RuleSpec {
                id: Some("x".into()),
                ..text("b")
            },
        ])
        .unwrap_err()
        .to_string();
    assert!(
        dup.contains("rule 2 (id \"x\"): duplicate rule id `x`"),
        "{dup}"
    );
    assert_eq!(rules.list().len(), 1);
    let added = rules.add_all(vec![text("a"), text("b")]).unwrap();
    assert_eq!(
        added.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["r2", "r3"]
    );
    assert_eq!(rules.list().len(), 3);
}

#[test]
fn invalid_rules_are_refused_with_the_problem_named() {
    let rules = Rules::new(1);
    let cases = [
        (
            json!({"prompt": {"regex": "(unclosed"}, "respond": "passthrough"}),
            "prompt regex `(unclosed` does not compile",
        ),
        (
            json!({"respond": {"error": {"code": "FooException"}}}),
            "unknown error code `FooException`",
        ),
        (
            json!({"respond": {"error": {"code": "TooManyTagsException"}}}),
            "unknown error code `TooManyTagsException`",
        ),
        (
            json!({"respond": "passthrough", "probability": 1.5}),
            "probability 1.5 is outside 0..=1",
        ),
        (
            json!({"respond": "passthrough", "probability": -0.1}),
            "probability -0.1 is outside 0..=1",
        ),
        (
            json!({"respond": "passthrough", "times": 0}),
            "times must be at least 1",
        ),
        (
            json!({"respond": {"tool_call": {"name": "f", "input": [1]}}}),
            "tool_call input must be a JSON object",
        ),
        (
            json!({"respond": {"tool_call": {"name": "", "input": {}}}}),
            "tool_call name is empty",
        ),
        (
            json!({"model": "", "respond": "passthrough"}),
            "model pattern is empty",
        ),
        (
            json!({"api": [], "respond": "passthrough"}),
            "api list is empty",
        ),
        (
            json!({"id": "a b", "respond": "passthrough"}),
            "id `a b` has characters",
        ),
        (
            json!({"respond": {"error": {"code": "AccessDeniedException", "after_chunks": 1}}}),
            "`AccessDeniedException` has no in-stream form",
        ),
        (
            json!({"api": "Converse", "respond": {"error": {"code": "ThrottlingException", "after_chunks": 1}}}),
            "after_chunks needs a streaming API",
        ),
        (
            json!({"respond": {"error": {"code": "ModelTimeoutException", "after_chunks": 1}}}),
            "not an in-stream event of ConverseStream",
        ),
    ];
    for (value, expected) in cases {
        let message = refused(&rules, value.clone());
        assert!(message.contains(expected), "{value}: {message}");
    }
    rules
        .add(spec(json!({"id": "same", "respond": "passthrough"})))
        .unwrap();
    let message = refused(&rules, json!({"id": "same", "respond": "passthrough"}));
    assert!(message.contains("duplicate rule id `same`"), "{message}");
    assert_eq!(rules.list().len(), 1);
    // Accepted edge cases.
    for ok in [
        json!({"api": "InvokeModelWithResponseStream", "respond": {"error": {"code": "ModelTimeoutException", "after_chunks": 2}}}),
        json!({"respond": {"error": {"code": "ThrottlingException", "message": "slow down", "after_chunks": 0}}}),
        json!({"respond": {"error": {"code": "ConflictException"}}}),
        json!({"respond": {"drop": {}}, "probability": 0, "times": 1}),
    ] {
        rules.add(spec(ok)).unwrap();
    }
}

#[test]
fn parse_file_shapes_and_errors() {
    let list = r#"[{"respond": {"text": "a"}}, {"id": "b", "respond": "passthrough"}]"#;
    assert_eq!(Rules::parse_file(list).unwrap().len(), 2);
    let wrapped = r#"{"rules": [{"respond": {"text": "a"}}]}"#;
    assert_eq!(Rules::parse_file(wrapped).unwrap().len(), 1);
    let single = r#"{"model": "x", "respond": {"text": "a"}}"#;
    assert_eq!(
        Rules::parse_file(single).unwrap()[0].model.as_deref(),
        Some("x")
    );
    assert!(Rules::parse_file("[]").unwrap().is_empty());

    let bad_entry =
        r#"[{"respond": "passthrough"}, {"id": "w", "respond": "passthrough", "modle": "x"}]"#;
    let msg = Rules::parse_file(bad_entry).unwrap_err().to_string();
    assert!(
        msg.contains("rule 2 (id \"w\"): unknown field `modle`"),
        "{msg}"
    );
    let msg = Rules::parse_file(r#"[{"respond": {"txt": "a"}}]"#)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("rule 1: unknown variant `txt`"), "{msg}");
    let msg = Rules::parse_file("[{").unwrap_err().to_string();
    assert!(msg.contains("not valid JSON"), "{msg}");
    let msg = Rules::parse_file(r#"{"rules": [], "seed": 1}"#)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("unexpected key `seed`"), "{msg}");
    let msg = Rules::parse_file(r#"{"rules": {}}"#)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("`rules` must be an array"), "{msg}");
    let msg = Rules::parse_file("3").unwrap_err().to_string();
    assert!(msg.contains("expected a JSON array"), "{msg}");
}
