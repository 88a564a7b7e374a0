//! The caller's AWS credentials for signing forwarded requests: the static parts of the
//! standard AWS credential chain, without the AWS SDK.
//!
//! Order: the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional
//! `AWS_SESSION_TOKEN`); then the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
//! `~/.aws/credentials`) and then the shared config file (`AWS_CONFIG_FILE`, else
//! `~/.aws/config`), profile `AWS_PROFILE` else `default`, static keys only. Profiles that
//! need SSO, `credential_process`, role assumption or web identity, and instance/container
//! metadata credentials, are not supported: they fail with an error that says so.

use std::path::PathBuf;

use crate::{Error, Result};

/// Static (or temporary, with a session token) AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AKIA...` / `ASIA...`.
    pub access_key_id: String,
    /// The secret key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Profile keys of credential sources this chain does not implement.
const UNSUPPORTED_KEYS: &[&str] = &[
    "sso_session",
    "sso_start_url",
    "sso_account_id",
    "credential_process",
    "role_arn",
    "web_identity_token_file",
    "credential_source",
];

impl Credentials {
    /// Loads credentials from this process's environment and files.
    pub fn load() -> Result<Self> {
        Self::load_with(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Loads credentials with `env` standing in for the environment (tests).
    pub fn load_with(env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        if let (Some(access_key_id), Some(secret_access_key)) =
            (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
        {
            return Ok(Self {
                access_key_id,
                secret_access_key,
                session_token: env("AWS_SESSION_TOKEN"),
            });
        }
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
        let home = env("HOME").map(PathBuf::from);
        let credentials_file = env("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join("credentials")));
        let config_file = env("AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join("config")));
        let mut tried = vec!["environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)".to_string()];
        for (file, section) in [
            (credentials_file, profile.clone()),
            (
                config_file,
                if profile == "default" {
                    "default".to_string()
                } else {
                    format!("profile {profile}")
                },
            ),
        ] {
            let Some(file) = file else { continue };
            tried.push(format!("{} [{section}]", file.display()));
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let entries = ini_section(&text, &section);
            let get = |key: &str| {
                entries
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
                    .filter(|v| !v.is_empty())
            };
            if let (Some(access_key_id), Some(secret_access_key)) =
                (get("aws_access_key_id"), get("aws_secret_access_key"))
            {
                return Ok(Self {
                    access_key_id,
                    secret_access_key,
                    session_token: get("aws_session_token"),
                });
            }
            if let Some(key) = UNSUPPORTED_KEYS.iter().find(|k| get(k).is_some()) {
                return Err(Error::Credentials(format!(
                    "profile {profile:?} in {} uses `{key}`, which bedrock-local cannot resolve \
                     (only static keys are supported); export temporary credentials instead, \
                     e.g. `eval \"$(aws configure export-credentials --format env)\"`",
                    file.display()
                )));
            }
        }
        Err(Error::Credentials(format!(
            "no credentials found; tried {}",
            tried.join(", ")
        )))
    }
}

/// The `key = value` pairs of one `[section]` of an INI file (keys lower-case).
fn ini_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
            continue;
        }
        if inside {
            if let Some((k, v)) = line.split_once('=') {
                out.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn environment_wins() {
        let c = Credentials::load_with(env(&[
            ("AWS_ACCESS_KEY_ID", "AK"),
            ("AWS_SECRET_ACCESS_KEY", "SK"),
            ("AWS_SESSION_TOKEN", "T"),
        ]))
        .unwrap();
        assert_eq!(c.access_key_id, "AK");
        assert_eq!(c.session_token.as_deref(), Some("T"));
        assert!(!format!("{c:?}").contains("SK"));
    }

    #[test]
    fn shared_files_and_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        std::fs::write(
            &creds,
            "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\n# c\n[work]\naws_access_key_id=W\naws_secret_access_key=WS\naws_session_token=WT\n",
        )
        .unwrap();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "[profile cfg]\naws_access_key_id = C\naws_secret_access_key = CS\n[profile sso]\nsso_session = corp\n",
        )
        .unwrap();
        let files = |profile: &str| {
            let mut pairs = vec![
                (
                    "AWS_SHARED_CREDENTIALS_FILE",
                    creds.to_str().unwrap().to_string(),
                ),
                ("AWS_CONFIG_FILE", config.to_str().unwrap().to_string()),
            ];
            if !profile.is_empty() {
                pairs.push(("AWS_PROFILE", profile.to_string()));
            }
            let map: HashMap<String, String> =
                pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            move |k: &str| map.get(k).cloned()
        };
        assert_eq!(
            Credentials::load_with(files("")).unwrap().access_key_id,
            "D"
        );
        let w = Credentials::load_with(files("work")).unwrap();
        assert_eq!(
            (w.access_key_id.as_str(), w.session_token.as_deref()),
            ("W", Some("WT"))
        );
        assert_eq!(
            Credentials::load_with(files("cfg")).unwrap().access_key_id,
            "C"
        );
        let sso = Credentials::load_with(files("sso"))
            .unwrap_err()
            .to_string();
        assert!(sso.contains("sso_session"), "{sso}");
        let none = Credentials::load_with(files("nope"))
            .unwrap_err()
            .to_string();
        assert!(none.contains("no credentials found"), "{none}");
    }
}
