//! The facade's [`RecordInvoker`]: a batch record runs through exactly the InvokeModel
//! (dialect decode, engine, dialect encode) or Converse path of an interactive request.

use std::sync::Arc;

use bedrock_local_batch::{InvokeOutput, RecordError, RecordInvoker};
use futures::future::BoxFuture;

use crate::error::ApiError;
use bedrock_local_core::Priority;

use crate::runtime::{embed, ensure_text, generate, invoke, model_traits, Caller};
use crate::state::AppState;

/// Records wait behind interactive requests in the engine's queue.
/// They do not go through the test-double layer (rules and call history are about the
/// runtime APIs a test calls).
const BATCH: Caller = Caller {
    api: "batch",
    priority: Priority::Batch,
    double: None,
};
const BATCH_CONVERSE: Caller = Caller {
    api: "batch-converse",
    priority: Priority::Batch,
    double: None,
};

/// Invokes batch records with this state's registry and backend.
pub struct FacadeInvoker {
    state: AppState,
}

/// The invoker the batch service uses. Build it from the state before the batch service is
/// attached to it (the invoker needs no job API).
pub fn record_invoker(state: &AppState) -> Arc<dyn RecordInvoker> {
    Arc::new(FacadeInvoker {
        state: state.clone(),
    })
}

fn record_error(err: ApiError) -> RecordError {
    RecordError {
        code: err.status().as_u16(),
        message: err.message,
    }
}

impl FacadeInvoker {
    async fn invoke_model(&self, model_id: &str, body: &[u8]) -> Result<InvokeOutput, ApiError> {
        let started = std::time::Instant::now();
        let resolved = self.state.registry.resolve(model_id)?;
        if embed::is_embedding(&resolved) {
            let out = embed::run(&self.state, &resolved, body, Priority::Batch).await?;
            return Ok(InvokeOutput {
                body: out.body,
                input_tokens: out.input_tokens,
                output_tokens: 0,
            });
        }
        let invoke::DecodedInvoke {
            resolved,
            dialect,
            decoded,
            response,
        } = invoke::decode(&self.state, resolved, body, false)?;
        let completion = generate(&self.state, &resolved, decoded, started, BATCH, body).await?;
        let body = dialect.encode(&response, &completion);
        Ok(InvokeOutput {
            body,
            input_tokens: completion.usage.input_tokens,
            output_tokens: completion.usage.output_tokens,
        })
    }

    async fn converse(&self, model_id: &str, body: &[u8]) -> Result<InvokeOutput, ApiError> {
        use bedrock_local_dialects::converse;
        let started = std::time::Instant::now();
        let resolved = self.state.registry.resolve(model_id)?;
        ensure_text(&resolved)?;
        let traits = model_traits(&self.state, &resolved);
        let request = converse::decode_request(body, &traits)?;
        let completion = generate(
            &self.state,
            &resolved,
            request.decoded.clone(),
            started,
            BATCH_CONVERSE,
            body,
        )
        .await?;
        Ok(InvokeOutput {
            body: converse::encode_response(&request, &completion),
            input_tokens: completion.usage.input_tokens,
            output_tokens: completion.usage.output_tokens,
        })
    }
}

impl RecordInvoker for FacadeInvoker {
    fn invoke(
        &self,
        model_id: &str,
        converse: bool,
        body: Vec<u8>,
    ) -> BoxFuture<'_, Result<InvokeOutput, RecordError>> {
        let model_id = model_id.to_string();
        Box::pin(async move {
            let result = if converse {
                self.converse(&model_id, &body).await
            } else {
                self.invoke_model(&model_id, &body).await
            };
            result.map_err(record_error)
        })
    }

    fn check_model(&self, model_id: &str) -> Result<(), RecordError> {
        let resolved = self
            .state
            .registry
            .resolve(model_id)
            .map_err(|e| record_error(e.into()))?;
        // Bedrock runs batch jobs for embedding models too (Titan Text Embeddings).
        if embed::is_embedding(&resolved) {
            return Ok(());
        }
        ensure_text(&resolved).map_err(record_error)
    }
}
