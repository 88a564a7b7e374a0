//! The `bedrock` control plane.

pub mod jobs;
pub mod models;
pub mod profiles;
pub mod tags;
