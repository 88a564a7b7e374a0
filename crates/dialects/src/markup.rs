//! Chat markup inside raw `prompt` strings, turned back into a conversation.
//!
//! Bedrock feeds the `prompt` of Llama (and Mistral-text, DeepSeek) bodies to the model
//! verbatim (bedrock-wire §5.1, §5.4), so callers write the model's own chat markup into it,
//! as every AWS example does. Our local model is not Llama: fed verbatim, Llama's special
//! tokens would be plain text to it. So when a prompt is *well-formed* chat markup we parse it
//! back into messages and let the local model's chat template render them:
//!
//! - Llama 3: `<|begin_of_text|>` (optional), then `<|start_header_id|>ROLE<|end_header_id|>\n\n
//!   CONTENT<|eot_id|>` per message, roles `system`, `user`, `assistant`.
//! - Llama 2 / Mistral `[INST]`: `<s>[INST] <<SYS>>\nSYSTEM\n<</SYS>>\n\nUSER [/INST] ANSWER
//!   </s><s>[INST] USER [/INST]` (`<<SYS>>` optional, `<s>`/`</s>` optional).
//!
//! A trailing open assistant header (`…<|start_header_id|>assistant<|end_header_id|>\n\n`, or a
//! final `[/INST]`) is the generation prompt and adds nothing. A trailing assistant header with
//! text after it and no end marker is a *prefill*: it becomes a final assistant message that
//! the model continues. Consecutive messages of one role are merged (joined by a blank line)
//! so any chat template accepts the result. System messages are joined with `\n`.
//!
//! Anything else — no markup, other roles (`ipython`), stray special tokens, a conversation
//! that does not start with a user turn — stays [`Prompt::Raw`] and is fed verbatim, exactly
//! as Bedrock would.

use bedrock_local_core::{ChatMessage, ContentPart, Prompt, Role, ToolChoice};

const BEGIN_OF_TEXT: &str = "<|begin_of_text|>";
const START_HEADER: &str = "<|start_header_id|>";
const END_HEADER: &str = "<|end_header_id|>";
const EOT: &str = "<|eot_id|>";
/// Llama 3 tokens that mean the prompt uses features we do not map (tool calls, nesting).
const LLAMA3_SPECIALS: [&str; 5] = [
    BEGIN_OF_TEXT,
    START_HEADER,
    END_HEADER,
    "<|eom_id|>",
    "<|python_tag|>",
];

/// A system prompt and turns parsed from markup.
type Parsed = (Option<String>, Vec<ChatMessage>);

/// Parses Llama 3 or `[INST]` chat markup into [`Prompt::Chat`]; any other prompt (or markup
/// that is not well-formed) is returned as [`Prompt::Raw`], unchanged.
pub fn parse_chat_markup(prompt: &str) -> Prompt {
    match parse_llama3(prompt).or_else(|| parse_inst(prompt)) {
        Some((system, messages)) => Prompt::Chat {
            system,
            messages,
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
        },
        None => Prompt::Raw(prompt.to_owned()),
    }
}

/// Collects turns, merging consecutive same-role messages.
#[derive(Default)]
struct Turns {
    system: Vec<String>,
    messages: Vec<ChatMessage>,
}

impl Turns {
    fn push(&mut self, role: Role, text: &str) {
        if let Some(last) = self.messages.last_mut().filter(|m| m.role == role) {
            if let Some(ContentPart::Text(prev)) = last.content.last_mut() {
                prev.push_str("\n\n");
                prev.push_str(text);
                return;
            }
        }
        self.messages.push(ChatMessage::text(role, text));
    }

    /// The result, if it is a conversation a chat template can render.
    fn finish(self) -> Option<Parsed> {
        if self.messages.first()?.role != Role::User {
            return None;
        }
        let system = (!self.system.is_empty()).then(|| self.system.join("\n"));
        Some((system, self.messages))
    }
}

/// Llama 3 header markup, or `None` when the prompt is not entirely well-formed Llama 3 chat.
pub fn parse_llama3(prompt: &str) -> Option<Parsed> {
    let mut rest = prompt.strip_prefix(BEGIN_OF_TEXT).unwrap_or(prompt);
    if !rest.contains(START_HEADER) {
        return None;
    }
    let mut turns = Turns::default();
    loop {
        rest = rest.trim_start_matches(['\n', '\r', ' ']);
        if rest.is_empty() {
            break;
        }
        let after_start = rest.strip_prefix(START_HEADER)?;
        let (role, body) = after_start.split_once(END_HEADER)?;
        let body = body
            .strip_prefix("\n\n")
            .unwrap_or_else(|| body.trim_start_matches('\n'));
        let (content, closed, next) = match body.split_once(EOT) {
            Some((content, next)) => (content, true, next),
            None => (body, false, ""),
        };
        if LLAMA3_SPECIALS.iter().any(|s| content.contains(s)) {
            return None;
        }
        match (role.trim(), closed) {
            ("system", true) => turns.system.push(content.to_owned()),
            ("user", true) => turns.push(Role::User, content),
            ("assistant", true) => turns.push(Role::Assistant, content),
            // The open assistant header: generation prompt, or a prefill to continue.
            ("assistant", false) => {
                if !content.is_empty() {
                    turns.push(Role::Assistant, content);
                }
            }
            _ => return None,
        }
        if !closed {
            break;
        }
        rest = next;
    }
    turns.finish()
}

/// `[INST]` markup (Llama 2, Mistral), or `None` when the prompt is not entirely well-formed.
pub fn parse_inst(prompt: &str) -> Option<Parsed> {
    const INST: &str = "[INST]";
    const END_INST: &str = "[/INST]";
    let strip_bos = |s: &str| {
        let s = s.trim_start();
        s.strip_prefix("<s>").unwrap_or(s).trim_start().to_owned()
    };
    let mut rest = strip_bos(prompt);
    if !rest.starts_with(INST) {
        return None;
    }
    let mut turns = Turns::default();
    while !rest.is_empty() {
        let after = rest.strip_prefix(INST)?;
        let (user_block, after_user) = after.split_once(END_INST)?;
        let user = match user_block.split_once("<<SYS>>") {
            Some((before, sys_and_user)) => {
                if !before.trim().is_empty() {
                    return None;
                }
                let (system, user) = sys_and_user.split_once("<</SYS>>")?;
                turns.system.push(system.trim().to_owned());
                user
            }
            None => user_block,
        };
        let user = user.trim();
        if [INST, END_INST, "<<SYS>>", "<</SYS>>", "<s>", "</s>"]
            .iter()
            .any(|m| user.contains(m))
        {
            return None;
        }
        turns.push(Role::User, user);
        match after_user.split_once("</s>") {
            Some((answer, next)) => {
                if answer.contains(INST) {
                    return None;
                }
                turns.push(Role::Assistant, answer.trim());
                rest = strip_bos(next);
            }
            None => {
                let prefill = after_user.trim_start();
                if prefill.contains(INST) || prefill.contains(END_INST) {
                    return None;
                }
                if !prefill.is_empty() {
                    turns.push(Role::Assistant, prefill);
                }
                rest = String::new();
            }
        }
    }
    turns.finish()
}

#[cfg(test)]
#[path = "markup_tests.rs"]
mod tests;
