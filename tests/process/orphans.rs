//! No CLI process outlives what started it: queries and clients dropped at every stage, on
//! every runtime, and then the children of this process are counted (zombies included: a
//! child that exited but was not reaped counts as left behind).
//!
//! In the process binary, holding `exclusive()`, so that no other test's children are counted.

use std::time::Duration;

use crate::common::{Rt, run_async_std, run_smol, run_thread_pool, run_tokio};
use claude_kit::code::{AgentClient, CodeOptions, Message, SystemMessage, query};
use claude_kit_mock::fake_cli::{self, Action, Initialize, Script};
use futures_util::StreamExt;

fn options(rt: &Rt, script: &Script) -> CodeOptions {
    CodeOptions::new()
        .cli_path(fake_cli::path())
        .runtime(rt.clone())
        .env(fake_cli::SCRIPT_ENV, script.to_json())
        .shutdown_grace(Duration::from_millis(300))
        .initialize_timeout(Duration::from_secs(60))
}

async fn within<F: std::future::Future>(rt: &Rt, future: F) -> F::Output {
    claude_kit_rt::timeout(&**rt, Duration::from_secs(120), future)
        .await
        .expect("stuck")
}

/// Starts and abandons CLI processes in every way a caller can.
async fn scenarios(rt: Rt) {
    let hang = Script::new().turn([Action::init(), Action::text("half"), Action::hang()]);
    let stubborn = Script::new().turn([Action::init(), Action::ignore_sigterm(), Action::hang()]);

    // A query never polled starts nothing; one dropped after its first message; one dropped
    // mid-turn while the CLI hangs; one that ignores SIGTERM; one read to its end.
    drop(query("x", options(&rt, &Script::new())));
    let mut first = query("x", options(&rt, &Script::new()));
    within(&rt, first.next()).await;
    drop(first);
    for script in [&hang, &stubborn] {
        let mut messages = query("x", options(&rt, script));
        while let Some(message) = within(&rt, messages.next()).await {
            if matches!(message, Ok(Message::System(SystemMessage::Init(_)))) {
                break;
            }
        }
        drop(messages);
    }
    let all: Vec<_> = within(
        &rt,
        query("x", options(&rt, &Script::new())).collect::<Vec<_>>(),
    )
    .await;
    assert!(all.iter().all(Result::is_ok));

    // Clients: dropped connected; dropped mid-turn; disconnected; a connect abandoned while the
    // CLI has not answered `initialize`; a CLI crashing at start-up.
    let client = within(&rt, AgentClient::connect(options(&rt, &Script::new())))
        .await
        .unwrap();
    drop(client);
    let client = within(&rt, AgentClient::connect(options(&rt, &hang)))
        .await
        .unwrap();
    client.query("x").await.unwrap();
    drop(client);
    let client = within(&rt, AgentClient::connect(options(&rt, &stubborn)))
        .await
        .unwrap();
    client.query("x").await.unwrap();
    client.disconnect().await;
    let silent = Script::new().initialize(Initialize::ignore());
    let abandoned = claude_kit_rt::timeout(
        &*rt,
        Duration::from_millis(200),
        AgentClient::connect(options(&rt, &silent)),
    )
    .await;
    assert!(
        abandoned.is_err(),
        "still waiting for initialize when dropped"
    );
    let crash = Script::new().startup([Action::stderr("boom"), Action::exit(1)]);
    assert!(
        within(&rt, AgentClient::connect(options(&rt, &crash)))
            .await
            .is_err()
    );
}

/// This process's children (`/proc`, Linux), zombies included.
fn children() -> Vec<u32> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // `pid (comm) state ppid …`: the comm may contain spaces, so split after `)`.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            after
                .split_whitespace()
                .nth(1)
                .and_then(|ppid| ppid.parse::<u32>().ok())
                == Some(me)
        })
        .collect()
}

#[test]
fn no_cli_process_is_left_behind() {
    let _process = crate::exclusive();
    if !std::path::Path::new("/proc/self/stat").exists() {
        eprintln!("no /proc here: the children cannot be counted; skipped");
        return;
    }
    let _ = fake_cli::path(); // build it first (a cargo child of its own)
    assert_eq!(
        children(),
        Vec::<u32>::new(),
        "no child before the scenarios"
    );
    run_tokio(scenarios);
    run_smol(scenarios);
    run_async_std(scenarios);
    run_thread_pool(scenarios);
    // Shutdowns of dropped sessions finish in the background (each step bounded by the
    // grace): wait for them, bounded, then count.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !children().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(children(), Vec::<u32>::new(), "CLI processes left behind");
}
