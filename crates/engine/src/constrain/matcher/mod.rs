//! The schema-guided JSON prefix automaton: fed bytes one at a time, it says whether they can
//! still be the start of a JSON value valid for a [`Schema`] node, followed by optional
//! whitespace and a fixed trailer (`</tool_call>`).
//!
//! It is a pushdown automaton: a stack of frames, one per value being written (object,
//! array, key, string, number, literal), with the trailer at the bottom. Alternatives
//! (`anyOf`, type lists, the union of every tool's call envelope) are followed in parallel:
//! the matcher holds a set of stacks (usually one) and drops those a byte kills, so
//! ambiguity is resolved by the output itself. Every rule is checked as soon as a byte could
//! break it (a key no property starts with, a closing brace before a required property, a
//! digit past the length cap), so the matcher never accepts a prefix it cannot complete:
//! decoding that follows it cannot dead-end, except on schemas no value satisfies.
//!
//! Limits that keep a model from running away: at most [`MAX_WHITESPACE`] whitespace bytes
//! (one line break) in a row outside strings, [`MAX_DEPTH`] nested containers, numbers capped in length, free
//! keys at [`MAX_KEY_BYTES`] bytes.

mod stack;
mod values;

use self::stack::{Ctx, Frame, Stack, Step};
use super::schema::{NodeId, Schema};

/// Parallel parses kept at most (more are dropped, which only narrows what is accepted).
pub const MAX_STACKS: usize = 256;
/// Whitespace bytes allowed in a row between JSON tokens (of which at most one line break:
/// enough for pretty-printed JSON, not for a model stuck on blank lines).
pub const MAX_WHITESPACE: u8 = 16;
/// Whitespace bytes allowed after the value (a line break before the trailer; a model that
/// does not want to write the trailer must not pad with spaces instead).
pub const MAX_TRAILING_WHITESPACE: u8 = 2;
/// Objects and arrays nested at most this deep.
pub const MAX_DEPTH: usize = 32;
/// Longest key not declared by the schema, in bytes.
pub const MAX_KEY_BYTES: u32 = 128;

/// What feeding bytes did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// A byte broke the grammar (the matcher is unusable afterwards: check with
    /// [`Matcher::accepts`] first).
    Rejected,
    /// All bytes fit; more must come.
    Accepted,
    /// The trailer was completed after this many bytes; the rest were not read.
    Done(usize),
}

/// A JSON prefix matcher for one schema node (see the module docs). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Matcher<'a> {
    schema: &'a Schema,
    trailer: &'a [u8],
    stacks: Vec<Stack>,
    done: bool,
}

impl<'a> Matcher<'a> {
    /// A matcher for one value of `root`, then whitespace and `trailer` (empty: just the value).
    pub fn new(schema: &'a Schema, root: NodeId, trailer: &'a [u8]) -> Self {
        Self {
            schema,
            trailer,
            stacks: vec![Stack {
                frames: vec![Frame::End { pos: 0 }, Frame::Value(root)],
                ws: 0,
                newline: false,
            }],
            done: false,
        }
    }

    /// Feeds bytes. After [`Feed::Rejected`] the matcher must not be used again.
    pub fn feed(&mut self, bytes: &[u8]) -> Feed {
        for (i, &b) in bytes.iter().enumerate() {
            if self.done {
                return Feed::Done(i);
            }
            if !self.feed_byte(b) {
                return Feed::Rejected;
            }
        }
        if self.done {
            Feed::Done(bytes.len())
        } else {
            Feed::Accepted
        }
    }

    /// Whether `bytes` (non-empty) can come next, without changing the matcher.
    pub fn accepts(&self, bytes: &[u8]) -> bool {
        if bytes.is_empty() || self.done {
            return false;
        }
        let mut probe = self.clone();
        probe.feed(bytes) != Feed::Rejected
    }

    /// Every byte that can come next (for scanning a vocabulary by first byte).
    pub fn next_bytes(&self) -> [bool; 256] {
        let mut out = [false; 256];
        for (b, slot) in out.iter_mut().enumerate() {
            *slot = self.accepts(&[b as u8]);
        }
        out
    }

    /// Whether the trailer has been matched.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Whether the value is complete here (what is left is at most whitespace and the
    /// trailer).
    pub fn can_end(&self) -> bool {
        let cx = self.ctx();
        self.done || self.stacks.iter().any(|s| s.can_end(cx))
    }

    fn ctx(&self) -> Ctx<'a> {
        Ctx {
            schema: self.schema,
            trailer: self.trailer,
        }
    }

    fn feed_byte(&mut self, b: u8) -> bool {
        let cx = self.ctx();
        if let [only] = self.stacks.as_mut_slice() {
            return match only.step(cx, b) {
                Step::Ok => true,
                Step::Done => {
                    self.done = true;
                    true
                }
                Step::Reject => {
                    self.stacks.clear();
                    false
                }
                Step::Fork(stacks) => {
                    self.stacks = normalize(stacks);
                    true
                }
            };
        }
        let mut next = Vec::with_capacity(self.stacks.len());
        for mut stack in std::mem::take(&mut self.stacks) {
            match stack.step(cx, b) {
                Step::Ok => next.push(stack),
                Step::Fork(more) => next.extend(more),
                Step::Done => self.done = true,
                Step::Reject => {}
            }
        }
        self.stacks = normalize(next);
        self.done || !self.stacks.is_empty()
    }
}

fn normalize(mut stacks: Vec<Stack>) -> Vec<Stack> {
    let mut i = 1;
    while i < stacks.len() {
        if stacks[..i].contains(&stacks[i]) {
            stacks.remove(i);
        } else {
            i += 1;
        }
    }
    stacks.truncate(MAX_STACKS);
    stacks
}
