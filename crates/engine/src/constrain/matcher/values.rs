//! The value-level moves of a parse: starting a value of a schema node (alternatives fork
//! here), reading a key against an object's declared properties, and checking for an end.

use super::stack::{ArrState, Ctx, Frame, ObjState, Stack, Step};
use super::{MAX_DEPTH, MAX_KEY_BYTES};
use crate::constrain::lex::{self, Esc, Lex, NumState};
use crate::constrain::schema::{
    Node, NodeId, ObjectShape, ANY_ARRAY, ANY_NUMBER, ANY_OBJECT, ANY_STRING, BOOLEAN, NULL,
};

impl Stack {
    /// The first byte of a value of `node` (the top frame is `Value(node)`). `hops` counts
    /// alternatives entered without reading a byte, so a union that contains itself stops.
    pub(super) fn value_start(&mut self, cx: Ctx<'_>, node: NodeId, b: u8, hops: u8) -> Step {
        if hops > 8 {
            return Step::Reject;
        }
        match cx.schema.node(node) {
            Node::Any => {
                let next = match b {
                    b'{' => ANY_OBJECT,
                    b'[' => ANY_ARRAY,
                    b'"' => ANY_STRING,
                    b'-' | b'0'..=b'9' => ANY_NUMBER,
                    b't' | b'f' => BOOLEAN,
                    b'n' => NULL,
                    _ => return Step::Reject,
                };
                self.value_start(cx, next, b, hops + 1)
            }
            &Node::Number { integer } => {
                self.set_top(Frame::Num {
                    integer,
                    state: NumState::Start,
                    len: 0,
                });
                self.step(cx, b)
            }
            &Node::String {
                min_chars,
                max_chars,
            } => {
                if b != b'"' {
                    return Step::Reject;
                }
                self.set_top(Frame::Str {
                    min: min_chars,
                    max: max_chars,
                    count: 0,
                    esc: Esc::Plain,
                });
                self.consumed()
            }
            &Node::Literals(set) => {
                let hi = cx.schema.literals[set as usize].spellings.len() as u32;
                self.set_top(Frame::Lit {
                    set,
                    lo: 0,
                    hi,
                    pos: 0,
                });
                self.step(cx, b)
            }
            &Node::Array {
                items,
                min_items,
                max_items,
            } => {
                if b != b'[' || self.depth() >= MAX_DEPTH {
                    return Step::Reject;
                }
                self.set_top(Frame::Arr {
                    items,
                    min: min_items,
                    max: max_items,
                    count: 0,
                    state: ArrState::Open,
                });
                self.consumed()
            }
            &Node::Object(shape) => {
                if b != b'{' || self.depth() >= MAX_DEPTH {
                    return Step::Reject;
                }
                self.set_top(Frame::Obj {
                    shape,
                    seen: 0,
                    state: ObjState::Open,
                });
                self.consumed()
            }
            Node::Union(alternatives) => {
                let mut out = Vec::new();
                for &alt in alternatives {
                    let mut stack = self.clone();
                    stack.set_top(Frame::Value(alt));
                    match stack.value_start(cx, alt, b, hops + 1) {
                        Step::Ok => out.push(stack),
                        Step::Fork(more) => out.extend(more),
                        Step::Done | Step::Reject => {}
                    }
                }
                match out.len() {
                    0 => Step::Reject,
                    1 => {
                        if let Some(only) = out.pop() {
                            *self = only;
                        }
                        Step::Ok
                    }
                    _ => Step::Fork(out),
                }
            }
        }
    }

    /// A byte of a key (the frame below is its object).
    pub(super) fn key_byte(
        &mut self,
        cx: Ctx<'_>,
        key: (u32, u32, u32, bool),
        esc: &mut Esc,
        b: u8,
    ) -> Step {
        let (lo, hi, pos, free) = key;
        let parent = self.frames.len().checked_sub(2);
        let Some(&Frame::Obj { shape, seen, .. }) = parent.and_then(|i| self.frames.get(i)) else {
            return Step::Reject;
        };
        let obj = &cx.schema.objects[shape as usize];
        match lex::string_byte(esc, b) {
            Lex::Reject => Step::Reject,
            Lex::Close => {
                let exact = lo < hi && obj.keys[lo as usize].len() == pos as usize;
                let (seen, value) = if exact {
                    let bit = 1u128 << lo;
                    if seen & bit != 0 {
                        return Step::Reject; // a property written twice
                    }
                    (seen | bit, obj.values[lo as usize])
                } else {
                    match obj.additional {
                        Some(node) => (seen, node),
                        None => return Step::Reject,
                    }
                };
                self.frames.pop();
                self.set_top(Frame::Obj {
                    shape,
                    seen,
                    state: ObjState::Colon(value),
                });
                self.consumed()
            }
            Lex::Start | Lex::Continue => {
                let (nlo, nhi) = narrow(&obj.keys, lo, hi, pos, b);
                let unseen = (nlo..nhi).any(|i| seen & (1u128 << i) == 0);
                if !(unseen || free && pos < MAX_KEY_BYTES) {
                    return Step::Reject;
                }
                self.set_top(Frame::Key {
                    lo: nlo,
                    hi: nhi,
                    pos: pos + 1,
                    free,
                    esc: *esc,
                });
                self.consumed()
            }
        }
    }

    /// Whether the root value is complete (numbers and literals that may end, end here).
    pub(super) fn can_end(&self, cx: Ctx<'_>) -> bool {
        for frame in self.frames.iter().rev() {
            match *frame {
                Frame::End { .. } => return true,
                Frame::Num { state, .. } if state.accepting() => {}
                Frame::Lit { set, lo, pos, .. }
                    if cx.schema.literals[set as usize]
                        .spellings
                        .get(lo as usize)
                        .map(Vec::len)
                        == Some(pos as usize) => {}
                _ => return false,
            }
        }
        false
    }
}

/// The sub-range of `options[lo..hi]` (sorted, sharing their first `pos` bytes) whose byte at
/// `pos` is `b`; empty when none.
pub(super) fn narrow(options: &[Vec<u8>], lo: u32, hi: u32, pos: u32, b: u8) -> (u32, u32) {
    let mut found: Option<(u32, u32)> = None;
    for i in lo..hi {
        if options[i as usize].get(pos as usize) == Some(&b) {
            found = Some((found.map_or(i, |f| f.0), i + 1));
        }
    }
    found.unwrap_or((hi, hi))
}

pub(super) fn can_add_key(obj: &ObjectShape, seen: u128) -> bool {
    obj.additional.is_some() || (0..obj.keys.len()).any(|i| seen & (1u128 << i) == 0)
}
