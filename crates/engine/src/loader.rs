//! Loading a model from its files, and turning a [`Prompt`] into token ids for it.
//!
//! Owns the order of loading (GGUF header, then tokenizer and chat template from its metadata,
//! then the weights) and the prompt rules shared by generation, token counting and the
//! benchmark: chat prompts go through the chat template with the generation prompt added,
//! a forced tool call's beginning is appended after it (see `tools`), and BOS is not added a
//! second time when the template already wrote it. Generation and token counting both go
//! through [`LoadedModel::prepare`], so a count is exactly the prompt that would be run.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bedrock_local_core::{CachePoint, ChatMessage, ContentPart, ModelFiles, Prompt, Role};

use crate::arch::gguf::Gguf;
use crate::arch::{self, CausalLm, LoadOptions, Session, Transformer};
use crate::chat_template::ChatTemplate;
use crate::constrain::TokenTable;
use crate::tokenizer::GgufTokenizer;
use crate::tools::{ToolPlan, ToolSyntax};
use crate::{EngineError, Result};

/// A model in memory: tokenizer, template, limits, and the weights (taken by the worker).
pub struct LoadedModel {
    /// `general.architecture`.
    pub architecture: String,
    /// The tokenizer built from the GGUF metadata.
    pub tokenizer: Arc<GgufTokenizer>,
    /// The chat template, or why there is none usable (raw prompts still work).
    pub template: std::result::Result<ChatTemplate, String>,
    /// Context window in tokens (capped).
    pub context_length: usize,
    /// Ids that end a turn.
    pub eog_ids: Vec<u32>,
    /// How long loading took.
    pub load_time: Duration,
    /// The weights, shared by every sequence.
    pub transformer: Arc<Transformer>,
    /// A single-sequence session over them, for whoever drives the model directly (the
    /// benchmark).
    pub model: Mutex<Option<Box<dyn CausalLm>>>,
    /// Every token's bytes, built on the first request with tools.
    token_table: OnceLock<TokenTable>,
}

/// A prompt ready to run: its ids, and the tool plan when the request has tools.
#[derive(Debug)]
pub struct PreparedPrompt {
    /// The prompt's token ids.
    pub ids: Vec<u32>,
    /// Tools, schemas and forced call, for requests with tools.
    pub tools: Option<ToolPlan>,
}

/// Reads a GGUF model: tokenizer, chat template (the `files.chat_template` override, else the
/// GGUF's own, else the built-in fallback), and weights.
pub fn load(files: &ModelFiles, options: LoadOptions) -> Result<LoadedModel> {
    let started = Instant::now();
    // The header is read once (tokenizer and template come from its metadata); the weights
    // stay mapped.
    let gguf = Gguf::open(&files.weights)?;
    let content = &gguf.content;
    let architecture = arch::architecture(content)?;
    let tokenizer = GgufTokenizer::from_gguf(content)?;
    let template = match &files.chat_template {
        Some(source) => {
            ChatTemplate::from_source(source, tokenizer.bos_token(), tokenizer.eos_token())
                .map(|t| t.with_bos_stripped(tokenizer.adds_bos()))
        }
        None => ChatTemplate::from_gguf(content, &tokenizer),
    }
    .map_err(|e| e.to_string());
    if let Err(reason) = &template {
        tracing::warn!(architecture, %reason, "no usable chat template: only raw prompts will work");
    }
    let transformer = arch::transformer_of(&gguf, options)?;
    let model: Box<dyn CausalLm> = Box::new(Session::new(transformer.clone()));
    let eog_ids = tokenizer.eog_ids();
    Ok(LoadedModel {
        architecture,
        context_length: model.context_length(),
        tokenizer: Arc::new(tokenizer),
        template,
        eog_ids,
        load_time: started.elapsed(),
        transformer,
        model: Mutex::new(Some(model)),
        token_table: OnceLock::new(),
    })
}

impl LoadedModel {
    /// The prompt's token ids, as the model will see them.
    pub fn encode_prompt(&self, prompt: &Prompt) -> Result<Vec<u32>> {
        Ok(self.prepare(prompt)?.ids)
    }

    /// The prompt's token ids and, for chats with tools, the tool plan (whose forced call
    /// start, if any, ends the prompt).
    pub fn prepare(&self, prompt: &Prompt) -> Result<PreparedPrompt> {
        let (ids, tools) = match prompt {
            Prompt::Chat {
                system,
                messages,
                tools,
                tool_choice,
            } => {
                let template = self.template.as_ref().map_err(|reason| {
                    EngineError::InvalidRequest(format!(
                        "this model has no usable chat template ({reason})"
                    ))
                })?;
                let plan = ToolPlan::new(
                    ToolSyntax::for_model(&self.architecture),
                    tools,
                    tool_choice,
                )?
                .map(|plan| plan.answering_results(answers_tool_results(messages)));
                // A trailing assistant message is a prefill (Converse, Claude Messages): the
                // answer continues it. Render the turns before it with the generation prompt
                // open, then append its text, so the template cannot close it.
                let (turns, prefill) = split_prefill(messages);
                let hinted;
                let turns = if plan
                    .as_ref()
                    .is_some_and(|p| p.is_answering_results() && p.forced().is_none())
                {
                    hinted = with_answer_hint(turns);
                    hinted.as_slice()
                } else {
                    turns
                };
                let mut text = template.render(system.as_deref(), turns, tools, true)?;
                text.push_str(&prefill);
                if let Some(suffix) = plan.as_ref().and_then(ToolPlan::prompt_suffix) {
                    text.push_str(&suffix);
                }
                // The template may write BOS itself (Llama 3, Gemma): do not add a second one.
                let has_bos = self
                    .tokenizer
                    .bos_token()
                    .is_some_and(|bos| !bos.is_empty() && text.starts_with(&bos));
                (self.tokenizer.encode(&text, !has_bos)?, plan)
            }
            Prompt::Raw(text) => (self.tokenizer.encode(text, true)?, None),
        };
        if ids.is_empty() {
            return Err(EngineError::InvalidRequest("the prompt is empty".into()));
        }
        Ok(PreparedPrompt { ids, tools })
    }

    /// How many of `ids` (the prepared prompt of `prompt`) lie up to the cache point: the
    /// prompt rendered only up to the breakpoint, tokenized, and compared with `ids` token by
    /// token (the common prefix; templates render a prefix of the turns as a prefix of the
    /// text). A raw prompt, or a prefix the template refuses to render, counts as all of
    /// `ids`.
    pub fn tokens_to_cache_point(&self, prompt: &Prompt, point: CachePoint, ids: &[u32]) -> usize {
        let Prompt::Chat {
            system,
            messages,
            tools,
            ..
        } = prompt
        else {
            return ids.len();
        };
        let Ok(template) = self.template.as_ref() else {
            return ids.len();
        };
        let turns = match point {
            CachePoint::Tools | CachePoint::System => &messages[..0],
            CachePoint::Message(i) => &messages[..(i + 1).min(messages.len())],
        };
        // Templates render the system prompt and the tool definitions together, before the
        // turns: a breakpoint after either covers that whole header.
        let Ok(text) = template.render(system.as_deref(), turns, tools, false) else {
            return ids.len();
        };
        let has_bos = self
            .tokenizer
            .bos_token()
            .is_some_and(|bos| !bos.is_empty() && text.starts_with(&bos));
        match self.tokenizer.encode(&text, !has_bos) {
            Ok(prefix) => prefix.iter().zip(ids).take_while(|(a, b)| a == b).count(),
            Err(_) => ids.len(),
        }
    }

    /// Every token's bytes (built once, on first use).
    pub fn token_table(&self) -> &TokenTable {
        self.token_table.get_or_init(|| {
            let started = Instant::now();
            let table = TokenTable::from_tokenizer(&self.tokenizer);
            tracing::debug!(
                tokens = table.len(),
                ms = started.elapsed().as_millis() as u64,
                "token table built"
            );
            table
        })
    }
}

/// Splits a trailing text-only assistant message off the turns: `(turns before it, its text)`.
/// Anything else (no trailing assistant message, or one holding tool calls) is no prefill.
fn split_prefill(messages: &[ChatMessage]) -> (&[ChatMessage], String) {
    match messages.split_last() {
        Some((last, before))
            if last.role == Role::Assistant
                && last
                    .content
                    .iter()
                    .all(|part| matches!(part, ContentPart::Text(_))) =>
        {
            (before, last.joined_text())
        }
        _ => (messages, String::new()),
    }
}

/// The user line added after tool results when the model is free to answer (tool choice
/// `Auto`). Small models (Qwen2.5 0.5B) otherwise repeat the call they already made as JSON
/// instead of answering; with this line they answer from the result, and can still call
/// another tool. It is part of the rendered prompt, so CountTokens counts it.
pub const ANSWER_HINT: &str = "Use the tool results above to answer the question in plain words.";

/// `turns` with [`ANSWER_HINT`] appended to the last (user) message, after its tool results:
/// templates render it as a user turn of its own after the tool responses.
fn with_answer_hint(turns: &[ChatMessage]) -> Vec<ChatMessage> {
    let mut out = turns.to_vec();
    if let Some(last) = out.last_mut() {
        last.content.push(ContentPart::Text(ANSWER_HINT.to_owned()));
    }
    out
}

/// Whether the turn to generate answers tool results: the last message is the user's and
/// carries at least one.
fn answers_tool_results(messages: &[ChatMessage]) -> bool {
    messages.last().is_some_and(|m| {
        m.role == Role::User
            && m.content
                .iter()
                .any(|part| matches!(part, ContentPart::ToolResult { .. }))
    })
}
