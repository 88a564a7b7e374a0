//! Turning generated token ids into text events: streaming detokenization and stop sequences.
//!
//! Owns two promises of `GenerationEvent::Text`: a chunk never splits a UTF-8 character, and
//! it never contains a stop sequence (which may be spread over several tokens).
//!
//! - [`IncrementalDecoder`] decodes a small window of ids (the last emitted token(s) plus the
//!   new ones) and emits only the new suffix, holding back while the window ends in U+FFFD
//!   (a byte token that starts a character whose other bytes come in later tokens). This is
//!   the windowed scheme of Hugging Face's text-generation-inference; the window starts with a
//!   few prompt tokens so that tokenizers which strip a leading space from a decoded sequence
//!   (SentencePiece) keep the space of the first generated word.
//! - [`StopMatcher`] holds back the tail of the text that could still become a stop sequence,
//!   and cuts the text before the earliest complete one.
//! - [`TextStream`] chains the two; the generation loop feeds it one id at a time.
//!
//! Nothing here knows a model or a tokenizer type: decoding goes through [`Detokenizer`], so
//! the module is tested with a fake.

use crate::Result;

/// How many prompt tokens seed the decoding window (see the module docs).
const CONTEXT_TOKENS: usize = 4;

/// Decodes token ids into text. Implemented by the GGUF tokenizer (and test fakes).
pub trait Detokenizer {
    /// The text of `ids`, special/control tokens not rendered, invalid UTF-8 as U+FFFD.
    fn decode(&self, ids: &[u32]) -> Result<String>;
}

impl Detokenizer for crate::tokenizer::GgufTokenizer {
    fn decode(&self, ids: &[u32]) -> Result<String> {
        crate::tokenizer::GgufTokenizer::decode(self, ids)
    }
}

/// Decodes ids one at a time, returning only complete new text.
pub struct IncrementalDecoder<'a, D: ?Sized> {
    decoder: &'a D,
    ids: Vec<u32>,
    /// Start of the window that is decoded each step.
    prefix_offset: usize,
    /// End of the part of the window whose text was already emitted.
    read_offset: usize,
}

impl<'a, D: Detokenizer + ?Sized> IncrementalDecoder<'a, D> {
    /// A decoder whose window starts with (up to) the last few `context` ids, typically the
    /// end of the prompt. Context ids that do not decode to clean text are dropped.
    pub fn new(decoder: &'a D, context: &[u32]) -> Result<Self> {
        let mut start = context.len().saturating_sub(CONTEXT_TOKENS);
        // The context must decode cleanly, or the first delta would be computed against
        // a prefix that later tokens change. Drop leading ids until it does.
        while start < context.len() && decoder.decode(&context[start..])?.contains('\u{FFFD}') {
            start += 1;
        }
        let ids = context[start..].to_vec();
        let read_offset = ids.len();
        Ok(Self {
            decoder,
            ids,
            prefix_offset: 0,
            read_offset,
        })
    }

    /// Adds one id; returns the text it completes (possibly empty).
    pub fn push(&mut self, id: u32) -> Result<String> {
        self.ids.push(id);
        let prefix = self
            .decoder
            .decode(&self.ids[self.prefix_offset..self.read_offset])?;
        let full = self.decoder.decode(&self.ids[self.prefix_offset..])?;
        if full.len() > prefix.len() && !full.ends_with('\u{FFFD}') {
            let delta = suffix_after(&full, &prefix);
            self.prefix_offset = self.read_offset;
            self.read_offset = self.ids.len();
            self.compact();
            Ok(delta)
        } else {
            Ok(String::new())
        }
    }

    /// The text still held back (an incomplete character at the very end, rendered as U+FFFD).
    pub fn finish(&mut self) -> Result<String> {
        if self.read_offset >= self.ids.len() {
            return Ok(String::new());
        }
        let prefix = self
            .decoder
            .decode(&self.ids[self.prefix_offset..self.read_offset])?;
        let full = self.decoder.decode(&self.ids[self.prefix_offset..])?;
        self.prefix_offset = self.read_offset;
        self.read_offset = self.ids.len();
        if full.len() > prefix.len() {
            Ok(suffix_after(&full, &prefix))
        } else {
            Ok(String::new())
        }
    }

    /// Drops ids before the window so the buffer stays small on long generations.
    fn compact(&mut self) {
        if self.prefix_offset > 64 {
            self.ids.drain(..self.prefix_offset);
            self.read_offset -= self.prefix_offset;
            self.prefix_offset = 0;
        }
    }
}

/// `full` minus its leading `prefix`; when the decoder changed the prefix text (it should not),
/// skips the same number of bytes, moved forward to a character boundary.
fn suffix_after(full: &str, prefix: &str) -> String {
    if let Some(rest) = full.strip_prefix(prefix) {
        return rest.to_string();
    }
    let mut cut = prefix.len().min(full.len());
    while !full.is_char_boundary(cut) {
        cut += 1;
    }
    full[cut..].to_string()
}

/// What one step of text produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Text that may be sent now (possibly empty).
    Text(String),
    /// A stop sequence completed: `text` is what comes before it (send it, then stop).
    Stop {
        /// The text before the stop sequence.
        text: String,
        /// The stop sequence that matched, as the request gave it.
        sequence: String,
    },
}

/// Holds back text that could be the start of a stop sequence; finds complete ones.
#[derive(Debug, Clone)]
pub struct StopMatcher {
    stops: Vec<String>,
    pending: String,
}

impl StopMatcher {
    /// A matcher for these stop sequences (empty strings are ignored).
    pub fn new(stops: &[String]) -> Self {
        Self {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            pending: String::new(),
        }
    }

    /// Adds text; returns what can be emitted, or the stop.
    pub fn push(&mut self, text: &str) -> Step {
        self.pending.push_str(text);
        if let Some((at, sequence)) = self.earliest_match() {
            let text = self.pending[..at].to_string();
            self.pending.clear();
            return Step::Stop { text, sequence };
        }
        let hold = self.held_suffix_start();
        let out = self.pending[..hold].to_string();
        self.pending.drain(..hold);
        Step::Text(out)
    }

    /// Adds the last text and releases everything held back (no more text can follow, so a
    /// partial stop sequence is just text).
    pub fn finish(&mut self, text: &str) -> Step {
        match self.push(text) {
            Step::Text(mut out) => {
                out.push_str(&self.pending);
                self.pending.clear();
                Step::Text(out)
            }
            stop => stop,
        }
    }

    /// Position and text of the stop sequence that starts first (the longest on a tie).
    fn earliest_match(&self) -> Option<(usize, String)> {
        let mut best: Option<(usize, &String)> = None;
        for stop in &self.stops {
            if let Some(at) = self.pending.find(stop.as_str()) {
                let better = match best {
                    None => true,
                    Some((b_at, b)) => at < b_at || (at == b_at && stop.len() > b.len()),
                };
                if better {
                    best = Some((at, stop));
                }
            }
        }
        best.map(|(at, s)| (at, s.clone()))
    }

    /// Start of the longest suffix of `pending` that is a proper prefix of some stop sequence
    /// (`pending.len()` when there is none).
    fn held_suffix_start(&self) -> usize {
        let longest = self.stops.iter().map(String::len).max().unwrap_or(0);
        if longest == 0 {
            return self.pending.len();
        }
        let earliest = self.pending.len().saturating_sub(longest - 1);
        for (i, _) in self.pending.char_indices() {
            if i < earliest {
                continue;
            }
            let tail = &self.pending[i..];
            if self
                .stops
                .iter()
                .any(|s| s.len() > tail.len() && s.starts_with(tail))
            {
                return i;
            }
        }
        self.pending.len()
    }
}

/// Ids in, safe text chunks out: [`IncrementalDecoder`] followed by [`StopMatcher`].
pub struct TextStream<'a, D: ?Sized> {
    decoder: IncrementalDecoder<'a, D>,
    matcher: StopMatcher,
}

impl<'a, D: Detokenizer + ?Sized> TextStream<'a, D> {
    /// A stream for one generation. `context` is the prompt (its last ids seed the window).
    pub fn new(decoder: &'a D, stop_sequences: &[String], context: &[u32]) -> Result<Self> {
        Ok(Self {
            decoder: IncrementalDecoder::new(decoder, context)?,
            matcher: StopMatcher::new(stop_sequences),
        })
    }

    /// Feeds one generated (non end-of-generation) id.
    pub fn push(&mut self, id: u32) -> Result<Step> {
        let text = self.decoder.push(id)?;
        Ok(self.matcher.push(&text))
    }

    /// The end of generation: releases everything held back. May still report a stop
    /// sequence completed by the released text.
    pub fn finish(&mut self) -> Result<Step> {
        let text = self.decoder.finish()?;
        Ok(self.matcher.finish(&text))
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
