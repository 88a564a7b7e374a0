//! The candle CPU inference engine of bedrock-local.
//!
//! Owns everything that touches candle, tokenizers and minijinja (and nothing else in the
//! workspace may): GGUF loading, one file per architecture under `arch/`, the tokenizer built
//! from GGUF metadata, chat templates, sampling, stop-sequence handling and the worker thread
//! that runs inference off the async runtime. The facade sees it only through
//! `bedrock_local_core::InferenceBackend`.

pub mod chat_template;
pub mod error;
pub mod tokenizer;

pub use error::{EngineError, Result};
