//! Constrained decoding: choosing only tokens whose text keeps the output valid.
//!
//! Owns the pieces that make tool calls always parse and validate:
//! - [`schema`]: JSON schemas compiled into a small node graph (the supported keywords are
//!   listed there; anything else falls back to "any JSON value");
//! - [`Matcher`]: a byte-level pushdown automaton that accepts exactly the prefixes of a JSON
//!   value valid for a schema node, followed by a trailer such as `</tool_call>`;
//! - [`validate()`]: the final check of parsed arguments against the same graph;
//! - [`TokenTable`]: every token's bytes, computed once per loaded model;
//! - [`select`]: picks the next token under a [`TokenFilter`], cheaply: the sampler's own
//!   choice is tested first (almost always allowed), then the [`TOP_CANDIDATES`] most likely
//!   tokens in logit order, and only when none of them fits, the whole vocabulary (which a
//!   filter may narrow by first byte).
//!
//! Sampling from "the sampler's choice if allowed, else the allowed candidates" keeps the
//! masked distribution: an allowed token is accepted with its own probability, and a rejected
//! draw is redrawn among the allowed ones (llama.cpp's grammar sampler does the same). The
//! redraw sees only the top candidates (or, failing those, all allowed tokens), with the
//! request's temperature, top-k and top-p; greedy decoding takes the most likely allowed
//! token, still bit-identical across runs.

mod lex;
pub mod matcher;
pub mod schema;
pub mod validate;

#[cfg(test)]
mod tests;

pub use matcher::{Feed, Matcher};
pub use schema::{NodeId, Schema};
pub use validate::validate;

use crate::sampling::Sampler;
use crate::tokenizer::GgufTokenizer;

/// How many of the most likely tokens are tested before the whole vocabulary is scanned.
pub const TOP_CANDIDATES: usize = 64;

/// Decides which tokens may come next.
pub trait TokenFilter {
    /// Whether `id` may be generated now.
    fn allows(&self, id: u32) -> bool;

    /// Every allowed id below `vocab` (the slow path, when no likely token is allowed).
    fn allowed(&self, vocab: usize) -> Vec<u32> {
        (0..vocab as u32).filter(|&id| self.allows(id)).collect()
    }
}

/// The next token: the sampler's choice when `filter` allows it, else the best allowed one
/// (greedy) or a draw among the allowed ones. `None` when no token is allowed.
pub fn select(logits: &[f32], sampler: &mut Sampler, filter: &dyn TokenFilter) -> Option<u32> {
    let first = sampler.sample(logits)?;
    if filter.allows(first) {
        return Some(first);
    }
    let mut candidates = top_candidates(logits, TOP_CANDIDATES);
    candidates.retain(|&(id, _)| filter.allows(id));
    if candidates.is_empty() {
        candidates = filter
            .allowed(logits.len())
            .into_iter()
            .filter_map(|id| {
                let logit = *logits.get(id as usize)?;
                (!logit.is_nan()).then_some((id, logit))
            })
            .collect();
    }
    sampler.sample_among(candidates)
}

/// The `n` largest logits as `(id, logit)`, largest first (ties: lowest id first), NaN skipped.
pub fn top_candidates(logits: &[f32], n: usize) -> Vec<(u32, f32)> {
    let mut all: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, &v)| (i as u32, v))
        .collect();
    let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if n == 0 {
        return Vec::new();
    }
    if all.len() > n {
        all.select_nth_unstable_by(n - 1, order);
        all.truncate(n);
    }
    all.sort_by(order);
    all
}

/// The bytes every token stands for (as the detokenizer writes them: control tokens are
/// empty), with the ids grouped by first byte.
pub struct TokenTable {
    data: Vec<u8>,
    ends: Vec<u32>,
    by_first: Vec<Vec<u32>>,
}

impl std::fmt::Debug for TokenTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenTable")
            .field("tokens", &self.ends.len())
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl TokenTable {
    /// A table from each token's bytes, in id order.
    pub fn new(pieces: impl IntoIterator<Item = Vec<u8>>) -> Self {
        let mut table = Self {
            data: Vec::new(),
            ends: Vec::new(),
            by_first: vec![Vec::new(); 256],
        };
        for (id, piece) in pieces.into_iter().enumerate() {
            if let Some(&b) = piece.first() {
                table.by_first[b as usize].push(id as u32);
            }
            table.data.extend_from_slice(&piece);
            table.ends.push(table.data.len() as u32);
        }
        table
    }

    /// The table of a tokenizer's whole vocabulary.
    pub fn from_tokenizer(tokenizer: &GgufTokenizer) -> Self {
        Self::new((0..tokenizer.vocab_size() as u32).map(|id| tokenizer.token_bytes(id)))
    }

    /// The bytes of `id` (empty for control tokens and ids past the vocabulary).
    pub fn bytes(&self, id: u32) -> &[u8] {
        let i = id as usize;
        let Some(&end) = self.ends.get(i) else {
            return &[];
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start as usize..end as usize]
    }

    /// Ids whose bytes start with `b`.
    pub fn starting_with(&self, b: u8) -> &[u32] {
        &self.by_first[b as usize]
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the table has no tokens.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}
