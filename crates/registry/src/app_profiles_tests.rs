use super::*;
use crate::config::RegistryConfig;
use crate::registry::Registry;

const HAIKU_ARN: &str =
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";
const US_HAIKU_ARN: &str =
    "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";

fn registry(dir: &Path) -> Registry {
    Registry::new(RegistryConfig {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    })
    .unwrap()
}

fn new(name: &str, copy_from: &str) -> NewApplicationProfile {
    NewApplicationProfile {
        name: name.to_string(),
        copy_from: copy_from.to_string(),
        region: "us-west-2".to_string(),
        account: "123456789012".to_string(),
        ..Default::default()
    }
}

fn invalid_profile(r: &Registry, req: NewApplicationProfile) -> String {
    match r.create_application_profile(req) {
        Err(RegistryError::InvalidProfile(m)) => m,
        other => panic!("expected InvalidProfile, got {other:?}"),
    }
}

#[test]
fn a_profile_of_a_foundation_model_resolves_by_arn_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path());
    let mut req = new("team-a haiku", HAIKU_ARN);
    req.description = Some("Cost tracking for team A.".into());
    req.tags = vec![Tag {
        key: "team".into(),
        value: "a".into(),
    }];
    let p = r.create_application_profile(req).unwrap();
    assert_eq!(p.id.len(), 12);
    assert!(p
        .id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    assert_eq!(
        p.arn,
        format!(
            "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/{}",
            p.id
        )
    );
    assert_eq!(p.model_arns, vec![HAIKU_ARN.to_string()]);

    let resolved = r.resolve(&p.arn).unwrap();
    assert_eq!(resolved.requested, p.arn);
    assert_eq!(
        resolved.provider_model_id.as_deref(),
        Some("anthropic.claude-3-haiku-20240307-v1:0")
    );
    assert_eq!(resolved.local, *r.default_text_model());

    // A second registry over the same data dir (a restart) sees it, by id and by ARN.
    let again = registry(dir.path());
    assert_eq!(again.application_profile(&p.id), Some(p.clone()));
    assert_eq!(again.application_profile(&p.arn), Some(p.clone()));
    assert!(again.resolve(&p.arn).is_ok());
}

#[test]
fn a_profile_of_a_system_profile_lists_its_regions_models() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path());
    let p = r
        .create_application_profile(new("us haiku", US_HAIKU_ARN))
        .unwrap();
    let system = r
        .inference_profile("us.anthropic.claude-3-haiku-20240307-v1:0")
        .unwrap();
    assert_eq!(p.model_arns, system.model_arns());
    assert!(p.model_arns.len() > 1);
    let resolved = r.resolve(&p.arn).unwrap();
    assert!(resolved.form.is_profile());
}

#[test]
fn names_are_unique_tokens_are_idempotent_and_delete_forgets() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path());
    let mut first = new("p1", HAIKU_ARN);
    first.client_request_token = Some("tok-1".into());
    let p = r.create_application_profile(first.clone()).unwrap();
    // The same token again: the same profile, no conflict.
    assert_eq!(r.create_application_profile(first).unwrap(), p);
    match r.create_application_profile(new("p1", HAIKU_ARN)) {
        Err(RegistryError::ProfileConflict(m)) => assert!(m.contains("p1"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(r.application_profiles().len(), 1);

    assert_eq!(r.delete_application_profile(&p.arn).unwrap(), p);
    assert!(r.application_profile(&p.id).is_none());
    assert!(matches!(
        r.resolve(&p.arn),
        Err(RegistryError::InvalidModelId(_))
    ));
    assert!(matches!(
        r.delete_application_profile(&p.id),
        Err(RegistryError::ProfileNotFound(_))
    ));
    assert!(registry(dir.path()).application_profiles().is_empty());
}

#[test]
fn requests_are_checked_against_the_service_model() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path());
    let m = invalid_profile(&r, new("-leading", HAIKU_ARN));
    assert!(
        m.starts_with("1 validation error detected: Value '-leading' at 'inferenceProfileName'"),
        "{m}"
    );
    invalid_profile(&r, new("two  spaces", HAIKU_ARN));
    invalid_profile(&r, new(&"x".repeat(65), HAIKU_ARN));
    invalid_profile(&r, new("", HAIKU_ARN));
    let mut bad_desc = new("ok", HAIKU_ARN);
    bad_desc.description = Some("no!".into());
    assert!(invalid_profile(&r, bad_desc).contains("'description'"));
    let mut bad_tag = new("ok", HAIKU_ARN);
    bad_tag.tags = vec![Tag {
        key: String::new(),
        value: "v".into(),
    }];
    assert!(invalid_profile(&r, bad_tag).contains("tags.1.member.key"));

    // Sources: only catalog foundation-model ARNs and system profile ARNs.
    for source in [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/no.such-model-v1:0",
        "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.no.such-model-v1:0",
    ] {
        let m = invalid_profile(&r, new("ok", source));
        assert!(m.contains(source), "{m}");
    }
    let p = r.create_application_profile(new("ok", HAIKU_ARN)).unwrap();
    invalid_profile(&r, new("nested", &p.arn));
    // Nothing invalid was saved.
    assert_eq!(r.application_profiles().len(), 1);
}

#[test]
fn separators_follow_the_name_pattern() {
    let word = |c: char| c.is_ascii_alphanumeric();
    for ok in ["a", "a b", "a-b_c d", "abc-", "A1"] {
        assert!(separated_words(ok, word), "{ok:?}");
    }
    for bad in ["", " a", "a  b", "a-_b", "a.b", "é"] {
        assert!(!separated_words(bad, word), "{bad:?}");
    }
}

#[test]
fn an_unreadable_file_is_moved_aside_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
    let r = registry(dir.path());
    assert!(r.application_profiles().is_empty());
    assert_eq!(
        fs::read(dir.path().join("inference-profiles.json.unreadable")).unwrap(),
        b"{not json"
    );
}
