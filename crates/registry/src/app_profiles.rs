//! Application inference profiles (CreateInferenceProfile): profiles a user makes to track one
//! foundation model or one system inference profile, then calls by their
//! `arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID`.
//!
//! They are state, unlike the rest of the registry, so they live behind one mutex and persist in
//! `<data_dir>/inference-profiles.json` (written whole and atomically: temp file, sync, rename).
//! A restart keeps them; a file that cannot be read is moved aside with a warning rather than
//! stopping the server or being overwritten.
//!
//! Request validation follows the service model (`InferenceProfileName`,
//! `InferenceProfileDescription`, `Tag`), with Coral's "1 validation error detected" wording.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rand::Rng;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{RegistryError, Result};
use crate::resolve::{parse_arn, Arn};

/// The file under the data dir.
const FILE_NAME: &str = "inference-profiles.json";
/// Characters of a generated profile id (Bedrock's are 12 lower-case letters and digits).
const ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ID_LEN: usize = 12;
/// `TagList` max.
const MAX_TAGS: usize = 200;

/// A tag of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// `key`, 1-128 characters.
    pub key: String,
    /// `value`, 0-256 characters.
    pub value: String,
}

/// One application inference profile, as stored and as GetInferenceProfile describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationProfile {
    /// `inferenceProfileId`: 12 lower-case letters and digits.
    pub id: String,
    /// `inferenceProfileName`, unique among application profiles.
    pub name: String,
    /// `description`.
    pub description: Option<String>,
    /// `inferenceProfileArn`, minted in the caller's region and account.
    pub arn: String,
    /// `modelSource.copyFrom` as given: a foundation-model or system-profile ARN.
    pub copy_from: String,
    /// `models`: the foundation-model ARNs the source routes to.
    pub model_arns: Vec<String>,
    /// `createdAt` and `updatedAt` (RFC 3339).
    pub created_at: String,
    /// `tags` from the create call.
    pub tags: Vec<Tag>,
    /// `clientRequestToken` of the create call: repeating it returns this profile.
    pub client_request_token: Option<String>,
}

/// A CreateInferenceProfile request, already parsed from JSON.
#[derive(Debug, Clone, Default)]
pub struct NewApplicationProfile {
    /// `inferenceProfileName`.
    pub name: String,
    /// `description`.
    pub description: Option<String>,
    /// `modelSource.copyFrom`.
    pub copy_from: String,
    /// `tags`.
    pub tags: Vec<Tag>,
    /// `clientRequestToken`.
    pub client_request_token: Option<String>,
    /// Region the ARN is minted in.
    pub region: String,
    /// Account the ARN is minted in.
    pub account: String,
}

/// The application profiles and the file they persist in.
#[derive(Debug)]
pub(crate) struct AppProfiles {
    file: PathBuf,
    list: Mutex<Vec<ApplicationProfile>>,
}

impl AppProfiles {
    /// Reads `<data_dir>/inference-profiles.json` if it exists. Creates nothing.
    pub(crate) fn load(data_dir: &Path) -> Self {
        let file = data_dir.join(FILE_NAME);
        let list = match fs::read(&file) {
            Ok(bytes) => match serde_json::from_slice::<Vec<ApplicationProfile>>(&bytes) {
                Ok(list) => list,
                Err(e) => {
                    let aside = file.with_extension("json.unreadable");
                    tracing::warn!(file = %file.display(), moved_to = %aside.display(), error = %e,
                        "application inference profiles unreadable; starting without them");
                    let _ = fs::rename(&file, &aside);
                    Vec::new()
                }
            },
            Err(_) => Vec::new(),
        };
        Self {
            file,
            list: Mutex::new(list),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<ApplicationProfile>> {
        // A panic while holding the lock cannot leave the list half-edited (every edit is one
        // push or remove), so a poisoned lock is still good.
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every profile, oldest first.
    pub(crate) fn all(&self) -> Vec<ApplicationProfile> {
        self.lock().clone()
    }

    /// The profile with this id or ARN.
    pub(crate) fn get(&self, id_or_arn: &str) -> Option<ApplicationProfile> {
        let id = profile_id(id_or_arn);
        self.lock().iter().find(|p| p.id == id).cloned()
    }

    /// Adds a profile whose source routes to `model_arns` (the caller checked the source).
    /// A repeated `clientRequestToken` returns the profile it created.
    pub(crate) fn create(
        &self,
        new: NewApplicationProfile,
        model_arns: Vec<String>,
    ) -> Result<ApplicationProfile> {
        let mut list = self.lock();
        if let Some(token) = &new.client_request_token {
            if let Some(p) = list
                .iter()
                .find(|p| p.client_request_token.as_ref() == Some(token))
            {
                return Ok(p.clone());
            }
        }
        if list.iter().any(|p| p.name == new.name) {
            return Err(RegistryError::ProfileConflict(format!(
                "An inference profile named {} already exists.",
                new.name
            )));
        }
        let id = loop {
            let id = new_id();
            if !list.iter().any(|p| p.id == id) {
                break id;
            }
        };
        let profile = ApplicationProfile {
            arn: format!(
                "arn:aws:bedrock:{}:{}:application-inference-profile/{id}",
                new.region, new.account
            ),
            id,
            name: new.name,
            description: new.description,
            copy_from: new.copy_from,
            model_arns,
            created_at: now_rfc3339(),
            tags: new.tags,
            client_request_token: new.client_request_token,
        };
        list.push(profile.clone());
        if let Err(e) = self.save(&list) {
            list.pop();
            return Err(e);
        }
        Ok(profile)
    }

    /// Replaces the tags of the profile with this id or ARN; `None` when there is none.
    pub(crate) fn set_tags(&self, id_or_arn: &str, tags: Vec<Tag>) -> Result<Option<()>> {
        let id = profile_id(id_or_arn);
        let mut list = self.lock();
        let Some(at) = list.iter().position(|p| p.id == id) else {
            return Ok(None);
        };
        let old = std::mem::replace(&mut list[at].tags, tags);
        if let Err(e) = self.save(&list) {
            list[at].tags = old;
            return Err(e);
        }
        Ok(Some(()))
    }

    /// Removes the profile with this id or ARN; `None` when there is none.
    pub(crate) fn delete(&self, id_or_arn: &str) -> Result<Option<ApplicationProfile>> {
        let id = profile_id(id_or_arn);
        let mut list = self.lock();
        let Some(at) = list.iter().position(|p| p.id == id) else {
            return Ok(None);
        };
        let removed = list.remove(at);
        if let Err(e) = self.save(&list) {
            list.insert(at, removed);
            return Err(e);
        }
        Ok(Some(removed))
    }

    fn save(&self, list: &[ApplicationProfile]) -> Result<()> {
        let io = |e| RegistryError::io(&self.file, e);
        if let Some(dir) = self.file.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.file.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(list)
            .map_err(|e| RegistryError::Config(format!("inference profiles: {e}")))?;
        let mut file = File::create(&tmp).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&tmp, &self.file).map_err(io)
    }
}

/// The id inside an application-profile ARN (as model-id resolution parses ARNs), or the text
/// itself.
fn profile_id(id_or_arn: &str) -> &str {
    match parse_arn(id_or_arn) {
        Some(Arn::ApplicationProfile(id)) => id,
        _ => id_or_arn,
    }
}

fn new_id() -> String {
    let mut rng = rand::rng();
    (0..ID_LEN)
        .map(|_| char::from(ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())]))
        .collect()
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

/// Coral's wording for one failed member constraint.
fn invalid(value: &str, member: &str, constraint: &str) -> RegistryError {
    RegistryError::InvalidProfile(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

/// `(word[ _-]?)+` where a word character is one of `word`: no leading separator, no two
/// separators in a row.
fn separated_words(s: &str, word: impl Fn(char) -> bool) -> bool {
    let mut after_word = false;
    for c in s.chars() {
        if word(c) {
            after_word = true;
        } else if matches!(c, ' ' | '_' | '-') && after_word {
            after_word = false;
        } else {
            return false;
        }
    }
    !s.is_empty()
}

/// Checks a CreateInferenceProfile request's members against the service model.
pub(crate) fn validate(new: &NewApplicationProfile) -> Result<()> {
    let name = &new.name;
    let name_len = name.chars().count();
    if !(1..=64).contains(&name_len) {
        return Err(invalid(
            name,
            "inferenceProfileName",
            "Member must have length between 1 and 64",
        ));
    }
    if !separated_words(name, |c| c.is_ascii_alphanumeric()) {
        return Err(invalid(
            name,
            "inferenceProfileName",
            "Member must satisfy regular expression pattern: ([0-9a-zA-Z][ _-]?)+",
        ));
    }
    if let Some(d) = &new.description {
        if !(1..=200).contains(&d.chars().count()) {
            return Err(invalid(
                d,
                "description",
                "Member must have length between 1 and 200",
            ));
        }
        if !separated_words(d, |c| c.is_ascii_alphanumeric() || c == ':' || c == '.') {
            return Err(invalid(
                d,
                "description",
                "Member must satisfy regular expression pattern: ([0-9a-zA-Z:.][ _-]?)+",
            ));
        }
    }
    if new.copy_from.is_empty() || new.copy_from.len() > 2048 {
        return Err(invalid(
            &new.copy_from,
            "modelSource.copyFrom",
            "Member must have length between 1 and 2048",
        ));
    }
    validate_tags(&new.tags)
}

/// `TagKey`/`TagValue` characters: `[a-zA-Z0-9\s._:/=+@-]*`.
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "._:/=+@-".contains(c)
}

const TAG_PATTERN: &str = "Member must satisfy regular expression pattern: [a-zA-Z0-9\\s._:/=+@-]*";

/// Checks a `tagKeys` list (UntagResource) against `TagKey`.
pub fn validate_tag_keys(keys: &[String]) -> Result<()> {
    for (i, key) in keys.iter().enumerate() {
        let member = format!("tagKeys.{}.member", i + 1);
        if !(1..=128).contains(&key.chars().count()) {
            return Err(invalid(
                key,
                &member,
                "Member must have length between 1 and 128",
            ));
        }
        if !key.chars().all(tag_char) {
            return Err(invalid(key, &member, TAG_PATTERN));
        }
    }
    Ok(())
}

/// Checks a `tags` list (CreateInferenceProfile, TagResource) against `TagList` and `Tag`.
pub fn validate_tags(tags: &[Tag]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(RegistryError::InvalidProfile(format!(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to {MAX_TAGS}"
        )));
    }
    for (i, tag) in tags.iter().enumerate() {
        let member = |m: &str| format!("tags.{}.member.{m}", i + 1);
        if !(1..=128).contains(&tag.key.chars().count()) {
            return Err(invalid(
                &tag.key,
                &member("key"),
                "Member must have length between 1 and 128",
            ));
        }
        if tag.value.chars().count() > 256 {
            return Err(invalid(
                &tag.value,
                &member("value"),
                "Member must have length between 0 and 256",
            ));
        }
        for (text, m) in [(&tag.key, "key"), (&tag.value, "value")] {
            if !text.chars().all(tag_char) {
                return Err(invalid(text, &member(m), TAG_PATTERN));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "app_profiles_tests.rs"]
mod tests;
