//! The rule list: validation, ordering, counting, probability and the rules document.

use super::*;
use serde_json::json;

const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

fn call(api: Api, model_id: &'static str, last_user: &'static str) -> Call<'static> {
    Call {
        api,
        model_id,
        last_user,
        prompt: "You are terse.\nhello there\nwhat is the weather",
    }
}

fn converse(last_user: &'static str) -> Call<'static> {
    call(Api::Converse, HAIKU, last_user)
}

fn text(t: &str) -> RuleSpec {
    RuleSpec::new(Respond::Text(t.into()))
}

fn spec(value: Value) -> RuleSpec {
    serde_json::from_value(value).unwrap()
}

fn answer(rules: &Rules, call: &Call<'_>) -> Option<String> {
    rules.decide(call).map(|d| match d.respond {
        Respond::Text(t) => t,
        other => format!("{other:?}"),
    })
}

#[test]
fn first_matching_rule_wins_and_repeats() {
    let rules = Rules::new(1);
    rules
        .add(RuleSpec {
            model: Some("meta.*".into()),
            ..text("llama")
        })
        .unwrap();
    rules.add(text("first")).unwrap();
    rules.add(text("second")).unwrap();
    for _ in 0..3 {
        assert_eq!(answer(&rules, &converse("hi")).as_deref(), Some("first"));
    }
    let meta = call(Api::Converse, "meta.llama3-8b-instruct-v1:0", "hi");
    assert_eq!(answer(&rules, &meta).as_deref(), Some("llama"));
    let listed = rules.list();
    assert_eq!(
        listed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["r1", "r2", "r3"]
    );
    assert_eq!(
        listed.iter().map(|r| r.matched).collect::<Vec<_>>(),
        [1, 3, 0]
    );
    assert!(listed.iter().all(|r| r.remaining.is_none()));
}

#[test]
fn times_counts_down_and_removes() {
    let rules = Rules::new(1);
    rules
        .add(RuleSpec {
            times: Some(2),
            ..text("scripted")
        })
        .unwrap();
    rules.add(text("fallback")).unwrap();
    assert_eq!(rules.list()[0].remaining, Some(2));
    assert_eq!(answer(&rules, &converse("a")).as_deref(), Some("scripted"));
    assert_eq!(rules.list()[0].remaining, Some(1));
    assert_eq!(rules.list()[0].matched, 1);
    assert_eq!(answer(&rules, &converse("b")).as_deref(), Some("scripted"));
    assert_eq!(rules.list().len(), 1);
    assert_eq!(answer(&rules, &converse("c")).as_deref(), Some("fallback"));
    assert!(rules.remove("r2"));
    assert!(!rules.remove("r2"));
    assert!(rules.decide(&converse("d")).is_none());
}

#[test]
fn api_filter_single_and_list() {
    let rules = Rules::new(1);
    rules
        .add(spec(
            json!({"api": "InvokeModel", "respond": {"text": "invoke"}}),
        ))
        .unwrap();
    rules
        .add(spec(json!({"api": ["ConverseStream", "InvokeModelWithResponseStream"], "respond": {"text": "stream"}})))
        .unwrap();
    let at = |api| answer(&rules, &call(api, HAIKU, "x"));
    assert_eq!(at(Api::InvokeModel).as_deref(), Some("invoke"));
    assert_eq!(at(Api::ConverseStream).as_deref(), Some("stream"));
    assert_eq!(
        at(Api::InvokeModelWithResponseStream).as_deref(),
        Some("stream")
    );
    assert_eq!(at(Api::Converse), None);
}

#[test]
fn prompt_contains_and_regex_on_both_scopes() {
    let rules = Rules::new(1);
    rules
        .add(spec(
            json!({"prompt": {"contains": "weather"}, "respond": {"text": "user-contains"}}),
        ))
        .unwrap();
    rules
        .add(spec(json!({"prompt": {"regex": "^You are"}, "scope": "prompt", "respond": {"text": "prompt-regex"}})))
        .unwrap();
    rules
        .add(spec(json!({"prompt": {"regex": "(?i)^HI\\b"}, "scope": "last_user", "respond": {"text": "user-regex"}})))
        .unwrap();
    // The whole prompt mentions the weather, but the default scope is the last user message.
    assert_eq!(
        answer(&rules, &converse("weather in Paris?")).as_deref(),
        Some("user-contains")
    );
    assert_eq!(
        answer(&rules, &converse("hello")).as_deref(),
        Some("prompt-regex")
    );
    rules.remove("r2");
    assert_eq!(
        answer(&rules, &converse("hi you")).as_deref(),
        Some("user-regex")
    );
    assert_eq!(answer(&rules, &converse("high")), None);
    let whole = Rules::new(1);
    whole
        .add(spec(json!({"prompt": {"contains": "terse"}, "scope": "prompt", "respond": {"text": "whole"}})))
        .unwrap();
    assert_eq!(answer(&whole, &converse("")).as_deref(), Some("whole"));
    let user = Rules::new(1);
    user.add(spec(
        json!({"prompt": {"contains": "terse"}, "respond": {"text": "user"}}),
    ))
    .unwrap();
    assert_eq!(answer(&user, &converse("")), None);
}

#[test]
fn probability_zero_one_and_seeded_half() {
    let rules = Rules::new(7);
    rules
        .add(RuleSpec {
            probability: Some(0.0),
            ..text("never")
        })
        .unwrap();
    rules
        .add(RuleSpec {
            probability: Some(1.0),
            ..text("always")
        })
        .unwrap();
    for _ in 0..50 {
        assert_eq!(answer(&rules, &converse("x")).as_deref(), Some("always"));
    }
    assert_eq!(rules.list()[0].matched, 0);

    let sequence = |rules: &Rules| -> Vec<bool> {
        (0..64)
            .map(|_| answer(rules, &converse("x")).as_deref() == Some("half"))
            .collect()
    };
    let half = || {
        let rules = Rules::new(42);
        rules
            .add(RuleSpec {
                probability: Some(0.5),
                ..text("half")
            })
            .unwrap();
        rules.add(text("else")).unwrap();
        rules
    };
    let a = half();
    let first = sequence(&a);
    assert_eq!(first, sequence(&half()), "same seed, same sequence");
    let fired = first.iter().filter(|&&f| f).count();
    assert!((16..=48).contains(&fired), "0.5 fired {fired} times of 64");
    // clear reseeds: the same rules after a clear give the same sequence again.
    a.clear();
    a.add(RuleSpec {
        probability: Some(0.5),
        ..text("half")
    })
    .unwrap();
    a.add(text("else")).unwrap();
    assert_eq!(sequence(&a), first);
    let other = Rules::new(43);
    other
        .add(RuleSpec {
            probability: Some(0.5),
            ..text("half")
        })
        .unwrap();
    assert_ne!(sequence(&other), first, "another seed, another sequence");
}

#[test]
fn delay_and_respond_pass_through() {
    let rules = Rules::new(1);
    rules
        .add(spec(
            json!({"respond": "passthrough", "delay_ms": 300, "times": 1}),
        ))
        .unwrap();
    rules
        .add(spec(
            json!({"respond": {"error": {"code": "ThrottlingException"}}}),
        ))
        .unwrap();
    let d = rules.decide(&converse("x")).unwrap();
    assert_eq!(d.rule_id, "r1");
    assert_eq!(d.respond, Respond::Passthrough);
    assert_eq!(d.delay, Some(Duration::from_millis(300)));
    let d = rules.decide(&converse("x")).unwrap();
    assert_eq!(d.rule_id, "r2");
    assert_eq!(d.delay, None);
    assert!(matches!(d.respond, Respond::Error { ref code, .. } if code == "ThrottlingException"));
}

#[test]
fn ids_user_and_assigned_never_reused_until_clear() {
    let rules = Rules::new(1);
    assert_eq!(rules.add(text("a")).unwrap().id, "r1");
    let mine = rules
        .add(RuleSpec {
            id: Some("r2".into()),
            ..text("b")
        })
        .unwrap();
    assert_eq!(mine.id, "r2");
    assert_eq!(mine.spec.id, None);
    assert_eq!(
        rules.add(text("c")).unwrap().id,
        "r3",
        "skips the user's r2"
    );
    assert!(rules.remove("r3"));
    assert_eq!(rules.add(text("d")).unwrap().id, "r4");
    rules.clear();
    assert!(rules.list().is_empty());
    assert_eq!(rules.add(text("e")).unwrap().id, "r1");
}

#[test]
fn rule_info_serializes_flat() {
    let rules = Rules::new(1);
    let info = rules
        .add(spec(json!({"id": "w", "model": "anthropic.*", "api": "Converse", "respond": {"text": "hi"}, "times": 2})))
        .unwrap();
    assert_eq!(
        serde_json::to_value(&info).unwrap(),
        json!({"id": "w", "model": "anthropic.*", "api": "Converse", "respond": {"text": "hi"}, "times": 2, "matched": 0, "remaining": 2})
    );
    let forever = rules.add(text("x")).unwrap();
    assert_eq!(
        serde_json::to_value(&forever).unwrap(),
        json!({"id": "r1", "respond": {"text": "x"}, "matched": 0, "remaining": null})
    );
}

#[test]
fn one_shot_rules_answer_exactly_n_calls_across_threads() {
    let rules = std::sync::Arc::new(Rules::new(1));
    rules
        .add(RuleSpec {
            times: Some(5),
            ..text("scripted")
        })
        .unwrap();
    rules.add(text("fallback")).unwrap();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let rules = rules.clone();
            std::thread::spawn(move || {
                (0..10)
                    .filter(|_| answer(&rules, &converse("x")).as_deref() == Some("scripted"))
                    .count()
            })
        })
        .collect();
    let scripted: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(scripted, 5);
    assert_eq!(rules.list().len(), 1);
    assert_eq!(rules.list()[0].matched, 35);
}
