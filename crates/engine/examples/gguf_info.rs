//! Prints a GGUF file's metadata (arrays abbreviated) and its tensors: a debugging aid for
//! comparing real model files with the tiny ones `bedrock_local_engine::testing` writes.
//!
//! `cargo run -p bedrock-local-engine --example gguf_info -- FILE.gguf`

use candle_core::quantized::gguf_file::{Content, Value};

fn show(v: &Value) -> String {
    match v {
        Value::Array(items) => {
            let head: Vec<String> = items.iter().take(8).map(show).collect();
            format!(
                "[{} items: {}{}]",
                items.len(),
                head.join(", "),
                if items.len() > 8 { ", ..." } else { "" }
            )
        }
        Value::String(s) if s.len() > 120 => format!(
            "{:?}... ({} chars)",
            &s[..s.char_indices().nth(120).map(|(i, _)| i).unwrap_or(s.len())],
            s.len()
        ),
        other => format!("{other:?}"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: gguf_info FILE.gguf")?;
    let mut file = std::fs::File::open(&path)?;
    let content = Content::read(&mut file)?;
    let mut keys: Vec<_> = content.metadata.keys().collect();
    keys.sort();
    for key in keys {
        println!("{key} = {}", show(&content.metadata[key]));
    }
    let mut tensors: Vec<_> = content.tensor_infos.iter().collect();
    tensors.sort_by_key(|(name, _)| name.as_str());
    for (name, info) in tensors
        .iter()
        .filter(|(n, _)| !n.starts_with("blk.") || n.starts_with("blk.0."))
    {
        println!("tensor {name} {:?} {:?}", info.shape, info.ggml_dtype);
    }
    println!("{} tensors", tensors.len());
    // Further arguments: token ids to show with their type and score.
    let tokens = content
        .metadata
        .get("tokenizer.ggml.tokens")
        .and_then(|v| v.to_vec().ok());
    let types = content
        .metadata
        .get("tokenizer.ggml.token_type")
        .and_then(|v| v.to_vec().ok());
    let scores = content
        .metadata
        .get("tokenizer.ggml.scores")
        .and_then(|v| v.to_vec().ok());
    for id in std::env::args()
        .skip(2)
        .filter_map(|a| a.parse::<usize>().ok())
    {
        let get = |a: Option<&Vec<Value>>| a.and_then(|a| a.get(id)).map(show).unwrap_or_default();
        println!(
            "token {id}: {} type {} score {}",
            get(tokens),
            get(types),
            get(scores)
        );
    }
    Ok(())
}
