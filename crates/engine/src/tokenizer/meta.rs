//! Typed reads of GGUF metadata for the tokenizer: a key of the wrong type is an error that
//! names it, a missing key is `None` for the caller to default.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;

use crate::{EngineError, Result};

/// Typed access to GGUF metadata; a key of the wrong type is an error naming it.
pub(crate) struct Meta<'a>(pub &'a HashMap<String, Value>);

impl<'a> Meta<'a> {
    pub(crate) fn wrong(key: &str, want: &str) -> EngineError {
        EngineError::Gguf(format!("metadata key {key} is not {want}"))
    }
    pub fn str(&self, key: &str) -> Result<Option<&'a str>> {
        match self.0.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Self::wrong(key, "a string")),
        }
    }
    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.0.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => int_of(v)
                .map(|i| Some(i != 0))
                .ok_or_else(|| Self::wrong(key, "a bool")),
        }
    }
    pub fn u32(&self, key: &str) -> Result<Option<u32>> {
        match self.0.get(key) {
            None => Ok(None),
            Some(v) => int_of(v)
                .and_then(|i| u32::try_from(i).ok())
                .map(Some)
                .ok_or_else(|| Self::wrong(key, "a token id")),
        }
    }
    pub fn array(&self, key: &str) -> Result<Option<&'a [Value]>> {
        match self.0.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(Self::wrong(key, "an array")),
        }
    }
}

pub(crate) fn int_of(v: &Value) -> Option<i64> {
    Some(match v {
        Value::U8(x) => i64::from(*x),
        Value::I8(x) => i64::from(*x),
        Value::U16(x) => i64::from(*x),
        Value::I16(x) => i64::from(*x),
        Value::U32(x) => i64::from(*x),
        Value::I32(x) => i64::from(*x),
        Value::U64(x) => i64::try_from(*x).ok()?,
        Value::I64(x) => *x,
        _ => return None,
    })
}

pub(crate) fn float_of(v: &Value) -> Option<f32> {
    match v {
        Value::F32(x) => Some(*x),
        #[allow(clippy::cast_possible_truncation)]
        Value::F64(x) => Some(*x as f32),
        #[allow(clippy::cast_precision_loss)]
        other => int_of(other).map(|i| i as f32),
    }
}
