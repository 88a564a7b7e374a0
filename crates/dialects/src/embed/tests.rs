use bedrock_local_core::{Embeddings, Truncate};
use serde_json::Value;

use super::*;

const TITAN_V1: &str = "amazon.titan-embed-text-v1";
const TITAN_V2: &str = "amazon.titan-embed-text-v2:0";
const TITAN_IMAGE: &str = "amazon.titan-embed-image-v1";
const COHERE_V3: &str = "cohere.embed-english-v3";
const COHERE_V4: &str = "cohere.embed-v4:0";

fn decode(model: &str, body: &str) -> Result<EmbedDecoded> {
    embed_dialect(model)
        .expect("an embeddings dialect")
        .decode(model, body.as_bytes())
}

fn error(model: &str, body: &str) -> String {
    decode(model, body)
        .expect_err("refused")
        .message()
        .to_string()
}

/// A deterministic 384-d "model output" per text.
fn fake(texts: &[String]) -> Embeddings {
    Embeddings {
        vectors: texts
            .iter()
            .enumerate()
            .map(|(i, _)| {
                (0..384)
                    .map(|j| ((i * 31 + j * 7) % 17) as f32 - 8.0)
                    .collect()
            })
            .collect(),
        token_counts: texts.iter().map(|t| t.split(' ').count() as u32).collect(),
    }
}

fn run(model: &str, body: &str) -> Value {
    let decoded = decode(model, body).expect("decoded");
    let dialect = embed_dialect(model).expect("dialect");
    let bytes = dialect.encode(
        &decoded.plan,
        "0123456789abcdef0123456789abcdef",
        &fake(&decoded.texts),
    );
    serde_json::from_slice(&bytes).expect("json")
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

fn norm(v: &[f32]) -> f64 {
    v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt()
}

#[test]
fn dialect_by_model_id() {
    for id in [
        TITAN_V1,
        TITAN_V2,
        TITAN_IMAGE,
        "amazon.titan-embed-g1-text-02",
    ] {
        assert_eq!(embed_dialect(id).map(|d| d.name()), Some("titan-embed"));
    }
    for id in [COHERE_V3, "cohere.embed-multilingual-v3", COHERE_V4] {
        assert_eq!(embed_dialect(id).map(|d| d.name()), Some("cohere-embed"));
    }
    assert!(embed_dialect("amazon.titan-text-express-v1").is_none());
    assert!(embed_dialect("cohere.command-r-v1:0").is_none());
}

#[test]
fn titan_v1_shape() {
    let v = run(TITAN_V1, r#"{"inputText": "hello world"}"#);
    assert_eq!(v["embedding"].as_array().map(Vec::len), Some(1536));
    assert_eq!(v["inputTextTokenCount"], 2);
    assert!(v.get("embeddingsByType").is_none());
    // G1 vectors are not normalised.
    assert!((norm(&floats(&v["embedding"])) - 1.0).abs() > 0.1);
    assert_eq!(
        error(TITAN_V1, r#"{"inputText": "x", "dimensions": 256}"#),
        "Malformed input request: #: extraneous key [dimensions] is not permitted, please reformat your input and try again."
    );
}

#[test]
fn titan_v2_dimensions_normalize_and_types() {
    let v = run(TITAN_V2, r#"{"inputText": "hello world"}"#);
    let e = floats(&v["embedding"]);
    assert_eq!(e.len(), 1024);
    assert!((norm(&e) - 1.0).abs() < 1e-5);
    assert_eq!(v["embeddingsByType"]["float"], v["embedding"]);
    assert!(v["embeddingsByType"].get("binary").is_none());

    for d in [256, 512, 1024] {
        let v = run(
            TITAN_V2,
            &format!(r#"{{"inputText": "a b", "dimensions": {d}}}"#),
        );
        assert_eq!(v["embedding"].as_array().map(Vec::len), Some(d));
    }
    let v = run(TITAN_V2, r#"{"inputText": "a b", "normalize": false}"#);
    assert!((norm(&floats(&v["embedding"])) - 1.0).abs() > 0.1);

    let v = run(
        TITAN_V2,
        r#"{"inputText": "a b", "dimensions": 256, "embeddingTypes": ["binary", "float"]}"#,
    );
    let e = floats(&v["embedding"]);
    let bits = v["embeddingsByType"]["binary"].as_array().expect("binary");
    assert_eq!(bits.len(), 256);
    for (b, f) in bits.iter().zip(&e) {
        assert_eq!(b.as_i64(), Some(i64::from(*f > 0.0)));
    }

    assert_eq!(
        error(TITAN_V2, r#"{"inputText": "x", "dimensions": 300}"#),
        "Malformed input request: #/dimensions: 300 is not a valid enum value, please reformat your input and try again."
    );
    assert!(error(
        TITAN_V2,
        r#"{"inputText": "x", "embeddingTypes": ["int8"]}"#
    )
    .contains("#/embeddingTypes/0: int8 is not a valid enum value"));
    assert!(error(TITAN_V2, r#"{"texts": ["x"]}"#).contains("required key [inputText] not found"));
    let long = "a".repeat(50_001);
    assert!(error(TITAN_V2, &format!(r#"{{"inputText": "{long}"}}"#))
        .contains("#/inputText: expected maxLength: 50000, actual: 50001"));
}

#[test]
fn titan_limits_and_truncation() {
    let d = decode(TITAN_V2, r#"{"inputText": "x"}"#).expect("decoded");
    assert_eq!(d.max_input_tokens, Some(8192));
    assert_eq!(d.truncate, Truncate::None);
    let d = decode(
        TITAN_IMAGE,
        r#"{"inputText": "x", "embeddingConfig": {"outputEmbeddingLength": 384}}"#,
    )
    .expect("decoded");
    assert_eq!(d.max_input_tokens, Some(128));
    assert_eq!(d.plan.dimensions, 384);
    assert!(error(TITAN_IMAGE, r#"{"inputImage": "aGVsbG8="}"#)
        .contains("no local image embedding model"));
    let message = embed_dialect(TITAN_V2)
        .expect("dialect")
        .too_long(9000, 8192)
        .message()
        .to_string();
    assert!(message.contains(
        "Too many input tokens. Max input tokens: 8192, request input token count: 9000"
    ));
}

#[test]
fn cohere_floats_and_by_type() {
    let v = run(
        COHERE_V3,
        r#"{"texts": ["hello world", "bye"], "input_type": "search_document"}"#,
    );
    assert_eq!(v["response_type"], "embeddings_floats");
    assert_eq!(v["id"].as_str().map(str::len), Some(36));
    assert_eq!(v["texts"], serde_json::json!(["hello world", "bye"]));
    let list = v["embeddings"].as_array().expect("list");
    assert_eq!(list.len(), 2);
    for e in list {
        let e = floats(e);
        assert_eq!(e.len(), 1024);
        assert!((norm(&e) - 1.0).abs() < 1e-5);
    }

    let v = run(
        COHERE_V3,
        r#"{"texts": ["a", "b"], "input_type": "search_query", "embedding_types": ["float", "int8", "uint8", "binary", "ubinary"]}"#,
    );
    assert_eq!(v["response_type"], "embeddings_by_type");
    let by = &v["embeddings"];
    let keys: Vec<&str> = by
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["float", "int8", "uint8", "binary", "ubinary"]);
    let f = floats(&by["float"][0]);
    let ints = |k: &str| -> Vec<i64> {
        by[k][0]
            .as_array()
            .expect("ints")
            .iter()
            .map(|x| x.as_i64().expect("int"))
            .collect()
    };
    assert_eq!(ints("int8").len(), 1024);
    assert!(ints("int8").iter().all(|x| (-128..=127).contains(x)));
    assert!(ints("uint8").iter().all(|x| (0..=255).contains(x)));
    assert_eq!(ints("ubinary").len(), 128);
    assert_eq!(ints("binary").len(), 128);
    let first_byte = f[..8]
        .iter()
        .enumerate()
        .fold(0, |b, (k, x)| b | (i64::from(*x > 0.0) << (7 - k)));
    assert_eq!(ints("ubinary")[0], first_byte);
    assert_eq!(ints("binary")[0], first_byte - 128);
}

#[test]
fn cohere_validation_and_truncation() {
    assert_eq!(
        error(COHERE_V3, r#"{"inputText": "hello"}"#),
        "Malformed input request: #: required key [texts] not found#: required key [input_type] not found#: extraneous key [inputText] is not permitted, please reformat your input and try again."
    );
    assert!(
        error(COHERE_V3, r#"{"texts": ["a"], "input_type": "query"}"#)
            .contains("#/input_type: query is not a valid enum value")
    );
    let many = vec!["\"x\""; 97].join(",");
    assert!(error(
        COHERE_V3,
        &format!(r#"{{"texts": [{many}], "input_type": "clustering"}}"#)
    )
    .contains("#/texts: expected maximum item count: 96, found: 97"));
    let long = "a".repeat(2049);
    assert!(error(
        COHERE_V3,
        &format!(r#"{{"texts": ["{long}"], "input_type": "clustering"}}"#)
    )
    .contains("#/texts/0: expected maxLength: 2048, actual: 2049"));
    assert!(
        error(COHERE_V3, r#"{"texts": [], "input_type": "clustering"}"#)
            .contains("minimum item count: 1")
    );

    let d = decode(
        COHERE_V3,
        r#"{"texts": ["a"], "input_type": "classification"}"#,
    )
    .expect("ok");
    assert_eq!(
        (d.max_input_tokens, d.truncate),
        (Some(512), Truncate::None)
    );
    let d = decode(
        COHERE_V3,
        r#"{"texts": ["a"], "input_type": "classification", "truncate": "START"}"#,
    )
    .expect("ok");
    assert_eq!(d.truncate, Truncate::Start);
    let d = decode(
        COHERE_V3,
        r#"{"texts": ["a"], "input_type": "classification", "truncate": "END"}"#,
    )
    .expect("ok");
    assert_eq!(d.truncate, Truncate::End);

    let d = decode(
        COHERE_V4,
        r#"{"texts": ["a"], "input_type": "search_query"}"#,
    )
    .expect("ok");
    assert_eq!(d.plan.dimensions, 1536);
    let d = decode(COHERE_V4, r#"{"texts": ["a"], "input_type": "search_query", "output_dimension": 256, "max_tokens": 100}"#)
        .expect("ok");
    assert_eq!(
        (d.plan.dimensions, d.max_input_tokens, d.truncate),
        (256, Some(100), Truncate::End)
    );
    assert!(error(
        COHERE_V4,
        r#"{"texts": ["a"], "input_type": "search_query", "output_dimension": 300}"#
    )
    .contains("#/output_dimension: 300 is not a valid enum value"));
    assert!(error(
        COHERE_V3,
        r#"{"texts": ["a"], "input_type": "search_query", "output_dimension": 256}"#
    )
    .contains("extraneous key [output_dimension]"));
}

#[test]
fn projection_keeps_similarity_going_up() {
    // The same two raw vectors through Titan v1 (1536) and Cohere (1024): cosine unchanged.
    let texts = vec!["a".to_string(), "b".to_string()];
    let raw = fake(&texts);
    let before = vector::cosine(&raw.vectors[0], &raw.vectors[1]);
    let d = decode(
        COHERE_V3,
        r#"{"texts": ["a", "b"], "input_type": "clustering"}"#,
    )
    .expect("ok");
    let bytes = cohere::CohereEmbed.encode(&d.plan, "x", &raw);
    let v: Value = serde_json::from_slice(&bytes).expect("json");
    let after = vector::cosine(&floats(&v["embeddings"][0]), &floats(&v["embeddings"][1]));
    assert!((before - after).abs() < 1e-5, "{before} vs {after}");
}
