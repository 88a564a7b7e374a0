//! The conversation of a Command R body (`preamble`, `documents`, `chat_history`, `message`,
//! `tools`, `tool_results`) mapped onto a core [`Prompt::Chat`]; the rules are in the parent
//! module's documentation.

use bedrock_local_core::{ChatMessage, ContentPart, Prompt, Role, ToolChoice, ToolSpec};
use serde_json::{json, Map, Value};

use crate::{everit, Result};

/// A tool call seen in the conversation, for pairing results with it.
struct Call {
    id: String,
    name: String,
    parameters: Value,
    answered: bool,
}

/// The conversation being built.
#[derive(Default)]
struct Conversation {
    system: Vec<String>,
    messages: Vec<ChatMessage>,
    calls: Vec<Call>,
}

impl Conversation {
    /// Appends a part, merging consecutive turns of one role (texts joined by a blank line).
    fn push(&mut self, role: Role, part: ContentPart) {
        match self.messages.last_mut().filter(|m| m.role == role) {
            Some(last) => match (last.content.last_mut(), part) {
                (Some(ContentPart::Text(prev)), ContentPart::Text(text)) => {
                    prev.push_str("\n\n");
                    prev.push_str(&text);
                }
                (_, part) => last.content.push(part),
            },
            None => self.messages.push(ChatMessage {
                role,
                content: vec![part],
            }),
        }
    }

    /// An assistant tool call (`{"name", "parameters"}`) under a fresh synthetic id.
    fn call(&mut self, name: &str, parameters: &Value) -> String {
        let id = format!("cohere_call_{}", self.calls.len());
        self.calls.push(Call {
            id: id.clone(),
            name: name.to_owned(),
            parameters: parameters.clone(),
            answered: false,
        });
        let input_json = parameters.to_string();
        self.push(
            Role::Assistant,
            ContentPart::ToolUse {
                id: id.clone(),
                name: name.to_owned(),
                input_json,
            },
        );
        id
    }

    /// Tool results (`[{"call": {"name", "parameters"}, "outputs": [...]}]`): each answers the
    /// first unanswered call with the same name and parameters; calls not in the conversation
    /// are added as one assistant turn first.
    fn results(&mut self, list: &[Value]) {
        let mut ids = Vec::with_capacity(list.len());
        for result in list {
            let name = result["call"]["name"].as_str().unwrap_or_default();
            let parameters = &result["call"]["parameters"];
            let known = self
                .calls
                .iter_mut()
                .find(|c| !c.answered && c.name == name && c.parameters == *parameters);
            let id = match known {
                Some(call) => {
                    call.answered = true;
                    call.id.clone()
                }
                None => {
                    let id = self.call(name, parameters);
                    if let Some(call) = self.calls.last_mut() {
                        call.answered = true;
                    }
                    id
                }
            };
            ids.push(id);
        }
        for (result, id) in list.iter().zip(ids) {
            let part = ContentPart::ToolResult {
                id,
                content: result["outputs"].to_string(),
                is_error: false,
            };
            self.push(Role::User, part);
        }
    }
}

/// The documents as text for the system prompt: one block per document, one `key: value` line
/// per field (non-string values as JSON).
fn documents_text(documents: &[Value]) -> String {
    let mut out = String::from("Documents:");
    for (i, doc) in documents.iter().enumerate() {
        out.push_str(&format!("\n\nDocument {i}"));
        for (key, value) in doc.as_object().into_iter().flatten() {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            out.push_str(&format!("\n{key}: {value}"));
        }
    }
    out
}

/// The JSON type for a Cohere `parameter_definitions` type (Python type names).
fn json_type(cohere_type: &str) -> &'static str {
    let t = cohere_type.trim().to_ascii_lowercase();
    match t.as_str() {
        "int" | "integer" => "integer",
        "float" | "number" => "number",
        "bool" | "boolean" => "boolean",
        _ if t.starts_with("list") || t.starts_with("array") => "array",
        _ if t.starts_with("dict") || t.starts_with("object") => "object",
        _ => "string",
    }
}

/// A tool spec from a Cohere tool definition.
fn tool_spec(tool: &Value) -> ToolSpec {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, def) in tool["parameter_definitions"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let mut schema = json!({"type": json_type(def["type"].as_str().unwrap_or("str"))});
        if let Some(d) = def["description"].as_str() {
            schema["description"] = json!(d);
        }
        properties.insert(name.clone(), schema);
        if def["required"] == true {
            required.push(json!(name));
        }
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    ToolSpec {
        name: tool["name"].as_str().unwrap_or_default().to_owned(),
        description: tool["description"].as_str().map(str::to_owned),
        input_schema_json: schema.to_string(),
    }
}

fn list(object: &Map<String, Value>, key: &str) -> Vec<Value> {
    object
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The conversation of a validated Command R body.
pub(super) fn prompt(object: &Map<String, Value>) -> Result<Prompt> {
    let mut conv = Conversation::default();
    if let Some(preamble) = object.get("preamble").and_then(Value::as_str) {
        conv.system.push(preamble.to_owned());
    }
    for (i, entry) in list(object, "chat_history").iter().enumerate() {
        let role = entry["role"].as_str().unwrap_or_default();
        let message = entry["message"].as_str();
        if message.is_none() && role != "TOOL" {
            return Err(everit::malformed(&format!(
                "#/chat_history/{i}: required key [message] not found"
            )));
        }
        let text = message.unwrap_or_default().to_owned();
        match role {
            "USER" => conv.push(Role::User, ContentPart::Text(text)),
            "SYSTEM" => conv.system.push(text),
            "CHATBOT" => {
                if !text.is_empty() {
                    conv.push(Role::Assistant, ContentPart::Text(text));
                }
                for call in entry["tool_calls"].as_array().into_iter().flatten() {
                    conv.call(
                        call["name"].as_str().unwrap_or_default(),
                        &call["parameters"],
                    );
                }
            }
            _ => {
                let results = entry["tool_results"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                conv.results(&results);
            }
        }
    }
    let message = object.get("message").and_then(Value::as_str).unwrap_or("");
    if !message.is_empty() {
        conv.push(Role::User, ContentPart::Text(message.to_owned()));
    }
    conv.results(&list(object, "tool_results"));
    if conv.messages.is_empty() {
        return Err(everit::malformed(
            "#/message: expected minLength: 1, actual: 0",
        ));
    }
    let documents = list(object, "documents");
    if !documents.is_empty() {
        conv.system.push(documents_text(&documents));
    }
    Ok(Prompt::Chat {
        system: (!conv.system.is_empty()).then(|| conv.system.join("\n\n")),
        messages: conv.messages,
        tools: list(object, "tools").iter().map(tool_spec).collect(),
        tool_choice: ToolChoice::Auto,
    })
}
