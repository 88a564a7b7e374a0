//! bedrock-local-dialects (being written).
