//! Requests and events: what a dialect asks the engine for, and what the engine answers.

use std::fmt;

/// The name of a local model (a `models.toml` entry name such as `qwen2.5-coder-0.5b-instruct`).
///
/// Bedrock model ids are resolved to one of these by the registry; the engine only ever sees
/// local names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalModelName(String);

impl LocalModelName {
    /// Wraps a name. Names are compared exactly; the registry canonicalises aliases first.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LocalModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who said a message in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The human (or the calling program).
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The lower-case name chat templates expect (`user`, `assistant`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentPart {
    /// Plain text.
    Text(String),
    /// A tool call the assistant made earlier in the conversation.
    ToolUse {
        /// The id the caller will refer back to.
        id: String,
        /// The tool's name.
        name: String,
        /// The arguments, as a JSON text.
        input_json: String,
    },
    /// The result of a tool call, sent back by the user.
    ToolResult {
        /// The id of the tool call this answers.
        id: String,
        /// The result rendered as text (JSON results as their JSON text).
        content: String,
        /// Whether the tool reported an error.
        is_error: bool,
    },
}

/// One message of a chat.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    /// Who said it.
    pub role: Role,
    /// What was said, in order.
    pub content: Vec<ContentPart>,
}

impl ChatMessage {
    /// A message made of one text part.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: vec![ContentPart::Text(text.into())],
        }
    }

    /// The text parts joined, ignoring tool parts.
    pub fn joined_text(&self) -> String {
        let mut out = String::new();
        for part in &self.content {
            if let ContentPart::Text(t) = part {
                out.push_str(t);
            }
        }
        out
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// Tool name (`[a-zA-Z0-9_-]{1,64}`).
    pub name: String,
    /// What the tool does, for the model.
    pub description: Option<String>,
    /// The JSON schema of the arguments, as JSON text.
    pub input_schema_json: String,
}

/// How the model must use tools.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ToolChoice {
    /// The model decides.
    #[default]
    Auto,
    /// The model must call some tool.
    Any,
    /// The model must call this tool.
    Tool(String),
}

/// What the model is asked to continue.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// A conversation, rendered through the local model's chat template.
    Chat {
        /// The system prompt, if any (several system blocks are joined by the dialect).
        system: Option<String>,
        /// The turns, starting with the user.
        messages: Vec<ChatMessage>,
        /// Tools offered to the model (empty when none).
        tools: Vec<ToolSpec>,
        /// How the tools must be used.
        tool_choice: ToolChoice,
    },
    /// Text fed to the model verbatim, no template (Bedrock's `prompt` bodies).
    Raw(String),
}

/// How to pick the next token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// 0 means greedy (bit-identical across runs).
    pub temperature: f32,
    /// Nucleus sampling mass; `None` or 1.0 disables it.
    pub top_p: Option<f32>,
    /// Keep only the k most likely tokens; `None` disables it, 1 is greedy.
    pub top_k: Option<usize>,
    /// Seed of this request's RNG.
    pub seed: u64,
}

impl SamplingParams {
    /// Greedy decoding: the same text on every run.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            top_p: None,
            top_k: None,
            seed: 0,
        }
    }

    /// True when these parameters always pick the most likely token.
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0 || self.top_k == Some(1)
    }
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self::greedy()
    }
}

/// A text-generation request, in neutral form.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    /// Which local model answers.
    pub model: LocalModelName,
    /// What to continue.
    pub prompt: Prompt,
    /// Upper bound on generated tokens (the dialect applies the provider's default).
    pub max_tokens: u32,
    /// Sampling settings.
    pub sampling: SamplingParams,
    /// Strings that end generation; never included in the returned text.
    pub stop_sequences: Vec<String>,
    /// Who is waiting: interactive callers are served before batch-job records.
    pub priority: Priority,
    /// Where the request's last prompt-cache breakpoint sits (Converse `cachePoint`, Anthropic
    /// `cache_control`); `None` when the request asked for no caching. It decides only how
    /// [`Usage`] splits the prompt tokens, never the output.
    pub cache_point: Option<CachePoint>,
}

/// Where a request's last prompt-cache breakpoint sits in its [`Prompt::Chat`].
///
/// The prefix up to and including the marked part is what the caller asked to cache. A
/// dialect reports only the last breakpoint of a request (the longest cached prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePoint {
    /// After the tool definitions.
    Tools,
    /// After the system prompt.
    System,
    /// After the content of `messages[i]`, indexing the final `messages` vector of the
    /// request's [`Prompt::Chat`] (after any merging or dropping the dialect did).
    Message(usize),
}

/// The class of a request in the engine's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// A caller waiting on an HTTP response: served first.
    #[default]
    Interactive,
    /// A record of a batch inference job: served when no interactive request waits.
    Batch,
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The model ended its turn (EOS / end-of-turn token).
    EndTurn,
    /// `max_tokens` was reached.
    MaxTokens,
    /// One of the request's stop sequences was produced (the one given).
    StopSequence(String),
    /// The model called a tool.
    ToolUse,
}

/// Token accounting of one request, from the real tokenizer.
///
/// When the request has a [`CachePoint`], the rendered prompt is split in three disjoint
/// parts: `cache_read_input_tokens + cache_write_input_tokens + input_tokens` is the whole
/// prompt. Without a cache point both cache counts are 0 and `input_tokens` is the whole
/// prompt (the engine's prefix cache still works, invisibly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Prompt tokens neither read from nor written to the prompt cache (with no cache point:
    /// every token of the rendered prompt).
    pub input_tokens: u32,
    /// Tokens generated (including any token that completed a stop sequence).
    pub output_tokens: u32,
    /// Prompt tokens whose keys/values came from the prefix cache (0 without a cache point).
    pub cache_read_input_tokens: u32,
    /// Prompt tokens up to the cache point computed by this request and stored for later
    /// requests (0 without a cache point).
    pub cache_write_input_tokens: u32,
}

/// What the engine reports while generating, in this order: one `Started`, then any number
/// of `Text` and (requests with tools only) `ToolCall` events, then one `Finished`. A request
/// with a reasoning budget (extended thinking) first has `Reasoning` events, before any `Text`;
/// the engine itself never sends them (the facade runs the reasoning phase).
///
/// `Text` only comes before the first `ToolCall` (whatever the model writes after its calls
/// is dropped), and a turn with at least one `ToolCall` finishes with [`StopReason::ToolUse`].
/// Each `ToolCall` is complete: its arguments parse as JSON and are valid for the tool's
/// input schema (the engine constrains decoding inside calls).
#[derive(Debug, Clone, PartialEq)]
pub enum GenerationEvent {
    /// The prompt was tokenized and accepted.
    Started {
        /// Tokens in the rendered prompt.
        prompt_tokens: u32,
    },
    /// New text (never splits a UTF-8 character, never contains a stop sequence).
    Text(String),
    /// New reasoning text (extended thinking), before the answer's first `Text`.
    Reasoning(String),
    /// A tool call parsed from the model output (tool-capable requests only).
    ToolCall {
        /// Tool name (one of the request's tools).
        name: String,
        /// Arguments as compact JSON text (an object for object schemas).
        input_json: String,
    },
    /// The end.
    Finished {
        /// Why it ended.
        stop_reason: StopReason,
        /// Final token counts.
        usage: Usage,
    },
}
