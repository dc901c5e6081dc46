//! Shared test harness: run one async test body on every runtime.
//!
//! ```text
//! async fn create_works(rt: Rt) { ... }
//! on_all_runtimes!(create_works);
//! ```
//! expands to `create_works::{tokio, smol, async_std, thread_pool}` tests.
#![allow(dead_code, unused_macros, unused_imports)]

pub mod hostile;

use claude_kit::Client;
use claude_kit_mock::MockServer;

/// The runners, the macro and the user-style runtime are `claude-kit-testkit`'s, shared with
/// the other crates' tests.
pub use claude_kit_testkit::{
    CancelAfter, Rt, cancel_after, on_all_runtimes, run_async_std, run_smol, run_thread_pool,
    run_tokio,
};

/// The API key the mock servers of the tests are started with.
pub const TEST_KEY: &str = "sk-ant-test-0123456789";

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
