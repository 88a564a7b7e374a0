use std::collections::HashSet;

use super::*;

fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

/// Every row of bedrock-wire.md §8.2.
const WIRE_8_2: &[&str] = &[
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-sonnet-4-20250514-v1:0",
    "anthropic.claude-opus-4-1-20250805-v1:0",
    "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "anthropic.claude-haiku-4-5-20251001-v1:0",
    "anthropic.claude-opus-4-5-20251101-v1:0",
    "anthropic.claude-v2:1",
    "amazon.nova-micro-v1:0",
    "amazon.nova-lite-v1:0",
    "amazon.nova-pro-v1:0",
    "amazon.nova-premier-v1:0",
    "amazon.nova-2-lite-v1:0",
    "amazon.nova-canvas-v1:0",
    "amazon.nova-reel-v1:1",
    "amazon.titan-text-express-v1",
    "amazon.titan-text-lite-v1",
    "amazon.titan-embed-text-v1",
    "amazon.titan-embed-text-v2:0",
    "amazon.titan-embed-image-v1",
    "amazon.titan-image-generator-v2:0",
    "meta.llama3-8b-instruct-v1:0",
    "meta.llama3-70b-instruct-v1:0",
    "meta.llama3-1-8b-instruct-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
    "meta.llama3-2-1b-instruct-v1:0",
    "meta.llama3-2-3b-instruct-v1:0",
    "meta.llama3-2-11b-instruct-v1:0",
    "meta.llama3-2-90b-instruct-v1:0",
    "meta.llama3-3-70b-instruct-v1:0",
    "meta.llama4-scout-17b-instruct-v1:0",
    "meta.llama4-maverick-17b-instruct-v1:0",
    "mistral.mistral-7b-instruct-v0:2",
    "mistral.mixtral-8x7b-instruct-v0:1",
    "mistral.mistral-large-2402-v1:0",
    "mistral.mistral-small-2402-v1:0",
    "mistral.mistral-large-2407-v1:0",
    "mistral.pixtral-large-2502-v1:0",
    "cohere.command-r-v1:0",
    "cohere.command-r-plus-v1:0",
    "cohere.embed-english-v3",
    "cohere.embed-multilingual-v3",
    "cohere.embed-v4:0",
    "ai21.jamba-1-5-mini-v1:0",
    "ai21.jamba-1-5-large-v1:0",
    "deepseek.r1-v1:0",
    "openai.gpt-oss-20b-1:0",
    "openai.gpt-oss-120b-1:0",
    "qwen.qwen3-32b-v1:0",
    "qwen.qwen3-coder-30b-a3b-v1:0",
    "writer.palmyra-x5-v1:0",
    "stability.sd3-5-large-v1:0",
];

#[test]
fn has_at_least_forty_unique_ids_including_every_wire_row() {
    let c = catalog();
    assert!(c.models().len() >= 40, "{}", c.models().len());
    let ids: HashSet<_> = c.models().iter().map(|m| m.model_id.as_str()).collect();
    assert_eq!(ids.len(), c.models().len(), "duplicate ids");
    for id in WIRE_8_2 {
        assert!(ids.contains(id), "missing {id}");
    }
    let providers: HashSet<_> = c
        .models()
        .iter()
        .map(|m| m.provider_name.as_str())
        .collect();
    assert!(providers.len() >= 10, "{providers:?}");
}

#[test]
fn ids_and_arns_are_well_formed() {
    for m in catalog().models() {
        let id = &m.model_id;
        assert!(
            id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b)),
            "{id}"
        );
        let provider = m.provider_prefix();
        assert!(
            !provider.is_empty()
                && provider
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "{id}"
        );
        assert!(
            ProfileGeo::from_prefix(provider).is_none(),
            "{id} looks like a profile id"
        );
        let arn = m.arn("us-east-1");
        assert_eq!(
            arn,
            format!("arn:aws:bedrock:us-east-1::foundation-model/{id}")
        );
        assert_eq!(
            crate::resolve::parse_arn(&arn),
            Some(crate::resolve::Arn::FoundationModel(id.as_str()))
        );
        assert!(!m.model_name.is_empty() && !m.input_modalities.is_empty());
        assert!(!m.output_modalities.is_empty() && !m.inference_types_supported.is_empty());
    }
}

#[test]
fn limits_match_the_task() {
    for m in catalog().models() {
        match m.task() {
            Task::Text => {
                let max = m
                    .max_output_tokens
                    .unwrap_or_else(|| panic!("{}", m.model_id));
                let default = m.default_max_tokens.unwrap();
                assert!(default <= max, "{}", m.model_id);
                assert!(m.context_window.unwrap() > max / 2, "{}", m.model_id);
                assert!(m.response_streaming_supported, "{}", m.model_id);
            }
            _ => {
                assert!(m.max_output_tokens.is_none(), "{}", m.model_id);
                assert!(!m.response_streaming_supported, "{}", m.model_id);
                assert!(!m.supports_system && !m.supports_tools, "{}", m.model_id);
            }
        }
    }
}

#[test]
fn known_model_facts() {
    let c = catalog();
    let m = |id| c.model(id).unwrap();
    let llama = m("meta.llama3-8b-instruct-v1:0");
    assert_eq!(llama.max_output_tokens, Some(2048));
    assert_eq!(llama.provider_name, "Meta");
    assert!(llama.supports_on_demand());
    assert!(!m("amazon.titan-text-express-v1").supports_system);
    assert!(!m("mistral.mistral-7b-instruct-v0:2").supports_system);
    assert!(!m("mistral.mixtral-8x7b-instruct-v0:1").supports_system);
    assert!(m("mistral.mistral-large-2407-v1:0").supports_system);
    assert!(m("anthropic.claude-3-haiku-20240307-v1:0").supports_tools);
    assert!(m("meta.llama3-1-8b-instruct-v1:0").supports_tools);
    assert!(!llama.supports_tools);
    assert!(!m("amazon.titan-text-express-v1").supports_tools);
    assert!(!m("anthropic.claude-v2:1").supports_tools);
    assert_eq!(m("amazon.titan-embed-text-v2:0").task(), Task::Embedding);
    assert_eq!(m("stability.sd3-5-large-v1:0").task(), Task::Image);
    assert_eq!(m("amazon.nova-reel-v1:1").task(), Task::Video);
    assert_eq!(
        m("anthropic.claude-v2:1").lifecycle_status,
        LifecycleStatus::Legacy
    );
    let haiku35 = m("anthropic.claude-3-5-haiku-20241022-v1:0");
    assert_eq!(
        haiku35.inference_types_supported,
        [InferenceType::InferenceProfile]
    );
    assert!(!haiku35.supports_on_demand());
}

#[test]
fn profile_models_have_us_profiles_and_new_claude_has_global() {
    let c = catalog();
    for m in c.models() {
        if m.inference_types_supported
            .contains(&InferenceType::InferenceProfile)
        {
            assert!(m.profile_geos.contains(&ProfileGeo::Us), "{}", m.model_id);
            assert!(c.profile(&format!("us.{}", m.model_id)).is_some());
        }
    }
    for id in [
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-opus-4-5-20251101-v1:0",
    ] {
        assert!(c.profile(&format!("global.{id}")).is_some(), "{id}");
    }
    assert!(c
        .profile("us.anthropic.claude-3-5-sonnet-20240620-v1:0")
        .is_some());
    assert!(c
        .profile("eu.anthropic.claude-3-5-sonnet-20240620-v1:0")
        .is_some());
    assert!(c
        .profile("apac.anthropic.claude-3-haiku-20240307-v1:0")
        .is_some());
    assert!(c.profile("us.meta.llama3-8b-instruct-v1:0").is_none());
}

#[test]
fn profiles_follow_bedrock_shapes() {
    let c = catalog();
    let ids: HashSet<_> = c
        .profiles()
        .iter()
        .map(|p| p.inference_profile_id.as_str())
        .collect();
    assert_eq!(ids.len(), c.profiles().len());
    for p in c.profiles() {
        let id = &p.inference_profile_id;
        assert!(id.len() <= 64, "{id}");
        assert_eq!(id, &format!("{}.{}", p.geo.prefix(), p.model_id));
        assert!(c.model(&p.model_id).is_some());
        assert!(
            (1..=64).contains(&p.inference_profile_name.len()),
            "{}",
            p.inference_profile_name
        );
        assert!(
            (1..=200).contains(&p.description.len()),
            "{}",
            p.description
        );
        assert!((1..=5).contains(&p.regions.len()));
        assert_eq!(p.status, "ACTIVE");
        assert_eq!(p.profile_type, "SYSTEM_DEFINED");
        let arn = p.arn("us-east-1", "123456789012");
        assert_eq!(
            crate::resolve::parse_arn(&arn),
            Some(crate::resolve::Arn::InferenceProfile(id.as_str()))
        );
        for model_arn in p.model_arns() {
            assert!(model_arn.ends_with(&format!("::foundation-model/{}", p.model_id)));
        }
    }
    let p = c
        .profile("us.anthropic.claude-3-5-sonnet-20240620-v1:0")
        .unwrap();
    assert_eq!(p.inference_profile_name, "US Anthropic Claude 3.5 Sonnet");
    assert_eq!(
        p.description,
        "Routes requests to Anthropic Claude 3.5 Sonnet in us-east-1, us-east-2 and us-west-2."
    );
}

#[test]
fn wire_names_are_bedrock_enums() {
    assert_eq!(Modality::Embedding.as_str(), "EMBEDDING");
    assert_eq!(InferenceType::OnDemand.to_string(), "ON_DEMAND");
    assert_eq!(
        InferenceType::InferenceProfile.as_str(),
        "INFERENCE_PROFILE"
    );
    assert_eq!(
        Customization::ContinuedPreTraining.as_str(),
        "CONTINUED_PRE_TRAINING"
    );
    assert_eq!(LifecycleStatus::Legacy.as_str(), "LEGACY");
    assert!(Modality::Text == "TEXT" && Modality::Image != "TEXT");
    let types = [InferenceType::OnDemand];
    let wanted: &str = "ON_DEMAND";
    assert!(types.iter().any(|t| t == wanted));
    assert_eq!(
        serde_json::to_value(InferenceType::InferenceProfile).unwrap(),
        "INFERENCE_PROFILE"
    );
}

#[test]
fn bad_catalog_data_is_an_error() {
    let e = Catalog::parse("[[model]]\nid = \"a.b\"\n").unwrap_err();
    assert!(e.to_string().contains("built-in catalog"), "{e}");
    let entry = "[[model]]\nid = \"a.b\"\nname = \"B\"\nprovider = \"A\"\ninput = [\"TEXT\"]\noutput = [\"TEXT\"]\nstreaming = true\ninference = [\"ON_DEMAND\"]\n";
    assert!(Catalog::parse(entry).is_ok());
    let e = Catalog::parse(&format!("{entry}{entry}")).unwrap_err();
    assert!(e.to_string().contains("listed twice"), "{e}");
}

#[test]
fn extended_thinking_is_for_claude_3_7_and_4() {
    let c = Catalog::builtin().unwrap();
    let reasoning: Vec<&str> = c
        .models()
        .iter()
        .filter(|m| m.supports_reasoning())
        .map(|m| m.model_id.as_str())
        .collect();
    assert_eq!(
        reasoning,
        [
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
            "anthropic.claude-sonnet-4-20250514-v1:0",
            "anthropic.claude-opus-4-20250514-v1:0",
            "anthropic.claude-opus-4-1-20250805-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "anthropic.claude-opus-4-5-20251101-v1:0",
        ]
    );
}
