//! The Bedrock catalog: foundation models and the system inference profiles built from them.
//!
//! The data lives in `data/catalog.toml`, compiled into the binary, so ListFoundationModels
//! never touches the disk. Besides what Bedrock returns on the wire, each entry carries what the
//! emulator needs to behave like the real model (output-token limit, Converse default, system
//! prompt support, context window). The types are plain data with `Serialize`; the facade decides
//! the wire shape. ARNs of the catalog's two resource kinds are spelled here and parsed back in
//! `resolve.rs`, nowhere else in this crate.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};
use crate::models::Task;

const CATALOG_TOML: &str = include_str!("../data/catalog.toml");

/// Creation time reported for every system inference profile (fixed, so responses are stable).
pub const PROFILE_TIMESTAMP: &str = "2024-08-23T00:00:00Z";

/// An input or output modality (`inputModalities` / `outputModalities`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Modality {
    /// `TEXT`
    Text,
    /// `IMAGE`
    Image,
    /// `EMBEDDING`
    Embedding,
    /// `VIDEO`
    Video,
    /// `SPEECH`
    Speech,
}

/// An entry of `inferenceTypesSupported`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InferenceType {
    /// `ON_DEMAND`: callable by bare id.
    OnDemand,
    /// `PROVISIONED`
    Provisioned,
    /// `INFERENCE_PROFILE`: callable through a system inference profile.
    InferenceProfile,
}

/// An entry of `customizationsSupported`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Customization {
    /// `FINE_TUNING`
    FineTuning,
    /// `CONTINUED_PRE_TRAINING`
    ContinuedPreTraining,
    /// `DISTILLATION`
    Distillation,
}

/// `modelLifecycle.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LifecycleStatus {
    /// `ACTIVE`
    Active,
    /// `LEGACY`
    Legacy,
}

macro_rules! wire_names {
    ($ty:ty { $($variant:ident => $s:literal),* $(,)? }) => {
        impl $ty {
            /// The exact string Bedrock sends.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $s),* }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Compares with the wire string (`modality == "TEXT"`), for filters on query parameters.
macro_rules! eq_wire_str {
    ($($ty:ty),*) => {$(
        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    )*};
}

eq_wire_str!(Modality, InferenceType, Customization, LifecycleStatus);

wire_names!(Modality { Text => "TEXT", Image => "IMAGE", Embedding => "EMBEDDING", Video => "VIDEO", Speech => "SPEECH" });
wire_names!(InferenceType { OnDemand => "ON_DEMAND", Provisioned => "PROVISIONED", InferenceProfile => "INFERENCE_PROFILE" });
wire_names!(Customization { FineTuning => "FINE_TUNING", ContinuedPreTraining => "CONTINUED_PRE_TRAINING", Distillation => "DISTILLATION" });
wire_names!(LifecycleStatus { Active => "ACTIVE", Legacy => "LEGACY" });

/// The geography of a system inference profile: the id prefix before the model id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProfileGeo {
    /// `us.`
    #[serde(rename = "us")]
    Us,
    /// `us-gov.`
    #[serde(rename = "us-gov")]
    UsGov,
    /// `eu.`
    #[serde(rename = "eu")]
    Eu,
    /// `apac.`
    #[serde(rename = "apac")]
    Apac,
    /// `jp.`
    #[serde(rename = "jp")]
    Jp,
    /// `au.`
    #[serde(rename = "au")]
    Au,
    /// `global.`
    #[serde(rename = "global")]
    Global,
}

impl ProfileGeo {
    /// Every geography, in listing order.
    pub const ALL: [ProfileGeo; 7] = [
        ProfileGeo::Us,
        ProfileGeo::UsGov,
        ProfileGeo::Eu,
        ProfileGeo::Apac,
        ProfileGeo::Jp,
        ProfileGeo::Au,
        ProfileGeo::Global,
    ];

    /// The id prefix without the dot (`us`, `us-gov`, ...).
    pub fn prefix(self) -> &'static str {
        match self {
            ProfileGeo::Us => "us",
            ProfileGeo::UsGov => "us-gov",
            ProfileGeo::Eu => "eu",
            ProfileGeo::Apac => "apac",
            ProfileGeo::Jp => "jp",
            ProfileGeo::Au => "au",
            ProfileGeo::Global => "global",
        }
    }

    /// The geography a prefix names.
    pub fn from_prefix(prefix: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.prefix() == prefix)
    }

    /// The word that starts a profile's name (`US Anthropic Claude 3.5 Sonnet`).
    fn label(self) -> &'static str {
        match self {
            ProfileGeo::Us => "US",
            ProfileGeo::UsGov => "US-GOV",
            ProfileGeo::Eu => "EU",
            ProfileGeo::Apac => "APAC",
            ProfileGeo::Jp => "JP",
            ProfileGeo::Au => "AU",
            ProfileGeo::Global => "Global",
        }
    }

    /// The regions requests are routed across (at most 5, the `models` list limit).
    pub fn regions(self) -> &'static [&'static str] {
        match self {
            ProfileGeo::Us => &["us-east-1", "us-east-2", "us-west-2"],
            ProfileGeo::UsGov => &["us-gov-east-1", "us-gov-west-1"],
            ProfileGeo::Eu => &["eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"],
            ProfileGeo::Apac => &[
                "ap-northeast-1",
                "ap-northeast-2",
                "ap-south-1",
                "ap-southeast-1",
                "ap-southeast-2",
            ],
            ProfileGeo::Jp => &["ap-northeast-1", "ap-northeast-3"],
            ProfileGeo::Au => &["ap-southeast-2", "ap-southeast-4"],
            ProfileGeo::Global => &[
                "us-east-1",
                "us-east-2",
                "us-west-2",
                "eu-west-1",
                "ap-northeast-1",
            ],
        }
    }
}

/// One foundation model of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundationModel {
    /// `modelId` (`meta.llama3-8b-instruct-v1:0`).
    pub model_id: String,
    /// `modelName`.
    pub model_name: String,
    /// `providerName` (`Meta`, `Mistral AI`, ...).
    pub provider_name: String,
    /// `inputModalities`.
    pub input_modalities: Vec<Modality>,
    /// `outputModalities`.
    pub output_modalities: Vec<Modality>,
    /// `responseStreamingSupported`; when false, streaming operations must be rejected.
    pub response_streaming_supported: bool,
    /// `customizationsSupported`.
    pub customizations_supported: Vec<Customization>,
    /// `inferenceTypesSupported`.
    pub inference_types_supported: Vec<InferenceType>,
    /// `modelLifecycle.status`.
    pub lifecycle_status: LifecycleStatus,
    /// Ours: the largest output-token count a request may ask for (None for non-text models).
    pub max_output_tokens: Option<u32>,
    /// Ours: the output-token budget Converse uses when `maxTokens` is absent.
    pub default_max_tokens: Option<u32>,
    /// Ours: whether Converse accepts a `system` prompt for this model.
    pub supports_system: bool,
    /// Ours: whether Converse accepts `toolConfig` for this model.
    pub supports_tools: bool,
    /// Ours: the context window in tokens, when it applies.
    pub context_window: Option<u32>,
    /// Ours: the geographies that have a system inference profile for this model.
    pub profile_geos: Vec<ProfileGeo>,
}

impl FoundationModel {
    /// What the model does, from its output modalities.
    pub fn task(&self) -> Task {
        let has = |m| self.output_modalities.contains(&m);
        if has(Modality::Text) {
            Task::Text
        } else if has(Modality::Embedding) {
            Task::Embedding
        } else if has(Modality::Video) {
            Task::Video
        } else {
            Task::Image
        }
    }

    /// The provider prefix of the id (`meta` for `meta.llama3-8b-instruct-v1:0`); dialects are
    /// chosen from it.
    pub fn provider_prefix(&self) -> &str {
        self.model_id.split('.').next().unwrap_or_default()
    }

    /// True when the model can be called by its bare id (on-demand throughput).
    pub fn supports_on_demand(&self) -> bool {
        self.inference_types_supported
            .contains(&InferenceType::OnDemand)
    }

    /// True for the Claude models that take extended thinking (`thinking`): Claude 3.7 Sonnet
    /// and every Claude 4 model.
    pub fn supports_reasoning(&self) -> bool {
        let Some(name) = self.model_id.strip_prefix("anthropic.claude-") else {
            return false;
        };
        name.starts_with("3-7-")
            || ["sonnet-4", "opus-4", "haiku-4"]
                .iter()
                .any(|family| name.starts_with(family))
    }

    /// `arn:aws:bedrock:REGION::foundation-model/ID` (no account, by design).
    pub fn arn(&self, region: &str) -> String {
        foundation_model_arn(region, &self.model_id)
    }
}

/// A system-defined (cross-region) inference profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InferenceProfile {
    /// `inferenceProfileId` (`us.anthropic.claude-3-5-haiku-20241022-v1:0`).
    pub inference_profile_id: String,
    /// `inferenceProfileName` (`US Anthropic Claude 3.5 Haiku`).
    pub inference_profile_name: String,
    /// `description`.
    pub description: String,
    /// The geography (the id prefix).
    pub geo: ProfileGeo,
    /// The foundation model it routes to.
    pub model_id: String,
    /// The regions it routes across; `models` lists one foundation-model ARN per region.
    pub regions: Vec<String>,
    /// `createdAt` and `updatedAt` (ISO 8601).
    pub created_at: String,
    /// `status`: always `ACTIVE`.
    pub status: String,
    /// `type`: always `SYSTEM_DEFINED`.
    pub profile_type: String,
}

impl InferenceProfile {
    /// `arn:aws:bedrock:REGION:ACCOUNT:inference-profile/ID`.
    pub fn arn(&self, region: &str, account: &str) -> String {
        format!(
            "arn:aws:bedrock:{region}:{account}:inference-profile/{}",
            self.inference_profile_id
        )
    }

    /// The `models` list: the foundation-model ARN in each routed region.
    pub fn model_arns(&self) -> Vec<String> {
        self.regions
            .iter()
            .map(|r| foundation_model_arn(r, &self.model_id))
            .collect()
    }
}

/// `arn:aws:bedrock:REGION::foundation-model/ID`.
pub fn foundation_model_arn(region: &str, model_id: &str) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{model_id}")
}

/// One entry of `catalog.toml` (short keys; converted into [`FoundationModel`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    name: String,
    provider: String,
    input: Vec<Modality>,
    output: Vec<Modality>,
    streaming: bool,
    #[serde(default)]
    customizations: Vec<Customization>,
    inference: Vec<InferenceType>,
    #[serde(default = "active")]
    status: LifecycleStatus,
    #[serde(default)]
    max_output_tokens: Option<u32>,
    #[serde(default)]
    default_max_tokens: Option<u32>,
    #[serde(default = "yes")]
    system: bool,
    #[serde(default)]
    tools: bool,
    #[serde(default)]
    context_window: Option<u32>,
    #[serde(default)]
    profiles: Vec<ProfileGeo>,
}

fn active() -> LifecycleStatus {
    LifecycleStatus::Active
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    model: Vec<Entry>,
}

/// The parsed catalog with its lookup tables.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    models: Vec<FoundationModel>,
    profiles: Vec<InferenceProfile>,
    by_id: HashMap<String, usize>,
    profile_by_id: HashMap<String, usize>,
}

impl Catalog {
    /// Parses the embedded catalog.
    pub(crate) fn builtin() -> Result<Self> {
        Self::parse(CATALOG_TOML)
    }

    fn parse(text: &str) -> Result<Self> {
        let file: CatalogFile = toml::from_str(text)
            .map_err(|e| RegistryError::Config(format!("built-in catalog: {e}")))?;
        let models: Vec<FoundationModel> = file.model.into_iter().map(convert).collect();
        let mut by_id = HashMap::new();
        for (i, m) in models.iter().enumerate() {
            if by_id.insert(m.model_id.clone(), i).is_some() {
                return Err(RegistryError::Config(format!(
                    "built-in catalog: {} is listed twice",
                    m.model_id
                )));
            }
        }
        let profiles: Vec<InferenceProfile> = ProfileGeo::ALL
            .into_iter()
            .flat_map(|geo| {
                models
                    .iter()
                    .filter(move |m| m.profile_geos.contains(&geo))
                    .map(move |m| make_profile(geo, m))
            })
            .collect();
        let profile_by_id = profiles
            .iter()
            .enumerate()
            .map(|(i, p)| (p.inference_profile_id.clone(), i))
            .collect();
        Ok(Self {
            models,
            profiles,
            by_id,
            profile_by_id,
        })
    }

    /// Every model, in catalog order.
    pub(crate) fn models(&self) -> &[FoundationModel] {
        &self.models
    }

    /// Every system profile, grouped by geography.
    pub(crate) fn profiles(&self) -> &[InferenceProfile] {
        &self.profiles
    }

    /// The model with exactly this id.
    pub(crate) fn model(&self, id: &str) -> Option<&FoundationModel> {
        self.by_id.get(id).map(|&i| &self.models[i])
    }

    /// The system profile with exactly this id.
    pub(crate) fn profile(&self, id: &str) -> Option<&InferenceProfile> {
        self.profile_by_id.get(id).map(|&i| &self.profiles[i])
    }
}

fn convert(e: Entry) -> FoundationModel {
    FoundationModel {
        model_id: e.id,
        model_name: e.name,
        provider_name: e.provider,
        input_modalities: e.input,
        output_modalities: e.output,
        response_streaming_supported: e.streaming,
        customizations_supported: e.customizations,
        inference_types_supported: e.inference,
        lifecycle_status: e.status,
        default_max_tokens: e.default_max_tokens.or(e.max_output_tokens),
        max_output_tokens: e.max_output_tokens,
        supports_system: e.system,
        supports_tools: e.tools,
        context_window: e.context_window,
        profile_geos: e.profiles,
    }
}

fn make_profile(geo: ProfileGeo, m: &FoundationModel) -> InferenceProfile {
    let subject = format!("{} {}", m.provider_name, m.model_name);
    let regions: Vec<String> = geo.regions().iter().map(|r| r.to_string()).collect();
    let description = match geo {
        ProfileGeo::Global => {
            format!("Routes requests to {subject} in all commercial AWS Regions.")
        }
        _ => match regions.split_last() {
            Some((last, rest)) if !rest.is_empty() => {
                format!(
                    "Routes requests to {subject} in {} and {last}.",
                    rest.join(", ")
                )
            }
            _ => format!("Routes requests to {subject} in {}.", regions.join("")),
        },
    };
    InferenceProfile {
        inference_profile_id: format!("{}.{}", geo.prefix(), m.model_id),
        inference_profile_name: format!("{} {subject}", geo.label()),
        description,
        geo,
        model_id: m.model_id.clone(),
        regions,
        created_at: PROFILE_TIMESTAMP.to_string(),
        status: "ACTIVE".to_string(),
        profile_type: "SYSTEM_DEFINED".to_string(),
    }
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;
