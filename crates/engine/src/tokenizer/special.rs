//! Finding special tokens written in input text (llama.cpp's `parse_special = true`).
//!
//! Control, user-defined and unknown tokens are matched as whole tokens before the text is
//! tokenized. Like llama.cpp, the longest token text goes first: each token, in that order,
//! claims its leftmost non-overlapping occurrences in the text not yet claimed, so
//! `<|im_start|>` wins over any shorter token inside it. All occurrences are found in one pass
//! with Aho-Corasick, then claimed in priority order.

use aho_corasick::{AhoCorasick, MatchKind};

use super::vocab::{Attr, Vocab};
use crate::{EngineError, Result};

/// A piece of input after special tokens are cut out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fragment<'a> {
    /// Ordinary text, to be tokenized.
    Text(&'a str),
    /// A special token found in the text.
    Token(u32),
}

/// The searcher over all special-token texts.
#[derive(Debug, Clone)]
pub(crate) struct SpecialMatcher {
    searcher: Option<AhoCorasick>,
    /// Token id of each pattern, in priority order (pattern index = priority).
    tokens: Vec<u32>,
}

impl SpecialMatcher {
    /// Builds the searcher for `vocab.parse_as_special`.
    pub(crate) fn new(vocab: &Vocab) -> Result<Self> {
        let tokens = vocab.parse_as_special.clone();
        let patterns: Vec<&str> = tokens.iter().filter_map(|&id| vocab.text(id)).collect();
        let searcher = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(|e| EngineError::Tokenizer(format!("special-token search: {e}")))?,
            )
        };
        Ok(Self { searcher, tokens })
    }

    /// Splits `text` into text fragments and special tokens, in order.
    pub(crate) fn split<'a>(&self, text: &'a str, vocab: &Vocab) -> Vec<Fragment<'a>> {
        let Some(searcher) = &self.searcher else {
            return whole(text);
        };
        // (priority, start, end) of every occurrence, overlapping ones included.
        let mut found: Vec<(usize, usize, usize)> = searcher
            .find_overlapping_iter(text)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect();
        if found.is_empty() {
            return whole(text);
        }
        found.sort_unstable();
        // Per byte: free text, removed white space, or the start/inside of a claimed token.
        let mut owner: Vec<Slot> = vec![Slot::Free; text.len()];
        let mut index = 0;
        while index < found.len() {
            let priority = found[index].0;
            let id = self.tokens[priority];
            let attr = vocab.attr(id);
            let mut next_free = 0;
            while index < found.len() && found[index].0 == priority {
                let (_, start, end) = found[index];
                index += 1;
                if start < next_free || owner[start..end].iter().any(|s| *s != Slot::Free) {
                    continue;
                }
                owner[start] = Slot::Token(id);
                owner[start + 1..end].fill(Slot::Inside);
                next_free = end;
                if attr.has(Attr::LSTRIP) {
                    strip(&mut owner, text, (0..start).rev());
                }
                if attr.has(Attr::RSTRIP) {
                    strip(&mut owner, text, end..text.len());
                }
            }
        }
        let mut fragments = Vec::new();
        let mut run_start: Option<usize> = None;
        for (i, slot) in owner.iter().enumerate() {
            match slot {
                Slot::Free => {
                    run_start.get_or_insert(i);
                }
                other => {
                    if let Some(s) = run_start.take() {
                        fragments.push(Fragment::Text(&text[s..i]));
                    }
                    if let Slot::Token(id) = other {
                        fragments.push(Fragment::Token(*id));
                    }
                }
            }
        }
        if let Some(s) = run_start {
            fragments.push(Fragment::Text(&text[s..]));
        }
        fragments
    }
}

fn whole(text: &str) -> Vec<Fragment<'_>> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![Fragment::Text(text)]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Free,
    Removed,
    Token(u32),
    Inside,
}

/// Marks the free ASCII white space next to a token (in `range` order) as removed.
fn strip(owner: &mut [Slot], text: &str, range: impl Iterator<Item = usize>) {
    let bytes = text.as_bytes();
    for i in range {
        if owner[i] != Slot::Free
            || !matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
        {
            break;
        }
        owner[i] = Slot::Removed;
    }
}
