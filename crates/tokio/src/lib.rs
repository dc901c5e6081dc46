//! [tokio](https://docs.rs/tokio) runtime adapter for
//! [claude-agent](https://docs.rs/claude-agent).
//!
//! [`TokioRuntime`] implements [`Runtime`] on a tokio runtime [`Handle`]: tasks with
//! [`Handle::spawn`], timers from [`tokio::time`], and TCP from [`tokio::net::TcpStream`]
//! behind [`tokio_util::compat`] (the SDK speaks `futures-io`).
//!
//! Everything is bound to the captured handle, not to the calling thread: the futures this
//! adapter returns can be polled from any thread, inside or outside tokio, as long as the tokio
//! runtime is alive. The runtime must have its I/O and time drivers enabled
//! ([`Builder::enable_all`](tokio::runtime::Builder::enable_all); `#[tokio::main]` does).
//!
//! ```
//! use claude_agent_core::rt::{self, Runtime};
//! use claude_agent_tokio::TokioRuntime;
//! use std::time::Duration;
//!
//! let tokio_rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! tokio_rt.block_on(async {
//!     let runtime = TokioRuntime::current();
//!     let answer = rt::spawn(&runtime, async { 6 * 7 }).await;
//!     assert_eq!(answer, 42);
//!     rt::sleep(&runtime, Duration::from_millis(1)).await;
//! });
//! # Ok::<_, std::io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use claude_agent_core::rt::{AsyncIo, BoxFuture, Runtime, Sleep, ThreadContext};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_util::compat::TokioAsyncReadCompatExt;

/// A [`Runtime`] on a tokio runtime, through its [`Handle`].
///
/// Cloning is cheap and clones use the same tokio runtime.
///
/// ```
/// use claude_agent_core::rt::Runtime;
/// use claude_agent_tokio::TokioRuntime;
///
/// let tokio_rt = tokio::runtime::Builder::new_multi_thread()
///     .worker_threads(1)
///     .enable_all()
///     .build()?;
/// let runtime = TokioRuntime::from_handle(tokio_rt.handle().clone());
/// assert_eq!(runtime.name(), "tokio");
///
/// let (tx, rx) = std::sync::mpsc::channel();
/// runtime.spawn(Box::pin(async move {
///     tx.send("done").unwrap();
/// }));
/// assert_eq!(rx.recv().unwrap(), "done");
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TokioRuntime {
    handle: Handle,
}

impl TokioRuntime {
    /// Runs on the tokio runtime that `handle` belongs to.
    ///
    /// That runtime must have its I/O and time drivers enabled
    /// ([`Builder::enable_all`](tokio::runtime::Builder::enable_all)), or
    /// [`sleep_until`](Runtime::sleep_until) and [`connect_tcp`](Runtime::connect_tcp) panic.
    pub fn from_handle(handle: Handle) -> Self {
        Self { handle }
    }

    /// Runs on the tokio runtime the caller is in.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime. Use [`try_current`](Self::try_current) to check instead.
    #[track_caller]
    pub fn current() -> Self {
        Self::from_handle(Handle::current())
    }

    /// Runs on the tokio runtime the caller is in, or `None` outside any tokio runtime.
    ///
    /// ```
    /// use claude_agent_tokio::TokioRuntime;
    ///
    /// assert!(TokioRuntime::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<Self> {
        Handle::try_current().ok().map(Self::from_handle)
    }

    /// The handle of the tokio runtime this runs on.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// A process-wide multi-threaded tokio runtime, started on first use and never shut
    /// down: what `claude_agent::rt` uses when `CLAUDE_AGENT_RUNTIME=tokio` asks for tokio
    /// outside any tokio runtime. Prefer your own runtime (`#[tokio::main]`) when you have one.
    ///
    /// ```
    /// use claude_agent_core::rt::{self, Runtime};
    /// use claude_agent_tokio::TokioRuntime;
    ///
    /// let runtime = TokioRuntime::global()?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// rt::spawn(&runtime, async move { tx.send(6 * 7).unwrap() }).detach();
    /// assert_eq!(rx.recv().unwrap(), 42);
    /// # Ok::<_, std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// When the runtime could not be built (the OS refused its threads or its I/O driver).
    pub fn global() -> io::Result<Self> {
        static GLOBAL: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
        let runtime = GLOBAL.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .thread_name("claude-agent-tokio")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        });
        match runtime {
            Ok(runtime) => Ok(Self::from_handle(runtime.handle().clone())),
            Err(message) => Err(io::Error::other(format!(
                "building the global tokio runtime: {message}"
            ))),
        }
    }
}

/// Runs `future` to completion on a new multi-threaded tokio runtime (all drivers enabled),
/// blocking the current thread: what `#[tokio::main]` does, as a function.
///
/// While it runs, the thread is marked [`ThreadContext::Async`] with this runtime. When the
/// future completes, the runtime is shut down without waiting: tasks still pending are dropped
/// and blocking closures finish in the background (see [`OwnedRuntime`]).
///
/// ```
/// let answer = claude_agent_tokio::block_on(async { 6 * 7 });
/// assert_eq!(answer, 42);
/// ```
///
/// # Panics
/// Panics when called from inside a tokio runtime (tokio forbids nested `block_on`), or when
/// the runtime cannot be built.
pub fn block_on<F: Future>(future: F) -> F::Output {
    OwnedRuntime::new()
        .expect("building a tokio runtime")
        .block_on(future)
}

/// A tokio runtime owned by the value: built with all drivers enabled, and shut down in the
/// background when dropped, so that dropping it never blocks — not even inside another
/// runtime, where dropping a plain `tokio::runtime::Runtime` panics.
///
/// It is what a synchronous API needs to run async code on a runtime of its own
/// (`claude_agent::blocking::Client` holds one).
///
/// ```
/// use claude_agent_core::rt::{self, Runtime};
/// use claude_agent_tokio::OwnedRuntime;
///
/// let owned = OwnedRuntime::with_worker_threads(1)?;
/// let runtime = owned.runtime(); // a `Runtime` for the SDK
/// let answer = owned.block_on(async move { rt::spawn(&runtime, async { 6 * 7 }).await });
/// assert_eq!(answer, 42);
/// drop(owned); // returns at once
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedRuntime {
    /// `None` only while being dropped.
    runtime: Option<tokio::runtime::Runtime>,
    handle: TokioRuntime,
}

impl OwnedRuntime {
    /// A multi-threaded runtime with one worker per core (tokio's default).
    ///
    /// # Errors
    /// When the OS refuses the threads or the I/O driver.
    pub fn new() -> io::Result<Self> {
        Self::from_builder(tokio::runtime::Builder::new_multi_thread())
    }

    /// A multi-threaded runtime with `workers` worker threads (at least one): tasks and timers
    /// keep running between two [`block_on`](Self::block_on) calls.
    ///
    /// # Errors
    /// When the OS refuses the threads or the I/O driver.
    pub fn with_worker_threads(workers: usize) -> io::Result<Self> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(workers.max(1));
        Self::from_builder(builder)
    }

    /// A current-thread runtime: no worker threads, tasks only run inside
    /// [`block_on`](Self::block_on).
    ///
    /// ```
    /// let owned = claude_agent_tokio::OwnedRuntime::new_current_thread()?;
    /// assert_eq!(owned.block_on(async { 1 + 1 }), 2);
    /// # Ok::<_, std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// When the OS refuses the I/O driver.
    pub fn new_current_thread() -> io::Result<Self> {
        Self::from_builder(tokio::runtime::Builder::new_current_thread())
    }

    fn from_builder(mut builder: tokio::runtime::Builder) -> io::Result<Self> {
        let runtime = builder
            .thread_name("claude-agent-tokio")
            .enable_all()
            .build()?;
        let handle = TokioRuntime::from_handle(runtime.handle().clone());
        Ok(Self {
            runtime: Some(runtime),
            handle,
        })
    }

    /// A [`Runtime`] on this tokio runtime (cheap to clone; valid as long as `self` lives).
    pub fn runtime(&self) -> TokioRuntime {
        self.handle.clone()
    }

    /// Runs `future` to completion on this runtime, blocking the current thread; the thread
    /// is marked [`ThreadContext::Async`] with this runtime meanwhile. Several threads may
    /// call it at once.
    ///
    /// # Panics
    /// Inside a tokio runtime's async context (tokio forbids nested `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let runtime: Arc<dyn Runtime> = Arc::new(self.handle.clone());
        self.runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .block_on(ThreadContext::Async(Some(runtime)).scope(future))
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl From<Handle> for TokioRuntime {
    fn from(handle: Handle) -> Self {
        Self::from_handle(handle)
    }
}

impl Runtime for TokioRuntime {
    fn name(&self) -> &'static str {
        "tokio"
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        // Dropping a tokio JoinHandle detaches the task.
        drop(self.handle.spawn(task));
    }

    fn spawn_blocking(&self, task: Box<dyn FnOnce() + Send + 'static>) {
        // Dropping a tokio JoinHandle detaches the closure.
        drop(self.handle.spawn_blocking(task));
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        // A tokio timer binds to the runtime it is created in, and creating one outside a
        // runtime context panics: enter ours, so any thread may call this.
        let _context = self.handle.enter();
        Box::pin(TokioSleep(Box::pin(tokio::time::sleep_until(
            deadline.into(),
        ))))
    }

    fn connect_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'static, io::Result<Box<dyn AsyncIo>>> {
        let handle = self.handle.clone();
        let host = host.to_owned();
        Box::pin(async move {
            // Connect on the runtime itself (resolution needs its blocking pool, the socket its
            // reactor), so that the returned future can be polled from any thread. Dropping
            // this future aborts the connection attempt.
            let mut task = AbortOnDrop(handle.spawn(async move {
                let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
                stream.set_nodelay(true)?;
                Ok::<_, io::Error>(stream)
            }));
            let stream = match (&mut task.0).await {
                Ok(result) => result?,
                Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                Err(err) => return Err(io::Error::other(err)),
            };
            Ok(Box::new(stream.compat()) as Box<dyn AsyncIo>)
        })
    }
}

/// A [`tokio::time::Sleep`] as a core [`Sleep`].
struct TokioSleep(Pin<Box<tokio::time::Sleep>>);

impl Future for TokioSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl Sleep for TokioSleep {
    fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
        self.0.as_mut().reset(deadline.into());
    }
}

/// Aborts a tokio task when dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
