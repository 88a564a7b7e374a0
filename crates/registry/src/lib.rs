//! The model registry of bedrock-local: which local models exist, which Bedrock ids they
//! answer, and verified weights on disk.
//!
//! - [`models`]: `models.toml` (local models, their files, sources and sha256, id mappings).
//! - [`catalog`]: the Bedrock foundation-model catalog and system inference profiles.
//! - Application inference profiles (CreateInferenceProfile): the registry's one piece of
//!   mutable state, persisted under the data dir.
//! - [`Registry::resolve`]: any model-id form a client sends → the local model that answers.
//! - [`Registry::pull`]: content-addressed store under the data dir; sources `hf`, `pypi`,
//!   `url`, `file`; resumable, atomic, sha256-verified downloads with [`Progress`] reporting.
//!
//! This is the only crate that touches the network. All of it is blocking: call `pull` from a
//! plain thread (the engine's, the CLI's, `spawn_blocking`), never on the async runtime.
//! Weights are never handed out before their sha256 matched.

mod app_profiles;
pub mod catalog;
mod config;
mod error;
pub mod models;
mod progress;
mod registry;
mod resolve;
mod store;

pub use app_profiles::{
    validate_tag_keys, validate_tags, ApplicationProfile, NewApplicationProfile, Tag,
};
pub use catalog::{
    foundation_model_arn, Customization, FoundationModel, InferenceProfile, InferenceType,
    LifecycleStatus, Modality, ProfileGeo,
};
pub use config::{RegistryConfig, DEFAULT_HF_ENDPOINT, DEFAULT_PYPI_BASE_URL};
pub use error::{RegistryError, Result};
pub use models::{LocalModel, Task};
pub use progress::{progress_for_stderr, BarProgress, LogProgress, NoProgress, Progress};
pub use registry::{LocalModelInfo, Registry, DEFAULT_LOCAL_MAX_OUTPUT_TOKENS};
pub use resolve::{IdForm, Resolved};
