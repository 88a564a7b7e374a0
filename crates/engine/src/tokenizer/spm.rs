//! SentencePiece-style tokenization (`tokenizer.ggml.model = "llama"`), as llama.cpp does it.
//!
//! The text (spaces already replaced by `▁`) starts as one symbol per character. Repeatedly,
//! the adjacent pair whose concatenation is a vocabulary token with the highest score (leftmost
//! on ties) is merged. Each final symbol is its token, or, if it is not in the vocabulary, its
//! UTF-8 bytes as `<0xNN>` byte tokens. This reproduces SentencePiece BPE models (Llama-2,
//! Gemma, Mistral) exactly as llama.cpp tokenizes them; it is not a Unigram/Viterbi search.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::vocab::Vocab;

#[derive(Debug, Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A candidate merge: higher score first, then the leftmost.
#[derive(Debug, Clone, Copy)]
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    fn cmp(&self, other: &Self) -> Ordering {
        // Scores compare like C++ `<` (so -0.0 == 0.0); NaN scores count as equal.
        self.score
            .partial_cmp(&other.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| other.left.cmp(&self.left))
    }
}

/// Tokenizes one escaped text fragment and appends the ids.
pub(crate) fn encode(text: &str, vocab: &Vocab, out: &mut Vec<u32>) {
    let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
    for (start, c) in text.char_indices() {
        let index = symbols.len();
        symbols.push(Symbol {
            start,
            len: c.len_utf8(),
            prev: index.checked_sub(1),
            next: (start + c.len_utf8() < text.len()).then_some(index + 1),
        });
    }
    let mut queue = BinaryHeap::new();
    let push_pair = |queue: &mut BinaryHeap<Bigram>, symbols: &[Symbol], left: Option<usize>| {
        let Some(l) = left else { return };
        let Some(r) = symbols[l].next else { return };
        let (start, size) = (symbols[l].start, symbols[l].len + symbols[r].len);
        if let Some(id) = vocab.id(&text[start..start + size]) {
            queue.push(Bigram {
                score: vocab.score(id),
                left: l,
                right: r,
                size,
            });
        }
    };
    for i in 0..symbols.len() {
        push_pair(&mut queue, &symbols, Some(i));
    }
    while let Some(bigram) = queue.pop() {
        let (left, right) = (symbols[bigram.left], symbols[bigram.right]);
        if left.len == 0 || right.len == 0 || left.len + right.len != bigram.size {
            continue;
        }
        symbols[bigram.left].len += right.len;
        symbols[bigram.left].next = right.next;
        symbols[bigram.right].len = 0;
        if let Some(n) = right.next {
            symbols[n].prev = Some(bigram.left);
        }
        push_pair(&mut queue, &symbols, left.prev);
        push_pair(&mut queue, &symbols, Some(bigram.left));
    }
    let mut cursor = (!symbols.is_empty()).then_some(0);
    while let Some(i) = cursor {
        let s = symbols[i];
        let piece = &text[s.start..s.start + s.len];
        match vocab.id(piece) {
            Some(id) => out.push(id),
            None => out.extend(piece.bytes().filter_map(|b| vocab.byte_token(b))),
        }
        cursor = s.next;
    }
}
