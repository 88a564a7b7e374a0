//! Serde shapes of the rule language: every documented shape round-trips, unknown fields and
//! names are refused with a message naming them.

use super::*;
use serde_json::{json, Value};

fn round_trip<T>(value: Value) -> T
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug,
{
    let parsed: T = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), value);
    let again: T = serde_json::from_value(serde_json::to_value(&parsed).unwrap()).unwrap();
    assert_eq!(again, parsed);
    parsed
}

fn refuse<T: for<'de> Deserialize<'de> + fmt::Debug>(value: Value) -> String {
    serde_json::from_value::<T>(value).unwrap_err().to_string()
}

#[test]
fn api_names() {
    for api in Api::ALL {
        assert_eq!(round_trip::<Api>(json!(api.name())), api);
        assert_eq!(Api::from_name(api.name()), Some(api));
    }
    assert!(Api::ConverseStream.streaming());
    assert!(Api::InvokeModelWithResponseStream.streaming());
    assert!(!Api::Converse.streaming());
    assert!(!Api::InvokeModel.streaming());
    assert!(refuse::<Api>(json!("Chat")).contains("unknown variant `Chat`"));
}

#[test]
fn api_set_one_or_many() {
    let one = round_trip::<ApiSet>(json!("Converse"));
    assert_eq!(one, ApiSet(vec![Api::Converse]));
    let many = round_trip::<ApiSet>(json!(["Converse", "InvokeModel"]));
    assert!(many.contains(Api::InvokeModel) && !many.contains(Api::ConverseStream));
    let msg = refuse::<ApiSet>(json!("Chat"));
    assert!(msg.contains("unknown variant `Chat`"), "{msg}");
    let msg = refuse::<ApiSet>(json!(["Converse", "Chat"]));
    assert!(msg.contains("unknown variant `Chat`"), "{msg}");
    let msg = refuse::<ApiSet>(json!(3));
    assert!(msg.contains("an API name or a list of API names"), "{msg}");
}

#[test]
fn prompt_and_scope() {
    round_trip::<PromptMatch>(json!({"contains": "weather"}));
    round_trip::<PromptMatch>(json!({"regex": "^hi"}));
    let msg = refuse::<PromptMatch>(json!({"glob": "x"}));
    assert!(msg.contains("unknown variant `glob`"), "{msg}");
    assert_eq!(round_trip::<Scope>(json!("last_user")), Scope::LastUser);
    assert_eq!(round_trip::<Scope>(json!("prompt")), Scope::Prompt);
    assert!(refuse::<Scope>(json!("system")).contains("unknown variant `system`"));
}

#[test]
fn respond_shapes() {
    assert_eq!(
        round_trip::<Respond>(json!({"text": "Hello"})),
        Respond::Text("Hello".into())
    );
    round_trip::<Respond>(
        json!({"tool_call": {"name": "get_weather", "input": {"city": "Paris"}}}),
    );
    round_trip::<Respond>(json!({"error": {"code": "ThrottlingException"}}));
    let full = round_trip::<Respond>(
        json!({"error": {"code": "ThrottlingException", "message": "slow", "after_chunks": 3}}),
    );
    assert_eq!(
        full,
        Respond::Error {
            code: "ThrottlingException".into(),
            message: Some("slow".into()),
            after_chunks: Some(3)
        }
    );
    round_trip::<Respond>(json!({"drop": {"after_chunks": 1}}));
    assert_eq!(
        round_trip::<Respond>(json!({"drop": {}})),
        Respond::Drop { after_chunks: None }
    );
    assert_eq!(
        round_trip::<Respond>(json!("passthrough")),
        Respond::Passthrough
    );
}

#[test]
fn respond_refuses_unknown_fields_and_variants() {
    let msg = refuse::<Respond>(json!({"error": {"code": "ThrottlingException", "status": 429}}));
    assert!(msg.contains("unknown field `status`"), "{msg}");
    let msg = refuse::<Respond>(json!({"tool_call": {"name": "f", "input": {}, "id": "x"}}));
    assert!(msg.contains("unknown field `id`"), "{msg}");
    let msg = refuse::<Respond>(json!({"drop": {"after": 1}}));
    assert!(msg.contains("unknown field `after`"), "{msg}");
    let msg = refuse::<Respond>(json!({"say": "hi"}));
    assert!(msg.contains("unknown variant `say`"), "{msg}");
    let msg = refuse::<Respond>(json!({"tool_call": {"name": "f"}}));
    assert!(msg.contains("missing field `input`"), "{msg}");
}

#[test]
fn rule_spec_full_and_minimal() {
    let full = json!({
        "id": "weather",
        "model": "anthropic.*",
        "api": ["Converse", "ConverseStream"],
        "prompt": {"contains": "weather"},
        "scope": "prompt",
        "respond": {"text": "Sunny."},
        "times": 2,
        "probability": 0.5,
        "delay_ms": 300
    });
    let spec = round_trip::<RuleSpec>(full);
    assert_eq!(spec.scope, Some(Scope::Prompt));
    assert_eq!(spec.times, Some(2));
    let single = round_trip::<RuleSpec>(json!({"api": "Converse", "respond": "passthrough"}));
    assert_eq!(single.api, Some(ApiSet(vec![Api::Converse])));
    let minimal = round_trip::<RuleSpec>(json!({"respond": {"text": "x"}}));
    assert_eq!(minimal, RuleSpec::new(Respond::Text("x".into())));
}

#[test]
fn rule_spec_refuses_unknown_fields() {
    let msg = refuse::<RuleSpec>(json!({"respond": "passthrough", "model_id": "x"}));
    assert!(msg.contains("unknown field `model_id`"), "{msg}");
    assert!(msg.contains("expected one of"), "{msg}");
    let msg = refuse::<RuleSpec>(json!({"model": "x"}));
    assert!(msg.contains("missing field `respond`"), "{msg}");
    let msg = refuse::<RuleSpec>(json!({"respond": "passthrough", "times": -1}));
    assert!(msg.contains("-1"), "{msg}");
}
