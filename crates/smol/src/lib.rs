//! [smol](https://docs.rs/smol) runtime adapter for [claude-kit](https://docs.rs/claude-kit).
//!
//! [`SmolRuntime`] implements [`Runtime`] with tasks on smol's global executor
//! ([`SmolRuntime::new`]) or on an [`async_executor::Executor`] of your own
//! ([`SmolRuntime::with_executor`]), blocking work on smol's [`unblock`](smol::unblock) pool,
//! and timers, TCP and processes from `async-io`, `async-net` and `async-process`
//! ([`claude_kit_rt::async_io`], shared with every executor built on async-io).
//!
//! ```
//! use claude_kit_rt::{self as rt, Runtime};
//! use claude_kit_smol::SmolRuntime;
//! use std::time::Duration;
//!
//! let runtime = SmolRuntime::new();
//! smol::block_on(async {
//!     assert_eq!(rt::spawn(&runtime, async { 6 * 7 }).await, 42);
//!     rt::sleep(&runtime, Duration::from_millis(1)).await;
//! });
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use async_executor::Executor;
use claude_kit_rt::async_io::{self, AsyncIoReactor};
use claude_kit_rt::context::{Adapter, ThreadContext};
use claude_kit_rt::{BoxFuture, Runtime, Sleep, SpawnProcess, TcpConnect};

/// A [`Runtime`] on smol: tasks on smol's global executor or on an [`Executor`] you run
/// yourself; the rest from async-io. Cloning is cheap and clones share the executor.
///
/// ```
/// use claude_kit_rt::Runtime;
/// use claude_kit_smol::SmolRuntime;
///
/// let runtime = SmolRuntime::new();
/// assert_eq!(runtime.name(), "smol");
/// let (tx, rx) = smol::channel::bounded(1);
/// runtime.spawn(Box::pin(async move { tx.send("done").await.unwrap() }));
/// assert_eq!(smol::block_on(rx.recv()).unwrap(), "done");
/// ```
#[derive(Clone, Default)]
pub struct SmolRuntime {
    /// `None`: smol's global executor.
    executor: Option<Arc<Executor<'static>>>,
}

impl SmolRuntime {
    /// Spawns tasks on smol's global executor ([`smol::spawn`]), which starts its own threads
    /// on first use: tasks run whether or not anyone is inside [`smol::block_on`].
    pub const fn new() -> Self {
        Self { executor: None }
    }

    /// Spawns tasks on `executor`, which only makes progress while something runs it
    /// (`executor.run(...)` on some thread): that is your job, as with any smol executor.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use claude_kit_smol::SmolRuntime;
    ///
    /// let executor = Arc::new(async_executor::Executor::new());
    /// let runtime = SmolRuntime::with_executor(executor.clone());
    /// let answer = smol::block_on(executor.run(claude_kit_rt::spawn(&runtime, async { 6 * 7 })));
    /// assert_eq!(answer, 42);
    /// ```
    pub fn with_executor(executor: Arc<Executor<'static>>) -> Self {
        Self {
            executor: Some(executor),
        }
    }

    /// The executor given to [`with_executor`](Self::with_executor), or `None` for smol's
    /// global executor.
    pub fn executor(&self) -> Option<&Arc<Executor<'static>>> {
        self.executor.as_ref()
    }
}

/// Runs `future` to completion on the current thread with `smol::block_on`, the thread marked
/// [`ThreadContext::Async`] with [`SmolRuntime::new`] meanwhile, so that code inside can tell it
/// is on smol and synchronous APIs refuse to block it. Tasks spawned on [`SmolRuntime::new`]
/// run on smol's global executor.
///
/// ```
/// use claude_kit_rt::context::ThreadContext;
///
/// let inside = claude_kit_smol::block_on(async { ThreadContext::current() });
/// assert!(matches!(inside, Some(ThreadContext::Async(Some(rt))) if rt.name() == "smol"));
/// ```
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let runtime: Arc<dyn Runtime> = Arc::new(SmolRuntime::new());
    smol::block_on(ThreadContext::Async(Some(runtime)).scope(future))
}

impl fmt::Debug for SmolRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let executor = if self.executor.is_some() {
            "custom"
        } else {
            "global"
        };
        f.debug_struct("SmolRuntime")
            .field("executor", &executor)
            .finish()
    }
}

impl Runtime for SmolRuntime {
    fn name(&self) -> &'static str {
        "smol"
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        match &self.executor {
            Some(executor) => executor.spawn(task).detach(),
            None => smol::spawn(task).detach(),
        }
    }

    fn spawn_blocking(&self, task: Box<dyn FnOnce() + Send + 'static>) {
        // The `blocking` crate's thread pool, shared by every smol executor.
        smol::unblock(task).detach();
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
/// (see [`claude_kit_rt::context::choose`]). smol has no "current executor" to detect.
pub const ADAPTER: Adapter = Adapter {
    name: "smol",
    feature: "runtime-smol",
    try_current: || None,
    owned: || Ok(Arc::new(SmolRuntime::new())),
    block_on: |future| block_on(future),
};
