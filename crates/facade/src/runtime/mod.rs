//! The `bedrock-runtime` data plane: shared plumbing of its handlers.

pub mod batch;
pub mod converse;
pub mod count_tokens;
pub mod double;
pub mod embed;
pub mod invoke;
mod reasoning;
pub mod stream;

use bedrock_local_core::{GenerateRequest, GenerationEvent, Priority};
use bedrock_local_dialects::{Completion, Decoded, ModelTraits, ResponseCtx};
use bedrock_local_doubles::Api;
use bedrock_local_registry::{Resolved, Task};

use crate::error::ApiError;
use crate::state::AppState;

/// Default `max_tokens` when a body names none and the catalog gives no provider default.
const FALLBACK_DEFAULT_MAX_TOKENS: u32 = 512;

/// What the dialects need to know about the model a request addresses.
pub fn model_traits(state: &AppState, resolved: &Resolved) -> ModelTraits {
    match &resolved.foundation_model {
        Some(fm) => ModelTraits {
            max_output_tokens: fm
                .max_output_tokens
                .unwrap_or_else(|| state.registry.max_output_tokens(&resolved.local)),
            default_max_tokens: fm.default_max_tokens.unwrap_or(FALLBACK_DEFAULT_MAX_TOKENS),
            supports_system: fm.supports_system,
            supports_tools: fm.supports_tools,
            supports_reasoning: fm.supports_reasoning(),
        },
        // Local names: the model's own limits apply (the engine clamps to the context).
        None => ModelTraits {
            max_output_tokens: state.registry.max_output_tokens(&resolved.local),
            default_max_tokens: FALLBACK_DEFAULT_MAX_TOKENS,
            supports_system: true,
            supports_tools: true,
            supports_reasoning: false,
        },
    }
}

/// Rejects models that cannot generate text (embedding, image, video models).
pub fn ensure_text(resolved: &Resolved) -> Result<(), ApiError> {
    let catalog_text = resolved
        .foundation_model
        .as_ref()
        .is_none_or(|fm| fm.task() == Task::Text);
    if resolved.local_task == Task::Text && catalog_text {
        Ok(())
    } else {
        Err(ApiError::validation(
            "This action doesn't support the model that you provided. Try again with a supported text or chat model.",
        ))
    }
}

/// The identity of one response: the provider model id, a fresh id, the time; `echo` and
/// `prompt_caching` (the request had a cache point) as the decoded body gave them.
pub fn response_ctx(
    provider_model_id: &str,
    echo: serde_json::Value,
    prompt_caching: bool,
) -> ResponseCtx {
    ResponseCtx {
        model_id: provider_model_id.to_string(),
        response_id: uuid::Uuid::new_v4().simple().to_string(),
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        echo,
        prompt_caching,
    }
}

/// Rejects streaming calls on models that do not stream (embedding and image models, and any
/// catalog entry with `responseStreamingSupported: false`), with Bedrock's message.
pub fn ensure_streaming(resolved: &Resolved) -> Result<(), ApiError> {
    let catalog_streams = resolved
        .foundation_model
        .as_ref()
        .is_none_or(|fm| fm.response_streaming_supported);
    if catalog_streams && resolved.local_task == Task::Text {
        Ok(())
    } else {
        Err(ApiError::validation(
            "The model is unsupported for streaming.",
        ))
    }
}

/// A seed for this request: fixed in deterministic mode, fresh otherwise.
pub fn request_seed(state: &AppState) -> u64 {
    if state.config.deterministic {
        0
    } else {
        let (hi, lo) = uuid::Uuid::new_v4().as_u64_pair();
        hi ^ lo
    }
}

/// The engine request for a decoded body on the resolved local model: the body's own seed when
/// its dialect has one (Cohere's `seed`; 0 means none), else a fresh one; greedy decoding in
/// deterministic mode.
pub fn build_request(
    state: &AppState,
    resolved: &Resolved,
    decoded: Decoded,
    priority: Priority,
) -> GenerateRequest {
    let mut sampling = decoded.sampling;
    if sampling.seed == 0 {
        sampling.seed = request_seed(state);
    }
    if state.config.deterministic {
        sampling.temperature = 0.0;
    }
    GenerateRequest {
        model: resolved.local.clone(),
        prompt: decoded.prompt,
        max_tokens: decoded.max_tokens,
        sampling,
        stop_sequences: decoded.stop_sequences,
        priority,
        cache_point: decoded.cache_point,
    }
}

/// Who asks for a generation, for the log and the engine's queue.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// The API, as logged (`converse`, `invoke`, `batch`...).
    pub api: &'static str,
    /// Interactive calls are served before batch-job records.
    pub priority: Priority,
    /// The runtime API when the call goes through the test-double layer (rules, echo models,
    /// call history); `None` for batch-job records.
    pub double: Option<Api>,
}

impl Caller {
    /// A runtime API call waiting on an HTTP response.
    pub const fn interactive(api: &'static str, double: Api) -> Self {
        Self {
            api,
            priority: Priority::Interactive,
            double: Some(double),
        }
    }
}

/// Resolves a model id, the echo models (`local.echo`, `local.echo-request`) included: they
/// resolve to the default text model, whose tokenizer counts their tokens.
pub fn resolve(state: &AppState, model_id: &str) -> Result<Resolved, ApiError> {
    if double::is_echo(model_id) {
        let default = state.registry.default_text_model().to_string();
        let mut resolved = state.registry.resolve(&format!("local.{default}"))?;
        resolved.requested = model_id.to_string();
        return Ok(resolved);
    }
    Ok(state.registry.resolve(model_id)?)
}

/// Generates for a decoded request on the resolved local model, runs to the end, logs the
/// outcome under the caller's API.
pub async fn generate(
    state: &AppState,
    resolved: &Resolved,
    decoded: Decoded,
    started: std::time::Instant,
    caller: Caller,
    body: &[u8],
) -> Result<Completion, ApiError> {
    let reasoning_budget = decoded.reasoning_budget;
    let request = build_request(state, resolved, decoded, caller.priority);
    let stream = match caller.double {
        Some(api) => {
            let call = double::Invocation {
                api,
                resolved,
                body,
                reasoning_budget,
            };
            double::generate(state, call, request).await?
        }
        None => reasoning::model_stream(state, request, reasoning_budget)?,
    };
    let completion = complete(stream, started).await?;
    tracing::info!(
        api = caller.api,
        model_id = %resolved.requested,
        local = %resolved.local,
        prompt_tokens = completion.usage.input_tokens,
        cache_read_tokens = completion.usage.cache_read_input_tokens,
        cache_write_tokens = completion.usage.cache_write_input_tokens,
        output_tokens = completion.usage.output_tokens,
        stop_reason = ?completion.stop_reason,
        "generated"
    );
    Ok(completion)
}

/// Runs a generation to the end and gathers the result.
async fn complete(
    mut stream: bedrock_local_core::GenerationStream,
    started: std::time::Instant,
) -> Result<Completion, ApiError> {
    let mut text = String::new();
    let mut reasoning: Option<String> = None;
    let mut tool_calls = Vec::new();
    while let Some(event) = stream.next().await {
        match event? {
            GenerationEvent::Started { .. } => {}
            GenerationEvent::Text(t) => text.push_str(&t),
            GenerationEvent::Reasoning(t) => reasoning.get_or_insert_with(String::new).push_str(&t),
            GenerationEvent::ToolCall { name, input_json } => {
                tool_calls.push((new_tool_use_id(), name, input_json));
            }
            GenerationEvent::Finished { stop_reason, usage } => {
                return Ok(Completion {
                    text,
                    reasoning,
                    tool_calls,
                    stop_reason,
                    usage,
                    latency_ms: started.elapsed().as_millis() as u64,
                });
            }
        }
    }
    Err(ApiError::internal("the generation ended without a result"))
}

/// `tooluse_` + 22 base62 characters, like Bedrock's ids.
pub(crate) fn new_tool_use_id() -> String {
    bedrock_local_dialects::converse::tool_use_id(uuid::Uuid::new_v4().as_u128())
}
