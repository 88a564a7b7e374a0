//! Continuous batching: one thread per model runs the forward passes of every active
//! sequence together, and keeps the prefix cache.
//!
//! Each active request runs its own decode loop (`generate::run`, on its own thread) against
//! a [`BatchedSession`], a [`CausalLm`] whose `forward` sends the tokens here and waits for
//! the logits. The batcher thread gathers the pending steps of all sequences, runs one
//! [`Transformer::forward`] over them (every weight read once per step, whatever the number
//! of sequences), and answers each. Sequences join and leave between steps.
//!
//! Scheduling, per step:
//! - every sequence waiting for its next token gets its one row;
//! - prompts are cut into chunks that fill the rest of the step's token budget
//!   ([`BatcherConfig::step_tokens`]), interactive requests before batch-job records, oldest
//!   first, so a long prompt never stalls the running streams for more than one step;
//! - after answering, the batcher waits briefly ([`BatcherConfig::gather`]) for the
//!   sequences that are sampling their next token, so they join the same step;
//! - a step whose request was cancelled (its caller went away) is dropped before it runs.
//!
//! Prefix cache: when a sequence ends, its cache (prompt and answer) is kept under its token
//! ids, up to [`BatcherConfig::prefix_cache_bytes`], least recently used evicted first. A new
//! prompt starting with cached tokens copies their keys and values instead of computing them.
//! The forward is batch-invariant (see `transformer.rs`), so a reused prefix yields exactly
//! the keys and values a fresh prefill would: reuse never changes an output.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bedrock_local_core::Priority;
use candle_core::{Device, Tensor};

use crate::arch::{pool, CausalLm, SeqCache, Step, Transformer};
use crate::prefix_cache::PrefixCache;
use crate::worker::EventSender;
use crate::{EngineError, Result};

/// How the batcher schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatcherConfig {
    /// Most token rows in one forward (decode rows plus prompt chunks).
    pub step_tokens: usize,
    /// How long to wait for sampling sequences before running a step without them.
    pub gather: Duration,
    /// Memory for cached prefixes (0: no prefix cache).
    pub prefix_cache_bytes: usize,
    /// Shortest sequence worth keeping in the prefix cache, in tokens.
    pub min_prefix: usize,
}

impl Default for BatcherConfig {
    fn default() -> Self {
        Self {
            step_tokens: 256,
            gather: Duration::from_millis(5),
            prefix_cache_bytes: 256 << 20,
            min_prefix: 16,
        }
    }
}

/// What a step answers.
struct StepOut {
    logits: Vec<f32>,
    /// Prompt tokens taken from the prefix cache.
    cached: usize,
}

enum Msg {
    Open {
        seq: u64,
        priority: Priority,
        cancel: Option<EventSender>,
    },
    Step {
        seq: u64,
        tokens: Vec<u32>,
        reply: SyncSender<Result<StepOut>>,
    },
    Reset {
        seq: u64,
    },
    Close {
        seq: u64,
    },
}

/// The front of one model's batcher thread.
pub struct Batcher {
    tx: Sender<Msg>,
    next: AtomicU64,
    model: Arc<Transformer>,
}

impl Batcher {
    /// Starts the batcher thread of `model`. It stops when the batcher and every session
    /// are dropped.
    pub fn start(
        model: Arc<Transformer>,
        config: BatcherConfig,
        name: &str,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let runner = Runner {
            model: model.clone(),
            config,
            seqs: HashMap::new(),
            prefixes: PrefixCache::new(config.prefix_cache_bytes),
            arrivals: 0,
        };
        std::thread::Builder::new()
            .name(format!("batch-{name}"))
            .spawn(move || runner.run(&rx))?;
        Ok(Self {
            tx,
            next: AtomicU64::new(1),
            model,
        })
    }

    /// A new sequence. `cancel`: the request's event channel; once it is closed, pending
    /// work of this sequence is dropped.
    pub fn session(&self, priority: Priority, cancel: Option<EventSender>) -> BatchedSession {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let _ = self.tx.send(Msg::Open {
            seq,
            priority,
            cancel,
        });
        BatchedSession {
            tx: self.tx.clone(),
            seq,
            len: 0,
            cached: 0,
            context: self.model.config().context,
            vocab: self.model.config().vocab,
            architecture: self.model.config().architecture,
        }
    }
}

/// One sequence run by a [`Batcher`].
pub struct BatchedSession {
    tx: Sender<Msg>,
    seq: u64,
    len: usize,
    cached: usize,
    context: usize,
    vocab: usize,
    architecture: &'static str,
}

impl BatchedSession {
    /// Prompt tokens of the current sequence that came from the prefix cache.
    pub fn cached_tokens(&self) -> usize {
        self.cached
    }
}

fn gone() -> EngineError {
    EngineError::InvalidRequest("the model's batcher has stopped".into())
}

impl CausalLm for BatchedSession {
    fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Tensor> {
        if pos == 0 && self.len > 0 {
            self.reset();
        }
        if pos != self.len {
            return Err(EngineError::InvalidRequest(format!(
                "KV cache holds positions up to {}, cannot continue at {pos}",
                self.len
            )));
        }
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx
            .send(Msg::Step {
                seq: self.seq,
                tokens: tokens.to_vec(),
                reply,
            })
            .map_err(|_| gone())?;
        let out = answer.recv().map_err(|_| gone())??;
        if pos == 0 {
            self.cached = out.cached;
        }
        self.len += tokens.len();
        Ok(Tensor::from_vec(out.logits, self.vocab, &Device::Cpu)?)
    }

    fn prefill_chunk(&self) -> Option<usize> {
        // The batcher chunks prompts itself, between other sequences' steps.
        None
    }

    fn reset(&mut self) {
        let _ = self.tx.send(Msg::Reset { seq: self.seq });
        self.len = 0;
        self.cached = 0;
    }

    fn context_length(&self) -> usize {
        self.context
    }

    fn architecture(&self) -> &'static str {
        self.architecture
    }
}

impl Drop for BatchedSession {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Close { seq: self.seq });
    }
}

/// A step waiting to run.
struct Pending {
    tokens: Vec<u32>,
    done: usize,
    cached: usize,
    reply: SyncSender<Result<StepOut>>,
}

/// One sequence as the batcher sees it.
struct Seq {
    cache: SeqCache,
    /// The token ids held in `cache`.
    history: Vec<u32>,
    priority: Priority,
    cancel: Option<EventSender>,
    pending: Option<Pending>,
    /// When the sequence was answered and has not asked again yet (it is sampling).
    answered: Option<Instant>,
    /// Arrival order of the pending step (older first).
    arrival: u64,
}

struct Runner {
    model: Arc<Transformer>,
    config: BatcherConfig,
    seqs: HashMap<u64, Seq>,
    prefixes: PrefixCache,
    arrivals: u64,
}

impl Runner {
    fn run(mut self, rx: &Receiver<Msg>) {
        loop {
            if !self.gather(rx) {
                break;
            }
            let stepped = std::panic::catch_unwind(AssertUnwindSafe(|| self.step()));
            if stepped.is_err() {
                let ids: Vec<u64> = self.seqs.keys().copied().collect();
                self.fail(&ids, "the inference step panicked");
            }
        }
        tracing::debug!("batcher stopped");
    }

    /// Answers the pending steps of `ids` with an error and forgets those sequences' caches
    /// (a step that failed half-way may have extended some of them): the batcher keeps
    /// serving the next requests.
    fn fail(&mut self, ids: &[u64], why: &str) {
        tracing::error!(reason = why, "batched step failed");
        for id in ids {
            let Some(s) = self.seqs.get_mut(id) else {
                continue;
            };
            if let Some(p) = s.pending.take() {
                let _ = p
                    .reply
                    .send(Err(EngineError::InvalidRequest(why.to_string())));
                s.cache = self.model.new_cache();
                s.history.clear();
            }
        }
    }

    /// Takes messages until there is work and no sampling sequence is worth waiting for.
    /// Returns false when every sender is gone.
    fn gather(&mut self, rx: &Receiver<Msg>) -> bool {
        loop {
            let has_work = self.seqs.values().any(|s| s.pending.is_some());
            if !has_work {
                match rx.recv() {
                    Ok(msg) => self.handle(msg),
                    Err(_) => return false,
                }
                continue;
            }
            match rx.try_recv() {
                Ok(msg) => {
                    self.handle(msg);
                    continue;
                }
                Err(TryRecvError::Disconnected) => return false,
                Err(TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            let wait = self
                .seqs
                .values()
                .filter(|s| s.pending.is_none())
                .filter_map(|s| s.answered)
                .map(|at| (at + self.config.gather).saturating_duration_since(now))
                .filter(|d| !d.is_zero())
                .max();
            let Some(wait) = wait else {
                return true;
            };
            match rx.recv_timeout(wait) {
                Ok(msg) => self.handle(msg),
                Err(RecvTimeoutError::Timeout) => {
                    // Stragglers run in the next step.
                    for s in self.seqs.values_mut() {
                        if s.pending.is_none() {
                            s.answered = None;
                        }
                    }
                    return true;
                }
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Open {
                seq,
                priority,
                cancel,
            } => {
                self.seqs.insert(
                    seq,
                    Seq {
                        cache: self.model.new_cache(),
                        history: Vec::new(),
                        priority,
                        cancel,
                        pending: None,
                        answered: None,
                        arrival: 0,
                    },
                );
            }
            Msg::Step { seq, tokens, reply } => {
                let Some(len) = self.seqs.get(&seq).map(|s| s.cache.len()) else {
                    let _ = reply.send(Err(EngineError::InvalidRequest("unknown sequence".into())));
                    return;
                };
                if let Err(e) = self.validate(len, &tokens) {
                    let _ = reply.send(Err(e));
                    return;
                }
                let Some(s) = self.seqs.get_mut(&seq) else {
                    return;
                };
                self.arrivals += 1;
                s.arrival = self.arrivals;
                s.answered = None;
                let mut pending = Pending {
                    tokens,
                    done: 0,
                    cached: 0,
                    reply,
                };
                if s.cache.is_empty() {
                    if let Some((cache, n)) = self.prefixes.lookup(&pending.tokens) {
                        s.cache = cache;
                        s.history = pending.tokens[..n].to_vec();
                        pending.done = n;
                        pending.cached = n;
                    }
                }
                s.pending = Some(pending);
            }
            Msg::Reset { seq } => {
                if let Some(s) = self.seqs.get_mut(&seq) {
                    let cache = std::mem::replace(&mut s.cache, self.model.new_cache());
                    let history = std::mem::take(&mut s.history);
                    s.pending = None;
                    s.answered = None;
                    self.keep_prefix(history, cache);
                }
            }
            Msg::Close { seq } => {
                if let Some(s) = self.seqs.remove(&seq) {
                    self.keep_prefix(s.history, s.cache);
                }
            }
        }
    }

    fn keep_prefix(&mut self, history: Vec<u32>, cache: SeqCache) {
        if history.len() >= self.config.min_prefix && history.len() == cache.len() {
            self.prefixes.insert(history, cache.prefix(cache.len()));
        }
    }

    fn validate(&self, len: usize, tokens: &[u32]) -> Result<()> {
        let c = self.model.config();
        if tokens.is_empty() {
            return Err(EngineError::InvalidRequest(
                "forward called with no tokens".into(),
            ));
        }
        if len + tokens.len() > c.context {
            return Err(EngineError::InvalidRequest(format!(
                "positions {len}..{} exceed the context window of {} tokens",
                len + tokens.len(),
                c.context
            )));
        }
        if let Some(id) = tokens.iter().find(|&&t| t as usize >= c.vocab) {
            return Err(EngineError::InvalidRequest(format!(
                "token id {id} is outside the vocabulary ({})",
                c.vocab
            )));
        }
        Ok(())
    }

    /// Plans and runs one forward, answering the steps it completes.
    fn step(&mut self) {
        // Drop the work of callers that went away.
        for s in self.seqs.values_mut() {
            if s.cancel.as_ref().is_some_and(|tx| tx.is_closed()) && s.pending.is_some() {
                if let Some(p) = s.pending.take() {
                    let _ = p.reply.send(Err(EngineError::InvalidRequest(
                        "the request was cancelled".into(),
                    )));
                }
            }
        }
        // Decode rows first, then prompt chunks: interactive before batch, oldest first.
        let mut order: Vec<(bool, bool, u64, u64)> = self
            .seqs
            .iter()
            .filter_map(|(&id, s)| {
                let p = s.pending.as_ref()?;
                let decode = p.tokens.len() - p.done == 1;
                Some((!decode, s.priority == Priority::Batch, s.arrival, id))
            })
            .collect();
        order.sort_unstable();
        let mut budget = self.config.step_tokens.max(1);
        let mut plan: Vec<(u64, usize, usize)> = Vec::new(); // (seq, from, to)
        for &(_, _, _, id) in &order {
            if budget == 0 {
                break;
            }
            let Some(p) = self.seqs.get(&id).and_then(|s| s.pending.as_ref()) else {
                continue;
            };
            let take = (p.tokens.len() - p.done).min(budget);
            budget -= take;
            plan.push((id, p.done, p.done + take));
        }
        if plan.is_empty() {
            return;
        }
        let mut caches: Vec<(u64, SeqCache)> = plan
            .iter()
            .map(|&(id, _, _)| {
                let cache = self
                    .seqs
                    .get_mut(&id)
                    .map(|s| std::mem::take(&mut s.cache))
                    .unwrap_or_default();
                (id, cache)
            })
            .collect();
        let result = {
            let mut steps: Vec<Step<'_>> = Vec::with_capacity(plan.len());
            for ((id, cache), &(_, from, to)) in caches.iter_mut().zip(&plan) {
                let Some(p) = self.seqs.get(id).and_then(|s| s.pending.as_ref()) else {
                    continue;
                };
                steps.push(Step {
                    tokens: &p.tokens[from..to],
                    cache,
                    logits: to == p.tokens.len(),
                });
            }
            self.model.forward(&mut steps, pool())
        };
        let mut logits = match result {
            Ok(logits) => logits.into_iter(),
            Err(e) => {
                let ids: Vec<u64> = plan.iter().map(|&(id, _, _)| id).collect();
                self.fail(&ids, &e.to_string());
                return;
            }
        };
        let now = Instant::now();
        for ((id, cache), (_, from, to)) in caches.into_iter().zip(plan) {
            let Some(s) = self.seqs.get_mut(&id) else {
                continue;
            };
            s.cache = cache;
            let Some(p) = s.pending.as_mut() else {
                continue;
            };
            s.history.extend_from_slice(&p.tokens[from..to]);
            p.done = to;
            if to == p.tokens.len() {
                let cached = p.cached;
                if let (Some(p), Some(values)) = (s.pending.take(), logits.next()) {
                    let _ = p.reply.send(Ok(StepOut {
                        logits: values,
                        cached,
                    }));
                }
                s.answered = Some(now);
            }
        }
    }
}
