//! Model-id resolution: every form a client may send, to the local model that answers it.
//!
//! Accepted, in this order: `ollama.<name>` / `local.<name>`; a foundation-model ARN
//! (`arn:aws:bedrock:REGION::foundation-model/ID`, empty account as in Bedrock); a system
//! inference-profile ARN (`arn:aws:bedrock:REGION:ACCOUNT:inference-profile/us.ID`); an
//! application inference-profile ARN (`...:application-inference-profile/ID`, answered as its
//! source); a catalog
//! id; a profile id (`us.`, `us-gov.`, `eu.`, `apac.`, `jp.`, `au.`, `global.` + id); an id that
//! only a `[[mapping]]` knows; a bare local name or alias. The caller percent-decodes first.
//! Anything else is Bedrock's "The provided model identifier is invalid.".
//!
//! Which local model answers a Bedrock id: the first matching `[[mapping]]`, else the default
//! text model (text, image and video ids; the facade rejects the latter two from `task`), else
//! the default embedding model (embedding ids).

use bedrock_local_core::LocalModelName;

use crate::catalog::{FoundationModel, InferenceType, ProfileGeo};
use crate::error::{RegistryError, Result};
use crate::models::Task;
use crate::registry::Registry;

/// Longest model id Bedrock accepts.
const MAX_ID_LEN: usize = 2048;

/// The form a model id was given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdForm {
    /// A bare foundation-model id (`meta.llama3-8b-instruct-v1:0`).
    ModelId,
    /// A foundation-model ARN.
    ModelArn,
    /// A system inference-profile id of this geography.
    ProfileId(ProfileGeo),
    /// A system inference-profile ARN of this geography.
    ProfileArn(ProfileGeo),
    /// A local model name or alias, with or without `ollama.`/`local.`.
    Local,
}

impl IdForm {
    /// True for profile ids and profile ARNs.
    pub fn is_profile(self) -> bool {
        matches!(self, IdForm::ProfileId(_) | IdForm::ProfileArn(_))
    }
}

/// What a model id resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The id exactly as given.
    pub requested: String,
    /// How it was written.
    pub form: IdForm,
    /// The catalog entry; `None` for local names and for ids only a `[[mapping]]` knows.
    pub foundation_model: Option<FoundationModel>,
    /// The canonical Bedrock id (profile prefix and ARN removed) the dialect is chosen from;
    /// `None` for local names.
    pub provider_model_id: Option<String>,
    /// What the requested id does: the catalog model's task, or the local model's.
    pub task: Task,
    /// The local model that answers.
    pub local: LocalModelName,
    /// What the local model does.
    pub local_task: Task,
}

/// The two ARN kinds a model id may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arn<'a> {
    /// `arn:aws:bedrock:REGION::foundation-model/ID` → ID.
    FoundationModel(&'a str),
    /// `arn:aws:bedrock:REGION:ACCOUNT:inference-profile/ID` → ID.
    InferenceProfile(&'a str),
    /// `arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID` → ID.
    ApplicationProfile(&'a str),
}

/// Parses the ARN forms model ids use. `None` when `s` is not such an ARN.
pub(crate) fn parse_arn(s: &str) -> Option<Arn<'_>> {
    let rest = s.strip_prefix("arn:")?;
    let mut fields = rest.splitn(5, ':');
    let partition = fields.next()?;
    let service = fields.next()?;
    let region = fields.next()?;
    let account = fields.next()?;
    let resource = fields.next()?;
    if !partition.starts_with("aws") || service != "bedrock" || region.is_empty() {
        return None;
    }
    if let Some(id) = resource.strip_prefix("foundation-model/") {
        return (account.is_empty() && !id.is_empty()).then_some(Arn::FoundationModel(id));
    }
    let account_ok = !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit());
    if let Some(id) = resource.strip_prefix("inference-profile/") {
        return (account_ok && !id.is_empty()).then_some(Arn::InferenceProfile(id));
    }
    if let Some(id) = resource.strip_prefix("application-inference-profile/") {
        return (account_ok && !id.is_empty()).then_some(Arn::ApplicationProfile(id));
    }
    None
}

/// Removes an `ollama.` or `local.` prefix.
pub(crate) fn strip_local_prefix(name: &str) -> &str {
    name.strip_prefix("ollama.")
        .or_else(|| name.strip_prefix("local."))
        .unwrap_or(name)
}

/// Splits `us.anthropic...` into its geography and the model id.
fn split_profile(id: &str) -> Option<(ProfileGeo, &str)> {
    let (prefix, rest) = id.split_once('.')?;
    Some((ProfileGeo::from_prefix(prefix)?, rest))
}

/// `*` matches any run of characters, `?` any one character.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

impl Registry {
    /// Resolves any accepted model-id form (see the module docs) to the local model that
    /// answers it. Unknown ids give [`RegistryError::InvalidModelId`]; with `strict_profiles`,
    /// a profile-only model called by bare id or ARN gives
    /// [`RegistryError::OnDemandNotSupported`].
    pub fn resolve(&self, model_id: &str) -> Result<Resolved> {
        let invalid = || RegistryError::InvalidModelId(model_id.to_string());
        if model_id.is_empty() || model_id.len() > MAX_ID_LEN {
            return Err(invalid());
        }
        if let Some(name) = model_id
            .strip_prefix("ollama.")
            .or_else(|| model_id.strip_prefix("local."))
        {
            return self.resolve_local(model_id, name).ok_or_else(invalid);
        }
        match parse_arn(model_id) {
            Some(Arn::FoundationModel(id)) => {
                return self.resolve_bedrock(model_id, id, IdForm::ModelArn)
            }
            Some(Arn::InferenceProfile(id)) => {
                let (geo, inner) = split_profile(id).ok_or_else(invalid)?;
                return self.resolve_profile(model_id, id, inner, IdForm::ProfileArn(geo));
            }
            Some(Arn::ApplicationProfile(id)) => {
                // The source was checked at create time to be a foundation-model or system
                // profile ARN; refusing another application ARN keeps a hand-edited file from
                // looping.
                let profile = self.app_profiles.get(id).ok_or_else(invalid)?;
                if matches!(
                    parse_arn(&profile.copy_from),
                    Some(Arn::ApplicationProfile(_))
                ) {
                    return Err(invalid());
                }
                let mut resolved = self.resolve(&profile.copy_from)?;
                resolved.requested = model_id.to_string();
                return Ok(resolved);
            }
            None if model_id.starts_with("arn:") => return Err(invalid()),
            None => {}
        }
        if self.catalog.model(model_id).is_some() {
            return self.resolve_bedrock(model_id, model_id, IdForm::ModelId);
        }
        if let Some((geo, inner)) = split_profile(model_id) {
            if self.catalog.model(inner).is_some() || self.mapped(inner).is_some() {
                return self.resolve_profile(model_id, model_id, inner, IdForm::ProfileId(geo));
            }
        }
        if self.mapped(model_id).is_some() {
            return self.resolve_bedrock(model_id, model_id, IdForm::ModelId);
        }
        self.resolve_local(model_id, model_id).ok_or_else(invalid)
    }

    fn resolve_local(&self, requested: &str, name: &str) -> Option<Resolved> {
        let model = self.models.find(name)?;
        Some(Resolved {
            requested: requested.to_string(),
            form: IdForm::Local,
            foundation_model: None,
            provider_model_id: None,
            task: model.task,
            local: LocalModelName::new(model.name.clone()),
            local_task: model.task,
        })
    }

    /// `profile_id` is the whole profile id, `inner` the model id inside it.
    fn resolve_profile(
        &self,
        requested: &str,
        profile_id: &str,
        inner: &str,
        form: IdForm,
    ) -> Result<Resolved> {
        if self.config.strict_profiles && self.catalog.profile(profile_id).is_none() {
            return Err(RegistryError::InvalidModelId(requested.to_string()));
        }
        self.resolve_bedrock(requested, inner, form)
    }

    /// Resolves a Bedrock id (catalog or mapped) once the ARN or profile prefix is removed.
    fn resolve_bedrock(&self, requested: &str, id: &str, form: IdForm) -> Result<Resolved> {
        let foundation_model = self.catalog.model(id).cloned();
        let mapped = self.mapped(id);
        let task = match (&foundation_model, &mapped) {
            (Some(fm), _) => fm.task(),
            (None, Some(local)) => local.1,
            (None, None) => return Err(RegistryError::InvalidModelId(requested.to_string())),
        };
        if let Some(fm) = &foundation_model {
            let bare = matches!(form, IdForm::ModelId | IdForm::ModelArn);
            if bare && self.config.strict_profiles && !on_demand_ok(fm) {
                return Err(RegistryError::OnDemandNotSupported(fm.model_id.clone()));
            }
        }
        let (local, local_task) = match mapped {
            Some(m) => m,
            None => self.default_for(requested, task)?,
        };
        Ok(Resolved {
            requested: requested.to_string(),
            form,
            foundation_model,
            provider_model_id: Some(id.to_string()),
            task,
            local,
            local_task,
        })
    }

    /// The local model of the first `[[mapping]]` whose pattern matches `id`.
    pub(crate) fn mapped(&self, id: &str) -> Option<(LocalModelName, Task)> {
        let map = self
            .models
            .mappings
            .iter()
            .find(|m| glob_match(&m.bedrock, id))?;
        let model = self.models.find(&map.local)?;
        Some((LocalModelName::new(model.name.clone()), model.task))
    }

    fn default_for(&self, requested: &str, task: Task) -> Result<(LocalModelName, Task)> {
        match task {
            Task::Embedding => self
                .default_embedding
                .clone()
                .map(|m| (m, Task::Embedding))
                .ok_or_else(|| RegistryError::NoLocalModelForTask {
                    id: requested.to_string(),
                    task,
                }),
            Task::Text | Task::Image | Task::Video => Ok((self.default_text.clone(), Task::Text)),
        }
    }
}

/// Whether Bedrock lets this model be called without a profile.
fn on_demand_ok(fm: &FoundationModel) -> bool {
    fm.supports_on_demand()
        || !fm
            .inference_types_supported
            .contains(&InferenceType::InferenceProfile)
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
