//! Byte-level lexing of JSON strings and numbers, for the [`Matcher`](super::Matcher).
//!
//! Strings are checked as UTF-8 as they arrive (the exact well-formed ranges of RFC 3629, so
//! no overlong forms or surrogates), control characters must be escaped, escapes are JSON's,
//! and `\u` escapes of surrogates are refused (a lone one would not parse; the model can
//! write the character itself). Numbers follow JSON's grammar, with a length cap so a model
//! cannot write digits forever.

/// Where a string is inside a character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Esc {
    /// Between characters.
    Plain,
    /// After a backslash.
    Backslash,
    /// Inside `\uXXXX`: `read` hex digits so far; `high_d`: the first one was `d`/`D`.
    Hex {
        /// Hex digits read.
        read: u8,
        /// The first digit was `d` or `D` (a surrogate if the second is 8-F).
        high_d: bool,
    },
    /// Inside a multi-byte UTF-8 character: `left` bytes to come, the next in `lo..=hi`.
    Utf8 {
        /// Continuation bytes still to come.
        left: u8,
        /// Smallest allowed next byte.
        lo: u8,
        /// Largest allowed next byte.
        hi: u8,
    },
}

/// What one byte does to a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lex {
    /// Starts a new character (an ASCII character, a backslash, a UTF-8 lead byte).
    Start,
    /// Continues the current character.
    Continue,
    /// The closing quote.
    Close,
    /// Not allowed here.
    Reject,
}

/// Feeds one byte of string content (after the opening quote).
pub fn string_byte(esc: &mut Esc, b: u8) -> Lex {
    match *esc {
        Esc::Plain => match b {
            b'"' => Lex::Close,
            b'\\' => {
                *esc = Esc::Backslash;
                Lex::Start
            }
            0x00..=0x1F => Lex::Reject,
            0x20..=0x7F => Lex::Start,
            _ => match utf8_lead(b) {
                Some(state) => {
                    *esc = state;
                    Lex::Start
                }
                None => Lex::Reject,
            },
        },
        Esc::Backslash => match b {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                *esc = Esc::Plain;
                Lex::Continue
            }
            b'u' => {
                *esc = Esc::Hex {
                    read: 0,
                    high_d: false,
                };
                Lex::Continue
            }
            _ => Lex::Reject,
        },
        Esc::Hex { read, high_d } => {
            if !b.is_ascii_hexdigit() {
                return Lex::Reject;
            }
            let high_d = if read == 0 {
                b == b'd' || b == b'D'
            } else {
                high_d
            };
            if read == 1 && high_d && matches!(b, b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F') {
                return Lex::Reject;
            }
            *esc = if read == 3 {
                Esc::Plain
            } else {
                Esc::Hex {
                    read: read + 1,
                    high_d,
                }
            };
            Lex::Continue
        }
        Esc::Utf8 { left, lo, hi } => {
            if b < lo || b > hi {
                return Lex::Reject;
            }
            *esc = if left == 1 {
                Esc::Plain
            } else {
                Esc::Utf8 {
                    left: left - 1,
                    lo: 0x80,
                    hi: 0xBF,
                }
            };
            Lex::Continue
        }
    }
}

/// The state after a UTF-8 lead byte (RFC 3629 table of well-formed sequences).
fn utf8_lead(b: u8) -> Option<Esc> {
    let (left, lo, hi) = match b {
        0xC2..=0xDF => (1, 0x80, 0xBF),
        0xE0 => (2, 0xA0, 0xBF),
        0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
        0xED => (2, 0x80, 0x9F),
        0xF0 => (3, 0x90, 0xBF),
        0xF1..=0xF3 => (3, 0x80, 0xBF),
        0xF4 => (3, 0x80, 0x8F),
        _ => return None,
    };
    Some(Esc::Utf8 { left, lo, hi })
}

/// Where a number is in JSON's number grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumState {
    /// Nothing read.
    Start,
    /// `-`.
    Minus,
    /// A leading `0`.
    Zero,
    /// Integer digits.
    Int,
    /// `.` (a digit must follow).
    Dot,
    /// Fraction digits.
    Frac,
    /// `e`/`E`.
    Exp,
    /// The exponent's sign.
    ExpSign,
    /// Exponent digits.
    ExpDigits,
}

impl NumState {
    /// Whether a number may end here.
    pub fn accepting(self) -> bool {
        matches!(
            self,
            NumState::Zero | NumState::Int | NumState::Frac | NumState::ExpDigits
        )
    }

    /// The state after `b`, if `b` continues the number.
    pub fn next(self, b: u8, integer: bool) -> Option<NumState> {
        use NumState::*;
        Some(match (self, b) {
            (Start, b'-') => Minus,
            (Start | Minus, b'0') => Zero,
            (Start | Minus | Int, b'0'..=b'9') => Int,
            (Zero | Int, b'.') if !integer => Dot,
            (Dot | Frac, b'0'..=b'9') => Frac,
            (Zero | Int | Frac, b'e' | b'E') if !integer => Exp,
            (Exp, b'+' | b'-') => ExpSign,
            (Exp | ExpSign | ExpDigits, b'0'..=b'9') => ExpDigits,
            _ => return None,
        })
    }
}

/// Longest number, in bytes (an integer: at most 19, which always fits `i64` or `u64`).
pub fn max_number_len(integer: bool) -> u8 {
    if integer {
        19
    } else {
        32
    }
}
