//! The vocabulary read from GGUF metadata: token texts, scores, attributes, special ids and
//! the flags that steer encoding, with llama.cpp's defaults and fix-ups.
//!
//! llama.cpp does more than read `tokenizer.ggml.*`: it defaults BOS/EOS per tokenizer model,
//! finds end-of-turn and fill-in-the-middle tokens by their text and marks them as control
//! tokens (so `</s>` in Qwen's vocabulary is parsed as a special token although the file says it
//! is normal), and collects the end-of-generation set. This module does the same, so the ids we
//! produce and the tokens we stop on match llama.cpp's.

use std::collections::BTreeSet;
use std::sync::Arc;

use candle_core::quantized::gguf_file::{Content, Value};

use super::fastmap::FastMap;
use super::meta::{float_of, int_of, Meta};
use crate::{EngineError, Result};

/// Token attributes (llama.cpp's `llama_token_attr` bits that tokenization uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Attr(u16);

impl Attr {
    pub const UNKNOWN: Attr = Attr(1);
    pub const UNUSED: Attr = Attr(1 << 1);
    pub const NORMAL: Attr = Attr(1 << 2);
    pub const CONTROL: Attr = Attr(1 << 3);
    pub const USER_DEFINED: Attr = Attr(1 << 4);
    pub const BYTE: Attr = Attr(1 << 5);
    pub const LSTRIP: Attr = Attr(1 << 7);
    pub const RSTRIP: Attr = Attr(1 << 8);
    /// What decoding hides unless asked to render specials: control and unknown tokens.
    pub const HIDDEN: Attr = Attr(Attr::CONTROL.0 | Attr::UNKNOWN.0);

    /// Whether any bit of `other` is set.
    pub fn has(self, other: Attr) -> bool {
        self.0 & other.0 != 0
    }
    fn set(&mut self, other: Attr, on: bool) {
        if on {
            self.0 |= other.0;
        } else {
            self.0 &= !other.0;
        }
    }
    /// From a GGUF `tokenizer.ggml.token_type` value.
    fn from_token_type(t: i64) -> Attr {
        match t {
            1 => Attr::NORMAL,
            2 => Attr::UNKNOWN,
            3 => Attr::CONTROL,
            4 => Attr::USER_DEFINED,
            5 => Attr::UNUSED,
            6 => Attr::BYTE,
            _ => Attr(0),
        }
    }
}

/// Which algorithm the vocabulary uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `llama`: SentencePiece-style score merging with byte fallback.
    Spm,
    /// `gpt2`: byte-level BPE with merges and a pre-tokenizer.
    Bpe,
}

/// Ids of the special tokens the engine cares about.
#[derive(Debug, Clone, Default)]
pub(crate) struct Specials {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub eom: Option<u32>,
    pub unk: Option<u32>,
    pub fim_pre: Option<u32>,
    pub fim_suf: Option<u32>,
    pub fim_mid: Option<u32>,
    pub fim_pad: Option<u32>,
    pub fim_rep: Option<u32>,
    pub fim_sep: Option<u32>,
}

/// The vocabulary and its switches.
#[derive(Debug, Clone)]
pub(crate) struct Vocab {
    pub kind: Kind,
    texts: Vec<Arc<str>>,
    ids: FastMap<Arc<str>, u32>,
    scores: Vec<f32>,
    attrs: Vec<Attr>,
    byte_tokens: [Option<u32>; 256],
    pub specials: Specials,
    pub add_bos: bool,
    pub add_eos: bool,
    pub add_space_prefix: bool,
    /// End-of-generation ids, as llama.cpp collects them.
    pub eog: BTreeSet<u32>,
    /// Tokens matched as whole tokens in input text (control, user-defined, unknown), longest
    /// first (ties by id).
    pub parse_as_special: Vec<u32>,
}

/// Texts by which llama.cpp recognises an end-of-turn token when the GGUF does not name one.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
/// Texts of tokens that end generation.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];
const FIM_PRE: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP: &[&str] = &["<|file_sep|>"];

/// Picks one field of [`Specials`].
type Slot = fn(&mut Specials) -> &mut Option<u32>;

impl Vocab {
    /// Reads the vocabulary. `kind`, the family defaults for BOS and the model name (for
    /// per-model attribute fix-ups) come from the caller.
    pub(crate) fn from_gguf(content: &Content, kind: Kind, family_add_bos: bool) -> Result<Self> {
        let meta = Meta(&content.metadata);
        let tokens = meta.array("tokenizer.ggml.tokens")?.ok_or_else(|| {
            EngineError::Gguf("missing metadata key tokenizer.ggml.tokens".into())
        })?;
        let scores = meta.array("tokenizer.ggml.scores")?;
        let types = meta.array("tokenizer.ggml.token_type")?;
        let n = tokens.len();
        let mut texts = Vec::with_capacity(n);
        let mut ids = FastMap::with_capacity_and_hasher(n, Default::default());
        let mut attrs = Vec::with_capacity(n);
        let mut score_list = Vec::with_capacity(n);
        for (i, token) in tokens.iter().enumerate() {
            let id =
                u32::try_from(i).map_err(|_| EngineError::Gguf("vocabulary too large".into()))?;
            let text: Arc<str> = match token {
                Value::String(s) if !s.is_empty() => Arc::from(s.as_str()),
                Value::String(_) => Arc::from(format!("[EMPTY_{i}]")),
                _ => return Err(Meta::wrong("tokenizer.ggml.tokens", "an array of strings")),
            };
            ids.insert(text.clone(), id);
            texts.push(text);
            score_list.push(
                scores
                    .and_then(|s| s.get(i))
                    .and_then(float_of)
                    .unwrap_or(0.0),
            );
            attrs.push(
                types
                    .and_then(|t| t.get(i))
                    .and_then(int_of)
                    .map_or(Attr::NORMAL, Attr::from_token_type),
            );
        }
        let mut vocab = Vocab {
            kind,
            texts,
            ids,
            scores: score_list,
            attrs,
            byte_tokens: [None; 256],
            specials: Specials::default(),
            add_bos: family_add_bos,
            add_eos: false,
            add_space_prefix: kind == Kind::Spm,
            eog: BTreeSet::new(),
            parse_as_special: Vec::new(),
        };
        vocab.read_flags(&meta)?;
        vocab.read_specials(&meta)?;
        vocab.find_specials_by_text();
        vocab.fill_byte_tokens();
        vocab.collect_parse_as_special();
        vocab.model_fixups(meta.str("general.name")?.unwrap_or_default());
        Ok(vocab)
    }

    fn read_flags(&mut self, meta: &Meta<'_>) -> Result<()> {
        if let Some(v) = meta.bool("tokenizer.ggml.add_space_prefix")? {
            self.add_space_prefix = v;
        }
        if let Some(v) = meta.bool("tokenizer.ggml.add_bos_token")? {
            self.add_bos = v;
        }
        if let Some(v) = meta.bool("tokenizer.ggml.add_eos_token")? {
            self.add_eos = v;
        }
        Ok(())
    }

    fn read_specials(&mut self, meta: &Meta<'_>) -> Result<()> {
        let n = self.len();
        let in_range = |id: u32| (id as usize) < n;
        let (bos, eos, unk) = match self.kind {
            Kind::Spm => (Some(1), Some(2), Some(0)),
            Kind::Bpe => (Some(11), Some(11), None),
        };
        let s = &mut self.specials;
        s.bos = bos.filter(|&i| in_range(i));
        s.eos = eos.filter(|&i| in_range(i));
        s.unk = unk.filter(|&i| in_range(i));
        let keys: [(&str, Slot); 14] = [
            ("tokenizer.ggml.bos_token_id", |s| &mut s.bos),
            ("tokenizer.ggml.eos_token_id", |s| &mut s.eos),
            ("tokenizer.ggml.eot_token_id", |s| &mut s.eot),
            ("tokenizer.ggml.eom_token_id", |s| &mut s.eom),
            ("tokenizer.ggml.unknown_token_id", |s| &mut s.unk),
            ("tokenizer.ggml.fim_pre_token_id", |s| &mut s.fim_pre),
            ("tokenizer.ggml.fim_suf_token_id", |s| &mut s.fim_suf),
            ("tokenizer.ggml.fim_mid_token_id", |s| &mut s.fim_mid),
            ("tokenizer.ggml.fim_pad_token_id", |s| &mut s.fim_pad),
            ("tokenizer.ggml.fim_rep_token_id", |s| &mut s.fim_rep),
            ("tokenizer.ggml.fim_sep_token_id", |s| &mut s.fim_sep),
            // Older names of the first three FIM keys.
            ("tokenizer.ggml.prefix_token_id", |s| &mut s.fim_pre),
            ("tokenizer.ggml.suffix_token_id", |s| &mut s.fim_suf),
            ("tokenizer.ggml.middle_token_id", |s| &mut s.fim_mid),
        ];
        for (key, slot) in keys {
            match meta.u32(key)? {
                Some(id) if in_range(id) => *slot(s) = Some(id),
                Some(id) => tracing::warn!(key, id, "special token id out of range, ignored"),
                None => {}
            }
        }
        Ok(())
    }

    /// llama.cpp's text-based detection of end-of-turn, FIM and end-of-generation tokens.
    fn find_specials_by_text(&mut self) {
        let find = |texts: &[&str], vocab: &Vocab| -> Option<u32> {
            (0..vocab.len()).find_map(|i| {
                let id = u32::try_from(i).ok()?;
                texts.contains(&&*vocab.texts[i]).then_some(id)
            })
        };
        let mut control = Vec::new();
        let slots: [(Slot, &[&str]); 8] = [
            (|s| &mut s.eot, EOT_TEXTS),
            (|s| &mut s.eom, &["<|eom_id|>"]),
            (|s| &mut s.fim_pre, FIM_PRE),
            (|s| &mut s.fim_suf, FIM_SUF),
            (|s| &mut s.fim_mid, FIM_MID),
            (|s| &mut s.fim_pad, FIM_PAD),
            (|s| &mut s.fim_rep, FIM_REP),
            (|s| &mut s.fim_sep, FIM_SEP),
        ];
        for (slot, texts) in slots {
            if slot(&mut self.specials).is_none() {
                if let Some(id) = find(texts, self) {
                    *slot(&mut self.specials) = Some(id);
                    control.push(id);
                }
            }
        }
        let s = &self.specials;
        let mut eog: BTreeSet<u32> = [s.fim_pad, s.fim_rep, s.fim_sep]
            .into_iter()
            .flatten()
            .collect();
        for (i, text) in self.texts.iter().enumerate() {
            if EOG_TEXTS.contains(&&**text) {
                if let Ok(id) = u32::try_from(i) {
                    eog.insert(id);
                    control.push(id);
                }
            }
        }
        eog.extend([s.eos, s.eot, s.eom].into_iter().flatten());
        for id in control {
            self.attrs[id as usize].set(Attr::CONTROL, true);
        }
        // gpt-oss: these structural tokens are always rendered.
        for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let Some(id) = self.id(text) {
                self.attrs[id as usize] = Attr::USER_DEFINED;
            }
        }
        let has = |t: &str| self.id(t).is_some_and(|id| eog.contains(&id));
        let harmony =
            (has("<|return|>") && has("<|call|>")) || (has("<|calls|>") && has("<|flush|>"));
        let other_turn_end = has("<|tool_response>") || has("<|plamo:eos|>");
        // Harmony-style vocabularies: <|end|> separates messages, it does not end generation.
        if harmony {
            if let Some(end) = self.id("<|end|>").filter(|id| eog.contains(id)) {
                eog.remove(&end);
                self.attrs[end as usize] = Attr::USER_DEFINED;
            }
        }
        // Where another token ends turns, </s> is an ordinary token.
        if other_turn_end {
            if let Some(s_id) = self.id("</s>").filter(|id| eog.contains(id)) {
                eog.remove(&s_id);
                self.attrs[s_id as usize] = Attr::NORMAL;
            }
        }
        self.eog = eog;
    }

    fn fill_byte_tokens(&mut self) {
        for b in 0..=255u8 {
            self.byte_tokens[usize::from(b)] = match self.kind {
                Kind::Spm => self.id(&format!("<0x{b:02X}>")).or_else(|| {
                    b.is_ascii()
                        .then(|| self.id(&char::from(b).to_string()))
                        .flatten()
                }),
                Kind::Bpe => None,
            };
        }
    }

    fn collect_parse_as_special(&mut self) {
        let special = Attr(Attr::CONTROL.0 | Attr::USER_DEFINED.0 | Attr::UNKNOWN.0);
        let mut list: Vec<u32> = (0..self.len())
            .filter(|&i| self.attrs[i].has(special))
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        list.sort_by_key(|&id| (std::cmp::Reverse(self.texts[id as usize].len()), id));
        self.parse_as_special = list;
    }

    /// Per-model attribute fix-ups llama.cpp applies by model name (Phi-3 strips the white
    /// space that follows its special tokens).
    fn model_fixups(&mut self, name: &str) {
        let name = name.to_lowercase();
        if name.contains("phi-3") || name.contains("phi3") {
            for &id in &self.parse_as_special {
                self.attrs[id as usize].set(Attr::RSTRIP, true);
            }
            for (text, on) in [
                ("</s>", true),
                ("<unk>", false),
                ("<s>", false),
                ("<|endoftext|>", false),
            ] {
                if let Some(id) = self.id(text) {
                    self.attrs[id as usize].set(Attr::RSTRIP, on);
                }
            }
        }
    }

    /// Number of tokens.
    pub(crate) fn len(&self) -> usize {
        self.texts.len()
    }
    /// The id of a token text.
    pub(crate) fn id(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }
    /// The text of a token.
    pub(crate) fn text(&self, id: u32) -> Option<&str> {
        self.texts.get(id as usize).map(|t| &**t)
    }
    /// The score of a token (0 when out of range).
    pub(crate) fn score(&self, id: u32) -> f32 {
        self.scores.get(id as usize).copied().unwrap_or(0.0)
    }
    /// The attributes of a token.
    pub(crate) fn attr(&self, id: u32) -> Attr {
        self.attrs.get(id as usize).copied().unwrap_or_default()
    }
    /// The token for a raw byte (`<0xNN>`), SentencePiece vocabularies only.
    pub(crate) fn byte_token(&self, b: u8) -> Option<u32> {
        self.byte_tokens[usize::from(b)]
    }
}
