//! `claude-agent-mock`: runs the mock Messages API server until killed.
//!
//! ```text
//! claude-agent-mock [--addr 127.0.0.1:0] [--api-key KEY] [--tls] [--ca-pem-out FILE]
//!                   [--threads N] [--token-delay-ms N]
//!                   [--replay FILE [--chunking event|byte|random[:SEED]|whole]]
//! ```
//!
//! The first line of stdout is the base URL (e.g. `http://127.0.0.1:43521`).
//!
//! `--replay FILE` answers every valid `POST /v1/messages` with the recorded SSE transcript in
//! `FILE`, byte for byte, cut into HTTP chunks by `--chunking`: one per event (the default), one
//! per byte, random sizes from 1 to 64 bytes (`SEED` defaults to 0), or the whole file at once.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use claude_agent_mock::{Chunking, MockServer};

const USAGE: &str = "usage: claude-agent-mock [--addr 127.0.0.1:0] [--api-key KEY] [--tls] \
                     [--ca-pem-out FILE] [--threads N] [--token-delay-ms N] [--replay FILE] \
                     [--chunking event|byte|random[:SEED]|whole]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("claude-agent-mock: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut builder = MockServer::builder();
    let mut ca_pem_out = None;
    let mut replay = None;
    let mut chunking = Chunking::PerEvent;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--addr" => {
                let addr: SocketAddr = value()?.parse().map_err(|e| format!("bad --addr: {e}"))?;
                builder = builder.addr(addr);
            }
            "--api-key" => builder = builder.api_key(value()?),
            "--tls" => builder = builder.tls(true),
            "--ca-pem-out" => ca_pem_out = Some(value()?),
            "--threads" => {
                let n: usize = value()?
                    .parse()
                    .map_err(|e| format!("bad --threads: {e}"))?;
                builder = builder.threads(n);
            }
            "--token-delay-ms" => {
                let ms: u64 = value()?
                    .parse()
                    .map_err(|e| format!("bad --token-delay-ms: {e}"))?;
                builder = builder.token_delay(Duration::from_millis(ms));
            }
            "--replay" => replay = Some(value()?),
            "--chunking" => chunking = parse_chunking(&value()?)?,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some(path) = replay {
        let transcript =
            std::fs::read(&path).map_err(|e| format!("cannot read --replay {path}: {e}"))?;
        builder = builder.replay(transcript, chunking);
    }
    let server = builder.start().map_err(|e| format!("cannot start: {e}"))?;
    if let (Some(path), Some(pem)) = (ca_pem_out, server.ca_certificate_pem()) {
        std::fs::write(&path, pem).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", server.url()).map_err(|e| e.to_string())?;
    stdout.flush().map_err(|e| e.to_string())?;
    drop(stdout);
    loop {
        std::thread::park();
    }
}

/// Parses `event`, `byte`, `random`, `random:SEED` or `whole`.
fn parse_chunking(value: &str) -> Result<Chunking, String> {
    match value {
        "event" => Ok(Chunking::PerEvent),
        "byte" => Ok(Chunking::PerByte),
        "whole" => Ok(Chunking::Whole),
        "random" => Ok(Chunking::Random { seed: 0 }),
        other => match other.strip_prefix("random:") {
            Some(seed) => seed
                .parse()
                .map(|seed| Chunking::Random { seed })
                .map_err(|e| format!("bad --chunking seed {seed:?}: {e}")),
            None => Err(format!(
                "bad --chunking {other:?}: expected event, byte, random[:SEED] or whole"
            )),
        },
    }
}
