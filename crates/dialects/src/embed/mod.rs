//! Embedding bodies of InvokeModel: Amazon Titan Embeddings (§5.8) and Cohere Embed (§5.10).
//!
//! An embeddings dialect decodes its body into the texts to embed plus an [`EmbedPlan`] (the
//! dimension, normalisation and value types the response asks for), and encodes the engine's
//! vectors back: projected to the requested dimension, normalised where the API says, and
//! quantised into the requested types (see [`vector`] for the exact, documented maps).
//!
//! [`embed_dialect`] picks the dialect from the provider model id, as [`crate::invoke_dialect`]
//! does for text models. Embedding models do not stream and have no Converse form; those
//! rules live in the facade.

pub mod cohere;
pub mod titan;
pub mod vector;

use bedrock_local_core::{Embeddings, Truncate};

use crate::{DialectError, Result};

/// What a response needs from its request besides the vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedPlan {
    /// Output dimension.
    pub dimensions: usize,
    /// Whether float vectors are scaled to unit length.
    pub normalize: bool,
    /// The value types asked for (`float`, `int8`, `binary`...), in request order, deduplicated;
    /// empty when the body named none.
    pub types: Vec<String>,
    /// The provider model id (Titan's response members differ between versions).
    pub model_id: String,
    /// The texts, for responses that repeat them (Cohere's `texts`).
    pub texts: Vec<String>,
}

/// An embeddings request decoded from a provider body.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedDecoded {
    /// The texts to embed, one vector each.
    pub texts: Vec<String>,
    /// The provider's token limit per text (without the model's special tokens).
    pub max_input_tokens: Option<u32>,
    /// What to do with a longer text.
    pub truncate: Truncate,
    /// How to shape the response.
    pub plan: EmbedPlan,
}

/// One embeddings body format.
pub trait EmbedDialect: Sync {
    /// A short name for logs.
    fn name(&self) -> &'static str;

    /// Validates a request body for this provider model id and decodes it.
    fn decode(&self, model_id: &str, body: &[u8]) -> Result<EmbedDecoded>;

    /// The response body; `response_id` is a fresh UUID v4 as 32 hex digits.
    fn encode(&self, plan: &EmbedPlan, response_id: &str, embeddings: &Embeddings) -> Vec<u8>;

    /// The error for a text of `tokens` tokens, over the provider's `limit`.
    fn too_long(&self, tokens: u32, limit: u32) -> DialectError;
}

/// The embeddings dialect of a provider model id, if it is an embedding model we speak.
pub fn embed_dialect(provider_model_id: &str) -> Option<&'static dyn EmbedDialect> {
    if titan::handles(provider_model_id) {
        Some(&titan::TitanEmbed)
    } else if cohere::handles(provider_model_id) {
        Some(&cohere::CohereEmbed)
    } else {
        None
    }
}

/// The float vector of one text as the response carries it: projected, then normalised when
/// asked.
pub fn float_vector(plan: &EmbedPlan, raw: &[f32]) -> Vec<f32> {
    let projected = vector::project(raw, plan.dimensions);
    if plan.normalize {
        vector::normalize(&projected)
    } else {
        projected
    }
}

/// Vectors of one value type, serialised with `f32`'s shortest form (not widened to `f64`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub(crate) enum Values {
    /// One float vector.
    Float(Vec<f32>),
    /// One integer vector (int8, uint8, packed binary, Titan bits).
    Int(Vec<i16>),
    /// A float vector per text.
    FloatRows(Vec<Vec<f32>>),
    /// An integer vector per text.
    IntRows(Vec<Vec<i16>>),
}

/// A JSON object whose members keep this order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ByType(pub Vec<(String, Values)>);

impl serde::Serialize for ByType {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, values) in &self.0 {
            map.serialize_entry(key, values)?;
        }
        map.end()
    }
}

/// Serialises a response struct (our own types: cannot fail).
pub(crate) fn to_bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Keeps the first occurrence of each string.
pub(crate) fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

#[cfg(test)]
mod tests;
