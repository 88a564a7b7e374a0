//! The call history: every runtime invocation the server handled, kept in a bounded ring so a
//! test can assert on what its code sent, queried with filters and exported as JSON Lines.
//!
//! The ring owns sequence numbers and timestamps (callers' values are overwritten), so the
//! order of records is the order of `push` and a test can page with `after`.

use crate::glob_match;
use crate::spec::Api;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// RFC 3339 in UTC with milliseconds: `2026-11-26T15:04:05.123Z`.
const TIME_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// One invocation, as kept in the history and exported (JSON, snake_case fields; absent values
/// are `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Assigned by [`History::push`]: increasing from 1, never reused (not even after clear).
    pub seq: u64,
    /// Set by [`History::push`]: RFC 3339 UTC with milliseconds (`2026-11-26T15:04:05.123Z`).
    pub time: String,
    /// The runtime API called.
    pub api: Api,
    /// The model id as the caller sent it.
    pub model_id: String,
    /// The local model that answered (`None` when a rule answered without the model or the id
    /// did not resolve).
    pub local_model: Option<String>,
    /// The request body as JSON (a JSON string when the body is not JSON).
    pub request: Value,
    /// The answer, as the server fills it: `{"text": "...", "tool_calls": [{"name": ..,
    /// "input": ..}], "stop_reason": "..."}`.
    pub response: Option<Value>,
    /// The error returned (HTTP or in-stream), if any.
    pub error: Option<CallError>,
    /// Input tokens counted.
    pub input_tokens: Option<u32>,
    /// Output tokens produced.
    pub output_tokens: Option<u32>,
    /// Wall time from request to the last byte of the answer, in milliseconds.
    pub latency_ms: u64,
    /// The id of the rule that answered, if one did.
    pub rule: Option<String>,
    /// The cassette file that answered (`--replay`) or was recorded (`--record`), if any.
    pub cassette: Option<String>,
}

impl CallRecord {
    /// A record of a call to `model_id` through `api`, with every other field empty (`seq` and
    /// `time` are filled by [`History::push`]).
    pub fn new(api: Api, model_id: impl Into<String>) -> Self {
        CallRecord {
            seq: 0,
            time: String::new(),
            api,
            model_id: model_id.into(),
            local_model: None,
            request: Value::Null,
            response: None,
            error: None,
            input_tokens: None,
            output_tokens: None,
            latency_ms: 0,
            rule: None,
            cassette: None,
        }
    }
}

/// An error a call ended with: `{"code": "ThrottlingException", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallError {
    /// The exception shape name.
    pub code: String,
    /// The message sent.
    pub message: String,
}

/// Which records [`History::list`] returns: those whose model id matches the `model` glob,
/// whose API is `api`, and whose `seq` is greater than `after`; then at most `limit` of the
/// newest of those. Every field is optional (absent: no condition).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct HistoryFilter {
    /// Model-id glob ([`crate::glob_match`]).
    pub model: Option<String>,
    /// Only this API.
    pub api: Option<Api>,
    /// Only records with `seq > after`.
    pub after: Option<u64>,
    /// At most this many (the newest).
    pub limit: Option<usize>,
}

impl HistoryFilter {
    fn accepts(&self, record: &CallRecord) -> bool {
        self.model
            .as_deref()
            .is_none_or(|glob| glob_match(glob, &record.model_id))
            && self.api.is_none_or(|api| api == record.api)
            && self.after.is_none_or(|after| record.seq > after)
    }
}

#[derive(Debug)]
struct Inner {
    records: VecDeque<CallRecord>,
    next_seq: u64,
}

/// A bounded ring of [`CallRecord`]s, oldest dropped first. Thread-safe (one interior mutex).
#[derive(Debug)]
pub struct History {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl History {
    /// An empty history keeping at most `capacity` records (0: keep nothing, though `push`
    /// still hands out sequence numbers).
    pub fn new(capacity: usize) -> Self {
        History {
            capacity,
            inner: Mutex::new(Inner {
                records: VecDeque::with_capacity(capacity.min(1024)),
                next_seq: 1,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every edit is a single push/pop, so a poisoned lock still holds a consistent ring.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores `record` with the next sequence number and the current time (overwriting
    /// `record.seq` and `record.time`), dropping the oldest record when full; returns the
    /// sequence number.
    pub fn push(&self, mut record: CallRecord) -> u64 {
        let time = now_rfc3339();
        let mut inner = self.lock();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        if self.capacity == 0 {
            return seq;
        }
        record.seq = seq;
        record.time = time;
        while inner.records.len() >= self.capacity {
            inner.records.pop_front();
        }
        inner.records.push_back(record);
        seq
    }

    /// The records `filter` accepts, oldest first (with `limit`: the newest `limit` of them,
    /// still oldest first).
    pub fn list(&self, filter: &HistoryFilter) -> Vec<CallRecord> {
        let inner = self.lock();
        let mut matching: Vec<CallRecord> = inner
            .records
            .iter()
            .filter(|record| filter.accepts(record))
            .cloned()
            .collect();
        if let Some(limit) = filter.limit {
            let skip = matching.len().saturating_sub(limit);
            matching.drain(..skip);
        }
        matching
    }

    /// Forgets every record (sequence numbers keep increasing).
    pub fn clear(&self) {
        self.lock().records.clear();
    }

    /// The number of records kept.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether no record is kept.
    pub fn is_empty(&self) -> bool {
        self.lock().records.is_empty()
    }

    /// The most records kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// `list(filter)` as JSON Lines: one JSON object per line, each line ending in `\n`.
    pub fn to_jsonl(&self, filter: &HistoryFilter) -> String {
        let mut out = String::new();
        for record in self.list(filter) {
            match serde_json::to_string(&record) {
                Ok(line) => {
                    out.push_str(&line);
                    out.push('\n');
                }
                // Cannot happen for these types (string keys, no failing Serialize impls).
                Err(e) => tracing::warn!(seq = record.seq, "call record not serializable: {e}"),
            }
        }
        out
    }
}

/// The current time as RFC 3339 UTC with milliseconds.
fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(TIME_FORMAT)
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
