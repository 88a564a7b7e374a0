//! Byte-level BPE (`tokenizer.ggml.model = "gpt2"`): GPT-2's byte-to-character mapping and
//! rank-ordered merging within one pre-tokenized word.
//!
//! Mirrors llama.cpp's `llm_tokenizer_bpe_session`: every byte of a word is mapped to its
//! printable stand-in character, the word starts as one symbol per character, and the adjacent
//! pair with the lowest merge rank (leftmost on ties) is merged until no ranked pair is left.
//! A final symbol missing from the vocabulary falls back to its single-byte tokens.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use candle_core::quantized::gguf_file::Value;

use super::fastmap::FastMap;
use super::vocab::Vocab;

/// The 256 stand-in characters GPT-2 uses for bytes: printable Latin-1 bytes stand for
/// themselves, the others are shifted up past U+0100 in order.
pub(crate) fn byte_chars() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut shifted = 0u32;
    for (b, slot) in table.iter_mut().enumerate() {
        let keeps = matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF);
        let code = if keeps {
            b as u32
        } else {
            shifted += 1;
            255 + shifted
        };
        *slot = char::from_u32(code).unwrap_or('\u{FFFD}');
    }
    table
}

/// The inverse of [`byte_chars`], indexed by code point (all stand-ins are below U+0200).
pub(crate) fn char_bytes() -> Vec<Option<u8>> {
    let mut inverse = vec![None; 0x200];
    for (b, c) in byte_chars().iter().enumerate() {
        if let Some(slot) = inverse.get_mut(*c as usize) {
            *slot = u8::try_from(b).ok();
        }
    }
    inverse
}

/// Merge ranks, keyed by the ids of the two pieces. Pieces that are not vocabulary tokens get
/// ids past the vocabulary so that every merge line stays usable.
#[derive(Debug, Clone, Default)]
pub(crate) struct Merges {
    ranks: FastMap<(u32, u32), u32>,
    extra_pieces: FastMap<String, u32>,
}

impl Merges {
    /// Parses `tokenizer.ggml.merges` ("left right" per line; the first rank wins on duplicates).
    pub(crate) fn from_gguf(lines: &[Value], vocab: &Vocab) -> Self {
        let mut merges = Merges::default();
        let mut next_extra = u32::try_from(vocab.len()).unwrap_or(u32::MAX);
        let mut intern = |piece: &str, extra: &mut FastMap<String, u32>| -> u32 {
            if let Some(id) = vocab.id(piece) {
                return id;
            }
            *extra.entry(piece.to_owned()).or_insert_with(|| {
                next_extra = next_extra.saturating_add(1);
                next_extra
            })
        };
        for (rank, line) in lines.iter().enumerate() {
            let Value::String(line) = line else { continue };
            // The separator is the first space after the first byte (a piece is never empty).
            let bytes = line.as_bytes();
            let Some(split) = bytes.iter().skip(1).position(|&b| b == b' ').map(|i| i + 1) else {
                continue;
            };
            let left = intern(&line[..split], &mut merges.extra_pieces);
            let right = intern(&line[split + 1..], &mut merges.extra_pieces);
            let rank = u32::try_from(rank).unwrap_or(u32::MAX);
            merges.ranks.entry((left, right)).or_insert(rank);
        }
        merges
    }

    fn piece_id(&self, vocab: &Vocab, piece: &str) -> Option<u32> {
        vocab
            .id(piece)
            .or_else(|| self.extra_pieces.get(piece).copied())
    }

    fn rank(&self, left: Option<u32>, right: Option<u32>) -> Option<u32> {
        self.ranks.get(&(left?, right?)).copied()
    }
}

/// One symbol of the word being merged: a byte range of the encoded word, linked to its
/// neighbours, with its piece id when it has one. Merged-away symbols have `len == 0`.
#[derive(Debug, Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
    piece: Option<u32>,
}

/// Encodes one word (already mapped to stand-in characters) and appends its ids.
pub(crate) fn encode_word(
    word: &str,
    vocab: &Vocab,
    merges: &Merges,
    ignore_merges: bool,
    out: &mut Vec<u32>,
) {
    if ignore_merges {
        if let Some(id) = vocab.id(word) {
            out.push(id);
            return;
        }
    }
    let mut symbols: Vec<Symbol> = Vec::with_capacity(word.len());
    for (start, c) in word.char_indices() {
        let index = symbols.len();
        let len = c.len_utf8();
        symbols.push(Symbol {
            start,
            len,
            prev: index.checked_sub(1),
            next: (start + len < word.len()).then_some(index + 1),
            piece: merges.piece_id(vocab, &word[start..start + len]),
        });
    }
    let text = |s: &Symbol| &word[s.start..s.start + s.len];
    // Min-heap on (rank, left index); entries carry the merged length to detect staleness.
    let mut queue: BinaryHeap<Reverse<(u32, usize, usize, usize)>> = BinaryHeap::new();
    let push_pair = |queue: &mut BinaryHeap<_>, symbols: &[Symbol], left: Option<usize>| {
        let Some(l) = left else { return };
        let Some(r) = symbols[l].next else { return };
        if let Some(rank) = merges.rank(symbols[l].piece, symbols[r].piece) {
            queue.push(Reverse((rank, l, r, symbols[l].len + symbols[r].len)));
        }
    };
    for i in 0..symbols.len() {
        push_pair(&mut queue, &symbols, Some(i));
    }
    while let Some(Reverse((_, l, r, size))) = queue.pop() {
        let (left, right) = (symbols[l], symbols[r]);
        if left.len == 0 || right.len == 0 || left.len + right.len != size {
            continue;
        }
        symbols[l].len += right.len;
        symbols[l].next = right.next;
        symbols[l].piece = merges.piece_id(vocab, &word[left.start..left.start + size]);
        symbols[r].len = 0;
        if let Some(n) = right.next {
            symbols[n].prev = Some(l);
        }
        push_pair(&mut queue, &symbols, left.prev);
        push_pair(&mut queue, &symbols, Some(l));
    }
    let mut cursor = (!symbols.is_empty()).then_some(0);
    while let Some(i) = cursor {
        let piece = text(&symbols[i]);
        match symbols[i].piece.filter(|&id| (id as usize) < vocab.len()) {
            Some(id) => out.push(id),
            None => {
                // Only single ASCII bytes can be tokens on their own here.
                for b in piece.bytes().filter(u8::is_ascii) {
                    if let Some(id) = vocab.id(char::from(b).encode_utf8(&mut [0; 4])) {
                        out.push(id);
                    }
                }
            }
        }
        cursor = symbols[i].next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_is_gpt2s() {
        let t = byte_chars();
        assert_eq!(t[b'a' as usize], 'a');
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[b'\n' as usize], 'Ċ');
        assert_eq!(t[0], 'Ā');
        let inv = char_bytes();
        for (b, c) in t.iter().enumerate() {
            assert_eq!(inv[*c as usize], Some(b as u8));
        }
    }
}
