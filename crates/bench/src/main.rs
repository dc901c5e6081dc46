//! `claude-kit-bench`: measures the claude-kit client against a mock server, next to a
//! raw hyper baseline. `scripts/bench/run.sh` drives it; BENCHMARKS.md holds the figures.
//!
//! ```text
//! claude-kit-bench client     --url URL --requests N --concurrency C [--stream]
//!                               [--runtime tokio|smol|async-std] [--threads T]
//!                               [--model M] [--max-tokens T] [--http2]
//! claude-kit-bench raw-hyper  (same arguments; always tokio)
//! claude-kit-bench raw-hyper-full  (same arguments; always tokio)
//! claude-kit-bench many-streams --url URL --streams S [--client claude-kit|raw-hyper|raw-hyper-full]
//!                               [--runtime tokio|smol|async-std] [--http2]
//! claude-kit-bench latency    --url URL --requests N [--client claude-kit|raw-hyper-full]
//!                               [--runtime tokio|smol|async-std]
//! ```
//!
//! `--http2` (claude-kit only): HTTP/2 with prior knowledge, one multiplexed connection, where
//! the default is HTTP/1.1 with a connection per request in flight.
//!
//! Each run prints one JSON line. CPU is this process's user + system time, after minus
//! before, all threads: `cpu_ms_per_1k` from the process CPU clock (to the nanosecond),
//! `cpu_user_s` / `cpu_sys_s` from `/proc/self/stat` (10 ms ticks); peak memory is `VmHWM`
//! from `/proc/self/status`.
//!
//! Threads: `client` and `raw-hyper` run their C workers as tasks on one executor thread by
//! default (`--threads`): tokio's multi-thread scheduler with that many workers, smol's global
//! executor with `SMOL_THREADS` workers, async-std's pool with `ASYNC_STD_THREAD_COUNT`
//! workers (the binary re-executes itself with the variable set when it differs), the main
//! thread only waiting in the runtime's `block_on`. `many-streams` runs everything on one
//! thread: a current-thread tokio runtime, a private smol `Executor` run by `block_on`, or
//! (async-std has no single-thread mode) `block_on` plus a one-thread pool.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod agent;
mod latency;
mod ours;
mod procfs;
mod raw;

use std::process::ExitCode;
use std::time::Duration;

/// Which async runtime runs our client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuntimeKind {
    /// tokio.
    Tokio,
    /// smol.
    Smol,
    /// async-std.
    AsyncStd,
}

impl RuntimeKind {
    fn parse(name: &str) -> Result<Self, String> {
        match name {
            "tokio" => Ok(Self::Tokio),
            "smol" => Ok(Self::Smol),
            "async-std" => Ok(Self::AsyncStd),
            other => Err(format!(
                "unknown runtime {other:?}: expected tokio, smol or async-std"
            )),
        }
    }

    /// The name printed in the JSON line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Tokio => "tokio",
            Self::Smol => "smol",
            Self::AsyncStd => "async-std",
        }
    }
}

/// The arguments of every mode.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    /// Base URL of the server, `http://host:port`.
    pub(crate) url: String,
    /// Requests to make (`client`, `raw-hyper`).
    pub(crate) requests: usize,
    /// Requests in flight at once (`client`, `raw-hyper`).
    pub(crate) concurrency: usize,
    /// Streaming requests, read to the end.
    pub(crate) stream: bool,
    /// The runtime of our client.
    pub(crate) runtime: RuntimeKind,
    /// Executor threads (`client`, `raw-hyper`).
    pub(crate) threads: usize,
    /// The request's model.
    pub(crate) model: String,
    /// The request's `max_tokens`.
    pub(crate) max_tokens: u32,
    /// Concurrent streams (`many-streams`).
    pub(crate) streams: usize,
    /// `many-streams`: measure the raw hyper baseline instead of our client.
    pub(crate) raw: bool,
    /// `many-streams --client raw-hyper-full`: the baseline with the core's decoder.
    pub(crate) full: bool,
    /// `--http2`: our client over HTTP/2 with prior knowledge (one connection multiplexes the
    /// streams) instead of HTTP/1.1.
    pub(crate) http2: bool,
}

/// The user message of every request.
pub(crate) const PROMPT: &str = "Benchmark: say hello.";

/// The API key every client sends: as long as a real one (108 characters), so that what a
/// client does per secret (redaction scans, header bytes) costs what it costs in production.
pub(crate) const API_KEY: &str = "sk-ant-api03-benchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmark-AAAA";

const USAGE: &str = "usage: claude-kit-bench client|raw-hyper|raw-hyper-full --url URL --requests N \
                     --concurrency C [--stream] [--runtime tokio|smol|async-std] [--threads T] \
                     [--model M] [--max-tokens T]\n       claude-kit-bench many-streams --url \
                     URL --streams S [--client claude-kit|raw-hyper|raw-hyper-full] [--runtime ...]\n       \
                     claude-kit-bench agent --cli PATH [--queries N] [--warm W] [--base-url \
                     URL] [--runtime tokio|smol] [--driver ours|raw] [--cli-kind fake|real]";

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let Some(mode) = argv.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if mode == "agent" {
        return match agent::run(argv) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("claude-kit-bench agent: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let args = match parse_args(argv) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("claude-kit-bench: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match mode.as_str() {
        "client" => {
            if let Some(code) = reexec_with_threads(&args) {
                return code;
            }
            ours::client(&args)
        }
        "raw-hyper" => raw::client(&args, false),
        "raw-hyper-full" => raw::client(&args, true),
        "many-streams" if args.raw => raw::many_streams(&args, args.full),
        "latency" if args.raw && !args.full => {
            Err("latency compares with raw-hyper-full only (the same protocol work)".into())
        }
        "latency" if args.raw => raw::latency(&args),
        "latency" => ours::latency(&args),
        "many-streams" => {
            if let Some(code) = reexec_with_threads(&Args {
                threads: 1,
                ..args.clone()
            }) {
                return code;
            }
            ours::many_streams(&args)
        }
        "-h" | "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(format!("unknown mode {other:?}")),
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("claude-kit-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        url: String::new(),
        requests: 1000,
        concurrency: 32,
        stream: false,
        runtime: RuntimeKind::Tokio,
        threads: 1,
        model: "claude-sonnet-4-5".to_owned(),
        max_tokens: 256,
        streams: 1000,
        raw: false,
        full: false,
        http2: false,
    };
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{arg} needs a value"));
        fn number<T: std::str::FromStr>(arg: &str, text: String) -> Result<T, String> {
            text.parse().map_err(|_| format!("bad {arg} {text:?}"))
        }
        match arg.as_str() {
            "--url" => args.url = value()?,
            "--requests" => args.requests = number(&arg, value()?)?,
            "--concurrency" => args.concurrency = number::<usize>(&arg, value()?)?.max(1),
            "--stream" => args.stream = true,
            "--http2" => args.http2 = true,
            "--runtime" => args.runtime = RuntimeKind::parse(&value()?)?,
            "--threads" => args.threads = number::<usize>(&arg, value()?)?.max(1),
            "--model" => args.model = value()?,
            "--max-tokens" => args.max_tokens = number(&arg, value()?)?,
            "--streams" => args.streams = number(&arg, value()?)?,
            "--client" => {
                args.raw = match value()?.as_str() {
                    // `claude-agent`: the name before the rename, still accepted.
                    "claude-kit" | "claude-agent" => false,
                    "raw-hyper" => true,
                    "raw-hyper-full" => {
                        args.full = true;
                        true
                    }
                    other => return Err(format!("unknown --client {other:?}")),
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.url.is_empty() {
        return Err("--url is required".into());
    }
    Ok(args)
}

/// smol's global executor and async-std's pool size themselves from an environment variable
/// read once at first use. Setting it in-process needs `unsafe` (edition 2024), so instead the
/// binary runs itself again with the variable set, passing its output through. `None` means
/// "already right, go on".
fn reexec_with_threads(args: &Args) -> Option<ExitCode> {
    let var = match args.runtime {
        RuntimeKind::Tokio => return None,
        RuntimeKind::Smol => "SMOL_THREADS",
        RuntimeKind::AsyncStd => "ASYNC_STD_THREAD_COUNT",
    };
    let wanted = args.threads.to_string();
    if std::env::var(var).ok().as_deref() == Some(wanted.as_str()) {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let status = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(var, &wanted)
        .status()
        .ok()?;
    Some(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

/// The JSON request body both clients send.
pub(crate) fn request_json(args: &Args, stream: bool) -> String {
    serde_json::json!({
        "model": args.model,
        "max_tokens": args.max_tokens,
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": stream,
    })
    .to_string()
}

/// What a `client` / `raw-hyper` run measured.
pub(crate) struct RunResult {
    /// Failed requests.
    pub(crate) errors: usize,
    /// Wall time of the requests (client set-up excluded).
    pub(crate) wall: Duration,
}

/// The JSON line of a `client` / `raw-hyper` run.
pub(crate) fn report(
    client: &str,
    runtime: &str,
    args: &Args,
    before: procfs::Cpu,
    result: RunResult,
) -> String {
    let after = procfs::cpu();
    let user = after.user_s - before.user_s;
    let sys = after.sys_s - before.sys_s;
    // To the nanosecond; `user` and `sys` (10 ms ticks) say how it splits.
    let per_1k = if args.requests == 0 {
        0.0
    } else {
        after.seconds_since(&before) * 1e3 / args.requests as f64 * 1e3
    };
    serde_json::json!({
        "client": client,
        "runtime": runtime,
        "http": if args.http2 { "2" } else { "1.1" },
        "threads": args.threads,
        "stream": args.stream,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "errors": result.errors,
        "wall_s": round(result.wall.as_secs_f64()),
        "cpu_user_s": round(user),
        "cpu_sys_s": round(sys),
        "cpu_ms_per_1k": round(per_1k),
        "peak_rss_kb": procfs::status_kb("VmHWM"),
    })
    .to_string()
}

/// What a `many-streams` run measured.
pub(crate) struct ManyResult {
    /// `VmRSS` before the first stream was opened.
    pub(crate) rss_before: u64,
    /// `VmRSS` once every stream received its first event.
    pub(crate) rss_all_open: u64,
    /// Streams that failed to open or to finish.
    pub(crate) errors: usize,
    /// Time until every stream was open.
    pub(crate) open_wall: Duration,
    /// Time until every stream was read to the end.
    pub(crate) wall: Duration,
    /// Connections the client opened (ours: from its pool's statistics).
    pub(crate) connections: Option<u64>,
}

/// The JSON line of a `many-streams` run.
pub(crate) fn report_many(
    client: &str,
    runtime: &str,
    args: &Args,
    before: procfs::Cpu,
    result: ManyResult,
) -> String {
    let after = procfs::cpu();
    let streams = args.streams.max(1) as f64;
    let per_stream = result.rss_all_open.saturating_sub(result.rss_before) as f64 / streams;
    serde_json::json!({
        "scenario": "many-streams",
        "client": client,
        "runtime": runtime,
        "http": if args.http2 { "2" } else { "1.1" },
        "streams": args.streams,
        "errors": result.errors,
        "rss_kb_before": result.rss_before,
        "rss_kb_all_open": result.rss_all_open,
        "kb_per_stream": round(per_stream),
        "connections": result.connections,
        "peak_rss_kb": procfs::status_kb("VmHWM"),
        "open_s": round(result.open_wall.as_secs_f64()),
        "wall_s": round(result.wall.as_secs_f64()),
        "cpu_user_s": round(after.user_s - before.user_s),
        "cpu_sys_s": round(after.sys_s - before.sys_s),
    })
    .to_string()
}

/// Rounds to 4 decimal places for the JSON line.
fn round(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}
