//! `claude-agent-mock`: runs the mock Messages API server until killed.
//!
//! ```text
//! claude-agent-mock [--addr 127.0.0.1:0] [--api-key KEY] [--tls] [--ca-pem-out FILE]
//!                   [--threads N] [--token-delay-ms N]
//! ```
//!
//! The first line of stdout is the base URL (e.g. `http://127.0.0.1:43521`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use claude_agent_mock::MockServer;

const USAGE: &str = "usage: claude-agent-mock [--addr 127.0.0.1:0] [--api-key KEY] [--tls] \
                     [--ca-pem-out FILE] [--threads N] [--token-delay-ms N]";

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
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
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
