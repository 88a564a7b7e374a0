//! The CountTokens request body (bedrock-wire §6.1): `{"input": {"converse": {...}} |
//! {"invokeModel": {"body": "<base64>"}}}`, with the same Coral constraint messages as
//! Converse. What to count is decoded by the Converse rules or the provider's InvokeModel
//! dialect afterwards, so the count is taken on exactly the prompt a generation would use.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::coral::{join, Coral};
use super::{decode_request, ConverseRequest};
use crate::{DialectError, ModelTraits, Result};

/// What a CountTokens request asks to count.
#[derive(Debug, Clone, PartialEq)]
pub enum CountTokensInput {
    /// A Converse request (`messages`, `system`, `toolConfig`, `additionalModelRequestFields`).
    Converse(Box<ConverseRequest>),
    /// The raw bytes of an InvokeModel body, for the model's own dialect to decode.
    InvokeModel(Vec<u8>),
}

/// Validates a CountTokens body. A `converse` input is decoded here (it is the Converse body
/// without `inferenceConfig`); an `invokeModel` body is base64-decoded and returned as bytes.
pub fn decode_count_tokens(body: &[u8], traits: &ModelTraits) -> Result<CountTokensInput> {
    let top: Map<String, Value> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(DialectError::Validation(
                crate::everit::MALFORMED.to_owned(),
            ))
        }
    };
    let mut c = Coral::default();
    let chosen = c
        .required(&top, "input", "")
        .and_then(|input| c.union(input, "input", &["invokeModel", "converse"]));
    let result = match chosen {
        Some(("invokeModel", value)) => {
            let path = join("input", "invokeModel");
            let encoded = c
                .object(value, &path)
                .and_then(|object| c.required(object, "body", &path))
                .and_then(|body| c.string(body, &join(&path, "body")));
            encoded.map(|text| {
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map(CountTokensInput::InvokeModel)
                    .map_err(|_| {
                        // Unconfirmed wording: what Coral says about a blob that is not base64.
                        DialectError::Validation(format!(
                            "1 validation error detected: Value at '{path}.body' failed to satisfy constraint: Member must be valid base64"
                        ))
                    })
            })
        }
        Some((_, value)) => {
            let path = join("input", "converse");
            c.object(value, &path).map(|object| {
                let mut object = object.clone();
                // CountTokens' converse input has no inferenceConfig; ignore one if sent.
                object.remove("inferenceConfig");
                let bytes = Value::Object(object).to_string();
                decode_request(bytes.as_bytes(), traits)
                    .map(|r| CountTokensInput::Converse(Box::new(r)))
            })
        }
        None => None,
    };
    if let Some(message) = c.message() {
        return Err(DialectError::Validation(message));
    }
    result.unwrap_or_else(|| {
        Err(DialectError::Validation(
            "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null".to_owned(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAITS: ModelTraits = ModelTraits {
        max_output_tokens: 4096,
        default_max_tokens: 512,
        supports_system: true,
        supports_tools: true,
        supports_reasoning: false,
    };

    #[test]
    fn converse_input() {
        let body = br#"{"input":{"converse":{"messages":[{"role":"user","content":[{"text":"Say hello."}]}],"system":[{"text":"Be brief."}]}}}"#;
        let CountTokensInput::Converse(request) = decode_count_tokens(body, &TRAITS).unwrap()
        else {
            panic!("not converse");
        };
        assert!(matches!(
            request.decoded.prompt,
            bedrock_local_core::Prompt::Chat { ref system, .. } if system.as_deref() == Some("Be brief.")
        ));
    }

    #[test]
    fn invoke_model_input_is_base64() {
        let body = br#"{"input":{"invokeModel":{"body":"eyJ4IjoxfQ=="}}}"#;
        assert_eq!(
            decode_count_tokens(body, &TRAITS).unwrap(),
            CountTokensInput::InvokeModel(br#"{"x":1}"#.to_vec())
        );
    }

    #[test]
    fn errors() {
        let err = |body: &str| {
            decode_count_tokens(body.as_bytes(), &TRAITS)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("{}"),
            "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null"
        );
        assert!(err(r#"{"input":{}}"#).contains(
            "Member must have exactly one of the following members set: [invokeModel, converse]"
        ));
        assert!(err(r#"{"input":{"invokeModel":{}}}"#).contains("'input.invokeModel.body'"));
        assert!(err(r#"{"input":{"invokeModel":{"body":"%%%"}}}"#).contains("base64"));
        assert!(err(r#"{"input":{"converse":{"messages":[]}}}"#).contains("messages"));
    }
}
