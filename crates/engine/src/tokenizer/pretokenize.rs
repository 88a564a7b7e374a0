//! Pre-tokenization of byte-level BPE vocabularies: splitting text into words before merging.
//!
//! `tokenizer.ggml.pre` names the splitting rules the model was trained with. This module maps
//! each name we support to its list of splitting expressions, applied in order (each one splits
//! the pieces the previous one left). The three expressions almost every modern model uses (the
//! GPT-2 one, and the Llama-3 one with digit runs of at most three or, for Qwen2, one) are
//! implemented by hand, exactly as llama.cpp runs them, instead of through a regex engine; the
//! rest go through `fancy-regex`. Both the matches and the text between matches become pieces.

use fancy_regex::Regex;

use super::unicode::CharClass;
use crate::{EngineError, Result};

/// One splitting step.
#[derive(Debug, Clone)]
enum Splitter {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    Gpt2,
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    /// with N = `max_digits` (3 for Llama-3, 1 for Qwen2).
    Llama3 { max_digits: usize },
    /// Any other expression. `hide_unicode_space` is set for expressions without `\p{..}`
    /// classes: llama.cpp matches those on text whose non-ASCII white space is replaced by a
    /// vertical tab, so e.g. U+2028 is not caught by a literal range like `[ࠀ-一]`.
    Regex {
        re: Box<Regex>,
        hide_unicode_space: bool,
    },
}

/// How a BPE vocabulary splits text, and the other per-family switches llama.cpp ties to the
/// pre-tokenizer name.
#[derive(Debug, Clone)]
pub(crate) struct PreTokenizer {
    splitters: Vec<Splitter>,
    /// A word that is itself in the vocabulary is one token, whatever the merges say (Llama-3).
    pub ignore_merges: bool,
    /// Decoding removes the space before `.,!?` and some contractions (GPT-2 style cleanup).
    pub clean_spaces: bool,
    /// Whether the family adds BOS when the GGUF does not say.
    pub add_bos: bool,
}

const DIGITS: &str = r"\p{N}";

impl PreTokenizer {
    /// The rules for a `tokenizer.ggml.pre` value (missing means `default`).
    pub(crate) fn for_name(name: &str) -> Result<Self> {
        use Splitter::{Gpt2, Llama3};
        let re = |pattern: &str| -> Result<Splitter> {
            Regex::new(pattern)
                .map(|r| Splitter::Regex {
                    re: Box::new(r),
                    hide_unicode_space: !pattern.contains(r"\p{"),
                })
                .map_err(|e| {
                    EngineError::Tokenizer(format!("pre-tokenizer regex {pattern:?}: {e}"))
                })
        };
        let mut pre = PreTokenizer {
            splitters: Vec::new(),
            ignore_merges: false,
            clean_spaces: true,
            add_bos: false,
        };
        pre.splitters = match name {
            "" | "default" => vec![
                re(r"[\p{P}\$\+<=>\^~\|]+")?,
                Gpt2,
                re(r"\p{N}+")?,
                re("[0-9][0-9][0-9]")?,
            ],
            "gpt-2" | "gpt2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es"
            | "jina-v2-de" | "a.x-4.0" | "mellum" | "modern-bert" | "jina-v1-en"
            | "jina-v2-code" | "roberta-bpe" | "exaone4" | "mpt" | "olmo" | "jais" | "trillion"
            | "granite-docling" => vec![Gpt2],
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral"
            | "midm-2.0" | "lfm2" => {
                pre.ignore_merges = true;
                pre.add_bos = true;
                vec![Llama3 { max_digits: 3 }]
            }
            "dbrx" | "smaug-bpe" => vec![Llama3 { max_digits: 3 }],
            "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" => {
                pre.clean_spaces = false;
                vec![Llama3 { max_digits: 1 }]
            }
            "megrez" | "stablelm2" => vec![Llama3 { max_digits: 1 }],
            "starcoder" | "refact" | "codeshell" | "exaone" | "minerva-7b" => {
                vec![re(DIGITS)?, Gpt2]
            }
            "command-r" | "smollm" => {
                pre.clean_spaces = false;
                vec![re(DIGITS)?, Gpt2]
            }
            "falcon" => vec![re(r"[\p{P}\$\+<=>\^~\|`]+")?, Gpt2, re("[0-9][0-9][0-9]")?],
            "deepseek-coder" => {
                pre.clean_spaces = false;
                vec![
                    re("[\r\n]")?,
                    re(r"\s?\p{L}+")?,
                    re(r"\s?\p{P}+")?,
                    re("[一-龥ࠀ-一가-퟿]+")?,
                    re(DIGITS)?,
                ]
            }
            "deepseek-v3" => {
                pre.clean_spaces = false;
                vec![
                    re(r"\p{N}{1,3}")?,
                    re("[一-龥぀-ゟ゠-ヿ]+")?,
                    re(concat!(
                        r##"[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+"##,
                        r"|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*",
                        r"|\s*[\r\n]+|\s+(?!\S)|\s+"
                    ))?,
                ]
            }
            other => {
                return Err(EngineError::Tokenizer(format!(
                    "unsupported pre-tokenizer {other:?} (tokenizer.ggml.pre)"
                )))
            }
        };
        Ok(pre)
    }

    /// Splits `text` into words (byte ranges of `text`, in order, covering all of it).
    pub(crate) fn split(&self, text: &str) -> Vec<(usize, usize)> {
        let mut pieces = if text.is_empty() {
            Vec::new()
        } else {
            vec![(0, text.len())]
        };
        for splitter in &self.splitters {
            let mut next = Vec::with_capacity(pieces.len() * 2);
            for &(start, end) in &pieces {
                let chunk = &text[start..end];
                let mut push = |s: usize, e: usize| {
                    if e > s {
                        next.push((start + s, start + e));
                    }
                };
                match splitter {
                    Splitter::Gpt2 => split_gpt2(chunk, &mut push),
                    Splitter::Llama3 { max_digits } => split_llama3(chunk, *max_digits, &mut push),
                    Splitter::Regex {
                        re,
                        hide_unicode_space,
                    } => split_regex(re, chunk, *hide_unicode_space, &mut push),
                }
            }
            pieces = next;
        }
        pieces
    }
}

/// A chunk seen as characters with their classes; positions past the end have no class.
struct Chars {
    chars: Vec<(usize, char, CharClass)>,
    len_bytes: usize,
}

impl Chars {
    fn new(text: &str) -> Self {
        Self {
            chars: text
                .char_indices()
                .map(|(i, c)| (i, c, CharClass::of(c)))
                .collect(),
            len_bytes: text.len(),
        }
    }
    fn len(&self) -> usize {
        self.chars.len()
    }
    fn char(&self, i: usize) -> Option<char> {
        self.chars.get(i).map(|&(_, c, _)| c)
    }
    fn class(&self, i: usize) -> Option<CharClass> {
        self.chars.get(i).map(|&(_, _, k)| k)
    }
    fn byte(&self, i: usize) -> usize {
        self.chars.get(i).map_or(self.len_bytes, |&(b, _, _)| b)
    }
    fn is(&self, i: usize, f: impl Fn(CharClass) -> bool) -> bool {
        self.class(i).is_some_and(f)
    }
    fn is_newline(&self, i: usize) -> bool {
        matches!(self.char(i), Some('\r' | '\n'))
    }
    /// Length (2 or 3) of an English contraction starting at `i` (`'s`, `'re`...), if any.
    fn contraction(&self, i: usize, ignore_case: bool) -> Option<usize> {
        if self.char(i) != Some('\'') {
            return None;
        }
        let lower = |c: Option<char>| {
            c.map(|c| {
                if ignore_case {
                    c.to_ascii_lowercase()
                } else {
                    c
                }
            })
        };
        let c1 = lower(self.char(i + 1))?;
        if matches!(c1, 's' | 't' | 'm' | 'd') {
            return Some(2);
        }
        let c2 = lower(self.char(i + 2))?;
        matches!((c1, c2), ('r', 'e') | ('v', 'e') | ('l', 'l')).then_some(3)
    }
}

/// The GPT-2 expression, applied to one chunk.
fn split_gpt2(text: &str, push: &mut impl FnMut(usize, usize)) {
    let s = Chars::new(text);
    let n = s.len();
    let (mut pos, mut last) = (0usize, 0usize);
    let mut emit = |end: usize, last: &mut usize| {
        push(s.byte(*last), s.byte(end));
        *last = end;
    };
    while pos < n {
        if let Some(k) = s.contraction(pos, false) {
            pos += k;
            emit(pos, &mut last);
            continue;
        }
        let space = s.char(pos) == Some(' ');
        // What follows an optional leading space decides the kind of word.
        let head = if space {
            s.class(pos + 1)
        } else {
            s.class(pos)
        };
        let run: Option<fn(CharClass) -> bool> = match head {
            Some(k) if k.letter => Some(|k| k.letter),
            Some(k) if k.number => Some(|k| k.number),
            Some(k) if k.is_other() => Some(CharClass::is_other),
            _ => None,
        };
        if let Some(in_run) = run {
            pos += usize::from(space);
            while s.is(pos, in_run) {
                pos += 1;
            }
            emit(pos, &mut last);
            continue;
        }
        pos = whitespace_end(&s, pos, false);
        emit(pos, &mut last);
    }
}

/// The Llama-3 / Qwen2 expression, applied to one chunk.
fn split_llama3(text: &str, max_digits: usize, push: &mut impl FnMut(usize, usize)) {
    let s = Chars::new(text);
    let n = s.len();
    let (mut pos, mut last) = (0usize, 0usize);
    let mut emit = |end: usize, last: &mut usize| {
        push(s.byte(*last), s.byte(end));
        *last = end;
    };
    while pos < n {
        if let Some(k) = s.contraction(pos, true) {
            pos += k;
            emit(pos, &mut last);
            continue;
        }
        let Some(here) = s.class(pos) else { break };
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if !s.is_newline(pos) && !here.number && (here.letter || s.is(pos + 1, |k| k.letter)) {
            pos += 1;
            while s.is(pos, |k| k.letter) {
                pos += 1;
            }
            emit(pos, &mut last);
            continue;
        }
        // \p{N}{1,max}
        if here.number {
            let mut group = pos;
            while s.is(pos, |k| k.number) {
                pos += 1;
                if pos - group >= max_digits {
                    emit(pos, &mut last);
                    group = pos;
                }
            }
            emit(pos, &mut last);
            continue;
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*': a space at the very end also lands here, alone.
        let space = s.char(pos) == Some(' ');
        let head = if space { s.class(pos + 1) } else { Some(here) };
        if head.is_none_or(CharClass::is_other) {
            pos += usize::from(space);
            while s.is(pos, CharClass::is_other) {
                pos += 1;
            }
            while s.is_newline(pos) {
                pos += 1;
            }
            emit(pos, &mut last);
            continue;
        }
        pos = whitespace_end(&s, pos, true);
        emit(pos, &mut last);
    }
}

/// End of the white-space word starting at `pos`: `\s*[\r\n]+` (when `newlines` is set),
/// else `\s+(?!\S)`, else `\s+`; one character if `pos` is not white space at all.
fn whitespace_end(s: &Chars, pos: usize, newlines: bool) -> usize {
    let mut end = pos;
    let mut after_newline = None;
    while s.is(end, |k| k.space) {
        if s.is_newline(end) {
            after_newline = Some(end + 1);
        }
        end += 1;
    }
    let run = end - pos;
    match after_newline {
        Some(e) if newlines => e,
        _ if run > 1 && end < s.len() => end - 1,
        _ if run > 0 => end,
        _ => pos + 1,
    }
}

/// Splits with a general expression: matches and the gaps between them are both pieces.
fn split_regex(
    re: &Regex,
    text: &str,
    hide_unicode_space: bool,
    push: &mut impl FnMut(usize, usize),
) {
    // With `hide_unicode_space`, match on a copy where non-ASCII white space is '\x0B', and
    // map the copy's byte offsets back (`origin[i]` = offset in `text` of copy byte `i`).
    let (haystack, origin): (std::borrow::Cow<'_, str>, Option<Vec<usize>>) =
        if hide_unicode_space && text.chars().any(|c| !c.is_ascii() && c.is_whitespace()) {
            let mut copy = String::with_capacity(text.len());
            let mut origin = Vec::with_capacity(text.len() + 1);
            for (i, c) in text.char_indices() {
                let c = if !c.is_ascii() && c.is_whitespace() {
                    '\x0B'
                } else {
                    c
                };
                copy.push(c);
                origin.extend(std::iter::repeat_n(i, c.len_utf8()));
            }
            origin.push(text.len());
            (copy.into(), Some(origin))
        } else {
            (text.into(), None)
        };
    let at = |i: usize| origin.as_ref().map_or(i, |o| o[i]);
    let mut last = 0;
    for found in re.find_iter(haystack.as_ref()) {
        match found {
            Ok(m) => {
                let (start, end) = (at(m.start()), at(m.end()));
                if start > last {
                    push(last, start);
                }
                push(start, end);
                last = end;
            }
            Err(err) => {
                tracing::warn!(%err, "pre-tokenizer regex failed; keeping the rest as one piece");
                break;
            }
        }
    }
    if last < text.len() {
        push(last, text.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words<'a>(pre: &str, text: &'a str) -> Vec<&'a str> {
        let p = PreTokenizer::for_name(pre).unwrap();
        p.split(text)
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect()
    }

    #[test]
    fn qwen2_splits_digits_one_by_one() {
        assert_eq!(
            words("qwen2", "abc 12345"),
            ["abc", " ", "1", "2", "3", "4", "5"]
        );
        assert_eq!(words("qwen2", "I'M here"), ["I", "'M", " here"]);
        assert_eq!(words("qwen2", "a  \n\n b"), ["a", "  \n\n", " b"]);
        assert_eq!(words("qwen2", "x   y"), ["x", "  ", " y"]);
        assert_eq!(words("qwen2", "foo();\n\nbar"), ["foo", "();\n\n", "bar"]);
        assert_eq!(words("qwen2", "end "), ["end", " "]);
    }

    #[test]
    fn llama3_groups_three_digits() {
        assert_eq!(words("llama-bpe", "1234567"), ["123", "456", "7"]);
        assert_eq!(words("llama-bpe", "\tfoo"), ["\tfoo"]);
    }

    #[test]
    fn gpt2_and_default() {
        assert_eq!(
            words("gpt-2", "Hello world's 42!!"),
            ["Hello", " world", "'s", " 42", "!!"]
        );
        assert_eq!(words("gpt-2", "a   b"), ["a", "  ", " b"]);
        assert_eq!(words("default", "x=1234;"), ["x", "=", "123", "4", ";"]);
    }

    #[test]
    fn unknown_pre_is_an_error() {
        assert!(PreTokenizer::for_name("no-such-pre").is_err());
    }
}
