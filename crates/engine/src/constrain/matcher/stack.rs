//! One parse of the matcher: its stack of frames and the byte step that drives it.

use super::values::{can_add_key, narrow};
use super::{MAX_TRAILING_WHITESPACE, MAX_WHITESPACE};
use crate::constrain::lex::{self, Esc, Lex, NumState};
use crate::constrain::schema::{NodeId, Schema};

/// What the matcher reads: the schema graph and the trailer after the value.
#[derive(Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub schema: &'a Schema,
    pub trailer: &'a [u8],
}

/// One value (or the trailer) being matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Frame {
    /// Before a value of this node: whitespace, then its first byte.
    Value(NodeId),
    /// Inside one of a literal set's spellings: `[lo, hi)` still match the `pos` bytes read.
    Lit {
        set: u32,
        lo: u32,
        hi: u32,
        pos: u32,
    },
    /// Inside a string: `count` characters started.
    Str {
        min: u32,
        max: u32,
        count: u32,
        esc: Esc,
    },
    /// Inside a number of `len` bytes.
    Num {
        integer: bool,
        state: NumState,
        len: u8,
    },
    /// Inside an array of `count` items.
    Arr {
        items: NodeId,
        min: u32,
        max: u32,
        count: u32,
        state: ArrState,
    },
    /// Inside an object; `seen` has bit i for each declared key written.
    Obj {
        shape: u32,
        seen: u128,
        state: ObjState,
    },
    /// Inside a key of the object below: declared keys `[lo, hi)` match the `pos` bytes read.
    Key {
        lo: u32,
        hi: u32,
        pos: u32,
        free: bool,
        esc: Esc,
    },
    /// After the root value: whitespace, then the trailer (`pos` bytes of it matched).
    End { pos: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ArrState {
    Open,
    Next,
    Comma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ObjState {
    Open,
    Colon(NodeId),
    Next,
    Comma,
}

/// One parse: a stack of frames and the whitespace run at its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Stack {
    pub frames: Vec<Frame>,
    /// Whitespace bytes since the last token byte.
    pub ws: u8,
    /// Whether that whitespace has a line break.
    pub newline: bool,
}

pub(super) enum Step {
    Ok,
    Reject,
    Done,
    Fork(Vec<Stack>),
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl Stack {
    pub(super) fn set_top(&mut self, frame: Frame) {
        if let Some(top) = self.frames.last_mut() {
            *top = frame;
        }
    }

    /// A byte that belongs to a token: ends the whitespace run.
    pub(super) fn consumed(&mut self) -> Step {
        self.ws = 0;
        self.newline = false;
        Step::Ok
    }

    /// Whitespace between tokens: at most one line break and [`MAX_WHITESPACE`] bytes.
    pub(super) fn whitespace(&mut self, b: u8) -> Step {
        if self.ws >= MAX_WHITESPACE || (b == b'\n' && self.newline) {
            return Step::Reject;
        }
        self.newline |= b == b'\n';
        self.ws += 1;
        Step::Ok
    }

    pub(super) fn depth(&self) -> usize {
        self.frames
            .iter()
            .filter(|f| matches!(f, Frame::Arr { .. } | Frame::Obj { .. }))
            .count()
    }

    pub(super) fn step(&mut self, cx: Ctx<'_>, b: u8) -> Step {
        let ws = is_ws(b);
        // Frames that end without a closing byte (numbers, some literals) pop and re-read `b`.
        loop {
            let Some(&top) = self.frames.last() else {
                return Step::Reject;
            };
            match top {
                Frame::Value(node) => {
                    if ws {
                        return self.whitespace(b);
                    }
                    return self.value_start(cx, node, b, 0);
                }
                Frame::Lit { set, lo, hi, pos } => {
                    let spellings = &cx.schema.literals[set as usize].spellings;
                    let (nlo, nhi) = narrow(spellings, lo, hi, pos, b);
                    if nlo < nhi {
                        let pos = pos + 1;
                        if nhi - nlo == 1 && spellings[nlo as usize].len() == pos as usize {
                            self.frames.pop();
                        } else {
                            self.set_top(Frame::Lit {
                                set,
                                lo: nlo,
                                hi: nhi,
                                pos,
                            });
                        }
                        return self.consumed();
                    }
                    if spellings.get(lo as usize).map(Vec::len) == Some(pos as usize) {
                        self.frames.pop();
                        continue;
                    }
                    return Step::Reject;
                }
                Frame::Str {
                    min,
                    max,
                    count,
                    mut esc,
                } => {
                    let count = match lex::string_byte(&mut esc, b) {
                        Lex::Reject => return Step::Reject,
                        Lex::Close if count < min => return Step::Reject,
                        Lex::Close => {
                            self.frames.pop();
                            return self.consumed();
                        }
                        Lex::Start if count >= max => return Step::Reject,
                        Lex::Start => count + 1,
                        Lex::Continue => count,
                    };
                    self.set_top(Frame::Str {
                        min,
                        max,
                        count,
                        esc,
                    });
                    return self.consumed();
                }
                Frame::Num {
                    integer,
                    state,
                    len,
                } => match state.next(b, integer) {
                    Some(state) if len < lex::max_number_len(integer) => {
                        self.set_top(Frame::Num {
                            integer,
                            state,
                            len: len + 1,
                        });
                        return self.consumed();
                    }
                    _ if state.accepting() => {
                        self.frames.pop();
                        continue;
                    }
                    _ => return Step::Reject,
                },
                Frame::Arr {
                    items,
                    min,
                    max,
                    count,
                    state,
                } => {
                    let arr = |count, state| Frame::Arr {
                        items,
                        min,
                        max,
                        count,
                        state,
                    };
                    if ws {
                        return self.whitespace(b);
                    }
                    match (state, b) {
                        (ArrState::Open, b']') if min == 0 => {
                            self.frames.pop();
                            return self.consumed();
                        }
                        (ArrState::Next, b']') if count >= min => {
                            self.frames.pop();
                            return self.consumed();
                        }
                        (ArrState::Next, b',') if count < max => {
                            self.set_top(arr(count, ArrState::Comma));
                            return self.consumed();
                        }
                        (ArrState::Open | ArrState::Comma, _) if count < max => {
                            self.set_top(arr(count + 1, ArrState::Next));
                            self.frames.push(Frame::Value(items));
                            continue;
                        }
                        _ => return Step::Reject,
                    }
                }
                Frame::Obj { shape, seen, state } => {
                    if ws {
                        return self.whitespace(b);
                    }
                    let obj = &cx.schema.objects[shape as usize];
                    let set = |s: &mut Self, state| {
                        s.set_top(Frame::Obj { shape, seen, state });
                    };
                    match (state, b) {
                        (ObjState::Open | ObjState::Next, b'}')
                            if seen & obj.required == obj.required =>
                        {
                            self.frames.pop();
                        }
                        (ObjState::Open | ObjState::Comma, b'"') if can_add_key(obj, seen) => {
                            let free = obj.additional.is_some();
                            let hi = obj.keys.len() as u32;
                            self.frames.push(Frame::Key {
                                lo: 0,
                                hi,
                                pos: 0,
                                free,
                                esc: Esc::Plain,
                            });
                        }
                        (ObjState::Colon(node), b':') => {
                            set(self, ObjState::Next);
                            self.frames.push(Frame::Value(node));
                        }
                        (ObjState::Next, b',') if can_add_key(obj, seen) => {
                            set(self, ObjState::Comma);
                        }
                        _ => return Step::Reject,
                    }
                    return self.consumed();
                }
                Frame::Key {
                    lo,
                    hi,
                    pos,
                    free,
                    mut esc,
                } => return self.key_byte(cx, (lo, hi, pos, free), &mut esc, b),
                Frame::End { pos } => {
                    if pos == 0 && ws && self.ws < MAX_TRAILING_WHITESPACE {
                        return self.whitespace(b);
                    }
                    if cx.trailer.get(pos as usize) != Some(&b) {
                        return Step::Reject;
                    }
                    if pos as usize + 1 == cx.trailer.len() {
                        return Step::Done;
                    }
                    self.set_top(Frame::End { pos: pos + 1 });
                    return self.consumed();
                }
            }
        }
    }
}
