//! bedrock-local: Amazon Bedrock, running locally, with the models inside.
fn main() {}
