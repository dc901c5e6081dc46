//! [tokio](https://docs.rs/tokio) runtime adapter for [claude-kit](https://docs.rs/claude-kit).
//!
//! [`TokioRuntime`] implements [`Runtime`] on a tokio runtime [`Handle`]: tasks with
//! [`Handle::spawn`], timers from [`tokio::time`], TCP from [`tokio::net::TcpStream`] and
//! processes from [`tokio::process`] (killed on drop), their streams behind
//! [`tokio_util::compat`] (the SDK speaks `futures-io`).
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
//!     assert_eq!(rt::spawn(&runtime, async { 6 * 7 }).await, 42);
//!     rt::sleep(&runtime, Duration::from_millis(1)).await;
//! });
//! # Ok::<_, std::io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use claude_kit_rt::context::{Adapter, SharedRuntime, ThreadContext};
use claude_kit_rt::{
    AsyncIo, BoxFuture, ChildProcess, Runtime, ShutdownWatch, Sleep, SpawnProcess, TcpConnect,
};
use futures_io::{AsyncRead, AsyncWrite};
use tokio::runtime::Handle;
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};
use tokio_util::task::AbortOnDropHandle;

/// A [`Runtime`] on a tokio runtime, through its [`Handle`]; clones share that runtime.
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
/// let (tx, rx) = std::sync::mpsc::channel();
/// runtime.spawn(Box::pin(async move { tx.send("done").unwrap() }));
/// assert_eq!(rx.recv().unwrap(), "done");
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TokioRuntime {
    handle: Handle,
    /// tokio cannot tell that its runtime is gone; the watch can. Shared by clones and timers.
    watch: ShutdownWatch,
}

impl TokioRuntime {
    /// Runs on the tokio runtime that `handle` belongs to, which must have its I/O and time
    /// drivers enabled, or timers, sockets and processes panic.
    pub fn from_handle(handle: Handle) -> Self {
        let watch = ShutdownWatch::new();
        Self { handle, watch }
    }

    /// Runs on the tokio runtime the caller is in.
    ///
    /// # Panics
    /// Outside a tokio runtime. Use [`try_current`](Self::try_current) to check instead.
    #[track_caller]
    pub fn current() -> Self {
        Self::from_handle(Handle::current())
    }

    /// Runs on the tokio runtime the caller is in, or `None` outside any tokio runtime.
    ///
    /// ```
    /// assert!(claude_kit_tokio::TokioRuntime::try_current().is_none());
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
    /// let runtime = claude_kit_tokio::TokioRuntime::global()?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// claude_kit_rt::spawn(&runtime, async move { tx.send(6 * 7).unwrap() }).detach();
    /// assert_eq!(rx.recv().unwrap(), 42);
    /// # Ok::<_, std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// When the runtime could not be built (the OS refused its threads or its I/O driver).
    pub fn global() -> io::Result<Self> {
        static GLOBAL: OnceLock<Result<OwnedRuntime, String>> = OnceLock::new();
        let global = GLOBAL.get_or_init(|| {
            OwnedRuntime::new().map_err(|e| format!("building the global tokio runtime: {e}"))
        });
        global
            .as_ref()
            .map(OwnedRuntime::runtime)
            .map_err(|e| io::Error::other(e.as_str()))
    }
}

impl From<Handle> for TokioRuntime {
    fn from(handle: Handle) -> Self {
        Self::from_handle(handle)
    }
}

/// Runs `future` to completion on a new multi-threaded tokio runtime (all drivers enabled),
/// blocking the current thread: `#[tokio::main]` as a function. The thread is marked
/// [`ThreadContext::Async`] meanwhile; afterwards the runtime shuts down without waiting for
/// what is still pending (see [`OwnedRuntime`]).
///
/// ```
/// assert_eq!(claude_kit_tokio::block_on(async { 6 * 7 }), 42);
/// ```
///
/// # Panics
/// Inside a tokio runtime (tokio forbids nested `block_on`), or when the runtime cannot be built.
pub fn block_on<F: Future>(future: F) -> F::Output {
    OwnedRuntime::new()
        .expect("building a tokio runtime")
        .block_on(future)
}

/// A tokio runtime owned by the value, all drivers enabled, shut down in the background when
/// dropped: dropping it never blocks, not even inside another runtime (where dropping a plain
/// `tokio::runtime::Runtime` panics). What a synchronous API runs its async code on
/// (`claude_kit::blocking::Client` holds one).
///
/// ```
/// let owned = claude_kit_tokio::OwnedRuntime::with_worker_threads(1)?;
/// let runtime = owned.runtime(); // a `Runtime` for the SDK
/// let answer = owned.block_on(async move {
///     claude_kit_rt::spawn(&runtime, async { 6 * 7 }).await
/// });
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

    /// A current-thread runtime: tasks only run inside [`block_on`](Self::block_on).
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
        let runtime = Some(runtime);
        Ok(Self { runtime, handle })
    }

    /// A [`Runtime`] on this tokio runtime (cheap to clone; valid as long as `self` lives).
    pub fn runtime(&self) -> TokioRuntime {
        self.handle.clone()
    }

    /// Runs `future` to completion on this runtime, blocking the current thread, which is
    /// marked [`ThreadContext::Async`] meanwhile. Several threads may call it at once.
    ///
    /// # Panics
    /// Inside a tokio runtime's async context (tokio forbids nested `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let runtime: SharedRuntime = Arc::new(self.handle.clone());
        let tokio = self.runtime.as_ref().expect("the runtime lives until drop");
        tokio.block_on(ThreadContext::Async(Some(runtime)).scope(future))
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Runtime for TokioRuntime {
    fn name(&self) -> &'static str {
        "tokio"
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        // Dropping a tokio JoinHandle detaches the task; a dead runtime drops it at once.
        drop(self.handle.spawn(task));
    }

    fn is_shut_down(&self) -> bool {
        self.watch.is_shut_down(self)
    }

    fn spawn_blocking(&self, task: Box<dyn FnOnce() + Send + 'static>) {
        drop(self.handle.spawn_blocking(task));
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        // A tokio timer binds to the runtime it is created in (outside one, creating it
        // panics): enter ours, so any thread may call this.
        let _context = self.handle.enter();
        let timer = tokio::time::sleep_until(deadline.into());
        self.watch
            .sleep(timer, |timer, deadline| timer.reset(deadline.into()))
    }

    fn tcp(&self) -> Option<&dyn TcpConnect> {
        Some(self)
    }

    fn process(&self) -> Option<&dyn SpawnProcess> {
        Some(self)
    }
}

impl TcpConnect for TokioRuntime {
    fn connect_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'static, io::Result<Box<dyn AsyncIo>>> {
        let (handle, host) = (self.handle.clone(), host.to_owned());
        Box::pin(async move {
            // On the runtime itself (resolution needs its blocking pool, the socket its
            // reactor), so that any thread may poll this future; dropping it aborts the task.
            let connect = handle.spawn(tokio::net::TcpStream::connect((host, port)));
            let stream = AbortOnDropHandle::new(connect)
                .await
                .map_err(io::Error::other)??;
            stream.set_nodelay(true)?;
            Ok(Box::new(TcpIo(stream)) as Box<dyn AsyncIo>)
        })
    }
}

/// A tokio TCP stream as a `futures-io` stream. Unlike `tokio_util::compat`, it forwards
/// vectored writes: hyper hands a request's head and body over as two slices, and without
/// `poll_write_vectored` every request would cost two `send` system calls instead of one
/// `writev`.
#[derive(Debug)]
struct TcpIo(tokio::net::TcpStream);

impl AsyncRead for TcpIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = tokio::io::ReadBuf::new(buf);
        ready!(tokio::io::AsyncRead::poll_read(
            Pin::new(&mut self.get_mut().0),
            cx,
            &mut buf
        ))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

impl AsyncWrite for TcpIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.get_mut().0), cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write_vectored(Pin::new(&mut self.get_mut().0), cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().0), cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.get_mut().0), cx)
    }
}

impl SpawnProcess for TokioRuntime {
    fn spawn(&self, mut command: Command) -> io::Result<Box<dyn ChildProcess>> {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The child's pipes and its exit signal register with this runtime's drivers.
        let _context = self.handle.enter();
        let child = tokio::process::Command::from(command)
            .kill_on_drop(true)
            .spawn()?;
        Ok(Box::new(TokioChild(child)))
    }
}

/// A [`tokio::process::Child`] (killed on drop, then reaped by tokio) as a [`ChildProcess`].
#[derive(Debug)]
struct TokioChild(tokio::process::Child);

impl ChildProcess for TokioChild {
    fn id(&self) -> Option<u32> {
        self.0.id()
    }
    fn take_stdin(&mut self) -> Option<Box<dyn AsyncWrite + Send + Unpin>> {
        Some(Box::new(self.0.stdin.take()?.compat_write()))
    }
    fn take_stdout(&mut self) -> Option<Box<dyn AsyncRead + Send + Unpin>> {
        Some(Box::new(self.0.stdout.take()?.compat()))
    }
    fn take_stderr(&mut self) -> Option<Box<dyn AsyncRead + Send + Unpin>> {
        Some(Box::new(self.0.stderr.take()?.compat()))
    }
    fn kill(&mut self) -> io::Result<()> {
        // tokio refuses to kill a child it has reaped; for the contract that is no error.
        match self.0.try_wait()? {
            Some(_) => Ok(()),
            None => self.0.start_kill(),
        }
    }
    fn wait(&mut self) -> BoxFuture<'_, io::Result<ExitStatus>> {
        Box::pin(self.0.wait()) // closes an untaken stdin first
    }
    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.0.try_wait()
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
