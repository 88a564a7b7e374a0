//! llama-bench style measurement of one GGUF: load time, prefill (pp) and decode (tg)
//! tokens/s, peak RSS. Build it in release for meaningful numbers:
//!
//! `cargo run --release -p bedrock-local-engine --example bench -- FILE.gguf [--pp 128] [--tg 64] [--threads N] [--batch N]`
//!
//! `--batch N` also times bare batched forwards: N sequences prefilled with `pp` tokens, then
//! `tg` steps of N decode rows each (the engine's 8-stream steps without the scheduling).

use bedrock_local_core::{LocalModelName, ModelFiles};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bench FILE.gguf [--pp N] [--tg N] [--threads N] [--batch N]";
    let path = args.next().ok_or(usage)?;
    let (mut pp, mut tg, mut threads, mut batch) = (128usize, 64usize, None, 0usize);
    while let Some(flag) = args.next() {
        let value: usize = args.next().ok_or(usage)?.parse()?;
        match flag.as_str() {
            "--pp" => pp = value,
            "--tg" => tg = value,
            "--threads" => threads = Some(value),
            "--batch" => batch = value,
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
    if batch > 0 {
        batched(&path, pp, tg, batch)?;
    }
    match report.peak_rss_mb {
        Some(mb) => println!("peak RSS     {mb:.0} MB"),
        None => println!("peak RSS     (not reported on this OS)"),
    }
    Ok(())
}

/// `tg` forwards of `n` decode rows after prefilling `n` sequences with `pp` tokens.
fn batched(path: &str, pp: usize, tg: usize, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    use bedrock_local_engine::arch::{self, LoadOptions, Step};
    let model = arch::load_transformer(path.as_ref(), LoadOptions { max_context: 4096 })?;
    let pool = arch::pool();
    let mut caches: Vec<_> = (0..n).map(|_| model.new_cache()).collect();
    for (s, cache) in caches.iter_mut().enumerate() {
        let prompt: Vec<u32> = (0..pp)
            .map(|i| (10 + i * 7 + s * 13) as u32 % 1000)
            .collect();
        let mut steps = [Step {
            tokens: &prompt,
            cache,
            logits: true,
        }];
        model.forward(&mut steps, pool)?;
    }
    let started = std::time::Instant::now();
    for t in 0..tg {
        let tokens: Vec<[u32; 1]> = (0..n).map(|s| [(100 + t * 3 + s) as u32]).collect();
        let mut steps: Vec<Step<'_>> = caches
            .iter_mut()
            .zip(&tokens)
            .map(|(cache, tok)| Step {
                tokens: tok,
                cache,
                logits: true,
            })
            .collect();
        model.forward(&mut steps, pool)?;
    }
    let s = started.elapsed().as_secs_f64();
    println!(
        "batched      {n} rows/step: {:.1} tok/s ({:.1} ms/step)",
        (n * tg) as f64 / s,
        s * 1e3 / tg as f64
    );
    Ok(())
}
