//! `health`: asks a running server whether it is ready (for container health checks, where
//! no curl is installed). Exit code 0 when `/health` answers 200.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

/// Options of `health`.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// The server's address.
    #[arg(
        long,
        env = "BEDROCK_LOCAL_HEALTH_ADDR",
        default_value = "127.0.0.1:4566"
    )]
    pub addr: String,
}

/// Prints the health document; fails unless the server answers 200.
pub fn health(args: &HealthArgs) -> anyhow::Result<()> {
    let mut stream =
        TcpStream::connect(&args.addr).with_context(|| format!("connecting to {}", args.addr))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        args.addr
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let ok = response.starts_with("HTTP/1.1 200");
    if let Some((_, body)) = response.split_once("\r\n\r\n") {
        println!("{body}");
    }
    if !ok {
        bail!("server at {} is not healthy", args.addr);
    }
    Ok(())
}
