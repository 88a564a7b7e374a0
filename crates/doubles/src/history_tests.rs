//! The call history ring: capacity, sequence numbers, filters, JSONL and the time format.

use super::*;
use serde_json::json;

fn record(api: Api, model: &str) -> CallRecord {
    CallRecord::new(api, model)
}

fn seqs(records: &[CallRecord]) -> Vec<u64> {
    records.iter().map(|r| r.seq).collect()
}

#[test]
fn ring_drops_oldest_and_seq_survives_clear() {
    let history = History::new(3);
    assert!(history.is_empty());
    assert_eq!(history.capacity(), 3);
    for expected in 1..=5 {
        assert_eq!(history.push(record(Api::Converse, "m")), expected);
    }
    assert_eq!(history.len(), 3);
    assert_eq!(seqs(&history.list(&HistoryFilter::default())), [3, 4, 5]);
    history.clear();
    assert!(history.is_empty());
    assert_eq!(history.push(record(Api::Converse, "m")), 6);
    assert_eq!(seqs(&history.list(&HistoryFilter::default())), [6]);
}

#[test]
fn capacity_zero_keeps_nothing() {
    let history = History::new(0);
    assert_eq!(history.push(record(Api::Converse, "m")), 1);
    assert_eq!(history.push(record(Api::Converse, "m")), 2);
    assert!(history.is_empty());
    assert!(history.list(&HistoryFilter::default()).is_empty());
    assert_eq!(history.to_jsonl(&HistoryFilter::default()), "");
}

#[test]
fn push_overwrites_seq_and_time() {
    let history = History::new(4);
    let mut r = record(Api::InvokeModel, "m");
    r.seq = 99;
    r.time = "yesterday".into();
    history.push(r);
    let stored = &history.list(&HistoryFilter::default())[0];
    assert_eq!(stored.seq, 1);
    assert_ne!(stored.time, "yesterday");
}

#[test]
fn filters_and_limit() {
    let history = History::new(10);
    history.push(record(
        Api::Converse,
        "anthropic.claude-3-haiku-20240307-v1:0",
    )); // 1
    history.push(record(
        Api::ConverseStream,
        "anthropic.claude-3-haiku-20240307-v1:0",
    )); // 2
    history.push(record(Api::Converse, "meta.llama3-8b-instruct-v1:0")); // 3
    history.push(record(
        Api::Converse,
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
    )); // 4
    history.push(record(Api::InvokeModel, "local.echo")); // 5
    let list = |filter: HistoryFilter| seqs(&history.list(&filter));
    assert_eq!(list(HistoryFilter::default()), [1, 2, 3, 4, 5]);
    let anthropic = || Some("anthropic.*".to_string());
    assert_eq!(
        list(HistoryFilter {
            model: anthropic(),
            ..Default::default()
        }),
        [1, 2, 4]
    );
    assert_eq!(
        list(HistoryFilter {
            model: anthropic(),
            api: Some(Api::Converse),
            ..Default::default()
        }),
        [1, 4]
    );
    assert_eq!(
        list(HistoryFilter {
            after: Some(3),
            ..Default::default()
        }),
        [4, 5]
    );
    assert_eq!(
        list(HistoryFilter {
            limit: Some(2),
            ..Default::default()
        }),
        [4, 5]
    );
    assert_eq!(
        list(HistoryFilter {
            limit: Some(0),
            ..Default::default()
        }),
        Vec::<u64>::new()
    );
    assert_eq!(
        list(HistoryFilter {
            limit: Some(50),
            ..Default::default()
        }),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        list(HistoryFilter {
            model: anthropic(),
            after: Some(1),
            limit: Some(1),
            ..Default::default()
        }),
        [4]
    );
}

#[test]
fn filter_deserializes_from_json() {
    let filter: HistoryFilter = serde_json::from_value(
        json!({"model": "a*", "api": "ConverseStream", "after": 3, "limit": 10}),
    )
    .unwrap();
    assert_eq!(filter.api, Some(Api::ConverseStream));
    assert_eq!(filter.limit, Some(10));
    let empty: HistoryFilter = serde_json::from_value(json!({})).unwrap();
    assert_eq!(empty, HistoryFilter::default());
}

#[test]
fn record_round_trips_and_jsonl_is_one_object_per_line() {
    let history = History::new(10);
    let mut full = record(
        Api::ConverseStream,
        "anthropic.claude-3-haiku-20240307-v1:0",
    );
    full.local_model = Some("qwen2.5-coder-0.5b-instruct".into());
    full.request = json!({"messages": [{"role": "user", "content": [{"text": "hi\nthere"}]}]});
    full.response = Some(json!({"text": "hello", "tool_calls": [], "stop_reason": "end_turn"}));
    full.input_tokens = Some(5);
    full.output_tokens = Some(2);
    full.latency_ms = 12;
    full.rule = Some("r1".into());
    history.push(full);
    let mut failed = record(Api::InvokeModel, "m");
    failed.request = json!("not json \u{1}");
    failed.error = Some(CallError {
        code: "ThrottlingException".into(),
        message: "slow".into(),
    });
    history.push(failed);

    let jsonl = history.to_jsonl(&HistoryFilter::default());
    assert!(jsonl.ends_with('\n'));
    let lines: Vec<&str> = jsonl.lines().collect();
    assert_eq!(lines.len(), 2);
    let stored = history.list(&HistoryFilter::default());
    for (line, record) in lines.iter().zip(&stored) {
        let value: Value = serde_json::from_str(line).unwrap();
        assert!(value.is_object());
        let back: CallRecord = serde_json::from_value(value).unwrap();
        assert_eq!(&back, record);
    }
    let second: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(second["api"], "InvokeModel");
    assert_eq!(
        second["error"],
        json!({"code": "ThrottlingException", "message": "slow"})
    );
    assert_eq!(second["response"], Value::Null);
    assert_eq!(second["rule"], Value::Null);
    let keys: Vec<&str> = second
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "seq",
            "time",
            "api",
            "model_id",
            "local_model",
            "request",
            "response",
            "error",
            "input_tokens",
            "output_tokens",
            "latency_ms",
            "rule",
            "cassette"
        ]
    );
}

#[test]
fn time_is_rfc3339_utc_with_milliseconds() {
    let history = History::new(2);
    history.push(record(Api::Converse, "m"));
    let time = history.list(&HistoryFilter::default())[0].time.clone();
    let re = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$").unwrap();
    assert!(re.is_match(&time), "{time}");
    let parsed =
        OffsetDateTime::parse(&time, &time::format_description::well_known::Rfc3339).unwrap();
    let age = OffsetDateTime::now_utc() - parsed;
    assert!(age.whole_seconds().abs() < 60, "{time}");
}
