//! bedrock-local-aws (being written).
