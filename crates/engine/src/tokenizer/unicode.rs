//! Unicode character classes for the pre-tokenizer splitters.
//!
//! llama.cpp's hand-written splitters ask three questions of each code point: is it a letter
//! (general category `L*`), a number (`N*`), or white space (the `White_Space` property). The
//! letter ranges come from `regex-syntax`'s Unicode tables (already in the build through
//! `tokenizers`), numbers and white space from `char`'s own predicates, which use exactly those
//! definitions. The tables may be one Unicode version newer than llama.cpp's, which only matters
//! for characters assigned in that newest version.

use std::sync::LazyLock;

/// The `\p{L}` ranges, sorted, for binary search.
static LETTERS: LazyLock<Vec<(char, char)>> = LazyLock::new(|| class_ranges(r"\p{L}"));

/// Ranges of a Unicode class expression, or an empty table if it cannot be parsed (which
/// would be a bug: the expressions are constants).
fn class_ranges(pattern: &str) -> Vec<(char, char)> {
    use regex_syntax::hir::{Class, HirKind};
    match regex_syntax::parse(pattern) {
        Ok(hir) => match hir.kind() {
            HirKind::Class(Class::Unicode(class)) => class
                .ranges()
                .iter()
                .map(|r| (r.start(), r.end()))
                .collect(),
            _ => Vec::new(),
        },
        Err(err) => {
            tracing::error!(%pattern, %err, "unicode class did not parse");
            Vec::new()
        }
    }
}

fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// `\p{L}`: any letter.
pub(crate) fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    in_ranges(&LETTERS, c)
}

/// `\p{N}`: decimal digits, letter numbers and other numbers.
pub(crate) fn is_number(c: char) -> bool {
    c.is_numeric()
}

/// `\s` as llama.cpp defines it: the `White_Space` property.
pub(crate) fn is_whitespace(c: char) -> bool {
    c.is_whitespace()
}

/// What a splitter needs to know about one character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CharClass {
    pub letter: bool,
    pub number: bool,
    pub space: bool,
}

impl CharClass {
    /// Classifies one character.
    pub(crate) fn of(c: char) -> Self {
        Self {
            letter: is_letter(c),
            number: is_number(c),
            space: is_whitespace(c),
        }
    }

    /// Neither letter, number nor white space (`[^\s\p{L}\p{N}]`).
    pub(crate) fn is_other(self) -> bool {
        !(self.letter || self.number || self.space)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(is_letter('a') && is_letter('é') && is_letter('中') && is_letter('ж'));
        assert!(!is_letter('1') && !is_letter(' ') && !is_letter('😀') && !is_letter('\u{301}'));
        assert!(is_number('7') && is_number('½') && is_number('Ⅻ') && is_number('١'));
        assert!(is_whitespace('\u{a0}') && is_whitespace('\u{3000}') && !is_whitespace('\u{200b}'));
        assert!(CharClass::of('!').is_other() && !CharClass::of('a').is_other());
    }
}
