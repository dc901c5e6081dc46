//! [async-std](https://docs.rs/async-std) runtime adapter for
//! [claude-kit](https://docs.rs/claude-kit).
//!
//! # Deprecated
//!
//! async-std is discontinued upstream
//! ([RUSTSEC-2025-0052](https://rustsec.org/advisories/RUSTSEC-2025-0052)): it gets no more
//! fixes. This adapter is kept because applications still run on it; new code should use
//! [`claude-kit-smol`](https://docs.rs/claude-kit-smol), which runs on the same
//! `async-io` reactor and is a drop-in replacement. Expect `cargo deny` / `cargo audit` to flag
//! `async-std` for as long as you depend on this crate.
//!
//! [`AsyncStdRuntime`] spawns tasks with [`async_std::task::spawn`] and blocking work with
//! [`async_std::task::spawn_blocking`]; timers, TCP and processes come from
//! [`claude_kit_rt::async_io`], since async-std itself runs on `async-io`.
//!
//! ```
//! use claude_kit_async_std::AsyncStdRuntime;
//! use claude_kit_rt::{self as rt, Runtime};
//! use std::time::Duration;
//!
//! let runtime = AsyncStdRuntime::new();
//! async_std::task::block_on(async {
//!     let answer = rt::spawn(&runtime, async { 6 * 7 }).await;
//!     assert_eq!(answer, 42);
//!     rt::sleep(&runtime, Duration::from_millis(1)).await;
//! });
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use claude_kit_rt::async_io::{self, AsyncIoReactor};
use claude_kit_rt::context::{Adapter, SharedRuntime, ThreadContext};
use claude_kit_rt::{BoxFuture, Runtime, Sleep, SpawnProcess, TcpConnect};

/// A [`Runtime`] on async-std.
///
/// **Deprecated**: async-std is discontinued upstream (RUSTSEC-2025-0052); prefer
/// [`SmolRuntime`](https://docs.rs/claude-kit-smol/latest/claude_kit_smol/struct.SmolRuntime.html).
/// See the [crate docs](crate).
///
/// ```
/// use claude_kit_async_std::AsyncStdRuntime;
/// use claude_kit_rt::Runtime;
///
/// let runtime = AsyncStdRuntime::new();
/// assert_eq!(runtime.name(), "async-std");
/// let (tx, rx) = async_std::channel::bounded(1);
/// runtime.spawn(Box::pin(async move {
///     tx.send("done").await.unwrap();
/// }));
/// assert_eq!(async_std::task::block_on(rx.recv()).unwrap(), "done");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncStdRuntime {
    _private: (),
}

impl AsyncStdRuntime {
    /// The async-std runtime. It has no state: async-std's executor is global and starts on
    /// first use.
    pub const fn new() -> Self {
        Self { _private: () }
    }

    /// The async-std runtime when called from inside an async-std task (including
    /// `async_std::task::block_on`), else `None`: lets code detect that it runs on async-std.
    pub fn try_current() -> Option<Self> {
        async_std::task::try_current().map(|_| Self::new())
    }
}

/// Runs `future` to completion on the current thread with `async_std::task::block_on`,
/// the thread marked [`ThreadContext::Async`] with [`AsyncStdRuntime`] meanwhile.
///
/// ```
/// assert_eq!(claude_kit_async_std::block_on(async { 6 * 7 }), 42);
/// ```
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let runtime: Arc<dyn Runtime> = Arc::new(AsyncStdRuntime::new());
    async_std::task::block_on(ThreadContext::Async(Some(runtime)).scope(future))
}

impl Runtime for AsyncStdRuntime {
    fn name(&self) -> &'static str {
        "async-std"
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        // Dropping an async-std JoinHandle detaches the task.
        drop(async_std::task::spawn(task));
    }

    fn spawn_blocking(&self, task: Box<dyn FnOnce() + Send + 'static>) {
        // Dropping an async-std JoinHandle detaches the closure.
        drop(async_std::task::spawn_blocking(task));
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        async_io::sleep_until(deadline)
    }

    fn tcp(&self) -> Option<&dyn TcpConnect> {
        Some(&AsyncIoReactor)
    }

    fn process(&self) -> Option<&dyn SpawnProcess> {
        Some(&AsyncIoReactor)
    }
}

/// This adapter, as a crate that chooses among runtimes lists it
/// (see [`claude_kit_rt::context::choose`]).
pub const ADAPTER: Adapter = Adapter {
    name: "async-std",
    feature: "runtime-async-std",
    try_current: || {
        AsyncStdRuntime::try_current().map(|runtime| Arc::new(runtime) as SharedRuntime)
    },
    owned: || Ok(Arc::new(AsyncStdRuntime::new())),
    block_on: |future| block_on(future),
};
