//! The conversation of a Mistral chat body (`messages`, `tools`, `tool_choice`), mapped onto
//! a core [`Prompt::Chat`]; see the rules in the parent module's documentation.

use bedrock_local_core::{ChatMessage, ContentPart, Prompt, Role, ToolChoice, ToolSpec};
use serde_json::{Map, Value};

use crate::{everit, DialectError, Result};

/// The text of a message's `content`: a string, `null`, or a list of `{"type": "text"}` parts.
fn content_text(content: Option<&Value>, at: &str) -> Result<String> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for part in parts {
                match (part["type"].as_str(), part["text"].as_str()) {
                    (Some("text"), Some(t)) => text.push_str(t),
                    // Unconfirmed wording: our local models read text only.
                    (Some("image_url"), _) => return Err(DialectError::Unsupported(
                        "This model doesn't support image inputs. Remove the image and try again."
                            .to_owned(),
                    )),
                    _ => {
                        return Err(everit::malformed(&format!(
                            "{at}: expected type: String, found: JSONArray"
                        )))
                    }
                }
            }
            Ok(text)
        }
        Some(other) => Err(everit::malformed(&format!(
            "{at}: expected type: String, found: {}",
            everit::found_type(other)
        ))),
    }
}

/// Appends a part, merging consecutive turns of one role (texts joined by a blank line).
fn push_part(messages: &mut Vec<ChatMessage>, role: Role, part: ContentPart) {
    match messages.last_mut().filter(|m| m.role == role) {
        Some(last) => match (last.content.last_mut(), part) {
            (Some(ContentPart::Text(prev)), ContentPart::Text(text)) => {
                prev.push_str("\n\n");
                prev.push_str(&text);
            }
            (_, part) => last.content.push(part),
        },
        None => messages.push(ChatMessage {
            role,
            content: vec![part],
        }),
    }
}

/// The conversation of a validated chat body.
pub(super) fn chat_prompt(object: &Map<String, Value>) -> Result<Prompt> {
    let list = object
        .get("messages")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if list.is_empty() {
        return Err(everit::malformed(
            "#/messages: expected minimum item count: 1, found: 0",
        ));
    }
    let mut system = Vec::new();
    let mut messages: Vec<ChatMessage> = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let at = format!("#/messages/{i}");
        let role = m["role"].as_str().unwrap_or_default();
        if role != "assistant" && m.get("content").is_none() {
            return Err(everit::malformed(&format!(
                "{at}: required key [content] not found"
            )));
        }
        let text = content_text(m.get("content"), &format!("{at}/content"))?;
        match role {
            "system" => system.push(text),
            "user" => push_part(&mut messages, Role::User, ContentPart::Text(text)),
            "tool" => {
                let Some(id) = m["tool_call_id"].as_str() else {
                    return Err(everit::malformed(&format!(
                        "{at}: required key [tool_call_id] not found"
                    )));
                };
                let result = ContentPart::ToolResult {
                    id: id.to_owned(),
                    content: text,
                    is_error: false,
                };
                push_part(&mut messages, Role::User, result);
            }
            _ => {
                if !text.is_empty() {
                    push_part(&mut messages, Role::Assistant, ContentPart::Text(text));
                }
                let calls = m["tool_calls"].as_array().map_or(&[][..], Vec::as_slice);
                for call in calls {
                    let arguments = match &call["function"]["arguments"] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let part = ContentPart::ToolUse {
                        id: call["id"].as_str().unwrap_or_default().to_owned(),
                        name: call["function"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        input_json: arguments,
                    };
                    push_part(&mut messages, Role::Assistant, part);
                }
            }
        }
    }
    check_turns(list, &messages)?;
    let (tools, tool_choice) = tools(object);
    Ok(Prompt::Chat {
        system: (!system.is_empty()).then(|| system.join("\n\n")),
        messages,
        tools,
        tool_choice,
    })
}

/// Mistral's own conversation rules (wording of its server, unconfirmed through Bedrock): the
/// conversation starts with a user turn and ends with `user`/`tool`, or a prefix assistant.
fn check_turns(list: &[Value], messages: &[ChatMessage]) -> Result<()> {
    let Some(last) = list.last() else {
        return Ok(());
    };
    let last_role = last["role"].as_str().unwrap_or_default();
    if last_role == "system" || (last_role == "assistant" && last["prefix"] != true) {
        return Err(DialectError::Validation(format!(
            "Expected last role User or Tool (or Assistant with prefix True) for serving but got {last_role}"
        )));
    }
    match messages.first() {
        Some(first) if first.role == Role::User => Ok(()),
        _ => Err(DialectError::Validation(
            "Expected the first non-system message to have role user".to_owned(),
        )),
    }
}

/// The offered tools and how they must be used (`none` offers none).
fn tools(object: &Map<String, Value>) -> (Vec<ToolSpec>, ToolChoice) {
    let choice = object.get("tool_choice").and_then(Value::as_str);
    if choice == Some("none") {
        return (Vec::new(), ToolChoice::Auto);
    }
    let specs = object
        .get("tools")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|t| {
                    let f = &t["function"];
                    let schema = match f.get("parameters") {
                        Some(p) => p.to_string(),
                        None => r#"{"type":"object","properties":{}}"#.to_owned(),
                    };
                    ToolSpec {
                        name: f["name"].as_str().unwrap_or_default().to_owned(),
                        description: f["description"].as_str().map(str::to_owned),
                        input_schema_json: schema,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let choice = if choice == Some("any") {
        ToolChoice::Any
    } else {
        ToolChoice::Auto
    };
    (specs, choice)
}
