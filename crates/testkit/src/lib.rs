//! The test harness of the claude-kit workspace (unpublished): one async test body, four
//! runtimes.
//!
//! - [`on_all_runtimes!`] turns each named `async fn(Rt)` into one `#[test]` per runtime:
//!   tokio, smol, async-std and [`ThreadPoolRuntime`], a runtime written as a user would.
//! - [`run_tokio`], [`run_smol`], [`run_async_std`], [`run_thread_pool`]: the runners behind it,
//!   for a test that wants one runtime.
//! - [`cancel_after`]: drops a future after a number of polls, for "drop a call at any await
//!   point" tests.
//!
//! The adapters' own conformance suite is `claude_kit_rt::conformance_tests!`; this crate runs
//! it on [`ThreadPoolRuntime`] (`tests/conformance.rs`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod thread_pool;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub use claude_kit_rt::SharedRuntime;
pub use thread_pool::ThreadPoolRuntime;

/// The runtime a test body runs on.
pub type Rt = SharedRuntime;

/// Generates one `#[test]` per runtime for each named `async fn(Rt)`: a module named after the
/// function, with the tests `tokio`, `smol`, `async_std` and `thread_pool`.
///
/// ```
/// use claude_kit_testkit::{Rt, on_all_runtimes};
///
/// async fn spawn_works(rt: Rt) {
///     assert_eq!(claude_kit_rt::spawn(&*rt, async { 6 * 7 }).await, 42);
/// }
///
/// async fn sleep_works(rt: Rt) {
///     claude_kit_rt::sleep(&*rt, std::time::Duration::from_millis(1)).await;
/// }
///
/// // In a test crate: `spawn_works::tokio`, `spawn_works::smol`, … `sleep_works::thread_pool`.
/// on_all_runtimes!(spawn_works, sleep_works);
/// # fn main() {
/// #     claude_kit_testkit::run_tokio(spawn_works);
/// #     claude_kit_testkit::run_smol(spawn_works);
/// #     claude_kit_testkit::run_async_std(sleep_works);
/// #     claude_kit_testkit::run_thread_pool(sleep_works);
/// # }
/// ```
#[macro_export]
macro_rules! on_all_runtimes {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[test]
            fn tokio() {
                $crate::run_tokio(super::$test)
            }
            #[test]
            fn smol() {
                $crate::run_smol(super::$test)
            }
            #[test]
            fn async_std() {
                $crate::run_async_std(super::$test)
            }
            #[test]
            fn thread_pool() {
                $crate::run_thread_pool(super::$test)
            }
        }
    )*};
}

/// Runs `test` inside a new multi-threaded tokio runtime with two workers.
///
/// # Panics
/// When the runtime cannot be built, and when `test` panics.
pub fn run_tokio<F: Future<Output = ()>>(test: impl FnOnce(Rt) -> F) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let rt: Rt = Arc::new(claude_kit_tokio::TokioRuntime::from_handle(
        runtime.handle().clone(),
    ));
    runtime.block_on(test(rt));
}

/// Runs `test` with `smol::block_on`, on smol's global executor.
pub fn run_smol<F: Future<Output = ()>>(test: impl FnOnce(Rt) -> F) {
    let rt: Rt = Arc::new(claude_kit_smol::SmolRuntime::new());
    smol::block_on(test(rt));
}

/// Runs `test` with `async_std::task::block_on`.
pub fn run_async_std<F: Future<Output = ()>>(test: impl FnOnce(Rt) -> F) {
    let rt: Rt = Arc::new(claude_kit_async_std::AsyncStdRuntime::new());
    async_std::task::block_on(test(rt));
}

/// Runs `test` with `futures::executor::block_on` on a new [`ThreadPoolRuntime`].
pub fn run_thread_pool<F: Future<Output = ()>>(test: impl FnOnce(Rt) -> F) {
    let rt: Rt = Arc::new(ThreadPoolRuntime::new());
    futures::executor::block_on(test(rt));
}

/// A future polled at most a number of times, then dropped: see [`cancel_after`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct CancelAfter<F> {
    future: Pin<Box<F>>,
    polls: usize,
}

/// Polls `future` at most `polls` times (each after a real wake-up), then gives up on it and
/// drops it: `None` means it was cancelled. Drives "drop a call at any await point" tests.
///
/// ```
/// use claude_kit_testkit::cancel_after;
///
/// let ready = futures::executor::block_on(cancel_after(1, async { 7 }));
/// assert_eq!(ready, Some(7));
/// let gave_up = futures::executor::block_on(cancel_after(0, async { 7 }));
/// assert_eq!(gave_up, None);
/// ```
pub fn cancel_after<F: Future>(polls: usize, future: F) -> CancelAfter<F> {
    CancelAfter {
        future: Box::pin(future),
        polls,
    }
}

impl<F: Future> Future for CancelAfter<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.polls == 0 {
            return Poll::Ready(None);
        }
        self.polls -= 1;
        self.future.as_mut().poll(cx).map(Some)
    }
}
