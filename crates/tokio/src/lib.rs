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
use std::task::{Context, Poll};
use std::time::Instant;

use claude_agent_core::rt::{AsyncIo, BoxFuture, Runtime, Sleep};
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
}

/// Runs `future` to completion on a new multi-threaded tokio runtime (all drivers enabled),
/// blocking the current thread: what `#[tokio::main]` does, as a function.
///
/// # Panics
/// Panics when called from inside a tokio runtime (tokio forbids nested `block_on`), or when
/// the runtime cannot be built.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building a tokio runtime")
        .block_on(future)
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
