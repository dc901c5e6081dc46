//! The Claude Code backend (`claude_kit::code`) against the fake CLI (`claude-kit-fake-claude`,
//! a test double in `claude-kit-mock`), on every runtime: the protocol paths and the faults.

mod callbacks;
mod client;
mod faults;
mod query;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::common::Rt;
use claude_kit::code::{CodeOptions, Message};
use claude_kit::{Error, Result};
use claude_kit_mock::fake_cli::{self, Script};
use futures_util::{Stream, StreamExt};
use serde_json::Value;

/// Options running the fake CLI with `script` on `rt`, with a record file.
pub fn fake(rt: &Rt, script: &Script) -> (CodeOptions, Record) {
    let record = Record::new();
    let options = CodeOptions::new()
        .cli_path(fake_cli::path())
        .runtime(rt.clone())
        .env(fake_cli::SCRIPT_ENV, script.to_json())
        .env(fake_cli::RECORD_ENV, record.0.to_string_lossy())
        .env("ANTHROPIC_API_KEY", "sk-ant-fake-key-for-tests")
        // Generous: a CLI that exits by itself at stdin EOF must never be signalled, even on a
        // starved machine (the tests of the escalation set a short grace of their own).
        .shutdown_grace(Duration::from_secs(30));
    (options, record)
}

/// The fake's record file: argv, env, every stdin line.
pub struct Record(pub PathBuf);

impl Record {
    fn new() -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        Self(std::env::temp_dir().join(format!(
            "claude-kit-fake-record-{}-{n}.jsonl",
            std::process::id()
        )))
    }

    /// The recorded lines.
    pub fn lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.0)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The stdin frames, in order (`{"eof": true}` included as `Value::Null`).
    pub fn stdin(&self) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter_map(|line| {
                if line.get("eof").is_some() {
                    Some(Value::Null)
                } else {
                    line.get("stdin").cloned()
                }
            })
            .collect()
    }

    /// The argv the fake was started with.
    pub fn argv(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .find_map(|line| line.get("argv").cloned())
            .and_then(|argv| serde_json::from_value(argv).ok())
            .unwrap_or_default()
    }

    /// The recorded environment.
    pub fn env(&self) -> Value {
        self.lines()
            .into_iter()
            .find_map(|line| line.get("env").cloned())
            .unwrap_or(Value::Null)
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Every item of `stream`, bounded in time so that a protocol bug fails the test instead of
/// hanging it.
pub async fn collect<S: Stream<Item = Result<Message>> + Unpin>(
    rt: &Rt,
    stream: S,
) -> Vec<Result<Message>> {
    within(rt, stream.collect::<Vec<_>>()).await
}

/// Awaits `future` for at most two minutes (a generous bound for a starved machine).
pub async fn within<F: std::future::Future>(rt: &Rt, future: F) -> F::Output {
    claude_kit_rt::timeout(&**rt, Duration::from_secs(120), future)
        .await
        .expect("the test did not finish within 2 minutes: the SDK is stuck")
}

/// The text of every assistant message.
pub fn texts(messages: &[Result<Message>]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|message| match message {
            Ok(Message::Assistant(assistant)) => Some(assistant.message.text()),
            _ => None,
        })
        .collect()
}

/// The `fake_control_response` frames (the fake's record of how the SDK answered it).
pub fn answers(messages: &[Result<Message>]) -> Vec<Value> {
    messages
        .iter()
        .filter_map(|message| match message {
            Ok(Message::Unknown(frame)) if frame["type"] == "fake_control_response" => {
                Some(frame["response"].clone())
            }
            _ => None,
        })
        .collect()
}

/// The errors.
pub fn errors(messages: &[Result<Message>]) -> Vec<&Error> {
    messages.iter().filter_map(|m| m.as_ref().err()).collect()
}

/// Whether the process `pid` still exists (unix: `/proc`, or `kill -0`).
pub fn alive(pid: u32) -> bool {
    if std::path::Path::new("/proc/self").exists() {
        // A zombie (exited, not reaped) still has an entry: it counts as left behind.
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        std::process::Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}
