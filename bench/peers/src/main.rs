//! `claude-kit-peers`: other Rust clients of the Messages API, measured the way
//! `claude-kit-bench` measures claude-kit (see `crates/bench` and BENCHMARKS.md), so that their
//! JSON lines sit next to ours in `scripts/bench/report.py`.
//!
//! ```text
//! claude-kit-peers client --impl NAME --url URL --requests N --concurrency C [--stream]
//!                         [--model M] [--max-tokens T] [--threads T]
//! claude-kit-peers many-streams --impl NAME --url URL --streams S [--model M]
//! claude-kit-peers list [--streaming]   # the impl names, one per line
//! ```
//!
//! Same set-up as `claude-kit-bench client --runtime tokio`: a tokio multi-thread runtime with
//! `--threads` workers (default 1), C worker tasks taking the next of N requests, streaming
//! responses read to the end with their text accumulated; `many-streams` on a current-thread
//! runtime. CPU (`/proc/self/stat`) is counted from just before the first request, after the
//! runtime and the client were built.
#![forbid(unsafe_code)]

mod harness;
mod peers;
// The same `/proc` readings as claude-kit-bench: its file, not a copy.
#[path = "../../../crates/bench/src/procfs.rs"]
mod procfs;

use std::process::ExitCode;
use std::time::Duration;

/// The arguments of every mode.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    /// Which client (`--impl`).
    pub(crate) implementation: String,
    /// Base URL of the server, `http://host:port`.
    pub(crate) url: String,
    /// Requests to make (`client`).
    pub(crate) requests: usize,
    /// Requests in flight at once (`client`).
    pub(crate) concurrency: usize,
    /// Streaming requests, read to the end.
    pub(crate) stream: bool,
    /// tokio worker threads (`client`).
    pub(crate) threads: usize,
    /// The request's model.
    pub(crate) model: String,
    /// The request's `max_tokens`.
    pub(crate) max_tokens: u32,
    /// Concurrent streams (`many-streams`).
    pub(crate) streams: usize,
}

/// The user message of every request (the same as `claude-kit-bench`'s).
pub(crate) const PROMPT: &str = "Benchmark: say hello.";

/// The API key sent to the mock server (it accepts any).
pub(crate) const API_KEY: &str = "bench";

/// The `anthropic-version` header.
pub(crate) const API_VERSION: &str = "2023-06-01";

const USAGE: &str = "usage: claude-kit-peers client --impl NAME --url URL --requests N \
                     --concurrency C [--stream] [--model M] [--max-tokens T] [--threads T]\n       \
                     claude-kit-peers many-streams --impl NAME --url URL --streams S [--model M]\n       \
                     claude-kit-peers list [--streaming]";

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let Some(mode) = argv.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match mode.as_str() {
        "list" => {
            let streaming_only = match argv.next().as_deref() {
                None => false,
                Some("--streaming") => true,
                Some(other) => {
                    eprintln!("claude-kit-peers: unknown argument {other:?}\n{USAGE}");
                    return ExitCode::from(2);
                }
            };
            for peer in peers::PEERS {
                if !streaming_only || peer.streaming {
                    println!("{}", peer.name);
                }
            }
            return ExitCode::SUCCESS;
        }
        "-h" | "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        "client" | "many-streams" => {}
        other => {
            eprintln!("claude-kit-peers: unknown mode {other:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let args = match parse_args(argv) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("claude-kit-peers: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some(info) = peers::PEERS.iter().find(|p| p.name == args.implementation) else {
        eprintln!(
            "claude-kit-peers: unknown --impl {:?} (see `claude-kit-peers list`)",
            args.implementation
        );
        return ExitCode::from(2);
    };
    let streaming = mode == "many-streams" || args.stream;
    if streaming && !info.streaming {
        eprintln!("claude-kit-peers: {} has no streaming API", info.name);
        return ExitCode::from(2);
    }
    let result = if mode == "client" {
        harness::client(&args)
    } else {
        harness::many_streams(&args)
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("claude-kit-peers: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        implementation: String::new(),
        url: String::new(),
        requests: 1000,
        concurrency: 32,
        stream: false,
        threads: 1,
        model: "claude-sonnet-4-5".to_owned(),
        max_tokens: 256,
        streams: 1000,
    };
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{arg} needs a value"));
        fn number<T: std::str::FromStr>(arg: &str, text: String) -> Result<T, String> {
            text.parse().map_err(|_| format!("bad {arg} {text:?}"))
        }
        match arg.as_str() {
            "--impl" => args.implementation = value()?,
            "--url" => args.url = value()?,
            "--requests" => args.requests = number(&arg, value()?)?,
            "--concurrency" => args.concurrency = number::<usize>(&arg, value()?)?.max(1),
            "--stream" => args.stream = true,
            "--threads" => args.threads = number::<usize>(&arg, value()?)?.max(1),
            "--model" => args.model = value()?,
            "--max-tokens" => args.max_tokens = number::<u32>(&arg, value()?)?.max(1),
            "--streams" => args.streams = number(&arg, value()?)?,
            // Accepted for symmetry with claude-kit-bench: every peer runs on tokio.
            "--runtime" => {
                let runtime = value()?;
                if runtime != "tokio" {
                    return Err(format!("the peers run on tokio only, not {runtime:?}"));
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.implementation.is_empty() {
        return Err("--impl is required".into());
    }
    if args.url.is_empty() {
        return Err("--url is required".into());
    }
    args.url = args.url.trim_end_matches('/').to_owned();
    Ok(args)
}

/// What a `client` run measured.
pub(crate) struct RunResult {
    /// Failed requests.
    pub(crate) errors: usize,
    /// Wall time of the requests (client set-up excluded).
    pub(crate) wall: Duration,
}

/// The JSON line of a `client` run: exactly the fields of `claude-kit-bench client`.
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
}

/// The JSON line of a `many-streams` run: exactly the fields of `claude-kit-bench
/// many-streams`.
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
        "streams": args.streams,
        "errors": result.errors,
        "rss_kb_before": result.rss_before,
        "rss_kb_all_open": result.rss_all_open,
        "kb_per_stream": round(per_stream),
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
