//! The shared vocabulary of bedrock-local.
//!
//! Every other crate speaks these types: the dialects decode provider bodies into a
//! [`GenerateRequest`], the engine turns it into a stream of [`GenerationEvent`]s, and the
//! dialects encode those events back into provider bodies. Nothing here does IO, knows
//! HTTP, or depends on serde: these are in-process types, not wire types.

mod backend;
mod embed;
mod request;

pub use backend::{
    BackendError, GenerationStream, InferenceBackend, ModelFiles, ModelLocator, ModelState,
    ModelStatus, TokenCount,
};
pub use embed::{EmbedRequest, Embeddings, Truncate};
pub use request::{
    CachePoint, ChatMessage, ContentPart, GenerateRequest, GenerationEvent, LocalModelName,
    Priority, Prompt, Role, SamplingParams, StopReason, ToolChoice, ToolSpec, Usage,
};
