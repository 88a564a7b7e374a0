//! [`ToolStream`]: the output of a request with tools, token by token.
//!
//! Three states:
//! - **free text**: tokens are detokenized, scanned for a call opener ([`TagScanner`]),
//!   checked for stop sequences and sent as text. A token that would complete an opener is
//!   allowed only if what follows it can start a call.
//! - **in a call**: every token must be accepted by the call's [`Matcher`] (the filter
//!   masks the others; end of generation only once the call object is complete, which then
//!   stands for the closing tag, as models often stop there). Its bytes are collected; when
//!   the closing tag completes, the call is parsed, validated and sent as a tool call.
//! - **after a call**: only another call may follow. Whitespace waits; an opening tag starts
//!   the next call; end of generation, or any other text, ends the turn with `ToolUse`
//!   (that text is dropped).
//!
//! The detokenizer is not fed inside a call (the call's bytes come from the token table);
//! it restarts after the call, seeded with the last ids, like at the start of generation.

use bedrock_local_core::StopReason;

use super::{TagScanner, ToolPlan};
use crate::constrain::{Feed, Matcher, TokenFilter, TokenTable};
use crate::generate::{Flow, Sink, ToolContext};
use crate::stream::{Detokenizer, IncrementalDecoder, Step, StopMatcher};
use crate::{EngineError, Result};

/// Ids kept to seed the detokenizer after a call.
const RECENT_IDS: usize = 8;

enum State<'a> {
    Free,
    Call {
        matcher: Matcher<'a>,
        /// The call's text after its opener, so far.
        text: Vec<u8>,
        /// What closes it.
        close: &'static str,
    },
    AfterCall,
}

/// Tokens to text and tool-call events, and the filter of allowed tokens (module docs).
pub struct ToolStream<'a> {
    plan: &'a ToolPlan,
    table: &'a TokenTable,
    eog_ids: &'a [u32],
    detok: &'a dyn Detokenizer,
    decoder: IncrementalDecoder<'a, dyn Detokenizer + 'a>,
    stops: StopMatcher,
    scanner: TagScanner,
    state: State<'a>,
    calls: usize,
    recent: Vec<u32>,
}

impl<'a> ToolStream<'a> {
    /// The stream of one generation whose prompt is `prompt`. Starts inside a call when the
    /// plan forces one (the prompt then ends with the call's beginning).
    pub fn new(
        tools: ToolContext<'a>,
        detok: &'a dyn Detokenizer,
        stop_sequences: &[String],
        prompt: &[u32],
        eog_ids: &'a [u32],
    ) -> Result<Self> {
        let plan = tools.plan;
        let state = match plan.forced() {
            None => State::Free,
            Some(forced) => {
                let close = plan.syntax().close;
                let mut matcher = plan.call_matcher(true, close);
                if matcher.feed(forced.as_bytes()) != Feed::Accepted {
                    return Err(EngineError::ToolCall(format!(
                        "the forced call start {forced:?} does not fit the call grammar"
                    )));
                }
                State::Call {
                    matcher,
                    text: forced.as_bytes().to_vec(),
                    close,
                }
            }
        };
        Ok(Self {
            plan,
            table: tools.table,
            eog_ids,
            detok,
            decoder: IncrementalDecoder::new(detok, prompt)?,
            stops: StopMatcher::new(stop_sequences),
            scanner: scanner_for(plan),
            state,
            calls: 0,
            recent: prompt[prompt.len().saturating_sub(RECENT_IDS)..].to_vec(),
        })
    }

    /// Feeds one generated id (not end-of-generation).
    pub fn push(&mut self, token: u32, sink: &mut dyn Sink) -> Result<Flow> {
        if self.recent.len() == RECENT_IDS {
            self.recent.remove(0);
        }
        self.recent.push(token);
        if let State::Call {
            matcher,
            text,
            close,
        } = &mut self.state
        {
            let bytes = self.table.bytes(token);
            return match matcher.feed(bytes) {
                Feed::Rejected => Err(EngineError::ToolCall(format!(
                    "token {token} ({:?}) does not continue the tool call",
                    String::from_utf8_lossy(bytes)
                ))),
                Feed::Accepted => {
                    text.extend_from_slice(bytes);
                    if ends_with_object(matcher, close) {
                        return self.end_call(true, "", sink);
                    }
                    Ok(Flow::Continue)
                }
                Feed::Done(n) => {
                    text.extend_from_slice(&bytes[..n]);
                    let rest = String::from_utf8_lossy(&bytes[n..]).into_owned();
                    self.end_call(true, &rest, sink)
                }
            };
        }
        let text = self.decoder.push(token)?;
        self.on_text(&text, sink)
    }

    /// The end of generation: `reason` is `EndTurn` or `MaxTokens`; with a tool call made,
    /// the turn ends with `ToolUse`.
    pub fn finish(&mut self, reason: StopReason, sink: &mut dyn Sink) -> Result<Flow> {
        match self.state {
            State::Free => {
                let tail = self.decoder.finish()?;
                let mut text = self.scanner.push(&tail).text;
                text.push_str(&self.scanner.finish());
                let (text, reason) = match self.stops.finish(&text) {
                    Step::Text(text) => (text, reason),
                    Step::Stop { text, sequence } => (text, StopReason::StopSequence(sequence)),
                };
                if !text.is_empty() && !sink.text(text) {
                    return Ok(Flow::Cancelled);
                }
                Ok(Flow::Stop(reason))
            }
            State::AfterCall => Ok(Flow::Stop(StopReason::ToolUse)),
            State::Call { ref matcher, .. } if matcher.can_end() => {
                // The call object is complete; the closing tag is optional at the end.
                match self.end_call(false, "", sink)? {
                    Flow::Cancelled => Ok(Flow::Cancelled),
                    _ => Ok(Flow::Stop(StopReason::ToolUse)),
                }
            }
            State::Call { .. } => {
                tracing::debug!(calls = self.calls, "generation ended inside a tool call");
                Ok(Flow::Stop(if self.calls > 0 {
                    StopReason::ToolUse
                } else {
                    reason
                }))
            }
        }
    }

    /// Text outside calls.
    fn on_text(&mut self, text: &str, sink: &mut dyn Sink) -> Result<Flow> {
        let scanned = self.scanner.push(text);
        if matches!(self.state, State::AfterCall) {
            if !scanned.text.trim().is_empty() {
                return Ok(Flow::Stop(StopReason::ToolUse));
            }
        } else {
            match self.stops.push(&scanned.text) {
                Step::Text(t) => {
                    if !t.is_empty() && !sink.text(t) {
                        return Ok(Flow::Cancelled);
                    }
                }
                Step::Stop { text, sequence } => {
                    if !text.is_empty() {
                        sink.text(text);
                    }
                    return Ok(Flow::Stop(StopReason::StopSequence(sequence)));
                }
            }
        }
        let Some(opened) = scanned.opened else {
            return Ok(Flow::Continue);
        };
        // Text held back for stop sequences comes before the call: release it.
        if let Step::Text(t) = self.stops.finish("") {
            if !t.is_empty() && !sink.text(t) {
                return Ok(Flow::Cancelled);
            }
        }
        let mut matcher = self.plan.call_matcher(false, opened.close);
        let rest = opened.rest.as_str();
        let feed = matcher.feed(rest.as_bytes());
        let taken = match feed {
            Feed::Rejected => {
                return Err(EngineError::ToolCall(format!(
                    "{rest:?} cannot start a tool call"
                )))
            }
            Feed::Accepted => rest.len(),
            Feed::Done(n) => n,
        };
        self.state = State::Call {
            matcher,
            text: rest.as_bytes()[..taken].to_vec(),
            close: opened.close,
        };
        match feed {
            Feed::Done(n) => self.end_call(true, rest.get(n..).unwrap_or_default(), sink),
            _ if matcher_of(&self.state).is_some_and(|m| ends_with_object(m, opened.close)) => {
                self.end_call(true, "", sink)
            }
            _ => Ok(Flow::Continue),
        }
    }

    /// The call is over (`closed`: its closing tag was written; else its object is complete
    /// and generation ended): parse, validate and send it, then read `rest` (what followed
    /// the tag in the same token) as text after a call.
    fn end_call(&mut self, closed: bool, rest: &str, sink: &mut dyn Sink) -> Result<Flow> {
        let State::Call { text, close, .. } = std::mem::replace(&mut self.state, State::AfterCall)
        else {
            return Err(EngineError::ToolCall("no call to end".into()));
        };
        // Without the closing tag, the object ends at the last `}` (only whitespace and part
        // of the tag may follow it, and no closer contains `}`).
        let end = if closed {
            text.len().checked_sub(close.len())
        } else {
            text.iter().rposition(|&b| b == b'}').map(|i| i + 1)
        };
        let body = end
            .and_then(|end| std::str::from_utf8(&text[..end]).ok())
            .ok_or_else(|| EngineError::ToolCall("the call text is not UTF-8".into()))?;
        let (name, input_json) = self.plan.finish_call(body).map_err(EngineError::ToolCall)?;
        self.calls += 1;
        if !sink.tool_call(name, input_json) {
            return Ok(Flow::Cancelled);
        }
        self.decoder = IncrementalDecoder::new(self.detok, &self.recent)?;
        self.scanner = scanner_for(self.plan);
        if rest.is_empty() {
            Ok(Flow::Continue)
        } else {
            self.on_text(rest, sink)
        }
    }
}

/// A call without a closer (a bare object) ends as soon as its object is complete.
fn ends_with_object(matcher: &Matcher<'_>, close: &str) -> bool {
    close.is_empty() && matcher.can_end()
}

/// The matcher of the call in progress (`None` outside calls).
fn matcher_of<'s, 'a>(state: &'s State<'a>) -> Option<&'s Matcher<'a>> {
    match state {
        State::Call { matcher, .. } => Some(matcher),
        _ => None,
    }
}

/// The scanner of a turn: alternate openers count except when answering tool results.
fn scanner_for(plan: &ToolPlan) -> TagScanner {
    if plan.is_answering_results() {
        TagScanner::tag_only(plan.syntax())
    } else {
        TagScanner::new(plan.syntax())
    }
}

impl TokenFilter for ToolStream<'_> {
    fn allows(&self, id: u32) -> bool {
        let bytes = self.table.bytes(id);
        if let State::Call { matcher, .. } = &self.state {
            // End of generation may close a complete call object.
            return if self.eog_ids.contains(&id) {
                matcher.can_end()
            } else {
                matcher.accepts(bytes)
            };
        }
        // Answering tool results, the turn begins in prose (see `ToolPlan::answering_results`).
        if self.plan.is_answering_results()
            && self.calls == 0
            && self.scanner.at_blank_start()
            && !self.eog_ids.contains(&id)
        {
            if let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) {
                // JSON, brackets and fences are how the repeated call sneaks back in.
                if matches!(first, b'{' | b'[' | b'(' | b'`') {
                    return false;
                }
            }
        }
        // A token that opens a call must be followed (in itself) by a possible call start.
        let text = String::from_utf8_lossy(bytes);
        if !self.scanner.may_open(&text) {
            return true;
        }
        let mut probe = self.scanner.clone();
        let Some(opened) = probe.push(&text).opened else {
            return true;
        };
        let rest = opened.rest.as_bytes();
        rest.is_empty()
            || (rest.is_ascii() && self.plan.call_matcher(false, opened.close).accepts(rest))
    }

    fn allowed(&self, vocab: usize) -> Vec<u32> {
        let State::Call { matcher, .. } = &self.state else {
            return (0..vocab as u32).filter(|&id| self.allows(id)).collect();
        };
        let mut out = Vec::new();
        if matcher.can_end() {
            out.extend(self.eog_ids.iter().filter(|&&id| (id as usize) < vocab));
        }
        for (b, ok) in matcher.next_bytes().iter().enumerate() {
            if !ok {
                continue;
            }
            for &id in self.table.starting_with(b as u8) {
                if (id as usize) < vocab
                    && !self.eog_ids.contains(&id)
                    && matcher.accepts(self.table.bytes(id))
                {
                    out.push(id);
                }
            }
        }
        out.sort_unstable();
        out
    }
}
