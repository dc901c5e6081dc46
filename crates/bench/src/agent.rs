//! `claude-kit-bench agent`: Claude Code queries, measuring this process's own CPU per query
//! (the CLI children's CPU is not counted: `/proc/self/stat`'s `utime`/`stime` exclude
//! children) and the wall time to the first assistant message and to the result; then the same
//! times for queries that take a CLI already started (a warm pool of one).
//!
//! Two drivers, the same measurements:
//!
//! - `--driver ours` (the default): `claude_kit::code` — [`AgentClient::connect`] (spawn and
//!   `initialize`), `query("Hello")`, `receive_response()` to the result, `disconnect()`; warm:
//!   [`WarmPool`] of one.
//! - `--driver raw`: the CLI driven by hand, the baseline of "added time": `std::process`, the
//!   same argv and environment (`CodeOptions::command`), stderr discarded, the `initialize`
//!   request and the user frame written as JSON lines, stdout read line by line on this thread
//!   until the `control_response`, then until the first `assistant` frame and the `result`;
//!   nothing is answered; then stdin is closed and the child waited for. Warm: a helper thread
//!   spawns and initializes the next CLI while the current query runs, as the pool does.
//!
//! With `--cli` the fake CLI (`claude-kit-fake-claude`), the CLI's own cost is excluded; with
//! the real CLI, point it at a mock server with `--base-url`.
//!
//! ```text
//! claude-kit-bench agent --cli PATH [--queries N] [--warm W] [--base-url URL]
//!     [--runtime tokio|tokio-current-thread|smol] [--driver ours|raw] [--cli-kind fake|real]
//! ```
//!
//! One JSON line: `scenario: "agent"`, `client` (`claude-kit` or `raw`), `runtime`, `cli`
//! (`fake`/`real`, guessed from the file name unless `--cli-kind`), `queries`,
//! `sdk_cpu_ms_per_query` (cold queries only; this process's threads, from their
//! nanosecond `schedstat`), `sdk_cpu_ticks_ms_per_query` (the same from `/proc/self/stat`'s
//! 10 ms ticks, exited threads included) with its `sdk_user_…` and `sdk_sys_…` parts, medians `first_message_ms`, `result_ms`, `warm_first_message_ms`,
//! `warm_result_ms`, `max_rss_kb` (`VmHWM`), `cli_version`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use claude_kit::code::{AgentClient, CodeOptions, Message, WarmPool};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::procfs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    Ours,
    Raw,
}

struct AgentArgs {
    cli: PathBuf,
    queries: usize,
    warm: Option<usize>,
    base_url: Option<String>,
    runtime: String,
    driver: Driver,
    cli_kind: Option<String>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<AgentArgs, String> {
    let mut args = AgentArgs {
        cli: PathBuf::new(),
        queries: 50,
        warm: None,
        base_url: None,
        runtime: "tokio".into(),
        driver: Driver::Ours,
        cli_kind: None,
    };
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--cli" => args.cli = PathBuf::from(value()?),
            "--queries" => args.queries = value()?.parse().map_err(|_| "bad --queries")?,
            "--warm" => args.warm = Some(value()?.parse().map_err(|_| "bad --warm")?),
            "--base-url" => args.base_url = Some(value()?),
            "--runtime" => args.runtime = value()?,
            "--cli-kind" => args.cli_kind = Some(value()?),
            "--driver" => {
                args.driver = match value()?.as_str() {
                    "ours" | "claude-kit" => Driver::Ours,
                    "raw" => Driver::Raw,
                    other => return Err(format!("unknown --driver {other:?} (ours or raw)")),
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.cli.as_os_str().is_empty() {
        return Err("--cli is required".into());
    }
    Ok(args)
}

impl AgentArgs {
    fn warm(&self) -> usize {
        self.warm.unwrap_or(self.queries.min(20))
    }

    fn cli_kind(&self) -> String {
        self.cli_kind.clone().unwrap_or_else(|| {
            let name = self.cli.file_name().unwrap_or_default().to_string_lossy();
            if name.contains("fake") {
                "fake"
            } else {
                "real"
            }
            .to_owned()
        })
    }
}

fn options(args: &AgentArgs, home: &Path) -> CodeOptions {
    let mut options = CodeOptions::new()
        .cli_path(&args.cli)
        .max_turns(1)
        .env("HOME", home.to_string_lossy())
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_ERROR_REPORTING", "1");
    if let Some(url) = &args.base_url {
        options = options
            .env("ANTHROPIC_BASE_URL", url)
            .env("ANTHROPIC_API_KEY", "sk-ant-bench-key");
    }
    options
}

/// What one run measured.
#[derive(Default)]
struct Measured {
    first: Vec<Duration>,
    result: Vec<Duration>,
    warm_first: Vec<Duration>,
    warm_result: Vec<Duration>,
    cpu_before: procfs::Cpu,
    cpu_after: procfs::Cpu,
    threads_before: ThreadsCpu,
    threads_after: ThreadsCpu,
    wall: Duration,
    cli_version: Option<String>,
}

/// The CPU time of this process's live threads, to the nanosecond (the first field of each
/// `/proc/self/task/*/schedstat`), and their ids: the 10 ms ticks of `/proc/self/stat` are too
/// coarse for 20 queries of a few milliseconds each. A thread that ends inside the window takes
/// its time with it: `threads_ended` in the JSON line says whether that happened.
#[derive(Debug, Default, Clone)]
struct ThreadsCpu {
    ns: u64,
    ids: Vec<u64>,
}

impl ThreadsCpu {
    fn now() -> Self {
        let mut cpu = ThreadsCpu::default();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return cpu;
        };
        for task in tasks.flatten() {
            let Some(id) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat"))
                && let Some(ns) = stat
                    .split_whitespace()
                    .next()
                    .and_then(|f| f.parse::<u64>().ok())
            {
                cpu.ns += ns;
                cpu.ids.push(id);
            }
        }
        cpu
    }

    /// CPU seconds from `before` to `self`, and how many of `before`'s threads have ended.
    fn since(&self, before: &ThreadsCpu) -> (f64, usize) {
        let ended = before
            .ids
            .iter()
            .filter(|id| !self.ids.contains(id))
            .count();
        (self.ns.saturating_sub(before.ns) as f64 / 1e9, ended)
    }
}

fn median_ms(values: &[Duration]) -> Option<f64> {
    let mut values = values.to_vec();
    values.sort();
    values
        .get(values.len() / 2)
        .map(|d| (d.as_secs_f64() * 1e4).round() / 10.0)
}

fn line(args: &AgentArgs, client: &str, runtime: &str, m: &Measured) -> String {
    let queries = args.queries.max(1) as f64;
    let per_query = |s: f64| (s * 1e3 / queries * 1e4).round() / 1e4;
    let user = m.cpu_after.user_s - m.cpu_before.user_s;
    let sys = m.cpu_after.sys_s - m.cpu_before.sys_s;
    let (threads, ended) = m.threads_after.since(&m.threads_before);
    json!({
        "scenario": "agent",
        "client": client,
        "runtime": runtime,
        "cli": args.cli_kind(),
        "cli_version": m.cli_version,
        "queries": args.queries,
        "warm_queries": m.warm_first.len(),
        "sdk_cpu_ms_per_query": per_query(threads),
        "sdk_cpu_ticks_ms_per_query": per_query(user + sys),
        "sdk_user_ms_per_query": per_query(user),
        "sdk_sys_ms_per_query": per_query(sys),
        "threads_ended": ended,
        "wall_s": (m.wall.as_secs_f64() * 100.0).round() / 100.0,
        "first_message_ms": median_ms(&m.first),
        "result_ms": median_ms(&m.result),
        "warm_first_message_ms": median_ms(&m.warm_first),
        "warm_result_ms": median_ms(&m.warm_result),
        "max_rss_kb": procfs::status_kb("VmHWM"),
    })
    .to_string()
}

// ---------------------------------------------------------------------------------------------
// Our driver.

/// One turn on `client`: (time to the first assistant message, time to the result), from
/// `start`.
async fn turn(client: &AgentClient, start: Instant) -> Result<(Duration, Duration), String> {
    client.query("Hello").await.map_err(|e| e.to_string())?;
    let mut first = None;
    let mut messages = client.receive_response();
    while let Some(message) = messages.next().await {
        match message.map_err(|e| e.to_string())? {
            Message::Assistant(_) => {
                first.get_or_insert_with(|| start.elapsed());
            }
            Message::Result(_) => {
                return Ok((first.unwrap_or_else(|| start.elapsed()), start.elapsed()));
            }
            _ => {}
        }
    }
    Err("the CLI ended without a result".into())
}

async fn measure(args: &AgentArgs, home: &Path) -> Result<Measured, String> {
    let options = options(args, home);
    // Cold: spawn, handshake, one turn, disconnect — sequentially.
    let mut m = Measured {
        threads_before: ThreadsCpu::now(),
        cpu_before: procfs::cpu(),
        ..Measured::default()
    };
    let wall = Instant::now();
    for _ in 0..args.queries {
        let start = Instant::now();
        let client = AgentClient::connect(options.clone())
            .await
            .map_err(|e| e.to_string())?;
        if m.cli_version.is_none() {
            m.cli_version = client.server_info().version().map(str::to_owned);
        }
        let (f, r) = turn(&client, start).await?;
        client.disconnect().await;
        m.first.push(f);
        m.result.push(r);
    }
    m.wall = wall.elapsed();
    m.cpu_after = procfs::cpu();
    m.threads_after = ThreadsCpu::now();
    // Warm: a pool of one, refilled in the background; each query waits until it is ready.
    if args.warm() > 0 {
        let pool = WarmPool::new(options.clone(), 1).map_err(|e| e.to_string())?;
        for _ in 0..args.warm() {
            while pool.stats().ready == 0 {
                claude_kit::rt::sleep(Duration::from_millis(5)).await;
            }
            let start = Instant::now();
            let client = pool.get().await.map_err(|e| e.to_string())?;
            let (f, r) = turn(&client, start).await?;
            client.disconnect().await;
            m.warm_first.push(f);
            m.warm_result.push(r);
        }
    }
    Ok(m)
}

// ---------------------------------------------------------------------------------------------
// The CLI driven by hand.

/// The top-level `type` of a stdout line (the rest is skipped, not built).
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
}

const RAW_INITIALIZE: &str = "{\"type\":\"control_request\",\"request_id\":\"req_1_0badcafe\",\
                              \"request\":{\"subtype\":\"initialize\",\"hooks\":null}}\n";
const RAW_USER: &str = "{\"type\":\"user\",\"session_id\":\"default\",\"message\":{\"role\":\
                        \"user\",\"content\":\"Hello\"},\"parent_tool_use_id\":null}\n";

/// A CLI started by hand, its `initialize` answered.
struct RawCli {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
    version: Option<String>,
}

impl RawCli {
    /// Spawns the CLI and completes the handshake.
    fn start(options: &CodeOptions, cli: &Path) -> Result<Self, String> {
        let mut command = options.command(cli);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().map_err(|e| format!("spawn: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut cli = RawCli {
            child,
            stdin,
            stdout,
            line: String::new(),
            version: None,
        };
        cli.write(RAW_INITIALIZE)?;
        while cli.next_type()? != "control_response" {}
        if let Ok(frame) = serde_json::from_str::<Value>(&cli.line) {
            cli.version = frame
                .pointer("/response/response/claude_code_version")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        Ok(cli)
    }

    fn write(&mut self, line: &str) -> Result<(), String> {
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("write: {e}"))
    }

    /// Reads the next JSON line and returns its `type` (`""` for a line without one).
    fn next_type(&mut self) -> Result<String, String> {
        loop {
            self.line.clear();
            let n = self
                .stdout
                .read_line(&mut self.line)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("the CLI ended its stdout".into());
            }
            if !self.line.trim_start().starts_with('{') {
                continue;
            }
            let head: Head<'_> =
                serde_json::from_str(&self.line).map_err(|e| format!("bad line: {e}"))?;
            return Ok(head.kind.map(|k| k.into_owned()).unwrap_or_default());
        }
    }

    /// One turn: (first assistant message, result) from `start`; then stdin closed, child
    /// waited for.
    fn turn(mut self, start: Instant) -> Result<(Duration, Duration), String> {
        self.write(RAW_USER)?;
        let mut first = None;
        let result = loop {
            match self.next_type()?.as_str() {
                "assistant" => {
                    first.get_or_insert_with(|| start.elapsed());
                }
                "result" => break start.elapsed(),
                _ => {}
            }
        };
        drop(self.stdin);
        // Drain what is left (the `idle` state frame), then reap.
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut self.stdout, &mut rest);
        self.child.wait().map_err(|e| format!("wait: {e}"))?;
        Ok((first.unwrap_or(result), result))
    }
}

fn measure_raw(args: &AgentArgs, home: &Path) -> Result<Measured, String> {
    let options = options(args, home);
    let cli = args.cli.clone();
    let mut m = Measured {
        threads_before: ThreadsCpu::now(),
        cpu_before: procfs::cpu(),
        ..Measured::default()
    };
    let wall = Instant::now();
    for _ in 0..args.queries {
        let start = Instant::now();
        let raw = RawCli::start(&options, &cli)?;
        if m.cli_version.is_none() {
            m.cli_version = raw.version.clone();
        }
        let (f, r) = raw.turn(start)?;
        m.first.push(f);
        m.result.push(r);
    }
    m.wall = wall.elapsed();
    m.cpu_after = procfs::cpu();
    m.threads_after = ThreadsCpu::now();
    if args.warm() > 0 {
        // A pool of one on a helper thread: it starts the next CLI as soon as one is taken.
        let (ready_tx, ready) = std::sync::mpsc::sync_channel::<Result<RawCli, String>>(0);
        let helper_options = options.clone();
        let helper = std::thread::spawn(move || {
            loop {
                let next = RawCli::start(&helper_options, &cli);
                let failed = next.is_err();
                if ready_tx.send(next).is_err() || failed {
                    return;
                }
            }
        });
        for _ in 0..args.warm() {
            // The helper hands a CLI over only once it is initialized: wait for that, then
            // start the clock (the pool's `ready` wait).
            let raw = ready.recv().map_err(|_| "the helper stopped")??;
            let start = Instant::now();
            let (f, r) = raw.turn(start)?;
            m.warm_first.push(f);
            m.warm_result.push(r);
        }
        drop(ready);
        // The helper's last CLI (started, never used) ends when its handle is dropped: stdin
        // closes and it exits on its own.
        let _ = helper.join();
    }
    Ok(m)
}

/// Runs the `agent` mode.
pub(crate) fn run(argv: impl Iterator<Item = String>) -> Result<String, String> {
    let args = parse(argv)?;
    let home = std::env::temp_dir().join(format!("claude-kit-bench-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    let outcome = match (args.driver, args.runtime.as_str()) {
        (Driver::Raw, _) => measure_raw(&args, &home).map(|m| line(&args, "raw", "threads", &m)),
        (Driver::Ours, "tokio") => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(measure(&args, &home))
            .map(|m| line(&args, "claude-kit", "tokio", &m)),
        // Everything on this one thread: the query, the session's tasks and the I/O driver.
        (Driver::Ours, "tokio-current-thread") => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(measure(&args, &home))
            .map(|m| line(&args, "claude-kit", "tokio-current-thread", &m)),
        (Driver::Ours, "smol") => claude_kit_smol::block_on(measure(&args, &home))
            .map(|m| line(&args, "claude-kit", "smol", &m)),
        (Driver::Ours, other) => Err(format!(
            "unknown --runtime {other:?} (tokio, tokio-current-thread or smol)"
        )),
    };
    let _ = std::fs::remove_dir_all(&home);
    outcome
}
