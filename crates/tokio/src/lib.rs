//! [tokio](https://docs.rs/tokio) runtime adapter for
//! [claude-kit](https://docs.rs/claude-kit).
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
//! use claude_kit_rt::{self as rt, Runtime};
//! use claude_kit_tokio::TokioRuntime;
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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use claude_kit_rt::context::{Adapter, SharedRuntime, ThreadContext};
use claude_kit_rt::{AsyncIo, BoxFuture, Runtime, Sleep, TcpConnect};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_util::compat::TokioAsyncReadCompatExt;

/// A [`Runtime`] on a tokio runtime, through its [`Handle`].
///
/// Cloning is cheap and clones use the same tokio runtime.
///
/// ```
/// use claude_kit_rt::Runtime;
/// use claude_kit_tokio::TokioRuntime;
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
    /// Started on the first [`Runtime::is_shut_down`] and shared by the clones: a
    /// `TokioRuntime` made only to spawn or sleep (the `rt` helpers make one per call) costs
    /// no sentinel task.
    liveness: Arc<OnceLock<Liveness>>,
}

/// Tells whether the tokio runtime behind a handle has shut down. tokio has no API for that,
/// and a timer polled after its runtime is gone panics, so a [`TokioRuntime`] that is asked
/// parks one tiny sentinel task on its runtime: the runtime drops every task when it shuts
/// down (before its drivers), and the sentinel's guard then raises the flag. The sentinel ends
/// when the last clone of the `TokioRuntime` is dropped. Started late is fine: a task spawned
/// on a runtime that is already gone is dropped at once, which raises the flag.
#[derive(Debug)]
struct Liveness {
    shut_down: Arc<AtomicBool>,
    /// Dropped with the last clone: ends the sentinel task.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Liveness {
    fn watch(handle: &Handle) -> Self {
        let shut_down = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let guard = RaiseOnDrop(shut_down.clone());
        // A task spawned on a runtime that is already gone is dropped at once: the flag is
        // raised right here.
        drop(handle.spawn(async move {
            let _guard = guard;
            let _ = stopped.await;
        }));
        Self {
            shut_down,
            _stop: stop,
        }
    }

    fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }
}

struct RaiseOnDrop(Arc<AtomicBool>);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl TokioRuntime {
    /// Runs on the tokio runtime that `handle` belongs to.
    ///
    /// That runtime must have its I/O and time drivers enabled
    /// ([`Builder::enable_all`](tokio::runtime::Builder::enable_all)), or
    /// [`sleep_until`](Runtime::sleep_until) and [`connect_tcp`](TcpConnect::connect_tcp) panic.
    pub fn from_handle(handle: Handle) -> Self {
        Self {
            handle,
            liveness: Arc::default(),
        }
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
    /// use claude_kit_tokio::TokioRuntime;
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
    /// down: what `claude_kit::rt` uses when `CLAUDE_KIT_RUNTIME=tokio` asks for tokio
    /// outside any tokio runtime. Prefer your own runtime (`#[tokio::main]`) when you have one.
    ///
    /// ```
    /// use claude_kit_rt::{self as rt, Runtime};
    /// use claude_kit_tokio::TokioRuntime;
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
                .thread_name("claude-kit-tokio")
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
/// let answer = claude_kit_tokio::block_on(async { 6 * 7 });
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
/// (`claude_kit::blocking::Client` holds one).
///
/// ```
/// use claude_kit_rt::{self as rt, Runtime};
/// use claude_kit_tokio::OwnedRuntime;
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
    /// let owned = claude_kit_tokio::OwnedRuntime::new_current_thread()?;
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
            .thread_name("claude-kit-tokio")
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
        // Dropping a tokio JoinHandle detaches the task. (On a runtime that has shut down,
        // tokio drops the task at once.)
        drop(self.handle.spawn(task));
    }

    fn is_shut_down(&self) -> bool {
        self.liveness
            .get_or_init(|| Liveness::watch(&self.handle))
            .is_shut_down()
    }

    fn spawn_blocking(&self, task: Box<dyn FnOnce() + Send + 'static>) {
        // Dropping a tokio JoinHandle detaches the closure.
        drop(self.handle.spawn_blocking(task));
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        // A tokio timer binds to the runtime it is created in, and creating one outside a
        // runtime context panics: enter ours, so any thread may call this.
        let _context = self.handle.enter();
        Box::pin(TokioSleep {
            sleep: Box::pin(tokio::time::sleep_until(deadline.into())),
            liveness: self.liveness.clone(),
        })
    }

    fn tcp(&self) -> Option<&dyn TcpConnect> {
        Some(self)
    }
}

impl TcpConnect for TokioRuntime {
    fn connect_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'static, std::io::Result<Box<dyn AsyncIo>>> {
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
///
/// tokio panics when a timer is polled after its runtime shut down. This one completes
/// instead: every wait of the SDK is bounded by a timer, so a call on a dead runtime ends
/// (and the client reports [`Error::Closed`](claude_kit_core::Error::Closed)) rather than
/// panicking or hanging.
struct TokioSleep {
    sleep: Pin<Box<tokio::time::Sleep>>,
    liveness: Arc<OnceLock<Liveness>>,
}

impl TokioSleep {
    /// Whether the runtime is known to be gone (without starting the watch: a runtime whose
    /// watch never started is caught by `catch_unwind` below).
    fn known_gone(&self) -> bool {
        self.liveness.get().is_some_and(Liveness::is_shut_down)
    }
}

impl Future for TokioSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.known_gone() {
            return Poll::Ready(());
        }
        // A runtime not watched yet, or a poll on another thread in the moment between the
        // flag and the shutdown of tokio's time driver, still meets tokio's panic: caught here.
        let sleep = self.sleep.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sleep.poll(cx))) {
            Ok(poll) => poll,
            Err(_) => Poll::Ready(()),
        }
    }
}

impl Sleep for TokioSleep {
    fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
        if self.known_gone() {
            return;
        }
        let sleep = self.sleep.as_mut();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            sleep.reset(deadline.into())
        }));
    }
}

/// Aborts a tokio task when dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// This adapter, as a crate that chooses among runtimes lists it
/// (see [`claude_kit_rt::context::choose`]).
pub const ADAPTER: Adapter = Adapter {
    name: "tokio",
    feature: "runtime-tokio",
    try_current: || TokioRuntime::try_current().map(|runtime| Arc::new(runtime) as SharedRuntime),
    owned: || Ok(Arc::new(TokioRuntime::global()?)),
    block_on: |future| block_on(future),
};
