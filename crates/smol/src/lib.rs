//! [smol](https://docs.rs/smol) runtime adapter for
//! [claude-kit](https://docs.rs/claude-kit).
//!
//! [`SmolRuntime`] implements [`Runtime`] with
//!
//! - tasks on smol's global executor ([`SmolRuntime::new`]) or on an
//!   [`async_executor::Executor`] of your own ([`SmolRuntime::with_executor`]);
//! - timers from [`async_io::Timer`] ([`timer`]);
//! - TCP from [`async_net::TcpStream`] ([`net`]).
//!
//! The [`timer`] and [`net`] modules need nothing but the `async-io` reactor, so any executor
//! built on it (async-std, for one) can reuse them.
//!
//! ```
//! use claude_kit_rt::{self as rt, Runtime};
//! use claude_kit_smol::SmolRuntime;
//! use std::time::Duration;
//!
//! let runtime = SmolRuntime::new();
//! smol::block_on(async {
//!     let answer = rt::spawn(&runtime, async { 6 * 7 }).await;
//!     assert_eq!(answer, 42);
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
use claude_kit_rt::context::{Adapter, ThreadContext};
use claude_kit_rt::{AsyncIo, BoxFuture, Runtime, Sleep, TcpConnect};

pub mod net;
pub mod timer;

/// A [`Runtime`] on smol: async-io timers, async-net sockets, and tasks on smol's global
/// executor or on an [`Executor`] you run yourself.
///
/// Cloning is cheap and clones share the executor.
///
/// ```
/// use claude_kit_rt::Runtime;
/// use claude_kit_smol::SmolRuntime;
///
/// let runtime = SmolRuntime::new();
/// assert_eq!(runtime.name(), "smol");
/// let (tx, rx) = smol::channel::bounded(1);
/// runtime.spawn(Box::pin(async move {
///     tx.send("done").await.unwrap();
/// }));
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

    /// Spawns tasks on `executor`.
    ///
    /// Tasks only make progress while something runs the executor (`executor.run(...)` in
    /// [`smol::block_on`] on some thread); that is your job, as with any smol executor.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use claude_kit_rt;
    /// use claude_kit_smol::SmolRuntime;
    ///
    /// let executor = Arc::new(async_executor::Executor::new());
    /// let runtime = SmolRuntime::with_executor(executor.clone());
    /// let answer = smol::block_on(executor.run(rt::spawn(&runtime, async { 6 * 7 })));
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

/// Runs `future` to completion on the current thread with `smol::block_on`; tasks spawned on
/// [`SmolRuntime::new`] run on smol's global executor meanwhile.
///
/// Unlike a bare `smol::block_on`, this marks the thread [`ThreadContext::Async`] with
/// [`SmolRuntime::new`] while the future runs, so that code inside can tell it is on smol
/// (`claude_kit::rt::runtime_name()`) and synchronous APIs refuse to block it.
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
        timer::sleep_until(deadline)
    }

    fn tcp(&self) -> Option<&dyn TcpConnect> {
        Some(self)
    }
}

impl TcpConnect for SmolRuntime {
    fn connect_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'static, std::io::Result<Box<dyn AsyncIo>>> {
        net::connect_tcp(host, port)
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
