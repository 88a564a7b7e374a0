//! Finding a tool call's opening tag in streamed text.
//!
//! Text arrives in arbitrary chunks, so the tag may be split across them (`<tool`, `_call>`).
//! [`TagScanner`] releases text as soon as it cannot be part of a tag, and holds back the
//! tail that still could be: the longest suffix that is a proper prefix of the tag, and the
//! whitespace just before it (whitespace between text and a call is dropped, so a text block
//! never ends in the newline that introduced the call).

/// What one chunk of text produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scanned {
    /// Text to release (before the tag when one was found).
    pub text: String,
    /// The tag was found: the text after it in this chunk.
    pub opened: Option<String>,
}

/// Scans text for one tag (see the module docs).
#[derive(Debug, Clone)]
pub struct TagScanner {
    tag: &'static str,
    pending: String,
}

impl TagScanner {
    /// A scanner for `tag` (non-empty, not starting with whitespace).
    pub fn new(tag: &'static str) -> Self {
        Self {
            tag,
            pending: String::new(),
        }
    }

    /// Adds a chunk. Text after a found tag is returned, not scanned: the caller decides
    /// what it is.
    pub fn push(&mut self, chunk: &str) -> Scanned {
        self.pending.push_str(chunk);
        if let Some(at) = self.pending.find(self.tag) {
            let text = self.pending[..at].trim_end().to_owned();
            let after = self.pending[at + self.tag.len()..].to_owned();
            self.pending.clear();
            return Scanned {
                text,
                opened: Some(after),
            };
        }
        let hold = self.hold_start();
        let text = self.pending[..hold].to_owned();
        self.pending.drain(..hold);
        Scanned { text, opened: None }
    }

    /// The part of the held text that may become the tag (without the whitespace before it).
    pub fn held_tag_prefix(&self) -> &str {
        self.pending.trim_start()
    }

    /// Releases everything held (no more text comes: a partial tag is just text).
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }

    /// Where the held-back tail of `pending` starts.
    fn hold_start(&self) -> usize {
        let p = self.pending.as_str();
        let earliest = p.len().saturating_sub(self.tag.len() - 1);
        let start = p
            .char_indices()
            .map(|(i, _)| i)
            .find(|&i| i >= earliest && self.tag.starts_with(&p[i..]))
            .unwrap_or(p.len());
        p[..start].trim_end().len()
    }
}
