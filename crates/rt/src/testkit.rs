//! The conformance checks every [`Runtime`] must pass (feature `testkit`).
//!
//! Each check is an `async fn(SharedRuntime)` that panics when the runtime breaks the contract
//! the SDK relies on: tasks ([`Runtime::spawn`], [`spawn`](crate::spawn) and its cancelling
//! [`JoinHandle`](crate::JoinHandle)), timers ([`Runtime::sleep_until`],
//! [`Sleep::reset`](crate::Sleep::reset)), blocking work ([`Runtime::spawn_blocking`]), TCP
//! ([`Runtime::tcp`]) and processes ([`Runtime::process`], unix only: the checks run `sh`,
//! `cat` and `sleep`).
//!
//! An adapter runs them all with [`conformance_tests!`](crate::conformance_tests), which
//! expands to one `#[test]` per check, named after it, so a failure names what broke:
//!
//! ```
//! # #[cfg(feature = "async-io")] mod demo {
//! use std::{pin::Pin, time::Instant};
//! use claude_kit_rt::{BoxFuture, Runtime, Sleep, SpawnProcess, TcpConnect, async_io};
//!
//! /// Every task on a thread of its own; timers, TCP and processes from async-io.
//! #[derive(Debug)]
//! struct ThreadPerTask;
//!
//! impl Runtime for ThreadPerTask {
//!     fn name(&self) -> &'static str { "thread-per-task" }
//!     fn spawn(&self, task: BoxFuture<'static, ()>) {
//!         std::thread::spawn(move || futures::executor::block_on(task));
//!     }
//!     fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
//!         async_io::sleep_until(deadline)
//!     }
//!     fn tcp(&self) -> Option<&dyn TcpConnect> { Some(&async_io::AsyncIoReactor) }
//!     fn process(&self) -> Option<&dyn SpawnProcess> { Some(&async_io::AsyncIoReactor) }
//! }
//!
//! // In `tests/conformance.rs`: `runtime` makes the runtime (it is called inside `block_on`,
//! // so `TokioRuntime::current` works), `block_on` drives a future to completion.
//! claude_kit_rt::conformance_tests! {
//!     runtime = || ThreadPerTask,
//!     block_on = futures::executor::block_on,
//! }
//! # }
//! ```
//!
//! The checks synchronise on channels and events, never on sleeps, and assert no durations
//! beyond "a timer does not fire before its deadline"; each runs under a watchdog of
//! [`BOUND`] (a thread of its own, independent of the runtime under test), so a broken
//! runtime fails with the check's name instead of hanging. They use loopback sockets only.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_channel::oneshot;
use futures_util::future::{self, Either, FutureExt};

use crate::Runtime;
use crate::context::{LocalFuture, SharedRuntime, ThreadContext};

/// How long one check may take before its watchdog fails it: generous, for a starved machine.
pub const BOUND: Duration = Duration::from_secs(60);

#[cfg(unix)]
mod process;
mod tcp;

#[cfg(unix)]
pub use process::*;
pub use tcp::*;

/// A deadline no check reaches.
const FAR: Duration = Duration::from_secs(3600);

/// Generates one `#[test]` per conformance check of [`testkit`](crate::testkit).
///
/// ```text
/// claude_kit_rt::conformance_tests! {
///     runtime = <expr>,    // FnOnce() -> a Runtime (or a SharedRuntime), called inside block_on
///     block_on = <expr>,   // FnOnce(future) -> its output, e.g. smol::block_on
///     shut_down = <expr>,  // optional: FnOnce() -> a runtime whose executor is already gone
/// }
/// ```
///
/// With `shut_down`, a test `after_shut_down` runs
/// [`testkit::after_shut_down`](crate::testkit::after_shut_down) on that runtime (polled by
/// `block_on`). Invoke the macro once per configuration, each in a module of its own (a custom
/// executor, a runtime polled from a foreign thread). See the [module docs](crate::testkit)
/// for an example.
#[macro_export]
macro_rules! conformance_tests {
    (
        runtime = $runtime:expr, block_on = $block_on:expr $(, shut_down = $shut_down:expr)? $(,)?
    ) => {
        $crate::conformance_tests!(@tests ($runtime) ($block_on)
            spawn_runs_detached_task spawn_returns_output spawn_abort_on_drop
            spawn_detach_runs_to_end spawn_panic_resumes_in_awaiter
            sleep_until_future_deadline sleep_until_past_deadline sleep_reset_later
            sleep_reset_earlier sleep_reset_after_completion
            spawn_blocking_off_async_thread spawn_blocking_returns_result
            spawn_blocking_panic_resumes
            tcp_round_trip tcp_closed_port_fails tcp_unresolvable_host_fails tcp_connect_dropped
            runtime_is_live
        );
        $crate::conformance_tests!(@unix_tests ($runtime) ($block_on)
            process_pipes process_stdio_overridden process_exit_status process_kill
            process_terminate process_kill_on_drop process_missing_program_fails
        );
        $($crate::conformance_tests!(@tests ($shut_down) ($block_on) after_shut_down);)?
    };
    (@tests $runtime:tt $block_on:tt $($check:ident)*) => {$(
        #[test]
        fn $check() {
            $crate::testkit::run(stringify!($check), $runtime, $block_on, $crate::testkit::$check);
        }
    )*};
    (@unix_tests $runtime:tt $block_on:tt $($check:ident)*) => {$(
        #[cfg(unix)]
        #[test]
        fn $check() {
            $crate::testkit::run(stringify!($check), $runtime, $block_on, $crate::testkit::$check);
        }
    )*};
}

/// A runtime as the checks take it: any [`Runtime`], or one already shared.
pub trait IntoShared {
    /// `self` behind an `Arc`.
    fn into_shared(self) -> SharedRuntime;
}

impl<R: Runtime> IntoShared for R {
    fn into_shared(self) -> SharedRuntime {
        Arc::new(self)
    }
}

impl IntoShared for SharedRuntime {
    fn into_shared(self) -> SharedRuntime {
        self
    }
}

/// Runs one check: makes the runtime inside `block_on` and awaits `check` on it under the
/// watchdog ([`within`]). What each test of [`conformance_tests!`](crate::conformance_tests)
/// does.
pub fn run<R, C, F>(
    name: &'static str,
    runtime: impl FnOnce() -> R + 'static,
    block_on: impl FnOnce(LocalFuture<'static>),
    check: C,
) where
    R: IntoShared,
    C: FnOnce(SharedRuntime) -> F + 'static,
    F: Future<Output = ()> + 'static,
{
    block_on(Box::pin(async move {
        let runtime = runtime().into_shared();
        within(name, check(runtime)).await;
    }));
}

/// Awaits `future`, or panics naming `what` when it has not finished within [`BOUND`].
///
/// The watchdog is a thread of its own, not a timer of the runtime under test.
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    let (fire, fired) = oneshot::channel::<()>();
    let (finished, done) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = done.recv_timeout(BOUND) {
            let _ = fire.send(());
        }
    });
    let output = match future::select(pin!(future), fired).await {
        Either::Left((output, _)) => output,
        Either::Right(_) => panic!("{what} did not finish within {BOUND:?}"),
    };
    drop(finished);
    output
}

/// Polls `future` once: `Poll::Pending` or its output.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

/// The message of a panic payload (`panic!` with a literal or a format string).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<not a string>")
}

fn explode() -> u32 {
    panic!("boom")
}

/// Sends on a channel when dropped: tells a check that a future was dropped.
struct SendOnDrop(Option<oneshot::Sender<()>>);

impl Drop for SendOnDrop {
    fn drop(&mut self) {
        if let Some(sender) = self.0.take() {
            let _ = sender.send(());
        }
    }
}

/// [`Runtime::spawn`] runs a detached task.
pub async fn spawn_runs_detached_task(rt: SharedRuntime) {
    let (tx, rx) = oneshot::channel();
    rt.spawn(Box::pin(async move {
        let _ = tx.send(7u32);
    }));
    assert_eq!(rx.await, Ok(7), "the spawned task did not run");
}

/// [`spawn`](crate::spawn) returns the task's output through its handle, for many tasks at
/// once and for a task spawned by a task.
pub async fn spawn_returns_output(rt: SharedRuntime) {
    assert_eq!(crate::spawn(&*rt, async { 6 * 7 }).await, 42);
    let handles: Vec<_> = (0..32u64)
        .map(|i| crate::spawn(&*rt, async move { i * i }))
        .collect();
    let sum: u64 = future::join_all(handles).await.into_iter().sum();
    assert_eq!(sum, (0..32u64).map(|i| i * i).sum::<u64>());
    let inner = rt.clone();
    let nested = crate::spawn(&*rt, async move {
        crate::spawn(&*inner, async { "nested" }).await
    });
    assert_eq!(nested.await, "nested");
}

/// Dropping a [`JoinHandle`](crate::JoinHandle) drops the task's future (it is pending
/// forever here, so only the cancellation can end it).
pub async fn spawn_abort_on_drop(rt: SharedRuntime) {
    let (started_tx, started) = oneshot::channel::<()>();
    let (dropped_tx, dropped) = oneshot::channel::<()>();
    let guard = SendOnDrop(Some(dropped_tx));
    let handle = crate::spawn(&*rt, async move {
        let _guard = guard;
        let _ = started_tx.send(());
        future::pending::<()>().await;
    });
    started.await.expect("the task started");
    drop(handle);
    dropped
        .await
        .expect("the future of a task whose JoinHandle was dropped is dropped");
}

/// A detached task runs to its end although nobody holds its handle.
pub async fn spawn_detach_runs_to_end(rt: SharedRuntime) {
    let (gate_tx, gate) = oneshot::channel::<()>();
    let (done_tx, done) = oneshot::channel();
    crate::spawn(&*rt, async move {
        let _ = gate.await;
        let _ = done_tx.send("done");
    })
    .detach();
    let _ = gate_tx.send(());
    assert_eq!(done.await, Ok("done"));
}

/// A panic in a spawned task resumes in the task that awaits its handle.
pub async fn spawn_panic_resumes_in_awaiter(rt: SharedRuntime) {
    let handle = crate::spawn(&*rt, async { explode() });
    let payload = AssertUnwindSafe(handle)
        .catch_unwind()
        .await
        .expect_err("the task's panic resumes in the awaiter");
    assert_eq!(panic_message(&*payload), "boom");
}

/// A timer completes, and not before its deadline (a timer that fires early makes every
/// timeout early).
pub async fn sleep_until_future_deadline(rt: SharedRuntime) {
    let deadline = rt.now() + Duration::from_millis(5);
    rt.sleep_until(deadline).await;
    assert!(rt.now() >= deadline, "the timer fired before its deadline");
}

/// A deadline in the past (or now) completes at once: no wait on the reactor.
pub async fn sleep_until_past_deadline(rt: SharedRuntime) {
    let now = rt.now();
    rt.sleep_until(now.checked_sub(Duration::from_secs(1)).unwrap_or(now))
        .await;
    rt.sleep_until(now).await;
}

/// A timer reset to a later deadline is pending, and a nearer timer fires first.
pub async fn sleep_reset_later(rt: SharedRuntime) {
    let now = rt.now();
    let mut long = rt.sleep_until(now + Duration::from_millis(1));
    long.as_mut().reset(now + FAR);
    assert!(
        poll_once(&mut long).await.is_pending(),
        "reset later, still due"
    );
    let short = rt.sleep_until(now + Duration::from_millis(20));
    match future::select(long.as_mut(), short).await {
        Either::Right(((), _)) => {}
        Either::Left(_) => panic!("a timer reset to the far future fired first"),
    }
}

/// A timer reset to an earlier deadline completes then, in the future or in the past.
pub async fn sleep_reset_earlier(rt: SharedRuntime) {
    let mut timer = rt.sleep_until(rt.now() + FAR);
    assert!(poll_once(&mut timer).await.is_pending());
    timer.as_mut().reset(rt.now() + Duration::from_millis(5));
    timer.as_mut().await;
    let mut timer = rt.sleep_until(rt.now() + FAR);
    assert!(poll_once(&mut timer).await.is_pending());
    timer.as_mut().reset(Instant::now());
    timer.as_mut().await;
}

/// A completed timer reset into the future is pending again, and completes at its new
/// deadline.
pub async fn sleep_reset_after_completion(rt: SharedRuntime) {
    let mut timer = rt.sleep_until(rt.now());
    timer.as_mut().await;
    // A far deadline: a starved thread cannot overrun it between the reset and the poll.
    timer.as_mut().reset(rt.now() + FAR);
    assert!(
        poll_once(&mut timer).await.is_pending(),
        "completed, reset: pending again"
    );
    timer.as_mut().reset(rt.now() + Duration::from_millis(5));
    timer.as_mut().await;
}

/// [`spawn_blocking`](crate::spawn_blocking) runs its closure on another thread than the one
/// that polls async code, marked [`ThreadContext::Blocking`].
pub async fn spawn_blocking_off_async_thread(rt: SharedRuntime) {
    let here = std::thread::current().id();
    let (there, context) = crate::spawn_blocking(&*rt, || {
        (std::thread::current().id(), ThreadContext::current())
    })
    .await;
    assert_ne!(there, here, "the blocking closure ran on the async thread");
    assert!(matches!(context, Some(ThreadContext::Blocking)));
}

/// [`Runtime::spawn_blocking`] runs its closure, and [`spawn_blocking`](crate::spawn_blocking)
/// returns the result.
pub async fn spawn_blocking_returns_result(rt: SharedRuntime) {
    let (tx, rx) = oneshot::channel();
    rt.spawn_blocking(Box::new(move || {
        let _ = tx.send(7u32);
    }));
    assert_eq!(rx.await, Ok(7), "the blocking closure did not run");
    assert_eq!(crate::spawn_blocking(&*rt, || 6 * 7).await, 42);
}

/// A panic in a blocking closure resumes in the task that awaits its handle.
pub async fn spawn_blocking_panic_resumes(rt: SharedRuntime) {
    let handle = crate::spawn_blocking(&*rt, explode);
    let payload = AssertUnwindSafe(handle)
        .catch_unwind()
        .await
        .expect_err("the closure's panic resumes in the awaiter");
    assert_eq!(panic_message(&*payload), "boom");
}

/// A live runtime says so, and its clock moves forward.
pub async fn runtime_is_live(rt: SharedRuntime) {
    assert!(!rt.name().is_empty());
    assert!(
        !rt.is_shut_down(),
        "a live runtime reports it has shut down"
    );
    let before = rt.now();
    rt.sleep_until(before + Duration::from_millis(1)).await;
    assert!(rt.now() > before);
}

/// On a runtime whose executor is gone: it says so, and nothing panics or hangs. Timers
/// complete, spawning is a no-op, a connect fails.
pub async fn after_shut_down(rt: SharedRuntime) {
    assert!(
        rt.is_shut_down(),
        "the runtime does not report its shut down"
    );
    rt.sleep_until(rt.now() + FAR).await;
    let mut timer = rt.sleep_until(rt.now() + FAR);
    timer.as_mut().reset(rt.now() + FAR);
    timer.await;
    rt.spawn(Box::pin(async {}));
    drop(crate::spawn(&*rt, async {}));
    if let Some(tcp) = rt.tcp() {
        assert!(
            tcp.connect_tcp("127.0.0.1", tcp::closed_port())
                .await
                .is_err()
        );
    }
    #[cfg(unix)]
    if let Some(processes) = rt.process() {
        // Either outcome is fine; a child, if any, is killed on drop.
        drop(processes.spawn(process::sh("exit 0")));
    }
}
