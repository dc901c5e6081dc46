//! `claude_kit::rt`: the runtime-implicit helpers on every runtime, runtime detection, and
//! `block_on`'s refusal to nest. The environment variable has its own file (`rt_env.rs`).

use crate::common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use claude_kit::rt::{self, RuntimeKind};
use common::{Rt, on_all_runtimes};

/// Sends on a channel when dropped: shows that a cancelled task's future was dropped.
struct DropSignal(mpsc::Sender<&'static str>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send("dropped");
    }
}

/// Waits (boundedly, and generously: a starved machine may be slow) for a message without
/// blocking the async threads.
async fn recv(rx: mpsc::Receiver<&'static str>) -> Option<&'static str> {
    rt::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)).ok()).await
}

async fn helpers_use_the_current_runtime(runtime: Rt) {
    rt::scope(runtime.clone(), async {
        assert_eq!(rt::runtime_name(), Some(runtime.name()));
        assert_eq!(rt::current_runtime().unwrap().name(), runtime.name());

        let start = Instant::now();
        rt::sleep(Duration::from_millis(10)).await;
        assert!(start.elapsed() >= Duration::from_millis(10));
        rt::sleep_until(Instant::now() + Duration::from_millis(1)).await;

        assert_eq!(
            rt::timeout(Duration::from_secs(10), async { 7 }).await,
            Ok(7)
        );
        let late = rt::timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
        assert!(late.is_err());
        let deadline = Instant::now() + Duration::from_millis(5);
        assert!(
            rt::timeout_at(deadline, std::future::pending::<()>())
                .await
                .is_err()
        );

        // A spawned task sees the same runtime, on whatever thread polls it.
        let task = rt::spawn(async {
            rt::sleep(Duration::from_millis(1)).await;
            rt::runtime_name()
        });
        assert_eq!(task.await, Some(runtime.name()));
    })
    .await;
}

async fn spawn_blocking_runs_off_the_async_thread(runtime: Rt) {
    rt::scope(runtime, async {
        let caller = std::thread::current().id();
        let (thread, sum) = rt::spawn_blocking(|| {
            // The closure may block: it is marked as blocking code.
            assert!(matches!(
                claude_kit_rt::context::ThreadContext::current(),
                Some(claude_kit_rt::context::ThreadContext::Blocking)
            ));
            std::thread::sleep(Duration::from_millis(5));
            (std::thread::current().id(), (1..=100u64).sum::<u64>())
        })
        .await;
        assert_ne!(thread, caller);
        assert_eq!(sum, 5050);

        // Detached, it runs to the end with nobody waiting.
        let (tx, rx) = mpsc::channel();
        rt::spawn_blocking(move || tx.send("ran").unwrap()).detach();
        assert_eq!(recv(rx).await, Some("ran"));
    })
    .await;
}

async fn dropping_a_join_handle_cancels_the_task(runtime: Rt) {
    rt::scope(runtime, async {
        let (tx, rx) = mpsc::channel();
        let (started_tx, started_rx) = mpsc::channel();
        let handle = rt::spawn(async move {
            let _signal = DropSignal(tx);
            started_tx.send("started").unwrap();
            std::future::pending::<()>().await;
        });
        // Cancel a task that is running (not one that never started): wait until it has.
        assert_eq!(recv(started_rx).await, Some("started"));
        drop(handle);
        assert_eq!(recv(rx).await, Some("dropped"));

        // Detached, a task runs to completion.
        let (tx, rx) = mpsc::channel();
        rt::spawn(async move {
            rt::sleep(Duration::from_millis(5)).await;
            tx.send("finished").unwrap();
        })
        .detach();
        assert_eq!(recv(rx).await, Some("finished"));
    })
    .await;
}

async fn explicit_runtime_helpers_still_work(runtime: Rt) {
    use claude_kit::rt::with_runtime;
    with_runtime::sleep(&*runtime, Duration::from_millis(1)).await;
    let late = with_runtime::timeout(
        &*runtime,
        Duration::from_millis(1),
        std::future::pending::<()>(),
    )
    .await;
    assert!(late.is_err());
    assert_eq!(with_runtime::spawn(&*runtime, async { 1 }).await, 1);
    assert_eq!(with_runtime::spawn_blocking(&*runtime, || 2).await, 2);
}

async fn a_client_runs_on_the_runtime_of_its_scope(runtime: Rt) {
    let server = claude_kit_mock::MockServer::start();
    let reply = rt::scope(runtime.clone(), async {
        // No `.runtime(..)`: the client takes the scope's runtime.
        let client = claude_kit::Client::builder()
            .api_key("k")
            .base_url(server.url())
            .build()
            .unwrap();
        assert_eq!(client.runtime().name(), runtime.name());
        // The client's (counting) runtime delegates `spawn_blocking` to the real one.
        let blocking = rt::with_runtime::spawn_blocking(&**client.runtime(), || 1);
        assert_eq!(blocking.await, 1);
        client.query("scoped").await.unwrap()
    })
    .await;
    assert!(reply.text().ends_with("You said: scoped"));
}

on_all_runtimes!(
    helpers_use_the_current_runtime,
    spawn_blocking_runs_off_the_async_thread,
    dropping_a_join_handle_cancels_the_task,
    explicit_runtime_helpers_still_work,
    a_client_runs_on_the_runtime_of_its_scope,
);

// Implicit detection: each runtime entered the way its users enter it, no scope.

#[test]
fn runtime_name_outside_any_runtime_is_none() {
    assert_eq!(rt::runtime_name(), None);
}

#[test]
fn runtime_name_inside_tokio() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (outside, in_task) = runtime.block_on(async {
        let in_task = tokio::spawn(async { rt::runtime_name() }).await.unwrap();
        (rt::runtime_name(), in_task)
    });
    assert_eq!(outside, Some("tokio"));
    assert_eq!(in_task, Some("tokio"));
    // Helpers detect it too.
    runtime.block_on(async {
        rt::sleep(Duration::from_millis(1)).await;
        assert_eq!(rt::spawn(async { 3 }).await, 3);
        assert_eq!(rt::spawn_blocking(|| 4).await, 4);
    });
}

#[test]
fn runtime_name_inside_async_std() {
    let name = async_std::task::block_on(async {
        let spawned = async_std::task::spawn(async { rt::runtime_name() }).await;
        assert_eq!(spawned, Some("async-std"));
        rt::sleep(Duration::from_millis(1)).await;
        rt::runtime_name()
    });
    assert_eq!(name, Some("async-std"));
}

#[test]
fn runtime_name_inside_smol() {
    // smol has no "current executor": its adapter's block_on (or rt::block_on) marks it.
    let name = claude_kit_smol::block_on(async {
        rt::sleep(Duration::from_millis(1)).await;
        assert_eq!(rt::spawn(async { rt::runtime_name() }).await, Some("smol"));
        rt::runtime_name()
    });
    assert_eq!(name, Some("smol"));
}

#[test]
fn runtime_name_on_a_thread_started_from_async_code_is_none() {
    let name = claude_kit_async_std::block_on(async {
        std::thread::spawn(rt::runtime_name).join().unwrap()
    });
    assert_eq!(name, None);
}

#[test]
fn each_kind_blocks_on_its_own_runtime() {
    for kind in RuntimeKind::ALL {
        assert!(kind.is_enabled(), "tests build with every runtime feature");
        let (name, slept) = kind.block_on(async {
            rt::sleep(Duration::from_millis(1)).await;
            let slept = rt::spawn_blocking(|| "ok").await;
            (rt::runtime_name(), slept)
        });
        assert_eq!(name, Some(kind.name()));
        assert_eq!(slept, "ok");
    }
}

#[test]
fn block_on_without_the_env_var_prefers_tokio() {
    // `rt_env.rs` sets the variable; this binary never does.
    assert_eq!(RuntimeKind::preferred().unwrap(), RuntimeKind::Tokio);
    assert_eq!(rt::block_on(async { rt::runtime_name() }), Some("tokio"));
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn block_on_inside_async_code_panics_with_a_clear_message() {
    let nested_in = |kind: RuntimeKind| {
        std::panic::catch_unwind(|| kind.block_on(async { rt::block_on(async { 1 }) }))
            .expect_err("nested block_on must panic")
    };
    for kind in RuntimeKind::ALL {
        let message = panic_message(nested_in(kind));
        assert!(
            message.contains("event loop is already running"),
            "{kind}: {message}"
        );
    }
    // Inside a tokio runtime that claude-kit did not start, too.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async { rt::block_on(async { 1 }) })
    }))
    .expect_err("nested block_on must panic");
    assert!(panic_message(payload).contains("event loop is already running"));
}

#[test]
fn block_on_inside_spawn_blocking_is_allowed() {
    // A blocking closure may block, even on a tokio blocking thread (where a tokio context is
    // present).
    for kind in RuntimeKind::ALL {
        let value = kind.block_on(async { rt::spawn_blocking(|| rt::block_on(async { 5 })).await });
        assert_eq!(value, 5, "{kind}");
    }
}

#[test]
fn a_panic_in_a_task_resumes_in_its_awaiter() {
    for kind in RuntimeKind::ALL {
        let spawned = std::panic::catch_unwind(|| {
            kind.block_on(async { rt::spawn(async { panic!("task boom") }).await })
        });
        assert!(panic_message(spawned.unwrap_err()).contains("task boom"));
        let blocking = std::panic::catch_unwind(|| {
            kind.block_on(async { rt::spawn_blocking(|| panic!("closure boom")).await })
        });
        assert!(panic_message(blocking.unwrap_err()).contains("closure boom"));
    }
}

#[test]
fn runtime_kinds_parse_and_print() {
    for kind in RuntimeKind::ALL {
        assert_eq!(kind.name().parse::<RuntimeKind>(), Ok(kind));
        assert_eq!(kind.to_string(), kind.name());
    }
    assert_eq!(" Async_Std ".parse(), Ok(RuntimeKind::AsyncStd));
    let error = "glommio".parse::<RuntimeKind>().unwrap_err();
    assert!(error.to_string().contains("glommio"));
}
