//! Cohere Embed bodies (bedrock-wire §5.10): `cohere.embed-english-v3`,
//! `cohere.embed-multilingual-v3`, `cohere.embed-v4:0`.
//!
//! Request `{"texts"*: [≤ 96 strings of ≤ 2048 characters], "input_type"*: search_document |
//! search_query | classification | clustering | image, "truncate": NONE | START | END,
//! "embedding_types": [float | int8 | uint8 | binary | ubinary]}`; v4 adds `output_dimension`
//! (256 | 512 | 1024 | 1536, default 1536) and `max_tokens` (a lower truncation limit)
//! (**unconfirmed**). `images` (a data URI) is refused: there is no local image encoder.
//!
//! Response `{"id", "response_type": "embeddings_floats", "embeddings": [[…], …], "texts"}`, or
//! with `embedding_types`: `"response_type": "embeddings_by_type"` and `"embeddings": {"float":
//! [[…]], "int8": [[…]], …}`. Vectors are unit length (Cohere's are), 1024-dimensional for v3;
//! the quantised types follow [`super::vector`].
//!
//! Limits: 512 tokens per text for v3, 128,000 for v4. `truncate` defaults to `NONE` (a longer
//! text is an error, wording **unconfirmed**); `START`/`END` drop tokens from that end.
//! `input_type` is checked but does not change the vector: the local model has one embedding
//! space for queries and documents.

use bedrock_local_core::{Embeddings, Truncate};
use serde::Serialize;
use serde_json::Value;

use super::{
    dedup, float_vector, to_bytes, vector, ByType, EmbedDecoded, EmbedDialect, EmbedPlan, Values,
};
use crate::everit::{self, array_of, integer, prop, Kind, Schema};
use crate::{DialectError, Result};

const TYPES: Kind = Kind::Enum(&["float", "int8", "uint8", "binary", "ubinary"]);
const TEXT: Kind = Kind::String { min_length: None };

const INPUT_TYPES: Kind = Kind::Enum(&[
    "search_document",
    "search_query",
    "classification",
    "clustering",
    "image",
]);

const V3_SCHEMA: Schema = Schema {
    required: &["texts", "input_type"],
    properties: &[
        prop("texts", array_of(&TEXT, Some(MAX_TEXTS))),
        prop(
            "images",
            Kind::Array {
                items: None,
                max_items: Some(1),
            },
        ),
        prop("input_type", INPUT_TYPES),
        prop("truncate", Kind::Enum(&["NONE", "START", "END"])),
        prop("embedding_types", array_of(&TYPES, None)),
    ],
};

const V4_SCHEMA: Schema = Schema {
    required: &["input_type"],
    properties: &[
        prop("texts", array_of(&TEXT, Some(MAX_TEXTS))),
        prop(
            "images",
            Kind::Array {
                items: None,
                max_items: Some(1),
            },
        ),
        prop(
            "inputs",
            Kind::Array {
                items: None,
                max_items: Some(MAX_TEXTS),
            },
        ),
        prop("input_type", INPUT_TYPES),
        prop(
            "truncate",
            Kind::Enum(&["NONE", "START", "END", "LEFT", "RIGHT"]),
        ),
        prop("embedding_types", array_of(&TYPES, None)),
        prop("output_dimension", integer(None, None)),
        prop("max_tokens", integer(Some(1), None)),
    ],
};

/// Most texts per request.
pub const MAX_TEXTS: usize = 96;
/// Most characters per text.
pub const MAX_CHARS: usize = 2048;
/// Token limit per text of the v3 models.
pub const V3_MAX_TOKENS: u32 = 512;
/// Token limit per text of Embed v4.
pub const V4_MAX_TOKENS: u32 = 128_000;

/// Whether a provider model id is a Cohere Embed model.
pub fn handles(provider_model_id: &str) -> bool {
    provider_model_id.starts_with("cohere.embed")
}

fn is_v4(model_id: &str) -> bool {
    model_id.starts_with("cohere.embed-v4")
}

/// The Cohere Embed dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct CohereEmbed;

#[derive(Serialize)]
#[serde(untagged)]
enum EmbeddingsField {
    Floats(Vec<Vec<f32>>),
    ByType(ByType),
}

#[derive(Serialize)]
struct Response<'a> {
    id: String,
    response_type: &'static str,
    embeddings: EmbeddingsField,
    texts: &'a [String],
}

fn typed(kind: &str, floats: &[Vec<f32>]) -> Values {
    let ints = |f: fn(&[f32]) -> Vec<i16>| Values::IntRows(floats.iter().map(|v| f(v)).collect());
    match kind {
        "int8" => ints(vector::int8),
        "uint8" => ints(vector::uint8),
        "binary" => ints(vector::binary),
        "ubinary" => ints(vector::ubinary),
        _ => Values::FloatRows(floats.to_vec()),
    }
}

impl EmbedDialect for CohereEmbed {
    fn name(&self) -> &'static str {
        "cohere-embed"
    }

    fn decode(&self, model_id: &str, body: &[u8]) -> Result<EmbedDecoded> {
        let object = everit::parse_object(body)?;
        let v4 = is_v4(model_id);
        let mut violations = Vec::new();
        everit::check_object(
            "#",
            &object,
            if v4 { &V4_SCHEMA } else { &V3_SCHEMA },
            &mut violations,
        );
        let texts: Vec<String> = everit::strings(object.get("texts"));
        for (i, text) in texts.iter().enumerate() {
            let chars = text.chars().count();
            if chars > MAX_CHARS {
                violations.push(format!(
                    "#/texts/{i}: expected maxLength: {MAX_CHARS}, actual: {chars}"
                ));
            }
        }
        let dimension = object.get("output_dimension").and_then(Value::as_i64);
        if let Some(n) = dimension.filter(|n| ![256, 512, 1024, 1536].contains(n)) {
            violations.push(format!("#/output_dimension: {n} is not a valid enum value"));
        }
        everit::finish(&violations)?;
        if object.contains_key("images") || object.contains_key("inputs") {
            return Err(DialectError::Unsupported(
                "bedrock-local has no local image embedding model: Cohere Embed takes texts only here.".into(),
            ));
        }
        if texts.is_empty() {
            // Wording unconfirmed.
            return Err(DialectError::Validation(
                "Malformed input request: #/texts: expected minimum item count: 1, found: 0, please reformat your input and try again.".into(),
            ));
        }
        let truncate = match object.get("truncate").and_then(Value::as_str) {
            Some("START" | "LEFT") => Truncate::Start,
            Some("END" | "RIGHT") => Truncate::End,
            _ => Truncate::None,
        };
        let model_limit = if v4 { V4_MAX_TOKENS } else { V3_MAX_TOKENS };
        let max_tokens =
            everit::count(&object, "max_tokens").map_or(model_limit, |m| m.min(model_limit));
        // A `max_tokens` below the model's limit truncates (from the end unless told otherwise).
        let truncate = if max_tokens < model_limit && truncate == Truncate::None {
            Truncate::End
        } else {
            truncate
        };
        let types = everit::strings(object.get("embedding_types"));
        Ok(EmbedDecoded {
            texts: texts.clone(),
            max_input_tokens: Some(max_tokens),
            truncate,
            plan: EmbedPlan {
                dimensions: match dimension {
                    Some(d) => d as usize,
                    None if v4 => 1536,
                    None => 1024,
                },
                normalize: true,
                types: dedup(types),
                model_id: model_id.to_string(),
                texts,
            },
        })
    }

    fn encode(&self, plan: &EmbedPlan, response_id: &str, embeddings: &Embeddings) -> Vec<u8> {
        let floats: Vec<Vec<f32>> = embeddings
            .vectors
            .iter()
            .map(|raw| float_vector(plan, raw))
            .collect();
        let (response_type, field) = if plan.types.is_empty() {
            ("embeddings_floats", EmbeddingsField::Floats(floats))
        } else {
            let members = plan
                .types
                .iter()
                .map(|kind| (kind.clone(), typed(kind, &floats)))
                .collect();
            (
                "embeddings_by_type",
                EmbeddingsField::ByType(ByType(members)),
            )
        };
        to_bytes(&Response {
            id: crate::cohere::uuid_text(response_id),
            response_type,
            embeddings: field,
            texts: &plan.texts,
        })
    }

    fn too_long(&self, tokens: u32, limit: u32) -> DialectError {
        // Wording unconfirmed.
        DialectError::Validation(format!(
            "A text in texts has {tokens} tokens, more than the {limit} this model accepts. Set truncate to START or END to shorten it."
        ))
    }
}
