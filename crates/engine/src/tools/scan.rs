//! Finding where a tool call opens in streamed text.
//!
//! Text arrives in arbitrary chunks, so an opener may be split across them (`<tool`,
//! `_call>`). [`TagScanner`] releases text as soon as it cannot be part of one, and holds
//! back the tail that still could be: the longest suffix that is a proper prefix of the tag,
//! and the whitespace just before it (whitespace between text and a call is dropped, so a
//! text block never ends in the newline that introduced the call).
//!
//! Besides the syntax's tag, which opens a call anywhere, a call may open with one of the
//! syntax's alternate openers (a fenced code block) where a turn's calls may begin: at the
//! start of the turn, before any text, or after a call. Those count only when a call object
//! follows (`{` then `"name"`, whitespace allowed), so a fenced code answer stays text; the
//! text is held while it can still turn out either way.

use super::ToolSyntax;

/// A call opener found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The text after the opener in the chunks scanned so far (the call's beginning).
    pub rest: String,
    /// What closes this call.
    pub close: &'static str,
}

/// What one chunk of text produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scanned {
    /// Text to release (before the opener when one was found).
    pub text: String,
    /// A call opened.
    pub opened: Option<Opened>,
}

/// Scans text for call openers (see the module docs).
#[derive(Debug, Clone)]
pub struct TagScanner {
    syntax: ToolSyntax,
    pending: String,
    /// No text released yet: alternate openers count.
    at_start: bool,
}

/// How far text is into an alternate opener followed by a call object.
enum Alternate {
    No,
    Maybe,
    Yes(String),
}

impl TagScanner {
    /// A scanner at the start of a turn (or right after a call).
    pub fn new(syntax: ToolSyntax) -> Self {
        Self {
            syntax,
            pending: String::new(),
            at_start: true,
        }
    }

    /// A scanner for which only the syntax's own tag opens calls (no alternates).
    pub fn tag_only(syntax: ToolSyntax) -> Self {
        Self {
            syntax: ToolSyntax {
                alternates: &[],
                ..syntax
            },
            pending: String::new(),
            at_start: true,
        }
    }

    /// True while nothing but whitespace has been seen since the start of the turn.
    pub fn at_blank_start(&self) -> bool {
        self.at_start && self.pending.trim().is_empty()
    }

    /// Adds a chunk. Text after an opener is returned, not scanned: the caller decides what
    /// it is.
    pub fn push(&mut self, chunk: &str) -> Scanned {
        self.pending.push_str(chunk);
        if self.at_start {
            let body = self.pending.trim_start();
            let mut maybe = false;
            for &(open, close) in self.syntax.alternates {
                match alternate(body, open) {
                    Alternate::Yes(rest) => {
                        self.pending.clear();
                        return Scanned {
                            text: String::new(),
                            opened: Some(Opened { rest, close }),
                        };
                    }
                    Alternate::Maybe => maybe = true,
                    Alternate::No => {}
                }
            }
            if maybe && !body.contains(self.syntax.open) {
                return Scanned::default();
            }
        }
        let tag = self.syntax.open;
        if let Some(at) = self.pending.find(tag) {
            let text = self.pending[..at].trim_end().to_owned();
            let rest = self.pending[at + tag.len()..].to_owned();
            self.pending.clear();
            return Scanned {
                text,
                opened: Some(Opened {
                    rest,
                    close: self.syntax.close,
                }),
            };
        }
        let hold = self.hold_start();
        let text = self.pending[..hold].to_owned();
        self.pending.drain(..hold);
        if !text.is_empty() {
            self.at_start = false;
        }
        Scanned { text, opened: None }
    }

    /// Whether `chunk` could open a call now (cheap; false means [`push`](Self::push) would
    /// find no opener).
    pub fn may_open(&self, chunk: &str) -> bool {
        self.at_start
            || !self.pending.is_empty()
            || self
                .syntax
                .open
                .chars()
                .next()
                .is_some_and(|c| chunk.contains(c))
    }

    /// Releases everything held (no more text comes: a partial opener is just text).
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }

    /// Where the held-back tail of `pending` starts.
    fn hold_start(&self) -> usize {
        let p = self.pending.as_str();
        let tag = self.syntax.open;
        let earliest = p.len().saturating_sub(tag.len() - 1);
        let start = p
            .char_indices()
            .map(|(i, _)| i)
            .find(|&i| i >= earliest && tag.starts_with(&p[i..]))
            .unwrap_or(p.len());
        p[..start].trim_end().len()
    }
}

/// Whether `body` (leading whitespace removed) is `open`, whitespace, `{`, whitespace,
/// `"name"`: yes (with what follows `open`), not yet decided, or no.
fn alternate(body: &str, open: &str) -> Alternate {
    if body.len() < open.len() {
        return if open.starts_with(body) {
            Alternate::Maybe
        } else {
            Alternate::No
        };
    }
    let Some(rest) = body.strip_prefix(open) else {
        return Alternate::No;
    };
    let object = rest.trim_start();
    let Some(inside) = object.strip_prefix('{') else {
        return if object.is_empty() {
            Alternate::Maybe
        } else {
            Alternate::No
        };
    };
    let key = inside.trim_start();
    const NAME: &str = "\"name\"";
    if key.starts_with(NAME) {
        Alternate::Yes(rest.to_owned())
    } else if NAME.starts_with(key) {
        Alternate::Maybe
    } else {
        Alternate::No
    }
}
