//! `claude-kit-bench agent`: Claude Code queries through `claude_kit::code`, measuring this
//! process's own CPU per query (the CLI children's CPU is not counted: `/proc/self/stat`'s
//! `utime`/`stime` exclude children) and the wall time to the first assistant message and to
//! the result; then the same first-message time for clients taken from a warm pool.
//!
//! With `--cli` the fake CLI (`claude-kit-fake-claude`), the CLI's own cost is excluded; with
//! the real CLI, point it at a mock server with `--base-url`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use claude_kit::code::{AgentClient, CodeOptions, Message, WarmPool};
use futures_util::StreamExt;

use crate::procfs;

struct AgentArgs {
    cli: PathBuf,
    queries: usize,
    base_url: Option<String>,
    runtime: String,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<AgentArgs, String> {
    let mut args = AgentArgs {
        cli: PathBuf::new(),
        queries: 50,
        base_url: None,
        runtime: "tokio".into(),
    };
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--cli" => args.cli = PathBuf::from(value()?),
            "--queries" => args.queries = value()?.parse().map_err(|_| "bad --queries")?,
            "--base-url" => args.base_url = Some(value()?),
            "--runtime" => args.runtime = value()?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.cli.as_os_str().is_empty() {
        return Err("--cli is required".into());
    }
    Ok(args)
}

fn options(args: &AgentArgs, home: &std::path::Path) -> CodeOptions {
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

fn median(mut values: Vec<Duration>) -> f64 {
    values.sort();
    values
        .get(values.len() / 2)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

async fn measure(args: &AgentArgs, home: &std::path::Path) -> Result<String, String> {
    let options = options(args, home);
    // Cold: spawn, handshake, one turn, disconnect — sequentially.
    let (mut first, mut result) = (Vec::new(), Vec::new());
    let cpu_before = procfs::cpu();
    let wall = Instant::now();
    for _ in 0..args.queries {
        let start = Instant::now();
        let client = AgentClient::connect(options.clone())
            .await
            .map_err(|e| e.to_string())?;
        let (f, r) = turn(&client, start).await?;
        client.disconnect().await;
        first.push(f);
        result.push(r);
    }
    let wall_s = wall.elapsed().as_secs_f64();
    let cpu = procfs::cpu();
    let cpu_ms = ((cpu.user_s + cpu.sys_s) - (cpu_before.user_s + cpu_before.sys_s)) * 1e3;
    // Warm: a pool of one, refilled in the background; each query waits until it is ready.
    let pool = WarmPool::new(options.clone(), 1).map_err(|e| e.to_string())?;
    let mut warm_first = Vec::new();
    for _ in 0..args.queries.min(20) {
        while pool.stats().ready == 0 {
            claude_kit::rt::sleep(Duration::from_millis(5)).await;
        }
        let start = Instant::now();
        let client = pool.get().await.map_err(|e| e.to_string())?;
        let (f, _) = turn(&client, start).await?;
        client.disconnect().await;
        warm_first.push(f);
    }
    Ok(format!(
        "{{\"mode\":\"agent\",\"runtime\":\"{}\",\"queries\":{},\"sdk_cpu_ms_per_query\":{:.3},\"wall_s\":{:.2},\"first_message_ms\":{:.1},\"result_ms\":{:.1},\"warm_first_message_ms\":{:.1},\"max_rss_kb\":{}}}",
        args.runtime,
        args.queries,
        cpu_ms / args.queries as f64,
        wall_s,
        median(first),
        median(result),
        median(warm_first),
        procfs::status_kb("VmHWM"),
    ))
}

/// Runs the `agent` mode.
pub(crate) fn run(argv: impl Iterator<Item = String>) -> Result<String, String> {
    let args = parse(argv)?;
    let home = std::env::temp_dir().join(format!("claude-kit-bench-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    let outcome = match args.runtime.as_str() {
        "tokio" => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(measure(&args, &home)),
        "smol" => claude_kit_smol::block_on(measure(&args, &home)),
        other => Err(format!("unknown --runtime {other:?} (tokio or smol)")),
    };
    let _ = std::fs::remove_dir_all(&home);
    outcome
}
