//! `models.toml`: which local models exist, where their bytes come from, and which Bedrock ids
//! they answer.
//!
//! The file is parsed strictly (`deny_unknown_fields`, a `kind`-tagged [`Source`] enum, in the
//! manner of mistral.rs's TOML selectors) and then validated as a whole: names and aliases are
//! unique, every file pins a size and a sha256, mappings point at real models. The repository's
//! own `models.toml` is compiled into the binary ([`DEFAULT_MODELS_TOML`]); a user file replaces
//! it entirely. Nothing here does IO except reading the file it is told to read.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};

/// The `models.toml` shipped with the binary (the repository root's file).
pub const DEFAULT_MODELS_TOML: &str = include_str!("../../../models.toml");

/// What a model does. Local models are `Text` or `Embedding`; catalog models may also be
/// `Image` or `Video`, which the facade rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Text generation (chat, completion).
    Text,
    /// Sentence embeddings.
    Embedding,
    /// Image generation (catalog only).
    Image,
    /// Video generation (catalog only).
    Video,
}

impl Task {
    /// Lower-case name, as written in `models.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Text => "text",
            Task::Embedding => "embedding",
            Task::Image => "image",
            Task::Video => "video",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the weights are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightFormat {
    /// One GGUF file with tokenizer and chat template inside.
    Gguf,
    /// safetensors weights plus `tokenizer.json` and `config.json`.
    Safetensors,
}

/// What a file of a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileRole {
    /// The weights (GGUF or safetensors).
    Weights,
    /// `tokenizer.json`.
    Tokenizer,
    /// `config.json`.
    Config,
}

/// Where one file's bytes can come from. Sources are tried in the order written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Source {
    /// A Hugging Face hub repository (the hf-hub crate; `HF_ENDPOINT` honoured).
    Hf {
        /// `owner/name`.
        repo: String,
        /// Path of the file inside the repository.
        file: String,
        /// Branch, tag or commit.
        #[serde(default = "default_revision")]
        revision: String,
    },
    /// Members of PyPI wheels, concatenated in the order listed.
    Pypi {
        /// The pieces, in order.
        parts: Vec<PypiPart>,
    },
    /// A plain HTTP(S) URL (resumable download).
    Url {
        /// The URL.
        url: String,
    },
    /// A file on this machine; relative paths are relative to the `models.toml` that names them.
    File {
        /// The path.
        path: PathBuf,
    },
}

fn default_revision() -> String {
    "main".to_string()
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Hf {
                repo,
                file,
                revision,
            } => write!(f, "hf {repo}@{revision}/{file}"),
            Source::Pypi { parts } => {
                let names: Vec<String> = parts
                    .iter()
                    .map(|p| format!("{}=={}", p.package, p.version))
                    .collect();
                write!(f, "pypi {}", names.join(" + "))
            }
            Source::Url { url } => write!(f, "url {url}"),
            Source::File { path } => write!(f, "file {}", path.display()),
        }
    }
}

/// One wheel member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PypiPart {
    /// Project name on PyPI.
    pub package: String,
    /// Exact version.
    pub version: String,
    /// Path of the member inside the wheel (zip).
    pub member: String,
}

/// One file of a local model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// What the file is for.
    pub role: FileRole,
    /// File name shown in the store's name index (`by-name/<model>/<name>`).
    pub name: String,
    /// Exact size in bytes.
    pub size: u64,
    /// Lower-case hex sha256 of the whole file; nothing is used before it matches.
    pub sha256: String,
    /// Where to get it, tried in order.
    pub sources: Vec<Source>,
}

/// One local model (`[[model]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalModel {
    /// Canonical name (`qwen2.5-coder-0.5b-instruct`).
    pub name: String,
    /// Other names (`qwen2.5:0.5b`); usable wherever a name is.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Text or embedding.
    pub task: Task,
    /// Architecture (`qwen2`, `gemma3`, `llama`, `bert`), as the engine dispatches on it.
    pub arch: String,
    /// Weight format.
    pub format: WeightFormat,
    /// A sentence for `bedrock-local models`.
    #[serde(default)]
    pub description: Option<String>,
    /// A chat template that overrides the one inside the GGUF.
    #[serde(default)]
    pub chat_template: Option<String>,
    /// Output-token limit when the model is named directly (`ollama.<name>`); Bedrock ids use
    /// their catalog limit instead.
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    /// The files (exactly one `weights`).
    pub files: Vec<ModelFile>,
}

impl LocalModel {
    /// The file with this role, if any.
    pub fn file(&self, role: FileRole) -> Option<&ModelFile> {
        self.files.iter().find(|f| f.role == role)
    }

    /// Total bytes of all files.
    pub fn size_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// `[[mapping]]`: Bedrock ids (a glob with `*` and `?`) answered by a given local model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Glob over the canonical Bedrock model id (profile prefix and ARN removed).
    pub bedrock: String,
    /// Local model name or alias.
    pub local: String,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsFile {
    /// The text model Bedrock text ids map to (config `DEFAULT_BEDROCK_MODEL` overrides it).
    #[serde(default)]
    pub default_text_model: Option<String>,
    /// The embedding model Bedrock embedding ids map to.
    #[serde(default)]
    pub default_embedding_model: Option<String>,
    /// The local models.
    #[serde(default, rename = "model")]
    pub models: Vec<LocalModel>,
    /// Explicit Bedrock id → local model mappings, first match wins.
    #[serde(default, rename = "mapping")]
    pub mappings: Vec<Mapping>,
    /// Directory relative `file` sources are resolved against (not in the file).
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

impl ModelsFile {
    /// Parses and validates a `models.toml` text. `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let file: ModelsFile =
            toml::from_str(text).map_err(|e| RegistryError::Config(format!("{origin}: {e}")))?;
        file.validate()
            .map_err(|e| RegistryError::Config(format!("{origin}: {e}")))?;
        Ok(file)
    }

    /// Reads, parses and validates a `models.toml` file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| RegistryError::io(path, e))?;
        let mut file = Self::parse(&text, &path.display().to_string())?;
        file.base_dir = path.parent().map(Path::to_path_buf);
        Ok(file)
    }

    /// The model whose name or alias is `name`.
    pub fn find(&self, name: &str) -> Option<&LocalModel> {
        self.models
            .iter()
            .find(|m| m.name == name || m.aliases.iter().any(|a| a == name))
    }

    /// Checks what serde cannot: uniqueness, pinned hashes, complete file sets, references.
    fn validate(&self) -> std::result::Result<(), String> {
        let mut seen = HashSet::new();
        for m in &self.models {
            validate_model(m)?;
            for n in std::iter::once(&m.name).chain(&m.aliases) {
                if !seen.insert(n.as_str()) {
                    return Err(format!("the name or alias {n:?} is used twice"));
                }
            }
        }
        let check_ref = |what: &str, name: &Option<String>, task: Task| match name {
            None => Ok(()),
            Some(n) => match self.find(n) {
                None => Err(format!("{what} {n:?} is not a [[model]] name or alias")),
                Some(m) if m.task != task => {
                    Err(format!("{what} {n:?} is a {} model, not {task}", m.task))
                }
                Some(_) => Ok(()),
            },
        };
        check_ref("default_text_model", &self.default_text_model, Task::Text)?;
        check_ref(
            "default_embedding_model",
            &self.default_embedding_model,
            Task::Embedding,
        )?;
        for map in &self.mappings {
            if map.bedrock.is_empty() {
                return Err("a [[mapping]] has an empty `bedrock` pattern".into());
            }
            if self.find(&map.local).is_none() {
                return Err(format!(
                    "[[mapping]] {:?} points at {:?}, which is not a [[model]] name or alias",
                    map.bedrock, map.local
                ));
            }
        }
        Ok(())
    }
}

fn validate_model(m: &LocalModel) -> std::result::Result<(), String> {
    let name = &m.name;
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(format!(
            "model name {name:?} must be non-empty, without spaces or '/'"
        ));
    }
    if matches!(m.task, Task::Image | Task::Video) {
        return Err(format!(
            "model {name}: task {} is not supported locally (text or embedding)",
            m.task
        ));
    }
    let count = |role| m.files.iter().filter(|f| f.role == role).count();
    if count(FileRole::Weights) != 1 {
        return Err(format!(
            "model {name} needs exactly one file with role = \"weights\""
        ));
    }
    if count(FileRole::Tokenizer) > 1 || count(FileRole::Config) > 1 {
        return Err(format!("model {name} has two files with the same role"));
    }
    if m.format == WeightFormat::Safetensors
        && (count(FileRole::Tokenizer) == 0 || count(FileRole::Config) == 0)
    {
        return Err(format!(
            "model {name} is safetensors and needs a \"tokenizer\" and a \"config\" file"
        ));
    }
    let mut file_names = HashSet::new();
    for f in &m.files {
        if !file_names.insert(f.name.as_str()) {
            return Err(format!(
                "model {name}: file name {:?} appears twice",
                f.name
            ));
        }
        if f.name.is_empty() || f.name.contains('/') || f.name.contains('\\') || f.name == ".." {
            return Err(format!(
                "model {name}: file name {:?} must be a plain file name",
                f.name
            ));
        }
        if f.sha256.len() != 64
            || !f
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(format!(
                "model {name}, file {}: sha256 must be 64 lower-case hex digits",
                f.name
            ));
        }
        if f.size == 0 {
            return Err(format!(
                "model {name}, file {}: size must be positive",
                f.name
            ));
        }
        if f.sources.is_empty() {
            return Err(format!("model {name}, file {}: no sources", f.name));
        }
        for s in &f.sources {
            match s {
                Source::Pypi { parts } if parts.is_empty() => {
                    return Err(format!(
                        "model {name}, file {}: a pypi source needs at least one part",
                        f.name
                    ))
                }
                Source::Hf { repo, file, .. } if repo.is_empty() || file.is_empty() => {
                    return Err(format!(
                        "model {name}, file {}: an hf source needs repo and file",
                        f.name
                    ))
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "models_tests.rs"]
mod tests;
