//! Amazon Titan Embeddings bodies (bedrock-wire §5.8).
//!
//! - G1 Text (`amazon.titan-embed-text-v1`, `amazon.titan-embed-g1-text-02`):
//!   `{"inputText"*}` → `{"embedding": [1536 floats], "inputTextTokenCount"}`; vectors are not
//!   normalised (the real model's are not either).
//! - Text V2 (`amazon.titan-embed-text-v2:0`): `{"inputText"*, "dimensions": 1024 | 512 | 256,
//!   "normalize": true, "embeddingTypes": ["float" | "binary"]}` → `{"embedding",
//!   "inputTextTokenCount", "embeddingsByType": {"float"?, "binary"?}}`; `embedding` is always
//!   the float vector, `embeddingsByType` always has `float` plus what was asked.
//! - Multimodal G1 (`amazon.titan-embed-image-v1`): `{"inputText", "inputImage",
//!   "embeddingConfig": {"outputEmbeddingLength": 256 | 384 | 1024}}`; text only here (there is
//!   no local image encoder): an `inputImage` is refused with a clear message.
//!
//! Limits: 8,192 tokens (G1 Text and V2; V2 also 50,000 characters), 128 tokens (multimodal
//! text). Titan has no truncation option: a longer text is refused with
//! `400 Bad Request: Too many input tokens. Max input tokens: …, request input token count: …`
//! (**unconfirmed** wording). Tokens are counted with the local model's tokenizer, so the
//! boundary falls near, not exactly at, Titan's own.

use bedrock_local_core::{Embeddings, Truncate};
use serde::Serialize;
use serde_json::Value;

use super::{
    dedup, float_vector, to_bytes, vector, ByType, EmbedDecoded, EmbedDialect, EmbedPlan, Values,
};
use crate::everit::{self, array_of, integer, prop, Kind, Schema};
use crate::{DialectError, Result};

const INPUT_TEXT: Kind = Kind::String {
    min_length: Some(1),
};

const G1_SCHEMA: Schema = Schema {
    required: &["inputText"],
    properties: &[prop("inputText", INPUT_TEXT)],
};

const V2_SCHEMA: Schema = Schema {
    required: &["inputText"],
    properties: &[
        prop("inputText", INPUT_TEXT),
        prop("dimensions", integer(None, None)),
        prop("normalize", Kind::Boolean),
        prop(
            "embeddingTypes",
            array_of(&Kind::Enum(&["float", "binary"]), None),
        ),
    ],
};

const IMAGE_CONFIG: Schema = Schema {
    required: &[],
    properties: &[prop("outputEmbeddingLength", integer(None, None))],
};

const IMAGE_SCHEMA: Schema = Schema {
    required: &[],
    properties: &[
        prop("inputText", INPUT_TEXT),
        prop("inputImage", Kind::String { min_length: None }),
        prop("embeddingConfig", Kind::Object(&IMAGE_CONFIG)),
    ],
};

/// Token limit of the text models.
pub const MAX_TOKENS: u32 = 8192;
/// Character limit of V2.
pub const V2_MAX_CHARS: usize = 50_000;
/// Token limit of the multimodal model's text.
pub const IMAGE_MAX_TOKENS: u32 = 128;

/// Whether a provider model id is a Titan embeddings model.
pub fn handles(provider_model_id: &str) -> bool {
    provider_model_id.starts_with("amazon.titan-embed")
}

enum Version {
    G1,
    V2,
    Image,
}

fn version(model_id: &str) -> Version {
    if model_id.starts_with("amazon.titan-embed-image") {
        Version::Image
    } else if model_id.starts_with("amazon.titan-embed-text-v2") {
        Version::V2
    } else {
        Version::G1
    }
}

/// The Titan Embeddings dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct TitanEmbed;

fn enum_check(at: &str, value: Option<&Value>, allowed: &[i64], out: &mut Vec<String>) {
    if let Some(n) = value.and_then(Value::as_i64) {
        if !allowed.contains(&n) {
            out.push(format!("{at}: {n} is not a valid enum value"));
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    embedding: Vec<f32>,
    input_text_token_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    embeddings_by_type: Option<ByType>,
}

impl EmbedDialect for TitanEmbed {
    fn name(&self) -> &'static str {
        "titan-embed"
    }

    fn decode(&self, model_id: &str, body: &[u8]) -> Result<EmbedDecoded> {
        let object = everit::parse_object(body)?;
        let mut violations = Vec::new();
        let version = version(model_id);
        let schema = match version {
            Version::G1 => &G1_SCHEMA,
            Version::V2 => &V2_SCHEMA,
            Version::Image => &IMAGE_SCHEMA,
        };
        everit::check_object("#", &object, schema, &mut violations);
        let text = object
            .get("inputText")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let (dimensions, normalize, types, max_tokens) = match version {
            Version::G1 => (1536, false, Vec::new(), MAX_TOKENS),
            Version::V2 => {
                enum_check(
                    "#/dimensions",
                    object.get("dimensions"),
                    &[256, 512, 1024],
                    &mut violations,
                );
                let chars = text.chars().count();
                if chars > V2_MAX_CHARS {
                    violations.push(format!(
                        "#/inputText: expected maxLength: {V2_MAX_CHARS}, actual: {chars}"
                    ));
                }
                let types = match object.get("embeddingTypes") {
                    Some(list) => everit::strings(Some(list)),
                    None => vec!["float".to_string()],
                };
                (
                    object
                        .get("dimensions")
                        .and_then(Value::as_u64)
                        .map_or(1024, |d| d as usize),
                    object
                        .get("normalize")
                        .and_then(Value::as_bool)
                        .unwrap_or(true),
                    dedup(types),
                    MAX_TOKENS,
                )
            }
            Version::Image => {
                let config = object.get("embeddingConfig");
                let length = config.and_then(|c| c.get("outputEmbeddingLength"));
                enum_check(
                    "#/embeddingConfig/outputEmbeddingLength",
                    length,
                    &[256, 384, 1024],
                    &mut violations,
                );
                (
                    length.and_then(Value::as_u64).map_or(1024, |d| d as usize),
                    true,
                    Vec::new(),
                    IMAGE_MAX_TOKENS,
                )
            }
        };
        everit::finish(&violations)?;
        if matches!(version, Version::Image) {
            if object.contains_key("inputImage") {
                return Err(DialectError::Unsupported(
                    "bedrock-local has no local image embedding model: amazon.titan-embed-image-v1 embeds inputText only here.".into(),
                ));
            }
            if text.is_empty() {
                return Err(DialectError::Validation(
                    "Malformed input request: At least one of inputText and inputImage must be provided, please reformat your input and try again.".into(),
                ));
            }
        }
        Ok(EmbedDecoded {
            texts: vec![text],
            max_input_tokens: Some(max_tokens),
            truncate: Truncate::None,
            plan: EmbedPlan {
                dimensions,
                normalize,
                types,
                model_id: model_id.to_string(),
                texts: Vec::new(),
            },
        })
    }

    fn encode(&self, plan: &EmbedPlan, _response_id: &str, embeddings: &Embeddings) -> Vec<u8> {
        let raw = embeddings.vectors.first().map_or(&[][..], Vec::as_slice);
        let embedding = float_vector(plan, raw);
        let by_type = matches!(version(&plan.model_id), Version::V2).then(|| {
            let mut members = vec![("float".to_string(), Values::Float(embedding.clone()))];
            if plan.types.iter().any(|t| t == "binary") {
                let bits = vector::bits(&embedding)
                    .into_iter()
                    .map(i16::from)
                    .collect();
                members.push(("binary".to_string(), Values::Int(bits)));
            }
            ByType(members)
        });
        to_bytes(&Response {
            embedding,
            input_text_token_count: embeddings.token_counts.first().copied().unwrap_or(0),
            embeddings_by_type: by_type,
        })
    }

    fn too_long(&self, tokens: u32, limit: u32) -> DialectError {
        DialectError::Validation(format!(
            "400 Bad Request: Too many input tokens. Max input tokens: {limit}, request input token count: {tokens} "
        ))
    }
}
