//! Small but complete tokenizer vocabularies for the tiny test GGUFs, in llama.cpp's GGUF
//! layout (`tokenizer.ggml.*`): a byte-level BPE (`gpt2`) trained on a few sentences, and a
//! SentencePiece (`llama`) vocabulary with scores and `<0xNN>` byte fallback.

use std::collections::{BTreeMap, HashMap};

/// GGUF token types, as llama.cpp numbers them.
pub const NORMAL: i32 = 1;
/// Unknown token.
pub const UNKNOWN: i32 = 2;
/// Control token (BOS, EOS, chat markers): parsed as special, never rendered.
pub const CONTROL: i32 = 3;
/// Byte-fallback token `<0xNN>`.
pub const BYTE: i32 = 6;

/// Text the BPE merges are learnt from, and whose words the SentencePiece vocabulary holds.
const CORPUS: &str = "Hello! Say Hello to the world. The quick brown fox jumps over the lazy dog. \
It is a truth universally acknowledged that a local model answers every request. \
Rust is a language empowering everyone to build reliable and efficient software. \
fn main() { println!(\"hello world\"); } The answer is 42, and the question is unknown. \
Amazon Bedrock runs models; this one runs on the CPU with candle and GGUF files.";

/// One vocabulary entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The token text as stored in the GGUF.
    pub text: String,
    /// `tokenizer.ggml.scores` value (SentencePiece only).
    pub score: f32,
    /// `tokenizer.ggml.token_type` value.
    pub kind: i32,
}

fn entry(text: impl Into<String>, score: f32, kind: i32) -> Entry {
    Entry {
        text: text.into(),
        score,
        kind,
    }
}

/// A byte-level BPE vocabulary.
pub struct Bpe {
    /// Tokens in id order.
    pub entries: Vec<Entry>,
    /// Merges (`"a b"`) in priority order.
    pub merges: Vec<String>,
}

/// GPT-2's byte-to-character table: printable Latin-1 bytes map to themselves, the rest to
/// U+0100 onwards. Returned in the order of the byte-level base vocabulary.
pub fn byte_level_alphabet() -> Vec<(u8, char)> {
    let printable = |b: u32| {
        (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b)
    };
    let mut out: Vec<(u8, char)> = (0u32..256)
        .filter(|&b| printable(b))
        .filter_map(|b| char::from_u32(b).map(|c| (b as u8, c)))
        .collect();
    let mut next = 256u32;
    for b in 0u32..256 {
        if !printable(b) {
            if let Some(c) = char::from_u32(next) {
                out.push((b as u8, c));
            }
            next += 1;
        }
    }
    out
}

/// Splits text GPT-2 style: a run of letters, digits or other symbols, with the space before
/// it attached.
fn pretokenize(text: &str) -> Vec<String> {
    let class = |c: char| {
        if c.is_alphabetic() {
            0
        } else if c.is_numeric() {
            1
        } else if c.is_whitespace() {
            2
        } else {
            3
        }
    };
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        let starts_new = match current.chars().last() {
            None => false,
            Some(prev) if prev == ' ' && current.len() == 1 => false,
            Some(prev) => c == ' ' || class(prev) != class(c),
        };
        if starts_new {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Learns `n_merges` byte-level BPE merges from [`CORPUS`] (most frequent pair first, ties
/// broken by the pair's text, so the result never changes), then appends `specials` as
/// control tokens.
pub fn bpe(n_merges: usize, specials: &[&str]) -> Bpe {
    let alphabet = byte_level_alphabet();
    let to_char: HashMap<u8, char> = alphabet.iter().copied().collect();
    let mut entries: Vec<Entry> = alphabet
        .iter()
        .map(|(_, c)| entry(c.to_string(), 0.0, NORMAL))
        .collect();
    let mut words: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for word in pretokenize(CORPUS) {
        let symbols = word
            .bytes()
            .filter_map(|b| to_char.get(&b).map(|c| c.to_string()))
            .collect();
        *words.entry(symbols).or_default() += 1;
    }
    let mut merges = Vec::new();
    for _ in 0..n_merges {
        let mut pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (symbols, count) in &words {
            for w in symbols.windows(2) {
                *pairs.entry((w[0].clone(), w[1].clone())).or_default() += count;
            }
        }
        let Some(((a, b), _)) = pairs
            .into_iter()
            .max_by(|x, y| x.1.cmp(&y.1).then_with(|| y.0.cmp(&x.0)))
        else {
            break;
        };
        let merged = format!("{a}{b}");
        words = words
            .into_iter()
            .map(|(symbols, count)| (merge_pair(&symbols, &a, &b), count))
            .fold(BTreeMap::new(), |mut acc, (s, c)| {
                *acc.entry(s).or_default() += c;
                acc
            });
        merges.push(format!("{a} {b}"));
        entries.push(entry(merged, 0.0, NORMAL));
    }
    for s in specials {
        entries.push(entry(*s, 0.0, CONTROL));
    }
    Bpe { entries, merges }
}

fn merge_pair(symbols: &[String], a: &str, b: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(symbols.len());
    let mut i = 0;
    while i < symbols.len() {
        if i + 1 < symbols.len() && symbols[i] == a && symbols[i + 1] == b {
            out.push(format!("{a}{b}"));
            i += 2;
        } else {
            out.push(symbols[i].clone());
            i += 1;
        }
    }
    out
}

/// A SentencePiece vocabulary: `head` (special tokens with their types) first, then the 256
/// `<0xNN>` byte tokens, then single characters and every prefix of the corpus words (so that
/// SentencePiece's pairwise merging can reach whole words). Scores decrease with the id, as
/// in real vocabularies.
pub fn spm(head: &[(&str, i32)]) -> Vec<Entry> {
    let mut entries: Vec<Entry> = head
        .iter()
        .map(|(text, kind)| entry(*text, -1000.0, *kind))
        .collect();
    for b in 0..=255u8 {
        entries.push(entry(format!("<0x{b:02X}>"), 0.0, BYTE));
    }
    let mut pieces: Vec<String> = vec!["▁".to_string()];
    let push = |p: String, pieces: &mut Vec<String>| {
        if !pieces.contains(&p) {
            pieces.push(p);
        }
    };
    for c in CORPUS.chars().filter(|c| !c.is_whitespace()) {
        push(c.to_string(), &mut pieces);
    }
    for word in CORPUS.split_whitespace() {
        let word: String = format!("▁{word}");
        let chars: Vec<char> = word.chars().collect();
        for end in 2..=chars.len() {
            push(chars[..end].iter().collect(), &mut pieces);
        }
    }
    let first = entries.len();
    for (i, p) in pieces.into_iter().enumerate() {
        entries.push(entry(p, -((first + i) as f32), NORMAL));
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_alphabet_covers_every_byte_once() {
        let a = byte_level_alphabet();
        assert_eq!(a.len(), 256);
        let mut bytes: Vec<u8> = a.iter().map(|x| x.0).collect();
        bytes.sort_unstable();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
        assert_eq!(a[0], (b'!', '!'));
        assert!(a.iter().any(|&(b, c)| b == b' ' && c == 'Ġ'));
    }

    #[test]
    fn bpe_merges_are_consistent_with_the_tokens() {
        let v = bpe(150, &["<|endoftext|>"]);
        assert_eq!(v.merges.len(), 150);
        let texts: std::collections::HashSet<&str> =
            v.entries.iter().map(|e| e.text.as_str()).collect();
        for m in &v.merges {
            let (a, b) = m.split_once(' ').unwrap_or(("", ""));
            assert!(texts.contains(a) && texts.contains(b), "{m}");
            assert!(texts.contains(format!("{a}{b}").as_str()), "{m}");
        }
        assert_eq!(v.entries.last().map(|e| e.kind), Some(CONTROL));
    }

    #[test]
    fn spm_has_unique_pieces_and_bytes() {
        let v = spm(&[("<unk>", UNKNOWN), ("<s>", CONTROL), ("</s>", CONTROL)]);
        let mut texts: Vec<&str> = v.iter().map(|e| e.text.as_str()).collect();
        let n = texts.len();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), n);
        assert!(v.iter().any(|e| e.text == "▁Hello"));
        assert_eq!(v.iter().filter(|e| e.kind == BYTE).count(), 256);
    }
}
