//! Tool calling: what a model writes when it calls a tool, how the engine forces and
//! constrains it, and how it becomes `GenerationEvent::ToolCall`.
//!
//! A request with tools gets a [`ToolPlan`]: the model family's [`ToolSyntax`] (today every
//! template we render teaches the Hermes/Qwen convention,
//! `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`), each tool's input schema
//! compiled into one [`Schema`] graph, and the call "envelope" of every tool (an object with
//! exactly `name` = that tool's name and `arguments` valid for its schema). `tool_choice`
//! shapes the prompt: `Any` ends it with the opening tag (the model must write a call, any
//! tool), `Tool(name)` with the opening tag and `{"name": "<name>", "arguments":` (that tool,
//! the model writes only the arguments), `Auto` adds nothing.
//!
//! While generating, [`ToolStream`] (in `stream.rs`) scans the text for the opening tag
//! ([`TagScanner`]); from there to the closing tag every token is checked by a
//! `constrain::Matcher` over the envelopes, so the call always parses and
//! validates; [`ToolPlan::finish_call`] still parses and validates it as a last check.
//!
//! Another model family's syntax is a new [`ToolSyntax`] constant chosen in
//! [`ToolSyntax::for_model`] (tags, the arguments key), plus a chat template that teaches it.

mod scan;
mod stream;

#[cfg(test)]
mod tests;

use bedrock_local_core::{ToolChoice, ToolSpec};
use serde_json::{Map, Value as Json};

use crate::constrain::{schema, validate, Matcher, NodeId, Schema};
use crate::{EngineError, Result};

pub use scan::{Opened, Scanned, TagScanner};
pub use stream::ToolStream;

/// How a model family writes tool calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolSyntax {
    /// Opens a call (`<tool_call>`).
    pub open: &'static str,
    /// Closes a call (`</tool_call>`).
    pub close: &'static str,
    /// What the model writes right after `open` (a newline), written for it when forced.
    pub after_open: &'static str,
    /// The key of the arguments object next to `name`.
    pub arguments_key: &'static str,
    /// Other `(opener, closer)` pairs models of the family use for the same call object,
    /// recognized only where a turn's calls may begin and only when `{"name"` follows (see
    /// `scan.rs`).
    pub alternates: &'static [(&'static str, &'static str)],
}

/// Hermes / Qwen 2.5: `<tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>`. Small
/// Qwen models (the 0.5B Coder among them) often write the same object in a fenced
/// ```` ```json ```` block, or bare, instead; at the start of a turn those count as calls too
/// (llama.cpp's Hermes parser accepts the fenced form as well). The empty opener is the bare
/// object: it ends with the object.
pub const HERMES: ToolSyntax = ToolSyntax {
    open: "<tool_call>",
    close: "</tool_call>",
    after_open: "\n",
    arguments_key: "arguments",
    alternates: &[("```json", "```"), ("```", "```"), ("", "")],
};

impl ToolSyntax {
    /// The syntax a model's chat template teaches. Qwen 2.5's own template and all our
    /// built-in fallbacks (`chat_template::builtin`) use Hermes; a family with another
    /// convention gets its constant here, chosen by `general.architecture`.
    pub fn for_model(_architecture: &str) -> Self {
        HERMES
    }
}

/// One offered tool, compiled.
#[derive(Debug, Clone)]
struct PlannedTool {
    name: String,
    arguments: NodeId,
}

/// Everything generation needs to know about a request's tools.
#[derive(Debug, Clone)]
pub struct ToolPlan {
    syntax: ToolSyntax,
    schema: Schema,
    tools: Vec<PlannedTool>,
    /// Any tool's call envelope.
    any_call: NodeId,
    /// The envelope the first call must match (`any_call`, or the forced tool's).
    first_call: NodeId,
    /// The call text the prompt already ends with, after the opening tag (forced calls).
    forced: Option<String>,
    /// The turn answers tool results.
    answering_results: bool,
}

impl ToolPlan {
    /// The plan for `tools` under `choice`; `None` when there are no tools (then `choice` is
    /// ignored if `Auto`, refused otherwise).
    pub fn new(
        syntax: ToolSyntax,
        tools: &[ToolSpec],
        choice: &ToolChoice,
    ) -> Result<Option<Self>> {
        if tools.is_empty() {
            return match choice {
                ToolChoice::Auto => Ok(None),
                _ => Err(EngineError::InvalidRequest(
                    "a tool choice other than auto needs at least one tool".into(),
                )),
            };
        }
        let mut graph = Schema::new();
        let mut planned = Vec::with_capacity(tools.len());
        let mut envelopes = Vec::with_capacity(tools.len());
        for tool in tools {
            let document: Json = serde_json::from_str(&tool.input_schema_json).map_err(|e| {
                EngineError::InvalidRequest(format!(
                    "the input schema of tool {} is not JSON: {e}",
                    tool.name
                ))
            })?;
            let arguments = graph.compile(&document);
            let name_set = graph.add_literals(vec![Json::String(tool.name.clone())]);
            let name_node = graph.push(schema::Node::Literals(name_set));
            envelopes.push(graph.add_object(
                vec![
                    ("name".to_owned(), name_node, true),
                    (syntax.arguments_key.to_owned(), arguments, true),
                ],
                None,
            ));
            planned.push(PlannedTool {
                name: tool.name.clone(),
                arguments,
            });
        }
        let any_call = match envelopes.as_slice() {
            [only] => *only,
            _ => graph.push(schema::Node::Union(envelopes.clone())),
        };
        let (first_call, forced) = match choice {
            ToolChoice::Auto => (any_call, None),
            ToolChoice::Any => (any_call, Some(String::new())),
            ToolChoice::Tool(name) => {
                let index = planned
                    .iter()
                    .position(|t| &t.name == name)
                    .ok_or_else(|| {
                        EngineError::InvalidRequest(format!(
                        "the tool choice names {name:?}, which is not one of the request's tools"
                    ))
                    })?;
                let prefix = format!(
                    "{{\"name\": {}, {}:",
                    Json::String(name.clone()),
                    Json::String(syntax.arguments_key.to_owned())
                );
                (envelopes[index], Some(prefix))
            }
        };
        Ok(Some(Self {
            syntax,
            schema: graph,
            tools: planned,
            any_call,
            first_call,
            forced,
            answering_results: false,
        }))
    }

    /// The syntax calls are written in.
    pub fn syntax(&self) -> ToolSyntax {
        self.syntax
    }

    /// Text to append to the rendered prompt (after the generation prompt) for a forced
    /// call: the opening tag, and for a named tool the start of its call.
    pub fn prompt_suffix(&self) -> Option<String> {
        let forced = self.forced.as_ref()?;
        Some(format!(
            "{}{}{forced}",
            self.syntax.open, self.syntax.after_open
        ))
    }

    /// The call text the prompt already holds after the opening tag, when the first call is
    /// forced.
    pub fn forced(&self) -> Option<&str> {
        self.forced.as_deref()
    }

    /// Marks the turn as the answer to tool results (the conversation's last message carries
    /// them). Small models then tend to repeat the call they already made as bare or fenced
    /// JSON instead of answering, so in such a turn only the syntax's own tag opens a call,
    /// and the turn may not begin with `{`, `[`, `(` or a code fence. (The prompt of such a
    /// turn also asks for an answer: see `loader::ANSWER_HINT`.)
    pub fn answering_results(mut self, yes: bool) -> Self {
        self.answering_results = yes;
        self
    }

    /// Whether this turn answers tool results (see [`answering_results`](Self::answering_results)).
    pub fn is_answering_results(&self) -> bool {
        self.answering_results
    }

    /// A matcher for a call's text after its opener, through `close`. The first call of a
    /// forced `Tool` choice must be that tool; others may be any tool.
    pub fn call_matcher(&self, first: bool, close: &'static str) -> Matcher<'_> {
        let root = if first {
            self.first_call
        } else {
            self.any_call
        };
        Matcher::new(&self.schema, root, close.as_bytes())
    }

    /// Parses a call's JSON (the text between the tags) and checks its arguments against
    /// the tool's schema: `(name, arguments as compact JSON)`.
    pub fn finish_call(&self, body: &str) -> std::result::Result<(String, String), String> {
        let (name, arguments) = parse_call_body(body, self.syntax.arguments_key)?;
        let tool =
            self.tools.iter().find(|t| t.name == name).ok_or_else(|| {
                format!("the model called {name:?}, which is not an offered tool")
            })?;
        validate(&self.schema, tool.arguments, &arguments).map_err(|e| {
            format!("the arguments of the call to {name} do not match its input schema: {e}")
        })?;
        let json = serde_json::to_string(&arguments).map_err(|e| e.to_string())?;
        Ok((name, json))
    }
}

/// Reads `{"name": "...", "<arguments_key>": {...}}`: the name, and the arguments (`{}` when
/// absent or null; a string holding JSON is read as that JSON, as some models write it).
pub fn parse_call_body(
    body: &str,
    arguments_key: &str,
) -> std::result::Result<(String, Json), String> {
    let value: Json = serde_json::from_str(body.trim())
        .map_err(|e| format!("the tool call is not JSON ({e}): {body:?}"))?;
    let Json::Object(mut map) = value else {
        return Err(format!("the tool call is not a JSON object: {body:?}"));
    };
    let name = match map.remove("name") {
        Some(Json::String(name)) if !name.is_empty() => name,
        _ => return Err(format!("the tool call has no name: {body:?}")),
    };
    let arguments = match map.remove(arguments_key) {
        None | Some(Json::Null) => Json::Object(Map::new()),
        Some(Json::String(text)) => serde_json::from_str(&text).unwrap_or(Json::String(text)),
        Some(value) => value,
    };
    Ok((name, arguments))
}
