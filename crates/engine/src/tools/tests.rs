//! Tests of tag scanning, call parsing, tool plans and [`ToolStream`] over scripted tokens.

use bedrock_local_core::{StopReason, ToolChoice, ToolSpec};
use serde_json::json;

use super::*;
use crate::constrain::{TokenFilter, TokenTable};
use crate::generate::{Flow, Sink, ToolContext};
use crate::stream::Detokenizer;

#[test]
fn the_scanner_finds_tags_split_across_chunks() {
    let mut s = TagScanner::new(HERMES);
    assert_eq!(s.push("Sure, let me check.").text, "Sure, let me check.");
    assert_eq!(s.push("\n<tool"), Scanned::default());
    assert_eq!(s.push("_ca"), Scanned::default());
    let c = s.push("ll>\n{\"na");
    assert_eq!(c.text, ""); // the newline before the tag is dropped
    assert_eq!(c.opened, Some(opened("\n{\"na", "</tool_call>")));
}

#[test]
fn the_scanner_releases_what_cannot_be_a_tag() {
    let mut s = TagScanner::new(HERMES);
    assert_eq!(s.push("a <to").text, "a");
    assert_eq!(s.push("ast> b ").text, " <toast> b");
    assert_eq!(s.push("c").text, " c");
    assert_eq!(s.push("x<").text, "x");
    assert_eq!(s.finish(), "<");
    let mut s = TagScanner::new(HERMES);
    let both = s.push("text<tool_call>{}");
    assert_eq!(both.text, "text");
    assert_eq!(both.opened, Some(opened("{}", "</tool_call>")));
}

fn opened(rest: &str, close: &'static str) -> Opened {
    Opened {
        rest: rest.into(),
        close,
    }
}

#[test]
fn fenced_calls_open_only_at_the_start_and_before_a_call_object() {
    let mut s = TagScanner::new(HERMES);
    for chunk in ["\n", "``", "`json", "\n", "{", "\n  \"na"] {
        assert_eq!(s.push(chunk), Scanned::default(), "{chunk:?}");
    }
    assert_eq!(
        s.push("me\": \"f\""),
        Scanned {
            text: String::new(),
            opened: Some(opened("\n{\n  \"name\": \"f\"", "```")),
        }
    );
    // A fenced answer that is not a call is text, released as soon as that is clear.
    let mut s = TagScanner::new(HERMES);
    assert_eq!(s.push("```json\n{\"").text, "");
    assert_eq!(s.push("x\": 1}").text, "```json\n{\"x\": 1}");
    let mut s = TagScanner::new(HERMES);
    assert_eq!(s.push("```py").text, "```py");
    // After text, a fence is just text.
    let mut s = TagScanner::new(HERMES);
    assert_eq!(s.push("Here:").text, "Here:");
    assert_eq!(
        s.push(" ```json\n{\"name\": 1}").text,
        " ```json\n{\"name\": 1}"
    );
}

#[test]
fn call_bodies_parse_or_say_why_not() {
    let ok = parse_call_body(
        r#" {"name": "f", "arguments": {"a": [1, 2]}} "#,
        "arguments",
    );
    assert_eq!(ok, Ok(("f".to_string(), json!({"a": [1, 2]}))));
    assert_eq!(
        parse_call_body(r#"{"name": "f"}"#, "arguments"),
        Ok(("f".to_string(), json!({})))
    );
    assert_eq!(
        parse_call_body(r#"{"name": "f", "arguments": "{\"x\": 1}"}"#, "arguments"),
        Ok(("f".to_string(), json!({"x": 1})))
    );
    for bad in [
        r#"{"name": "f", "arguments": {"#,
        r#"["f"]"#,
        r#"{"arguments": {}}"#,
        r#"{"name": 3}"#,
        "get_weather(city='Paris')",
    ] {
        assert!(parse_call_body(bad, "arguments").is_err(), "{bad}");
    }
}

fn weather_tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "get_weather".into(),
            description: Some("Weather in a city".into()),
            input_schema_json: json!({"type": "object",
                "properties": {"city": {"type": "string"},
                               "unit": {"enum": ["celsius", "fahrenheit"]}},
                "required": ["city"]})
            .to_string(),
        },
        ToolSpec {
            name: "get_time".into(),
            description: None,
            input_schema_json: json!({"type": "object", "properties": {}}).to_string(),
        },
    ]
}

fn plan(choice: ToolChoice) -> ToolPlan {
    ToolPlan::new(HERMES, &weather_tools(), &choice)
        .unwrap()
        .unwrap()
}

#[test]
fn plans_force_the_prompt_by_tool_choice() {
    assert_eq!(plan(ToolChoice::Auto).prompt_suffix(), None);
    assert_eq!(
        plan(ToolChoice::Any).prompt_suffix().as_deref(),
        Some("<tool_call>\n")
    );
    assert_eq!(
        plan(ToolChoice::Tool("get_time".into()))
            .prompt_suffix()
            .as_deref(),
        Some("<tool_call>\n{\"name\": \"get_time\", \"arguments\":")
    );
    assert!(ToolPlan::new(HERMES, &[], &ToolChoice::Auto)
        .unwrap()
        .is_none());
    assert!(ToolPlan::new(HERMES, &[], &ToolChoice::Any).is_err());
    assert!(ToolPlan::new(HERMES, &weather_tools(), &ToolChoice::Tool("nope".into())).is_err());
    let p = plan(ToolChoice::Auto);
    assert_eq!(
        p.finish_call(r#"{"name": "get_weather", "arguments": {"city": "Paris"}}"#),
        Ok(("get_weather".into(), r#"{"city":"Paris"}"#.into()))
    );
    assert!(p
        .finish_call(r#"{"name": "get_weather", "arguments": {"town": "Paris"}}"#)
        .is_err());
    assert!(p
        .finish_call(r#"{"name": "launch", "arguments": {}}"#)
        .is_err());
}

/// A vocabulary of literal pieces; id 0 is the end-of-generation token (no text).
struct Pieces(Vec<String>);

impl Pieces {
    fn new(pieces: &[&str]) -> Self {
        let mut all = vec![String::new()];
        all.extend(pieces.iter().map(|p| p.to_string()));
        Self(all)
    }
    fn id(&self, piece: &str) -> u32 {
        self.0.iter().position(|p| p == piece).unwrap() as u32
    }
    fn table(&self) -> TokenTable {
        TokenTable::new(self.0.iter().map(|p| p.as_bytes().to_vec()))
    }
}

impl Detokenizer for Pieces {
    fn decode(&self, ids: &[u32]) -> crate::Result<String> {
        Ok(ids.iter().map(|&i| self.0[i as usize].as_str()).collect())
    }
}

#[derive(Debug, Default, PartialEq)]
struct Events(Vec<String>);

impl Sink for Events {
    fn text(&mut self, text: String) -> bool {
        self.0.push(format!("text {text}"));
        true
    }
    fn tool_call(&mut self, name: String, input_json: String) -> bool {
        self.0.push(format!("call {name} {input_json}"));
        true
    }
    fn cancelled(&self) -> bool {
        false
    }
}

const EOG: &str = "<eog>";

/// Runs `script` (pieces; `EOG` ends the turn) through a stream as the decode loop does,
/// asserting every token is allowed; then the budget ends it. Text events are joined.
fn run(plan: &ToolPlan, script: &[&str], stops: &[&str]) -> (Vec<String>, StopReason) {
    let vocab = Pieces::new(script);
    let table = vocab.table();
    let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
    let cx = ToolContext {
        plan,
        table: &table,
    };
    let eog = [0u32];
    let mut stream = ToolStream::new(cx, &vocab, &stops, &[], &eog).unwrap();
    let mut events = Events::default();
    let mut flow = Flow::Continue;
    for piece in script {
        let id = if *piece == EOG { 0 } else { vocab.id(piece) };
        assert!(stream.allows(id), "{piece:?} refused after {events:?}");
        flow = if id == 0 {
            stream.finish(StopReason::EndTurn, &mut events).unwrap()
        } else {
            stream.push(id, &mut events).unwrap()
        };
        if flow != Flow::Continue {
            break;
        }
    }
    if flow == Flow::Continue {
        flow = stream.finish(StopReason::MaxTokens, &mut events).unwrap();
    }
    let Flow::Stop(reason) = flow else {
        panic!("{flow:?}")
    };
    // Join consecutive text events: chunking is not what is tested here.
    let mut joined: Vec<String> = Vec::new();
    for e in events.0 {
        match (joined.last_mut(), e.strip_prefix("text ")) {
            (Some(last), Some(t)) if last.starts_with("text ") => last.push_str(t),
            _ => joined.push(e),
        }
    }
    (joined, reason)
}

const CALL: &str = "call get_weather {\"city\":\"Paris\"}";

#[test]
fn text_then_a_call_split_over_tokens() {
    let script = [
        "Sure",
        ", ",
        "<to",
        "ol_",
        "call>",
        "\n{\"",
        "name",
        "\": \"",
        "get",
        "_weather",
        "\", \"",
        "arguments",
        "\": {\"",
        "city",
        "\": \"",
        "Paris",
        "\"}}",
        "\n</",
        "tool_call",
        ">",
        EOG,
    ];
    let (events, reason) = run(&plan(ToolChoice::Auto), &script, &[]);
    assert_eq!(events, vec!["text Sure,".to_string(), CALL.to_string()]);
    assert_eq!(reason, StopReason::ToolUse);
}

const ONE_CALL: [&str; 3] = [
    "<tool_call>",
    "\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n",
    "</tool_call>",
];

#[test]
fn several_calls_then_the_end_of_the_turn() {
    let mut script = ONE_CALL.to_vec();
    script.push("\n");
    script.extend([
        "<tool_call>",
        "{\"arguments\": {}, \"name\": \"get_time\"}",
        "</tool_call>",
        EOG,
    ]);
    let (events, reason) = run(&plan(ToolChoice::Auto), &script, &[]);
    assert_eq!(events, vec![CALL, "call get_time {}"]);
    assert_eq!(reason, StopReason::ToolUse);
}

#[test]
fn text_after_a_call_ends_the_turn_unsent() {
    let mut script = ONE_CALL.to_vec();
    script.extend(["\n\n", "The weather", " is nice", EOG]);
    let (events, reason) = run(&plan(ToolChoice::Auto), &script, &[]);
    assert_eq!(events, vec![CALL]);
    assert_eq!(reason, StopReason::ToolUse);
    // Text in the same token as the closing tag counts too.
    let script = [
        "<tool_call>",
        "{\"name\": \"get_time\", \"arguments\": {}}",
        "</tool_call>Bye",
        " now",
    ];
    let (events, reason) = run(&plan(ToolChoice::Auto), &script, &[]);
    assert_eq!(events, vec!["call get_time {}"]);
    assert_eq!(reason, StopReason::ToolUse);
}

#[test]
fn plain_answers_stop_sequences_and_partial_tags_stay_text() {
    let (events, reason) = run(&plan(ToolChoice::Auto), &["It is ", "sunny", ".", EOG], &[]);
    assert_eq!(
        (events, reason),
        (vec!["text It is sunny.".into()], StopReason::EndTurn)
    );
    let (events, reason) = run(
        &plan(ToolChoice::Auto),
        &["a ", "<to", "ast>", " b", " STOP", " <tool_call>"],
        &["STOP"],
    );
    assert_eq!(events, vec!["text a <toast> b "]);
    assert_eq!(reason, StopReason::StopSequence("STOP".into()));
    let (events, reason) = run(&plan(ToolChoice::Auto), &["x ", "<tool_"], &[]);
    assert_eq!(
        (events, reason),
        (vec!["text x <tool_".into()], StopReason::MaxTokens)
    );
}

#[test]
fn forced_calls_start_inside_the_call() {
    let script = [" {\"city\": \"Paris\"}}", "\n", "</tool_call>", EOG];
    let (events, reason) = run(&plan(ToolChoice::Tool("get_weather".into())), &script, &[]);
    assert_eq!(
        (events, reason),
        (vec![CALL.to_string()], StopReason::ToolUse)
    );
    let script = [
        "{\"name\": \"get_time\", \"arguments\": {}}",
        "</tool_call>",
        EOG,
    ];
    let (events, _) = run(&plan(ToolChoice::Any), &script, &[]);
    assert_eq!(events, vec!["call get_time {}"]);
    // The end of generation right after the object stands for the closing tag; so does the
    // budget running out there.
    let script = [" {\"city\": \"Paris\"}}", EOG];
    let (events, reason) = run(&plan(ToolChoice::Tool("get_weather".into())), &script, &[]);
    assert_eq!(
        (events, reason),
        (vec![CALL.to_string()], StopReason::ToolUse)
    );
    let script = [" {\"city\": \"Paris\"}}", "\n</tool"];
    let (events, reason) = run(&plan(ToolChoice::Tool("get_weather".into())), &script, &[]);
    assert_eq!(
        (events, reason),
        (vec![CALL.to_string()], StopReason::ToolUse)
    );
    // The budget ends inside the call: no call, MaxTokens.
    let (events, reason) = run(&plan(ToolChoice::Any), &["{\"name\": \"get_"], &[]);
    assert_eq!((events, reason), (vec![], StopReason::MaxTokens));
    // ... after a complete call: ToolUse.
    let mut script = ONE_CALL.to_vec();
    script.extend(["<tool_call>", "{\"name"]);
    let (events, reason) = run(&plan(ToolChoice::Auto), &script, &[]);
    assert_eq!(
        (events, reason),
        (vec![CALL.to_string()], StopReason::ToolUse)
    );
}

#[test]
fn the_filter_masks_what_would_break_a_call() {
    let p = plan(ToolChoice::Any);
    let vocab = Pieces::new(&[
        "{\"name\": \"",
        "get_weather",
        "get_time",
        "launch",
        "}",
        "\"",
        "\", \"arguments\": {",
        "\"city\": \"Paris\"",
        "\"town\"",
        "}}",
        "</tool_call>",
        "<tool_call>}",
        "<tool_call>\n{\"",
        "hello",
    ]);
    let table = vocab.table();
    let eog = [0u32];
    let cx = ToolContext {
        plan: &p,
        table: &table,
    };
    let mut stream = ToolStream::new(cx, &vocab, &[], &[], &eog).unwrap();
    let allowed = |s: &ToolStream<'_>| -> Vec<String> {
        s.allowed(vocab.0.len())
            .into_iter()
            .map(|id| vocab.0[id as usize].clone())
            .collect()
    };
    let mut sink = Events::default();
    assert_eq!(allowed(&stream), vec!["{\"name\": \""]);
    stream.push(vocab.id("{\"name\": \""), &mut sink).unwrap();
    assert_eq!(allowed(&stream), vec!["get_weather", "get_time"]);
    stream.push(vocab.id("get_weather"), &mut sink).unwrap();
    assert_eq!(allowed(&stream), vec!["\"", "\", \"arguments\": {"]);
    stream
        .push(vocab.id("\", \"arguments\": {"), &mut sink)
        .unwrap();
    // A key may start (`"`); `town` is no property and `}` would leave `city` out.
    assert_eq!(allowed(&stream), vec!["\"", "\"city\": \"Paris\""]);
    assert!(!stream.allows(0) && !stream.allows(vocab.id("}}")));
    stream
        .push(vocab.id("\"city\": \"Paris\""), &mut sink)
        .unwrap();
    assert_eq!(allowed(&stream), vec!["}", "}}"]);
    stream.push(vocab.id("}}"), &mut sink).unwrap();
    // The object is complete: the closing tag, or the end of generation standing for it.
    assert_eq!(allowed(&stream), vec!["", "</tool_call>"]);
    stream.push(vocab.id("</tool_call>"), &mut sink).unwrap();
    assert_eq!(sink.0, vec![CALL]);
    // After the call: anything may come; a tag must be followed by a possible call.
    assert!(stream.allows(0) && stream.allows(vocab.id("hello")));
    assert!(!stream.allows(vocab.id("<tool_call>}")));
    assert!(stream.allows(vocab.id("<tool_call>\n{\"")));
}

#[test]
fn fenced_calls_are_calls_and_fenced_code_is_text() {
    let script = [
        "```",
        "json\n",
        "{\n  \"name\": \"get_weather\",\n  \"arguments\": {\"city\": \"Paris\"}\n}",
        "\n```",
        EOG,
    ];
    let (events, reason) = run(&plan(ToolChoice::Auto), &script, &[]);
    assert_eq!(
        (events, reason),
        (vec![CALL.to_string()], StopReason::ToolUse)
    );
    let script = ["```", "json\n{\"", "x\": 1}\n```", EOG];
    let (events, reason) = run(&plan(ToolChoice::Auto), &script, &[]);
    assert_eq!(events, vec!["text ```json\n{\"x\": 1}\n```"]);
    assert_eq!(reason, StopReason::EndTurn);
}

#[test]
fn a_bare_call_object_at_the_start_of_the_turn_is_a_call() {
    let script = [
        "{\"name\": \"get_weather\", ",
        "\"arguments\": {\"city\": \"Paris\"}}",
        EOG,
    ];
    let (events, reason) = run(&plan(ToolChoice::Auto), &script, &[]);
    assert_eq!(
        (events, reason),
        (vec![CALL.to_string()], StopReason::ToolUse)
    );
    // Followed by a newline and a second bare call.
    let script = [
        "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}",
        "\n",
        "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}",
        EOG,
    ];
    let (events, _) = run(&plan(ToolChoice::Auto), &script, &[]);
    assert_eq!(events, vec![CALL.to_string(), CALL.to_string()]);
    // JSON that is no call object stays text; after text a call object is text too.
    let (events, _) = run(&plan(ToolChoice::Auto), &["{\"x\": 1}", EOG], &[]);
    assert_eq!(events, vec!["text {\"x\": 1}"]);
    let script = ["Sure: ", "{\"name\": \"get_weather\"}", EOG];
    let (events, _) = run(&plan(ToolChoice::Auto), &script, &[]);
    assert_eq!(events, vec!["text Sure: {\"name\": \"get_weather\"}"]);
}

#[test]
fn answering_tool_results_begins_in_prose() {
    let p = plan(ToolChoice::Auto).answering_results(true);
    let vocab = Pieces::new(&[
        "{\"name\": \"",
        "```json",
        "  {",
        "(",
        "The",
        " ",
        "<tool_call>",
        "18",
        "Il",
        "**",
    ]);
    let table = vocab.table();
    let eog = [0u32];
    let cx = ToolContext {
        plan: &p,
        table: &table,
    };
    let mut stream = ToolStream::new(cx, &vocab, &[], &[], &eog).unwrap();
    let mut sink = Events::default();
    for refused in ["{\"name\": \"", "```json", "  {", "("] {
        assert!(!stream.allows(vocab.id(refused)), "{refused:?}");
    }
    for allowed in ["The", " ", "<tool_call>", "18", "Il", "**"] {
        assert!(stream.allows(vocab.id(allowed)), "{allowed:?}");
    }
    assert!(stream.allows(0));
    // Whitespace keeps the start blank; prose ends the rule.
    stream.push(vocab.id(" "), &mut sink).unwrap();
    assert!(!stream.allows(vocab.id("{\"name\": \"")));
    stream.push(vocab.id("The"), &mut sink).unwrap();
    assert!(stream.allows(vocab.id("  {")));
    // The tag still opens a call in such a turn.
    let (events, reason) = run(
        &plan(ToolChoice::Auto).answering_results(true),
        &[
            "<tool_call>",
            "\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
            EOG,
        ],
        &[],
    );
    assert_eq!(
        (events, reason),
        (vec![CALL.to_string()], StopReason::ToolUse)
    );
}
