//! bedrock-local-facade (being written).
