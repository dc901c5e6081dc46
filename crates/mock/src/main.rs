//! `claude-kit-mock`: runs the mock Messages API server until killed.
//!
//! ```text
//! claude-kit-mock [--addr 127.0.0.1:0] [--api-key KEY] [--tls] [--ca-pem-out FILE]
//!                   [--threads N] [--token-delay-ms N]
//!                   [--replay FILE [--chunking event|byte|random[:SEED]|whole]]
//!                   [--fault-rate F [--fault-seed S] [--faults LIST]] [--rpm N] [--tpm N]
//!                   [--batch-delay-ms N] [--no-http2] [--http2-max-streams N]
//! ```
//!
//! The first line of stdout is the base URL (e.g. `http://127.0.0.1:43521`).
//!
//! `--replay FILE` answers every valid `POST /v1/messages` with the recorded SSE transcript in
//! `FILE`, byte for byte, cut into HTTP chunks by `--chunking`: one per event (the default), one
//! per byte, random sizes from 1 to 64 bytes (`SEED` defaults to 0), or the whole file at once.
//!
//! `--fault-rate F` injects a random fault into each valid request with probability `F`
//! (`0.0..=1.0`), from a generator seeded with `--fault-seed S` (default 0), drawn from the
//! default mix or from `--faults`, a comma-separated list in the `x-mock-fault` syntax (e.g.
//! `status:529:0,reset-mid-stream`). `--rpm N` and `--tpm N` set the per-minute rate limits
//! (default 1000000 each). Per-request `x-mock-fault` headers work in any case.
//! `--batch-delay-ms N` sets the simulated Message Batches processing time per request
//! (default 20).
//!
//! Connections speak HTTP/1.1 or HTTP/2 (prior knowledge on plain TCP, ALPN `h2` over TLS);
//! `--no-http2` serves HTTP/1.1 only, `--http2-max-streams N` sets the concurrent streams an
//! HTTP/2 connection takes (default 20000).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use claude_kit_mock::{Chunking, Fault, FaultPlan, MockServer};

const USAGE: &str = "usage: claude-kit-mock [--addr 127.0.0.1:0] [--api-key KEY] [--tls] \
                     [--ca-pem-out FILE] [--threads N] [--token-delay-ms N] [--replay FILE] \
                     [--chunking event|byte|random[:SEED]|whole] [--fault-rate F] \
                     [--fault-seed S] [--faults FAULT,FAULT,...] [--rpm N] [--tpm N] \
                     [--batch-delay-ms N] [--no-http2] [--http2-max-streams N]";

/// The default rate limits (as the library's).
const DEFAULT_LIMIT: u64 = 1_000_000;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("claude-kit-mock: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut builder = MockServer::builder();
    let mut ca_pem_out = None;
    let mut replay = None;
    let mut chunking = Chunking::PerEvent;
    let mut fault_rate = None;
    let mut fault_seed = 0;
    let mut faults = None;
    let mut rpm = DEFAULT_LIMIT;
    let mut tpm = DEFAULT_LIMIT;
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
            "--fault-rate" => {
                let rate: f64 = value()?
                    .parse()
                    .map_err(|e| format!("bad --fault-rate: {e}"))?;
                if !(0.0..=1.0).contains(&rate) {
                    return Err(format!("bad --fault-rate {rate}: expected 0.0 to 1.0"));
                }
                fault_rate = Some(rate);
            }
            "--fault-seed" => {
                fault_seed = value()?
                    .parse()
                    .map_err(|e| format!("bad --fault-seed: {e}"))?;
            }
            "--faults" => faults = Some(parse_faults(&value()?)?),
            "--rpm" => rpm = value()?.parse().map_err(|e| format!("bad --rpm: {e}"))?,
            "--batch-delay-ms" => {
                let ms: u64 = value()?
                    .parse()
                    .map_err(|e| format!("bad --batch-delay-ms: {e}"))?;
                builder = builder.batch_request_delay(Duration::from_millis(ms));
            }
            "--tpm" => tpm = value()?.parse().map_err(|e| format!("bad --tpm: {e}"))?,
            "--no-http2" => builder = builder.http2(false),
            "--http2-max-streams" => {
                let n: u32 = value()?
                    .parse()
                    .map_err(|e| format!("bad --http2-max-streams: {e}"))?;
                builder = builder.http2_max_concurrent_streams(n);
            }
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
    match (fault_rate, faults) {
        (Some(rate), faults) => {
            let mut plan = FaultPlan::random(fault_seed, rate);
            if let Some(faults) = faults {
                plan = plan.with_faults(faults);
            }
            builder = builder.fault_plan(plan);
        }
        (None, Some(_)) => return Err("--faults needs --fault-rate".into()),
        (None, None) => {}
    }
    builder = builder.rate_limits(rpm, tpm);
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

/// Parses a comma-separated list of faults in the `x-mock-fault` syntax.
fn parse_faults(list: &str) -> Result<Vec<Fault>, String> {
    list.split(',')
        .map(|name| Fault::parse(name).ok_or_else(|| format!("bad fault in --faults: {name:?}")))
        .collect()
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
