use super::*;
use crate::config::RegistryConfig;

const QWEN: &str = "qwen2.5-coder-0.5b-instruct";
const MINILM: &str = "all-minilm-l6-v2";
const INVALID: &str = "The provided model identifier is invalid.";

fn registry_with(f: impl FnOnce(&mut RegistryConfig)) -> Registry {
    let mut config = RegistryConfig {
        data_dir: std::env::temp_dir().join("bedrock-local-registry-unit-unused"),
        ..Default::default()
    };
    f(&mut config);
    Registry::new(config).unwrap()
}

fn registry() -> Registry {
    registry_with(|_| {})
}

fn invalid(r: &Registry, id: &str) {
    match r.resolve(id) {
        Err(e @ RegistryError::InvalidModelId(_)) => assert_eq!(e.to_string(), INVALID),
        other => panic!("{id:?}: expected InvalidModelId, got {other:?}"),
    }
}

#[test]
fn catalog_id_maps_to_the_default_text_model() {
    let r = registry();
    let res = r.resolve("meta.llama3-8b-instruct-v1:0").unwrap();
    assert_eq!(res.requested, "meta.llama3-8b-instruct-v1:0");
    assert_eq!(res.form, IdForm::ModelId);
    assert_eq!(
        res.provider_model_id.as_deref(),
        Some("meta.llama3-8b-instruct-v1:0")
    );
    assert_eq!(
        res.foundation_model.unwrap().model_name,
        "Llama 3 8B Instruct"
    );
    assert_eq!(res.local.as_str(), QWEN);
    assert_eq!((res.task, res.local_task), (Task::Text, Task::Text));
}

#[test]
fn every_catalog_id_and_arn_resolves() {
    let r = registry();
    for fm in r.foundation_models() {
        let res = r.resolve(&fm.model_id).unwrap();
        assert_eq!(res.provider_model_id.as_deref(), Some(fm.model_id.as_str()));
        let arn = fm.arn("eu-west-1");
        let res = r.resolve(&arn).unwrap();
        assert_eq!(res.form, IdForm::ModelArn);
        assert_eq!(res.requested, arn);
        assert_eq!(res.provider_model_id.as_deref(), Some(fm.model_id.as_str()));
        assert_eq!(res.foundation_model.as_ref(), Some(fm));
    }
}

#[test]
fn every_profile_id_and_arn_resolves() {
    let r = registry();
    assert!(!r.inference_profiles().is_empty());
    for p in r.inference_profiles() {
        let res = r.resolve(&p.inference_profile_id).unwrap();
        assert_eq!(res.form, IdForm::ProfileId(p.geo));
        assert!(res.form.is_profile());
        assert_eq!(res.provider_model_id.as_deref(), Some(p.model_id.as_str()));
        let arn = p.arn("us-west-2", "000000000000");
        let res = r.resolve(&arn).unwrap();
        assert_eq!(res.form, IdForm::ProfileArn(p.geo));
        assert_eq!(res.provider_model_id.as_deref(), Some(p.model_id.as_str()));
        assert_eq!(r.inference_profile(&arn), Some(p));
    }
}

#[test]
fn profile_prefixes_of_every_geography() {
    let r = registry();
    let id = "anthropic.claude-3-5-sonnet-20241022-v2:0";
    for (prefix, geo) in [
        ("us", ProfileGeo::Us),
        ("eu", ProfileGeo::Eu),
        ("apac", ProfileGeo::Apac),
        ("global", ProfileGeo::Global),
        ("us-gov", ProfileGeo::UsGov),
        ("jp", ProfileGeo::Jp),
        ("au", ProfileGeo::Au),
    ] {
        let res = r.resolve(&format!("{prefix}.{id}")).unwrap();
        assert_eq!(res.form, IdForm::ProfileId(geo));
        assert_eq!(res.provider_model_id.as_deref(), Some(id));
        assert_eq!(res.local.as_str(), QWEN);
        let arn = format!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/{prefix}.{id}");
        assert_eq!(r.resolve(&arn).unwrap().form, IdForm::ProfileArn(geo));
    }
    invalid(&r, &format!("xx.{id}"));
    invalid(&r, "us.not-a-model");
}

#[test]
fn local_prefixes_and_bare_local_names() {
    let r = registry();
    for id in [
        "ollama.qwen2.5:0.5b",
        "local.qwen2.5:0.5b",
        "ollama.qwen2.5-coder:0.5b",
        "local.qwen2.5-coder-0.5b-instruct",
        "qwen2.5:0.5b",
        "qwen2.5-coder-0.5b",
        QWEN,
    ] {
        let res = r.resolve(id).unwrap();
        assert_eq!(res.form, IdForm::Local, "{id}");
        assert_eq!(res.local.as_str(), QWEN, "{id}");
        assert!(res.foundation_model.is_none() && res.provider_model_id.is_none());
        assert_eq!(res.requested, id);
    }
    let res = r.resolve("ollama.gemma3:270m").unwrap();
    assert_eq!(res.local.as_str(), "gemma-3-270m");
    let res = r.resolve("all-minilm-l6-v2").unwrap();
    assert_eq!(
        (res.task, res.local_task),
        (Task::Embedding, Task::Embedding)
    );
    invalid(&r, "ollama.llama3:8b");
    invalid(&r, "local.");
}

#[test]
fn embedding_ids_use_the_embedding_model_and_images_report_their_task() {
    let r = registry();
    for id in [
        "amazon.titan-embed-text-v2:0",
        "amazon.titan-embed-text-v1",
        "amazon.titan-embed-g1-text-02",
        "amazon.titan-embed-image-v1",
        "cohere.embed-english-v3",
        "cohere.embed-multilingual-v3",
        "cohere.embed-v4:0",
        "us.cohere.embed-v4:0",
    ] {
        let res = r.resolve(id).unwrap();
        assert_eq!(res.local.as_str(), MINILM, "{id}");
        assert_eq!(
            (res.task, res.local_task),
            (Task::Embedding, Task::Embedding)
        );
    }
    let res = r.resolve("stability.sd3-5-large-v1:0").unwrap();
    assert_eq!(res.task, Task::Image);
    assert_eq!(res.local_task, Task::Text);
    assert_eq!(
        r.resolve("amazon.nova-reel-v1:1").unwrap().task,
        Task::Video
    );
}

#[test]
fn unknown_and_malformed_ids_are_invalid() {
    let r = registry();
    for id in [
        "",
        "meta.llama9-1t-instruct-v1:0",
        "anthropic.claude-v2:0:100k",
        "arn:aws:bedrock:us-east-1::foundation-model/meta.nope-v1:0",
        // Foundation-model ARNs have an empty account field.
        "arn:aws:bedrock:us-east-1:123456789012:foundation-model/meta.llama3-8b-instruct-v1:0",
        "arn:aws:s3:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123def456",
        "arn:aws:bedrock:us-east-1::inference-profile/us.meta.llama3-2-1b-instruct-v1:0",
        // Still percent-encoded: the facade decodes before calling.
        "meta.llama3-8b-instruct-v1%3A0",
        "META.LLAMA3-8B-INSTRUCT-V1:0",
    ] {
        invalid(&r, id);
    }
    invalid(&r, &"a".repeat(3000));
}

#[test]
fn decoded_arns_resolve_as_given() {
    let r = registry();
    let res = r
        .resolve(
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        )
        .unwrap();
    assert_eq!(
        res.provider_model_id.as_deref(),
        Some("anthropic.claude-3-haiku-20240307-v1:0")
    );
    let res = r
        .resolve(
            "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/meta.llama3-8b-instruct-v1:0",
        )
        .unwrap();
    assert_eq!(res.form, IdForm::ModelArn);
}

#[test]
fn profile_only_models_by_bare_id() {
    let id = "anthropic.claude-3-5-sonnet-20241022-v2:0";
    let lenient = registry();
    assert_eq!(lenient.resolve(id).unwrap().local.as_str(), QWEN);

    let strict = registry_with(|c| c.strict_profiles = true);
    let e = strict.resolve(id).unwrap_err();
    assert!(matches!(e, RegistryError::OnDemandNotSupported(_)));
    assert_eq!(
        e.to_string(),
        "Invocation of model ID anthropic.claude-3-5-sonnet-20241022-v2:0 with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
    );
    let arn = format!("arn:aws:bedrock:us-east-1::foundation-model/{id}");
    assert!(matches!(
        strict.resolve(&arn),
        Err(RegistryError::OnDemandNotSupported(_))
    ));
    // Through a listed profile it works; an unlisted geography does not.
    assert!(strict.resolve(&format!("us.{id}")).is_ok());
    invalid(&strict, &format!("jp.{id}"));
    invalid(&strict, "us.meta.llama3-8b-instruct-v1:0");
    // On-demand models still work by bare id.
    assert!(strict.resolve("meta.llama3-8b-instruct-v1:0").is_ok());
    // Lenient mode accepts any geography.
    assert!(lenient.resolve(&format!("jp.{id}")).is_ok());
}

#[test]
fn default_bedrock_model_can_be_an_alias_or_ollama_name() {
    for name in [
        "gemma3:270m",
        "ollama.gemma3:270m",
        "gemma-3-270m",
        "local.gemma-3-270m",
    ] {
        let r = registry_with(|c| c.default_text_model = Some(name.into()));
        assert_eq!(r.default_text_model().as_str(), "gemma-3-270m");
        let res = r.resolve("meta.llama3-8b-instruct-v1:0").unwrap();
        assert_eq!(res.local.as_str(), "gemma-3-270m");
        // Embedding ids are unaffected.
        assert_eq!(
            r.resolve("amazon.titan-embed-text-v2:0")
                .unwrap()
                .local
                .as_str(),
            MINILM
        );
    }
    let bad = Registry::new(RegistryConfig {
        default_text_model: Some("llama3:8b".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(bad.to_string().contains("\"llama3:8b\""), "{bad}");
    let wrong_task = Registry::new(RegistryConfig {
        default_text_model: Some(MINILM.into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        wrong_task.to_string().contains("not a text model"),
        "{wrong_task}"
    );
}

#[test]
fn mappings_beat_defaults_and_can_add_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("models.toml");
    let text = format!(
        "{}\n[[mapping]]\nbedrock = \"meta.llama3-*\"\nlocal = \"gemma3:270m\"\n\n[[mapping]]\nbedrock = \"mycorp.?-model\"\nlocal = \"{QWEN}\"\n",
        crate::models::DEFAULT_MODELS_TOML
    );
    std::fs::write(&path, text).unwrap();
    let r = registry_with(|c| {
        c.models_toml = Some(path.clone());
        c.default_text_model = Some(QWEN.into());
    });
    let res = r.resolve("us.meta.llama3-1-8b-instruct-v1:0").unwrap();
    assert_eq!(res.local.as_str(), "gemma-3-270m");
    assert_eq!(
        r.resolve("meta.llama2-13b-chat-v1").unwrap().local.as_str(),
        QWEN
    );
    let res = r.resolve("mycorp.x-model").unwrap();
    assert!(res.foundation_model.is_none());
    assert_eq!(res.provider_model_id.as_deref(), Some("mycorp.x-model"));
    assert_eq!(res.local.as_str(), QWEN);
    invalid(&r, "mycorp.xy-model");
}

#[test]
fn glob_matching() {
    assert!(glob_match("meta.*", "meta.llama3-8b-instruct-v1:0"));
    assert!(glob_match("*", ""));
    assert!(glob_match("a*b*c", "aXXbYYc"));
    assert!(glob_match("a?c", "abc"));
    assert!(!glob_match("a?c", "abbc"));
    assert!(!glob_match("meta.*", "us.meta.x"));
    assert!(glob_match("*embed*", "amazon.titan-embed-text-v2:0"));
    assert!(!glob_match("abc", "abcd"));
}

#[test]
fn catalog_lookups_by_id_or_arn() {
    let r = registry();
    let id = "cohere.command-r-v1:0";
    assert_eq!(r.foundation_model(id).unwrap().model_id, id);
    let arn = format!("arn:aws:bedrock:us-east-1::foundation-model/{id}");
    assert_eq!(r.foundation_model(&arn).unwrap().model_id, id);
    assert!(r
        .foundation_model("us.anthropic.claude-3-haiku-20240307-v1:0")
        .is_none());
    assert!(r.foundation_model("nope").is_none());
    assert!(r
        .inference_profile("us.anthropic.claude-3-haiku-20240307-v1:0")
        .is_some());
    assert!(r.inference_profile(id).is_none());
}

#[test]
fn local_models_lists_all_three_uncached() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry_with(|c| c.data_dir = dir.path().to_path_buf());
    let models = r.local_models();
    assert_eq!(models.len(), 3);
    assert!(models.iter().all(|m| !m.cached && m.path.is_none()));
    assert_eq!(
        models[0].aliases,
        ["qwen2.5:0.5b", "qwen2.5-coder:0.5b", "qwen2.5-coder-0.5b"]
    );
    assert_eq!(models[2].task, Task::Embedding);
    assert_eq!(
        r.canonical_name("ollama.qwen2.5:0.5b").unwrap().as_str(),
        QWEN
    );
    assert!(matches!(
        r.canonical_name("nope"),
        Err(RegistryError::UnknownLocalModel(_))
    ));
}

#[test]
fn the_default_embedding_model_can_be_overridden() {
    let r = registry_with(|c| c.default_embedding_model = Some("all-minilm".into()));
    assert_eq!(
        r.resolve("cohere.embed-english-v3").unwrap().local.as_str(),
        MINILM
    );
    // A text model cannot be the embedding default.
    let bad = Registry::new(RegistryConfig {
        default_embedding_model: Some("qwen2.5-coder-0.5b-instruct".into()),
        ..Default::default()
    });
    assert!(bad.is_err());
}
