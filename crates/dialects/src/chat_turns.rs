//! Building a [`Prompt::Chat`] from provider messages that need not alternate.
//!
//! OpenAI-style bodies (gpt-oss, Jamba) and DeepSeek's raw markup allow several messages of
//! one role in a row, system messages anywhere, and `tool` messages carrying results. The
//! engine's chat templates expect alternating user/assistant turns with one system prompt, so
//! [`Turns`] merges: system texts are joined with `\n`, consecutive messages of one role
//! become one message (texts joined with a blank line), and tool results join the user turn
//! that follows the assistant's calls.

use bedrock_local_core::{ChatMessage, ContentPart, Prompt, Role, ToolChoice, ToolSpec};

/// A conversation being collected.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    system: Vec<String>,
    messages: Vec<ChatMessage>,
}

impl Turns {
    /// Adds system text.
    pub fn system(&mut self, text: impl Into<String>) {
        self.system.push(text.into());
    }

    /// Adds a part to the conversation, merging it into the last message when that one has
    /// the same role (adjacent texts are joined by a blank line).
    pub fn push(&mut self, role: Role, part: ContentPart) {
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

    /// Adds a text part.
    pub fn text(&mut self, role: Role, text: impl Into<String>) {
        self.push(role, ContentPart::Text(text.into()));
    }

    /// The prompt.
    pub fn into_prompt(self, tools: Vec<ToolSpec>, tool_choice: ToolChoice) -> Prompt {
        Prompt::Chat {
            system: (!self.system.is_empty()).then(|| self.system.join("\n")),
            messages: self.messages,
            tools,
            tool_choice,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_roles_and_system() {
        let mut t = Turns::default();
        t.system("a");
        t.text(Role::User, "one");
        t.system("b");
        t.text(Role::User, "two");
        t.text(Role::Assistant, "x");
        t.push(
            Role::Assistant,
            ContentPart::ToolUse {
                id: "c1".into(),
                name: "f".into(),
                input_json: "{}".into(),
            },
        );
        t.push(
            Role::User,
            ContentPart::ToolResult {
                id: "c1".into(),
                content: "r".into(),
                is_error: false,
            },
        );
        t.text(Role::User, "thanks");
        let Prompt::Chat {
            system, messages, ..
        } = t.into_prompt(vec![], ToolChoice::Auto)
        else {
            panic!("chat")
        };
        assert_eq!(system.as_deref(), Some("a\nb"));
        assert_eq!(messages.len(), 3);
        assert_eq!(
            messages[0].content,
            [ContentPart::Text("one\n\ntwo".into())]
        );
        assert_eq!(messages[1].content.len(), 2);
        assert_eq!(messages[2].content.len(), 2);
    }
}
