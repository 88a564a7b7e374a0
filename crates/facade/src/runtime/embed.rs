//! InvokeModel on an embedding model: the provider's embeddings body (Titan, Cohere), the
//! engine's vectors, the provider's response. Used by the InvokeModel handler and by batch
//! records alike.

use bedrock_local_core::{BackendError, EmbedRequest, Priority};
use bedrock_local_dialects::embed::{self, EmbedDialect};
use bedrock_local_registry::{Resolved, Task};

use crate::error::ApiError;
use crate::state::AppState;

/// The body format local embedding names (`all-minilm-l6-v2`) speak: Titan Text Embeddings
/// V2's (`inputText`, `dimensions`, `normalize`, `embeddingTypes`).
const LOCAL_NAME_DIALECT: &str = "amazon.titan-embed-text-v2:0";

/// An encoded embeddings response and what the headers report.
pub struct EmbedOutput {
    /// The provider's response body.
    pub body: Vec<u8>,
    /// Tokens of all texts, as embedded.
    pub input_tokens: u32,
}

/// Whether an id resolved to an embedding model (by the catalog, or by the local model for
/// local names). Such requests take this path instead of the text dialects.
pub fn is_embedding(resolved: &Resolved) -> bool {
    match &resolved.foundation_model {
        Some(fm) => fm.task() == Task::Embedding,
        None => resolved.local_task == Task::Embedding,
    }
}

/// Decodes, embeds on the engine (off the async runtime), encodes.
pub async fn run(
    state: &AppState,
    resolved: &Resolved,
    body: &[u8],
    priority: Priority,
) -> Result<EmbedOutput, ApiError> {
    let dialect_id = resolved
        .provider_model_id
        .clone()
        .unwrap_or_else(|| LOCAL_NAME_DIALECT.to_string());
    let Some(dialect) = embed::embed_dialect(&dialect_id) else {
        return Err(ApiError::not_implemented(format!(
            "bedrock-local does not implement the embeddings body format of {dialect_id} yet."
        )));
    };
    if resolved.local_task != Task::Embedding {
        return Err(ApiError::validation(format!(
            "{} is an embedding model, but it is mapped to the local text model {}: map it to an embedding model (models.toml [[mapping]]).",
            resolved.requested, resolved.local
        )));
    }
    let decoded = dialect.decode(&dialect_id, body)?;
    let request = EmbedRequest {
        model: resolved.local.clone(),
        texts: decoded.texts,
        max_input_tokens: decoded.max_input_tokens,
        truncate: decoded.truncate,
        priority,
    };
    let backend = state.backend.clone();
    let embeddings = tokio::task::spawn_blocking(move || backend.embed(request))
        .await
        .map_err(|e| ApiError::internal(format!("the embedding task failed: {e}")))?
        .map_err(|e| backend_error(dialect, e))?;
    let response_id = uuid::Uuid::new_v4().simple().to_string();
    Ok(EmbedOutput {
        body: dialect.encode(&decoded.plan, &response_id, &embeddings),
        input_tokens: embeddings.total_tokens(),
    })
}

/// A text over the provider's limit gets the provider's wording; the rest maps as usual.
fn backend_error(dialect: &dyn EmbedDialect, err: BackendError) -> ApiError {
    match err {
        BackendError::ContextOverflow {
            prompt_tokens,
            limit,
        } => dialect.too_long(prompt_tokens, limit).into(),
        other => other.into(),
    }
}
