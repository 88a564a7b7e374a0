//! [`Engine`]: the implementation of `bedrock_local_core::InferenceBackend`.
//!
//! Owns the front door: which models exist, their queues, admission (a full queue answers
//! `Overloaded` at once), and the mapping of engine failures to `BackendError`. Generation
//! happens on one worker thread per model (see `worker.rs`), started on first use; embeddings
//! run on the caller's (blocking) thread, one request at a time per model (see `embed`).
//! Whether a model generates or embeds is known once it is loaded (its files say).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bedrock_local_core::{
    BackendError, EmbedRequest, Embeddings, GenerateRequest, GenerationStream, InferenceBackend,
    LocalModelName, ModelLocator, ModelStatus, Prompt, TokenCount,
};

use crate::arch::LoadOptions;
use crate::queue::{Gate, GateFull, JobQueue, PushError};
use crate::worker::{self, request_error, Job, Loaded, ModelShared};

/// Events buffered per request before the worker waits for the reader. Bounds memory per
/// request; a reader that stops reading holds the worker (backpressure), a reader that drops
/// the stream cancels the request.
pub const EVENT_BUFFER: usize = 64;

/// How the engine runs. Library crates take plain structs: defaults live in the CLI config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// CPU threads for one forward (`None` or 0: the CPUs this process may use, see
    /// [`crate::threads::default_threads`]; the count in use is
    /// [`EngineConfig::resolved_threads`]). Sizes our compute pool (created at the first
    /// forward in the process) and candle's (embeddings; set through `CANDLE_NUM_THREADS` and
    /// `RAYON_NUM_THREADS`, read at its first parallel operation), so build the engine before
    /// anything else runs inference.
    pub threads: Option<usize>,
    /// Upper bound on a model's context window (and so its KV cache), whatever its GGUF
    /// declares. Lower it to bound memory; raise it for long prompts.
    pub max_context: usize,
    /// Requests that may wait per model before new ones are refused with `Overloaded`
    /// (Bedrock's ThrottlingException); interactive requests and batch-job records are
    /// counted apart, each up to this number.
    pub queue_capacity: usize,
    /// Requests generating at once per model (their tokens share every forward pass);
    /// batch-job records take at most all but one slot.
    pub max_sequences: usize,
    /// Memory for each model's prefix cache, in bytes (0: none).
    pub prefix_cache_bytes: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            threads: None,
            max_context: 8192,
            queue_capacity: 64,
            max_sequences: 16,
            prefix_cache_bytes: 256 << 20,
        }
    }
}

/// Applies a thread count to our compute pool (text generation) and candle's (embeddings),
/// see [`EngineConfig::threads`].
pub fn configure_threads(threads: Option<usize>) {
    if let Some(n) = threads.filter(|n| *n > 0) {
        crate::arch::set_threads(n);
        std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
}

/// One model known to the engine.
struct Slot {
    shared: Arc<ModelShared>,
    /// The worker's queue, created with the worker on first use.
    queue: Mutex<Option<Arc<JobQueue<Job>>>>,
    /// Turns of embedding calls (they run on the caller's thread, interactive first).
    embed_gate: Gate,
}

/// The CPU engine. Cheap to share behind an `Arc`; all methods take `&self`.
pub struct Engine {
    slots: BTreeMap<LocalModelName, Slot>,
    config: EngineConfig,
}

impl Engine {
    /// An engine serving `models`, whose files come from `locator` on first use. Nothing is
    /// loaded and no thread is started until a model is needed (or [`InferenceBackend::load`]
    /// is called). Applies [`EngineConfig::resolved_threads`] (see [`EngineConfig::threads`]).
    pub fn new(
        locator: Arc<dyn ModelLocator>,
        models: Vec<LocalModelName>,
        config: EngineConfig,
    ) -> Self {
        configure_threads(Some(config.resolved_threads()));
        let options = LoadOptions {
            max_context: config.max_context.max(2),
        };
        let slots = models
            .into_iter()
            .map(|name| {
                let shared = Arc::new(ModelShared::new(name.clone(), locator.clone(), options));
                (
                    name,
                    Slot {
                        shared,
                        queue: Mutex::new(None),
                        embed_gate: Gate::new(config.queue_capacity),
                    },
                )
            })
            .collect();
        Self { slots, config }
    }

    /// The configuration the engine was built with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn slot(&self, name: &LocalModelName) -> Result<&Slot, BackendError> {
        self.slots
            .get(name)
            .ok_or_else(|| BackendError::UnknownModel(name.to_string()))
    }

    /// The model's queue, starting its worker thread on first use.
    fn queue(&self, slot: &Slot) -> Result<Arc<JobQueue<Job>>, BackendError> {
        let mut queue = slot.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(jobs) = queue.as_ref() {
            return Ok(jobs.clone());
        }
        let jobs = worker::spawn(
            slot.shared.clone(),
            self.config.queue_capacity,
            worker::Limits {
                sequences: self.config.max_sequences.max(1),
                prefix_cache_bytes: self.config.prefix_cache_bytes,
            },
        )
        .map_err(|e| BackendError::Internal(format!("cannot start the inference thread: {e}")))?;
        *queue = Some(jobs.clone());
        Ok(jobs)
    }
}

impl Drop for Engine {
    /// Stops the worker threads (each finishes the generation it is running).
    fn drop(&mut self) {
        for slot in self.slots.values() {
            if let Some(jobs) = slot
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
            {
                jobs.close();
            }
        }
    }
}

impl InferenceBackend for Engine {
    fn generate(&self, request: GenerateRequest) -> Result<GenerationStream, BackendError> {
        let slot = self.slot(&request.model)?;
        if slot.shared.is_embedding() {
            // Known already; otherwise the worker finds out on loading and says so in the stream.
            return Err(worker::not_a_text_model(&request.model));
        }
        let queue = self.queue(slot)?;
        let (tx, stream) = GenerationStream::channel(EVENT_BUFFER);
        let model = request.model.to_string();
        let priority = request.priority;
        let job = Job {
            request,
            tx,
            span: tracing::Span::current(),
            enqueued: Instant::now(),
        };
        match queue.push(priority, job) {
            Ok(()) => {
                let (interactive, batch) = queue.len();
                tracing::debug!(model, ?priority, interactive, batch, "request queued");
                Ok(stream)
            }
            Err(PushError::Full(_)) => {
                tracing::warn!(model, ?priority, "queue full: request refused");
                Err(BackendError::Overloaded(model))
            }
            Err(PushError::Closed(_)) => Err(BackendError::Internal(format!(
                "the inference thread of model {model} stopped"
            ))),
        }
    }

    fn count_tokens(
        &self,
        model: &LocalModelName,
        prompt: &Prompt,
    ) -> Result<TokenCount, BackendError> {
        let slot = self.slot(model)?;
        let loaded = slot.shared.ensure_text()?;
        let ids = loaded.encode_prompt(prompt).map_err(request_error)?;
        Ok(TokenCount {
            prompt_tokens: ids.len() as u32,
            context_length: loaded.context_length as u32,
        })
    }

    fn load(&self, model: &LocalModelName) -> Result<(), BackendError> {
        let slot = self.slot(model)?;
        if let Loaded::Text(_) = slot.shared.ensure_loaded()? {
            self.queue(slot)?;
        }
        Ok(())
    }

    fn embed(&self, request: EmbedRequest) -> Result<Embeddings, BackendError> {
        let slot = self.slot(&request.model)?;
        let model = slot.shared.ensure_embedding()?;
        let queued = Instant::now();
        let _turn = slot.embed_gate.enter(request.priority).map_err(|GateFull| {
            tracing::warn!(model = %request.model, priority = ?request.priority, "embedding queue full: request refused");
            BackendError::Overloaded(request.model.to_string())
        })?;
        let started = Instant::now();
        let embeddings = model.embed(&request)?;
        tracing::info!(
            model = %request.model,
            texts = request.texts.len(),
            tokens = embeddings.total_tokens(),
            queued_ms = (started - queued).as_millis() as u64,
            embed_ms = started.elapsed().as_millis() as u64,
            priority = ?request.priority,
            "embeddings computed"
        );
        Ok(embeddings)
    }

    fn status(&self) -> Vec<ModelStatus> {
        self.slots
            .values()
            .map(|slot| ModelStatus {
                name: slot.shared.name().clone(),
                state: slot.shared.state(),
            })
            .collect()
    }
}
