//! Shared test harness: run one async test body on every runtime.
//!
//! ```ignore
//! async fn create_works(rt: Rt) { ... }
//! on_all_runtimes!(create_works);
//! ```
//! expands to `create_works::{tokio, smol, async_std, thread_pool}` tests.
#![allow(dead_code, unused_macros)]

pub mod hostile;
pub mod thread_pool_runtime;

use std::future::Future;
use std::sync::Arc;

use claude_kit::Client;
use claude_kit::rt::Runtime;
use claude_kit_mock::MockServer;

/// The runtime a test body runs on.
pub type Rt = Arc<dyn Runtime>;

/// The API key the mock servers of the tests are started with.
pub const TEST_KEY: &str = "sk-ant-test-0123456789";

/// Generates one `#[test]` per runtime for each named `async fn(Rt)`.
macro_rules! on_all_runtimes {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[test]
            fn tokio() {
                crate::common::run_tokio(super::$test)
            }
            #[test]
            fn smol() {
                crate::common::run_smol(super::$test)
            }
            #[test]
            fn async_std() {
                crate::common::run_async_std(super::$test)
            }
            #[test]
            fn thread_pool() {
                crate::common::run_thread_pool(super::$test)
            }
        }
    )*};
}
#[allow(unused_imports)]
pub(crate) use on_all_runtimes;

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

pub fn run_smol<F: Future<Output = ()>>(test: impl FnOnce(Rt) -> F) {
    let rt: Rt = Arc::new(claude_kit_smol::SmolRuntime::new());
    smol::block_on(test(rt));
}

pub fn run_async_std<F: Future<Output = ()>>(test: impl FnOnce(Rt) -> F) {
    let rt: Rt = Arc::new(claude_kit_async_std::AsyncStdRuntime::new());
    async_std::task::block_on(test(rt));
}

pub fn run_thread_pool<F: Future<Output = ()>>(test: impl FnOnce(Rt) -> F) {
    let rt: Rt = Arc::new(thread_pool_runtime::ThreadPoolRuntime::new());
    futures::executor::block_on(test(rt));
}

/// Polls a future at most `polls` times (each after a real wake-up), then gives up on it and
/// drops it: `None` means it was cancelled. Drives "drop a call at any await point" tests.
pub struct CancelAfter<F> {
    future: std::pin::Pin<Box<F>>,
    polls: usize,
}

pub fn cancel_after<F: Future>(polls: usize, future: F) -> CancelAfter<F> {
    CancelAfter {
        future: Box::pin(future),
        polls,
    }
}

impl<F: Future> Future for CancelAfter<F> {
    type Output = Option<F::Output>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        if self.polls == 0 {
            return std::task::Poll::Ready(None);
        }
        self.polls -= 1;
        self.future.as_mut().poll(cx).map(Some)
    }
}

/// A mock server that requires [`TEST_KEY`].
pub fn mock() -> MockServer {
    MockServer::builder()
        .api_key(TEST_KEY)
        .start()
        .expect("mock server")
}

/// A client of `server` on `rt`, without retries: a scripted error reply is then the
/// answer (retries have their own tests, in `tests/faults.rs`).
pub fn client(server: &MockServer, rt: &Rt) -> Client {
    Client::builder()
        .api_key(TEST_KEY)
        .max_retries(0)
        .base_url(server.url())
        .shared_runtime(rt.clone())
        .build()
        .expect("client")
}
