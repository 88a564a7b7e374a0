//! One model's life: lazy loading, its request queue, and the OS thread that runs inference.
//!
//! Inference never runs on the async runtime: each model gets a dedicated admission thread
//! that takes jobs from its [`JobQueue`] (interactive requests first come, first served, then
//! batch-job records) while fewer than [`Limits::sequences`] run, one slot always kept free
//! for interactive callers. Each admitted job runs its decode loop on a thread of its own, and
//! the model's [`Batcher`] runs the forward passes of all of them together (continuous
//! batching, see `batcher.rs`). The bounded queue is the backpressure of DESIGN.md §4: when a
//! lane is full the backend refuses at once. Each job carries its reply channel and the
//! caller's tracing span, so the threads' logs stay attached to the request (TEI's
//! `BackendThread` pattern).
//!
//! Embedding models have no worker: their requests run on the caller's thread (see `embed`).
//!
//! Loading happens on whichever thread first needs the model (the worker for a generation,
//! the caller for `load`/`count_tokens`/`embed`), serialised by a mutex; the state machine is
//! NotLoaded -> Loading -> Ready | Failed(reason), and a failed load is retried by the next
//! request that needs the model.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bedrock_local_core::{
    BackendError, GenerateRequest, GenerationEvent, LocalModelName, ModelLocator, ModelState,
    Priority, Usage,
};

use crate::arch::LoadOptions;
use crate::batcher::{BatchedSession, Batcher, BatcherConfig};
use crate::embed::EmbeddingModel;
use crate::generate::{self, GenerationPlan, Sink, ToolContext};
use crate::loader::{self, LoadedModel};
use crate::queue::{JobQueue, Popped};
use crate::EngineError;

/// Where a job's events go.
pub type EventSender = tokio::sync::mpsc::Sender<Result<GenerationEvent, BackendError>>;

/// A generation waiting for its turn.
pub struct Job {
    /// What to generate.
    pub request: GenerateRequest,
    /// Where to send the events; closed when the caller dropped the stream.
    pub tx: EventSender,
    /// The caller's span, entered while the job runs.
    pub span: tracing::Span,
    /// When the job was queued (for the queue-wait log).
    pub enqueued: Instant,
}

/// What the engine front and the worker thread share about one model.
pub struct ModelShared {
    name: LocalModelName,
    locator: Arc<dyn ModelLocator>,
    options: LoadOptions,
    state: Mutex<ModelState>,
    loaded: Mutex<Option<Loaded>>,
}

/// A model in memory: a GGUF text-generation model or an embedding model.
#[derive(Clone)]
pub enum Loaded {
    /// Generates text (through the worker thread).
    Text(Arc<LoadedModel>),
    /// Embeds text (on the caller's thread).
    Embedding(Arc<EmbeddingModel>),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ModelShared {
    /// A model that is not loaded yet.
    pub fn new(name: LocalModelName, locator: Arc<dyn ModelLocator>, options: LoadOptions) -> Self {
        Self {
            name,
            locator,
            options,
            state: Mutex::new(ModelState::NotLoaded),
            loaded: Mutex::new(None),
        }
    }

    /// The local name.
    pub fn name(&self) -> &LocalModelName {
        &self.name
    }

    /// The current state.
    pub fn state(&self) -> ModelState {
        lock(&self.state).clone()
    }

    fn set_state(&self, state: ModelState) {
        *lock(&self.state) = state;
    }

    /// The loaded model, loading it first if needed (blocking; concurrent callers wait for
    /// the same load). Files with a `config.json` are an embedding model, others a GGUF
    /// text model.
    pub fn ensure_loaded(&self) -> Result<Loaded, BackendError> {
        let mut slot = lock(&self.loaded);
        if let Some(loaded) = slot.as_ref() {
            return Ok(loaded.clone());
        }
        self.set_state(ModelState::Loading);
        tracing::info!(model = %self.name, "loading model");
        let failed = |e: EngineError| BackendError::LoadFailed {
            model: self.name.to_string(),
            reason: e.to_string(),
        };
        let result = self.locator.locate(&self.name).and_then(|files| {
            if files.config.is_some() {
                EmbeddingModel::load(&files)
                    .map(|m| Loaded::Embedding(Arc::new(m)))
                    .map_err(failed)
            } else {
                loader::load(&files, self.options)
                    .map(|m| Loaded::Text(Arc::new(m)))
                    .map_err(failed)
            }
        });
        match result {
            Ok(loaded) => {
                match &loaded {
                    Loaded::Text(m) => tracing::info!(
                        model = %self.name,
                        architecture = %m.architecture,
                        context_length = m.context_length,
                        load_ms = m.load_time.as_millis() as u64,
                        "model ready"
                    ),
                    Loaded::Embedding(m) => tracing::info!(
                        model = %self.name,
                        architecture = %m.architecture,
                        dimension = m.dimension(),
                        window = m.window(),
                        load_ms = m.load_time.as_millis() as u64,
                        "embedding model ready"
                    ),
                }
                *slot = Some(loaded.clone());
                self.set_state(ModelState::Ready);
                Ok(loaded)
            }
            Err(e) => {
                tracing::error!(model = %self.name, error = %e, "model failed to load");
                self.set_state(ModelState::Failed(e.to_string()));
                Err(e)
            }
        }
    }

    /// The loaded text-generation model (loading it if needed); `Unsupported` for an
    /// embedding model.
    pub fn ensure_text(&self) -> Result<Arc<LoadedModel>, BackendError> {
        match self.ensure_loaded()? {
            Loaded::Text(m) => Ok(m),
            Loaded::Embedding(_) => Err(not_a_text_model(&self.name)),
        }
    }

    /// The loaded embedding model (loading it if needed); `Unsupported` for a text model.
    pub fn ensure_embedding(&self) -> Result<Arc<EmbeddingModel>, BackendError> {
        match self.ensure_loaded()? {
            Loaded::Embedding(m) => Ok(m),
            Loaded::Text(_) => Err(BackendError::Unsupported(format!(
                "model {} is a text-generation model: it cannot embed text",
                self.name
            ))),
        }
    }

    /// Whether the model is known (already loaded) to be an embedding model. Never waits for
    /// a load in progress.
    pub fn is_embedding(&self) -> bool {
        matches!(
            self.loaded.try_lock().as_deref(),
            Ok(Some(Loaded::Embedding(_)))
        )
    }
}

/// The answer to a generation (or token count) asked of an embedding model.
pub fn not_a_text_model(name: &LocalModelName) -> BackendError {
    BackendError::Unsupported(format!(
        "model {name} is an embedding model: it cannot generate text"
    ))
}

/// Starts the worker thread of one model; returns its queue (`capacity` jobs per lane).
pub fn spawn(
    shared: Arc<ModelShared>,
    capacity: usize,
    limits: Limits,
) -> std::io::Result<Arc<JobQueue<Job>>> {
    let queue = Arc::new(JobQueue::new(capacity));
    let jobs = queue.clone();
    std::thread::Builder::new()
        .name(format!("engine-{}", shared.name()))
        .spawn(move || worker_loop(&shared, &jobs, limits))?;
    Ok(queue)
}

/// How much one model runs at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Sequences generating at once (continuous batching). One slot is always kept for
    /// interactive callers: batch-job records take at most `sequences - 1` (and one when
    /// `sequences` is 1).
    pub sequences: usize,
    /// Memory of the model's prefix cache.
    pub prefix_cache_bytes: usize,
}

/// How often the admission loop re-checks for a free slot or a closed queue.
const ADMISSION_POLL: Duration = Duration::from_millis(100);

/// Sequences running, all and batch-job records.
#[derive(Default)]
struct Slots {
    total: usize,
    batch: usize,
}

/// Admits jobs until the engine closes the queue: each admitted job runs its decode loop on
/// a thread of its own against the model's [`Batcher`], which batches the forward passes of
/// every running job.
fn worker_loop(shared: &ModelShared, queue: &JobQueue<Job>, limits: Limits) {
    let max = limits.sequences.max(1);
    let slots = Arc::new((Mutex::new(Slots::default()), Condvar::new()));
    let mut batcher: Option<Arc<Batcher>> = None;
    loop {
        let allow_batch = {
            let (lock_, freed) = &*slots;
            let mut s = lock(lock_);
            while s.total >= max {
                s = freed
                    .wait_timeout(s, ADMISSION_POLL)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            s.batch + 1 < max || (max == 1 && s.total == 0)
        };
        let job = match queue.pop_timeout(allow_batch, ADMISSION_POLL) {
            Popped::Job(job) => job,
            Popped::Timeout => continue,
            Popped::Closed => break,
        };
        let span = job.span.clone();
        let _entered = span.enter();
        if job.tx.is_closed() {
            tracing::debug!("request cancelled while queued");
            continue;
        }
        let loaded = match shared.ensure_text() {
            Ok(loaded) => loaded,
            Err(e) => {
                let _ = job.tx.blocking_send(Err(e));
                continue;
            }
        };
        let batcher = match &batcher {
            Some(b) => b.clone(),
            None => match Batcher::start(
                loaded.transformer.clone(),
                BatcherConfig {
                    prefix_cache_bytes: limits.prefix_cache_bytes,
                    ..BatcherConfig::default()
                },
                shared.name().as_str(),
            ) {
                Ok(b) => batcher.insert(Arc::new(b)).clone(),
                Err(e) => {
                    let _ = job.tx.blocking_send(Err(BackendError::Internal(format!(
                        "cannot start the batching thread: {e}"
                    ))));
                    continue;
                }
            },
        };
        admit(shared, &slots, &loaded, &batcher, job);
    }
    tracing::debug!(model = %shared.name(), "engine worker stopped");
}

/// Starts `job` on its own thread, holding a sequence slot until it ends.
fn admit(
    shared: &ModelShared,
    slots: &Arc<(Mutex<Slots>, Condvar)>,
    loaded: &Arc<LoadedModel>,
    batcher: &Batcher,
    job: Job,
) {
    let batch = job.request.priority == Priority::Batch;
    {
        let mut s = lock(&slots.0);
        s.total += 1;
        s.batch += usize::from(batch);
    }
    let release = {
        let slots = slots.clone();
        move || {
            let (lock_, freed) = &*slots;
            let mut s = lock(lock_);
            s.total -= 1;
            s.batch -= usize::from(batch);
            freed.notify_all();
        }
    };
    let session = batcher.session(job.request.priority, Some(job.tx.clone()));
    let loaded = loaded.clone();
    let queued_ms = job.enqueued.elapsed().as_millis() as u64;
    let tx = job.tx.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("req-{}", shared.name()))
        .spawn(move || {
            let span = job.span.clone();
            let _entered = span.enter();
            let mut session = session;
            let tx = job.tx.clone();
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                generate_one(&loaded, &mut session, &job, queued_ms)
            }));
            if session.cached_tokens() > 0 {
                tracing::debug!(
                    prefix_cached_tokens = session.cached_tokens(),
                    "prompt prefix taken from the prefix cache"
                );
            }
            drop(session);
            let failure = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => {
                    tracing::error!("generation panicked");
                    Some(BackendError::Internal(
                        "the inference thread panicked during this request".into(),
                    ))
                }
            };
            if let Some(e) = failure {
                let _ = tx.blocking_send(Err(e));
            }
            release();
        });
    if let Err(e) = spawned {
        let _ = tx.blocking_send(Err(BackendError::Internal(format!(
            "cannot start a request thread: {e}"
        ))));
        // The closure (and its `release`) was dropped unrun: free the slot here.
        let mut s = lock(&slots.0);
        s.total -= 1;
        s.batch -= usize::from(batch);
        slots.1.notify_all();
    }
}

/// Validation, then the decode loop, then `Finished`.
fn generate_one(
    loaded: &LoadedModel,
    model: &mut BatchedSession,
    job: &Job,
    queued_ms: u64,
) -> Result<(), BackendError> {
    let request = &job.request;
    let prepared = loaded.prepare(&request.prompt).map_err(request_error)?;
    let prompt = prepared.ids;
    let context = loaded.context_length;
    let limit = context.saturating_sub(1);
    if prompt.len() > limit {
        return Err(BackendError::ContextOverflow {
            prompt_tokens: prompt.len() as u32,
            limit: limit as u32,
        });
    }
    let max_new_tokens = (request.max_tokens as usize).min(context - prompt.len());
    if job
        .tx
        .blocking_send(Ok(GenerationEvent::Started {
            prompt_tokens: prompt.len() as u32,
        }))
        .is_err()
    {
        return Ok(());
    }
    let plan = GenerationPlan {
        prompt: &prompt,
        max_new_tokens,
        sampling: request.sampling,
        stop_sequences: &request.stop_sequences,
        eog_ids: &loaded.eog_ids,
        tools: prepared.tools.as_ref().map(|plan| ToolContext {
            plan,
            table: loaded.token_table(),
        }),
    };
    let mut sink = ChannelSink { tx: &job.tx };
    let outcome = generate::run(model, loaded.tokenizer.as_ref(), &plan, &mut sink)
        .map_err(|e| BackendError::Internal(e.to_string()))?;
    let decode_s = outcome.decode.as_secs_f64();
    let prefill_s = outcome.prefill.as_secs_f64();
    let Some(stop_reason) = outcome.stop_reason else {
        tracing::info!(
            model = %request.model,
            prompt_tokens = prompt.len(),
            output_tokens = outcome.output_tokens,
            "generation cancelled by the caller"
        );
        return Ok(());
    };
    tracing::info!(
        model = %request.model,
        prompt_tokens = prompt.len(),
        output_tokens = outcome.output_tokens,
        stop_reason = ?stop_reason,
        queued_ms,
        prefill_ms = (prefill_s * 1e3) as u64,
        prefill_tok_s = per_second(prompt.len(), prefill_s),
        decode_tok_s = per_second(outcome.output_tokens.saturating_sub(1), decode_s),
        select_ms = (outcome.select.as_secs_f64() * 1e3) as u64,
        tools = prepared.tools.is_some(),
        priority = ?request.priority,
        "generation finished"
    );
    let _ = job.tx.blocking_send(Ok(GenerationEvent::Finished {
        stop_reason,
        usage: usage(
            loaded,
            request,
            &prompt,
            model.cached_tokens(),
            outcome.output_tokens,
        ),
    }));
    Ok(())
}

/// The request's token accounting. With a cache point: prompt tokens whose keys/values came
/// from the prefix cache are read, the rest of the prompt up to the breakpoint is written
/// (this sequence is kept in the prefix cache when it ends), and only the tokens after it are
/// plain input. Without one, the whole prompt is input.
fn usage(
    loaded: &LoadedModel,
    request: &GenerateRequest,
    prompt: &[u32],
    cached: usize,
    output_tokens: usize,
) -> Usage {
    let mut usage = Usage {
        input_tokens: prompt.len() as u32,
        output_tokens: output_tokens as u32,
        ..Usage::default()
    };
    if let Some(point) = request.cache_point {
        let upto = loaded.tokens_to_cache_point(&request.prompt, point, prompt);
        let read = cached.min(prompt.len());
        let write = upto.saturating_sub(read);
        usage.cache_read_input_tokens = read as u32;
        usage.cache_write_input_tokens = write as u32;
        usage.input_tokens = (prompt.len() - read - write) as u32;
    }
    usage
}

fn per_second(n: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        (n as f64 / seconds * 10.0).round() / 10.0
    } else {
        0.0
    }
}

/// Maps an error met while preparing a request: template and request problems are the
/// caller's, anything else is ours.
pub fn request_error(e: EngineError) -> BackendError {
    match e {
        EngineError::Template(m) | EngineError::InvalidRequest(m) => {
            BackendError::InvalidRequest(m)
        }
        other => BackendError::Internal(other.to_string()),
    }
}

/// Sends text into the request's channel; blocks when the caller reads slowly.
struct ChannelSink<'a> {
    tx: &'a EventSender,
}

impl Sink for ChannelSink<'_> {
    fn text(&mut self, text: String) -> bool {
        self.tx
            .blocking_send(Ok(GenerationEvent::Text(text)))
            .is_ok()
    }

    fn tool_call(&mut self, name: String, input_json: String) -> bool {
        self.tx
            .blocking_send(Ok(GenerationEvent::ToolCall { name, input_json }))
            .is_ok()
    }

    fn cancelled(&self) -> bool {
        self.tx.is_closed()
    }
}
