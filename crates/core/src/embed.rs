//! Sentence embeddings: what an embeddings dialect asks the engine for, and what it gets back.

use crate::{LocalModelName, Priority};

/// What to do with a text longer than the request's token limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Truncate {
    /// Refuse the request ([`crate::BackendError::ContextOverflow`]).
    #[default]
    None,
    /// Drop tokens from the start, keeping the end.
    Start,
    /// Drop tokens from the end, keeping the start.
    End,
}

/// Embed some texts with one model.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedRequest {
    /// Which local embedding model.
    pub model: LocalModelName,
    /// The texts, embedded independently (one vector each, in this order).
    pub texts: Vec<String>,
    /// Most tokens a text may have (counted without the model's special tokens such as
    /// `[CLS]`/`[SEP]`); `None`: any length. Texts longer than the model's own window are
    /// embedded window by window (see the engine), so this is the provider's limit, not the
    /// model's.
    pub max_input_tokens: Option<u32>,
    /// What to do with a text over `max_input_tokens`.
    pub truncate: Truncate,
    /// Interactive callers before batch-job records.
    pub priority: Priority,
}

/// The engine's answer to an [`EmbedRequest`].
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// One vector per text, in request order, in the model's own dimension: the pooled output
    /// of the model *before* any normalisation (callers normalise when their API asks).
    pub vectors: Vec<Vec<f32>>,
    /// Tokens of each text as embedded (after truncation, without special tokens).
    pub token_counts: Vec<u32>,
}

impl Embeddings {
    /// Tokens of all texts.
    pub fn total_tokens(&self) -> u32 {
        self.token_counts.iter().sum()
    }
}
