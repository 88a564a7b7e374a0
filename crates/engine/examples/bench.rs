//! llama-bench style measurement of one GGUF: load time, prefill (pp) and decode (tg)
//! tokens/s, peak RSS. Build it in release for meaningful numbers:
//!
//! `cargo run --release -p bedrock-local-engine --example bench -- FILE.gguf [--pp 128] [--tg 64] [--threads N]`

use bedrock_local_core::{LocalModelName, ModelFiles};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bench FILE.gguf [--pp N] [--tg N] [--threads N]";
    let path = args.next().ok_or(usage)?;
    let (mut pp, mut tg, mut threads) = (128usize, 64usize, None);
    while let Some(flag) = args.next() {
        let value: usize = args.next().ok_or(usage)?.parse()?;
        match flag.as_str() {
            "--pp" => pp = value,
            "--tg" => tg = value,
            "--threads" => threads = Some(value),
            _ => return Err(usage.into()),
        }
    }
    let files = ModelFiles {
        name: LocalModelName::new("bench"),
        weights: path.clone().into(),
        tokenizer: None,
        config: None,
        chat_template: None,
    };
    let options = bedrock_local_engine::bench::BenchOptions {
        prompt_sizes: vec![pp],
        gen_tokens: tg,
        threads,
        ..Default::default()
    };
    let report = bedrock_local_engine::bench(&files, &options)?;
    println!("model        {path}");
    println!(
        "threads      {}",
        threads.map_or("default".to_string(), |t| t.to_string())
    );
    println!("load         {:.0} ms", report.load_ms);
    for pp in &report.prefill {
        println!("pp{:<10} {:.1} tok/s", pp.prompt_tokens, pp.tok_s);
    }
    println!(
        "tg{:<10} {:.1} tok/s",
        report.decode_tokens, report.decode_tok_s
    );
    match report.peak_rss_mb {
        Some(mb) => println!("peak RSS     {mb:.0} MB"),
        None => println!("peak RSS     (not reported on this OS)"),
    }
    Ok(())
}
