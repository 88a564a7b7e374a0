//! bedrock-local-registry (being written).
