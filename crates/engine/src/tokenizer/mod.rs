//! The tokenizer of a GGUF model, built from its `tokenizer.ggml.*` metadata alone.
//!
//! It reproduces llama.cpp's tokenizer (the one Ollama and LocalStack's Bedrock run), id for id:
//! - `tokenizer.ggml.model = "gpt2"`: byte-level BPE. Text is split into words by the rules
//!   `tokenizer.ggml.pre` names ([`pretokenize`]), each word's bytes are mapped to GPT-2's
//!   stand-in characters and merged by `tokenizer.ggml.merges` rank ([`bpe`]).
//! - `tokenizer.ggml.model = "llama"`: SentencePiece-style merging by token score with `<0xNN>`
//!   byte fallback, spaces written as `▁`, a leading space when `add_space_prefix` ([`spm`]).
//!
//! In both, control, user-defined and unknown tokens written in the input are parsed as those
//! tokens first ([`special`]), as llama.cpp does by default. The fidelity test
//! (`tests/tokenizer_fidelity.rs`) checks a few hundred strings against llama.cpp's own output.
//! The `tokenizers` crate is not used here: its BPE and added-token rules differ from
//! llama.cpp's in exactly the corners that test covers (score-ordered merges, special-token
//! precedence, hand-written splitters).

mod bpe;
mod fastmap;
mod meta;
mod pretokenize;
mod special;
mod spm;
mod unicode;
mod vocab;

use std::sync::Arc;

use candle_core::quantized::gguf_file::Content;

use self::bpe::Merges;
use self::meta::Meta;
use self::pretokenize::PreTokenizer;
use self::special::{Fragment, SpecialMatcher};
use self::vocab::{Attr, Kind, Vocab};
use crate::{EngineError, Result};

/// A model's tokenizer. Cheap to clone (the tables are shared).
#[derive(Debug, Clone)]
pub struct GgufTokenizer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    vocab: Vocab,
    special: SpecialMatcher,
    algo: Algo,
}

#[derive(Debug)]
enum Algo {
    Spm,
    Bpe(Box<Bpe>),
}

/// What byte-level BPE needs besides the vocabulary.
#[derive(Debug)]
struct Bpe {
    pre: PreTokenizer,
    merges: Merges,
    byte_chars: [char; 256],
    char_bytes: Vec<Option<u8>>,
}

impl GgufTokenizer {
    /// Builds the tokenizer from GGUF metadata. Fails on a missing or mistyped
    /// `tokenizer.ggml.*` key, or a tokenizer model / pre-tokenizer we do not implement.
    pub fn from_gguf(content: &Content) -> Result<Self> {
        let meta = Meta(&content.metadata);
        let model = meta
            .str("tokenizer.ggml.model")?
            .ok_or_else(|| EngineError::Gguf("missing metadata key tokenizer.ggml.model".into()))?;
        let (algo, vocab) = match model {
            "llama" => (Algo::Spm, Vocab::from_gguf(content, Kind::Spm, true)?),
            "gpt2" => {
                let pre_name = meta.str("tokenizer.ggml.pre")?.unwrap_or("default");
                let pre = PreTokenizer::for_name(pre_name)?;
                let vocab = Vocab::from_gguf(content, Kind::Bpe, pre.add_bos)?;
                let lines = meta.array("tokenizer.ggml.merges")?.ok_or_else(|| {
                    EngineError::Gguf("missing metadata key tokenizer.ggml.merges".into())
                })?;
                let merges = Merges::from_gguf(lines, &vocab);
                let algo = Algo::Bpe(Box::new(Bpe {
                    pre,
                    merges,
                    byte_chars: bpe::byte_chars(),
                    char_bytes: bpe::char_bytes(),
                }));
                (algo, vocab)
            }
            other => {
                return Err(EngineError::Tokenizer(format!(
                    "unsupported tokenizer model {other:?} (tokenizer.ggml.model)"
                )))
            }
        };
        let special = SpecialMatcher::new(&vocab)?;
        tracing::debug!(
            model,
            vocab = vocab.len(),
            specials = vocab.parse_as_special.len(),
            add_bos = vocab.add_bos,
            "tokenizer loaded from gguf"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                vocab,
                special,
                algo,
            }),
        })
    }

    /// Token ids of `text`. Special tokens written in the text (`<|im_start|>`, `<bos>`...)
    /// become those tokens. With `add_bos`, BOS is prepended if the model asks for it
    /// (`tokenizer.ggml.add_bos_token`, else the tokenizer family's default: yes for
    /// SentencePiece and Llama-3, no for other BPE vocabularies), and EOS appended if the
    /// model asks for that (`add_eos_token`): llama.cpp's `add_special`.
    pub fn encode(&self, text: &str, add_bos: bool) -> Result<Vec<u32>> {
        let Inner {
            vocab,
            special,
            algo,
        } = &*self.inner;
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if add_bos && vocab.add_bos {
            let bos = vocab.specials.bos.ok_or_else(|| {
                EngineError::Tokenizer("the model asks for BOS but has no BOS token".into())
            })?;
            out.push(bos);
        }
        let fragments = special.split(text, vocab);
        match algo {
            Algo::Spm => {
                let mut after_special = true;
                for fragment in fragments {
                    match fragment {
                        Fragment::Text(t) => {
                            let mut escaped = String::with_capacity(t.len() + 4);
                            if vocab.add_space_prefix && after_special {
                                escaped.push('▁');
                            }
                            for c in t.chars() {
                                escaped.push(if c == ' ' { '▁' } else { c });
                            }
                            spm::encode(&escaped, vocab, &mut out);
                            after_special = false;
                        }
                        Fragment::Token(id) => {
                            out.push(id);
                            after_special = true;
                        }
                    }
                }
            }
            Algo::Bpe(state) => {
                let Bpe {
                    pre,
                    merges,
                    byte_chars,
                    ..
                } = &**state;
                let mut word = String::new();
                for fragment in fragments {
                    match fragment {
                        Fragment::Text(t) => {
                            for (start, end) in pre.split(t) {
                                word.clear();
                                word.extend(
                                    t[start..end].bytes().map(|b| byte_chars[usize::from(b)]),
                                );
                                bpe::encode_word(&word, vocab, merges, pre.ignore_merges, &mut out);
                            }
                        }
                        Fragment::Token(id) => out.push(id),
                    }
                }
            }
        }
        if add_bos && vocab.add_eos {
            if let Some(eos) = vocab.specials.eos {
                out.push(eos);
            }
        }
        Ok(out)
    }

    /// The text of `ids`, as llama.cpp detokenizes it: control and unknown tokens (BOS, EOS,
    /// `<|im_end|>`...) are not rendered, user-defined tokens are; byte tokens are reassembled
    /// (an incomplete UTF-8 sequence at the end becomes U+FFFD, so streaming callers can hold
    /// it back); `▁` becomes a space, and with `add_space_prefix` the leading space of the first
    /// token (after a leading BOS) is dropped, so `decode(encode(s, true)) == s` for text
    /// without special tokens. (llama.cpp keeps that space when BOS comes first.)
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.detokenize(ids, false)
    }

    /// Like [`decode`](Self::decode), but control tokens are written out as their text
    /// (`<|im_start|>`). For vocabularies that neither add a space prefix nor clean spaces
    /// (Qwen2, Gemma 3) this gives back exactly the text that was encoded, except that
    /// SentencePiece turns a literal `▁` into a space.
    pub fn decode_with_specials(&self, ids: &[u32]) -> Result<String> {
        self.detokenize(ids, true)
    }

    fn detokenize(&self, ids: &[u32], specials: bool) -> Result<String> {
        let vocab = &self.inner.vocab;
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        let first_text = usize::from(
            ids.first()
                .is_some_and(|&id| Some(id) == vocab.specials.bos),
        );
        for (i, &id) in ids.iter().enumerate() {
            let start = bytes.len();
            self.piece(id, specials, &mut bytes)?;
            if i == first_text && vocab.add_space_prefix && bytes.get(start) == Some(&b' ') {
                bytes.remove(start);
            }
        }
        if let Algo::Bpe(state) = &self.inner.algo {
            if state.pre.clean_spaces {
                bytes = clean_spaces(&bytes);
            }
        }
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// The bytes one token stands for in decoded text: a normal token's text (`▁` as a space,
    /// byte-level characters as their bytes), a byte token's byte, a user-defined token's
    /// text; nothing for control and unknown tokens or ids past the vocabulary. Decoding a
    /// sequence concatenates these (apart from the leading-space and clean-up rules of
    /// [`decode`](Self::decode)).
    pub fn token_bytes(&self, id: u32) -> Vec<u8> {
        let mut out = Vec::new();
        if self.piece(id, false, &mut out).is_err() {
            out.clear();
        }
        out
    }

    /// Appends the bytes one token stands for.
    fn piece(&self, id: u32, specials: bool, out: &mut Vec<u8>) -> Result<()> {
        let vocab = &self.inner.vocab;
        let text = vocab
            .text(id)
            .ok_or_else(|| EngineError::Tokenizer(format!("token id {id} is out of range")))?;
        let attr = vocab.attr(id);
        if attr.has(Attr::HIDDEN) {
            if specials {
                out.extend_from_slice(text.as_bytes());
            }
        } else if attr.has(Attr::USER_DEFINED) {
            out.extend_from_slice(text.as_bytes());
        } else if attr.has(Attr::NORMAL) {
            match &self.inner.algo {
                Algo::Spm => out.extend_from_slice(text.replace('▁', " ").as_bytes()),
                Algo::Bpe(state) => {
                    for c in text.chars() {
                        match state.char_bytes.get(c as usize).copied().flatten() {
                            Some(b) => out.push(b),
                            None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                        }
                    }
                }
            }
        } else if attr.has(Attr::BYTE) {
            if let Some(b) = text
                .strip_prefix("<0x")
                .and_then(|h| h.strip_suffix('>'))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
            }
        }
        Ok(())
    }

    /// End-of-generation ids: EOS, end-of-turn, end-of-message and the tokens llama.cpp stops
    /// on by their text (`<|im_end|>`, `<|endoftext|>`, `<end_of_turn>`, `<|eot_id|>`,
    /// `<|eom_id|>`, `</s>`, and FIM pad/repo/file-separator tokens). Sorted.
    pub fn eog_ids(&self) -> Vec<u32> {
        self.inner.vocab.eog.iter().copied().collect()
    }

    /// Whether `id` ends generation.
    pub fn is_eog(&self, id: u32) -> bool {
        self.inner.vocab.eog.contains(&id)
    }

    /// The BOS token's text (`<bos>`, `<|endoftext|>`...), for chat templates.
    pub fn bos_token(&self) -> Option<String> {
        self.token_text(self.inner.vocab.specials.bos?)
            .map(str::to_owned)
    }

    /// The EOS token's text, for chat templates.
    pub fn eos_token(&self) -> Option<String> {
        self.token_text(self.inner.vocab.specials.eos?)
            .map(str::to_owned)
    }

    /// The BOS id, if the model has one.
    pub fn bos_id(&self) -> Option<u32> {
        self.inner.vocab.specials.bos
    }

    /// The EOS id, if the model has one.
    pub fn eos_id(&self) -> Option<u32> {
        self.inner.vocab.specials.eos
    }

    /// Whether `encode(_, true)` prepends BOS (so a chat template must not write it too).
    pub fn adds_bos(&self) -> bool {
        self.inner.vocab.add_bos && self.inner.vocab.specials.bos.is_some()
    }

    /// The raw vocabulary text of a token (`Ġthe`, `▁the`, `<0x0A>`...).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.inner.vocab.text(id)
    }

    /// The id of a vocabulary text, if it is a token.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.inner.vocab.id(text)
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.inner.vocab.len()
    }
}

/// GPT-2-style decoding cleanup (llama.cpp's `clean_spaces`): no space before `?!.,`, none
/// around a lone apostrophe, none before `'s`, `'m`, `'re`, `'ve`.
fn clean_spaces(input: &[u8]) -> Vec<u8> {
    if input.is_empty() {
        return Vec::new();
    }
    // 1. " ?", " !", " .", " ,"
    let mut a = vec![input[0]];
    for i in 1..input.len() {
        if input[i - 1] == b' ' && matches!(input[i], b'?' | b'!' | b'.' | b',') {
            a.pop();
        }
        a.push(input[i]);
    }
    // 2. " ' " -> "'"
    let mut b = vec![a[0]];
    let mut seen = a.clone();
    let mut i = 1;
    while i < seen.len() {
        let x = seen[i];
        if x == b'\'' && i + 1 < seen.len() && seen[i - 1] == b' ' && seen[i + 1] == b' ' {
            b.pop();
            seen[i + 1] = 0;
            b.push(x);
            i += 2;
            continue;
        }
        b.push(x);
        i += 1;
    }
    // 3. " 's", " 'm", " 're", " 've"
    let mut c = vec![b[0]];
    for i in 1..b.len() {
        let x = b[i];
        if b[i - 1] == b' ' && x == b'\'' && i + 1 < b.len() {
            let x1 = b[i + 1];
            let x2 = b.get(i + 2).copied();
            let joins = matches!(x1, b's' | b'm')
                || (i + 2 < b.len() && matches!((x1, x2), (b'r', Some(b'e')) | (b'v', Some(b'e'))));
            if joins {
                c.pop();
            }
        }
        c.push(x);
    }
    c
}

#[cfg(test)]
mod tests;
