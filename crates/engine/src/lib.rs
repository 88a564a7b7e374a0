//! bedrock-local-engine (being written).
