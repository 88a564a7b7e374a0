//! The `bedrock` control plane.

pub mod models;
