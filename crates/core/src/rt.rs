//! The [`Runtime`] trait: what claude-agent needs from an async executor, and nothing more.
//!
//! An executor is four capabilities: run a task in the background, wake up at an instant, tell
//! the time, and open a TCP connection. Everything else the SDK does (HTTP, TLS, retries,
//! timeouts, streaming) is built on these four, so the same client runs unchanged on tokio,
//! smol, async-std, or an executor of your own.
//!
//! The trait is dyn-compatible and is held as `Arc<dyn Runtime>`: one allocation per spawned
//! task or timer is noise next to an HTTP request, and it keeps every type in the SDK free of a
//! runtime generic parameter.
//!
//! # Implementing a runtime
//!
//! ```
//! use std::{io, pin::Pin, time::Instant};
//! use claude_agent_core::rt::{AsyncIo, BoxFuture, Runtime, Sleep};
//!
//! /// A runtime that cannot do anything: enough to show the shape.
//! #[derive(Debug)]
//! struct Inert;
//!
//! struct Never;
//! impl std::future::Future for Never {
//!     type Output = ();
//!     fn poll(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
//!         std::task::Poll::Pending
//!     }
//! }
//! impl Sleep for Never {
//!     fn reset(self: Pin<&mut Self>, _deadline: Instant) {}
//! }
//!
//! impl Runtime for Inert {
//!     fn name(&self) -> &'static str { "inert" }
//!     fn spawn(&self, _task: BoxFuture<'static, ()>) {}
//!     fn sleep_until(&self, _deadline: Instant) -> Pin<Box<dyn Sleep>> { Box::pin(Never) }
//!     fn connect_tcp(&self, _host: &str, _port: u16)
//!         -> BoxFuture<'static, io::Result<Box<dyn AsyncIo>>>
//!     {
//!         Box::pin(async { Err(io::Error::new(io::ErrorKind::Unsupported, "no network")) })
//!     }
//! }
//! # let _ = Inert.name();
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::future::{FutureExt, RemoteHandle};

/// A boxed, `Send` future: the currency of the dyn-compatible traits in this crate.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A byte stream to a peer: what [`Runtime::connect_tcp`] returns.
///
/// Any `futures-io` reader and writer that is `Send + Unpin + 'static` is one; adapters for
/// runtimes with their own I/O traits (tokio) wrap their streams in a compatibility layer.
pub trait AsyncIo: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> AsyncIo for T {}

/// A timer future that completes at a deadline and can be moved to another deadline.
///
/// Resetting instead of re-creating matters on hot paths: the idle timeout of a stream is
/// pushed forward on every chunk, and HTTP/2 keep-alive timers do the same.
pub trait Sleep: Future<Output = ()> + Send + Sync {
    /// Moves the deadline; a completed timer becomes pending again when the new deadline is in
    /// the future.
    fn reset(self: Pin<&mut Self>, deadline: Instant);
}

/// An async executor, as claude-agent sees it.
///
/// Implemented by `claude-agent-tokio`, `claude-agent-smol` and `claude-agent-async-std`; you
/// implement it to run the SDK on any other executor.
pub trait Runtime: Send + Sync + fmt::Debug + 'static {
    /// A short, stable name (`"tokio"`, `"smol"`, …) for logs and for code that asks which
    /// runtime it is on.
    fn name(&self) -> &'static str;

    /// Runs a task in the background, detached.
    ///
    /// The SDK uses this for connection drivers (a hyper connection must be polled while
    /// requests use it) and for [`spawn`]. The task must be polled to completion or until it is
    /// dropped with the executor; it must never be polled after the executor is gone.
    fn spawn(&self, task: BoxFuture<'static, ()>);

    /// A timer that completes at `deadline`. Every timeout in the SDK is one of these, so
    /// every wait has a bound on every runtime.
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>>;

    /// The current instant. Timeouts and retry delays are computed from it, so a runtime with
    /// a virtual clock (for tests) makes them deterministic.
    fn now(&self) -> Instant {
        Instant::now()
    }

    /// Resolves `host` and opens a TCP connection to `host:port`.
    ///
    /// Name resolution belongs here because it is blocking on most platforms and each runtime
    /// has its own way to keep it off the reactor.
    fn connect_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'static, io::Result<Box<dyn AsyncIo>>>;
}

/// Runs `future` on `runtime` and returns a handle to its output.
///
/// Dropping the [`JoinHandle`] cancels the task (its future is dropped at its next wake-up);
/// call [`JoinHandle::detach`] to let it run on. This is the structured default: a spawned
/// request never outlives the code that waits for it unless you say so.
pub fn spawn<F>(runtime: &dyn Runtime, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (task, handle) = future.remote_handle();
    runtime.spawn(Box::pin(task));
    JoinHandle { handle }
}

/// The output of a task started with [`spawn`]; cancels the task when dropped.
#[must_use = "dropping a JoinHandle cancels its task; call detach() to let it run"]
pub struct JoinHandle<T> {
    handle: RemoteHandle<T>,
}

impl<T: 'static> JoinHandle<T> {
    /// Lets the task run to completion without anyone waiting for it.
    pub fn detach(self) {
        self.handle.forget();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}

impl<T: 'static> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        // A panicking task resumes its panic here, in the task that awaits it, as with
        // `std::thread::JoinHandle::join().unwrap()`.
        self.handle.poll_unpin(cx)
    }
}

/// The deadline of a [`timeout`] passed before its future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Awaits `future` until `deadline`; past it, the future is dropped and [`Elapsed`] returned.
pub async fn timeout_at<F: Future>(
    runtime: &dyn Runtime,
    deadline: Instant,
    future: F,
) -> Result<F::Output, Elapsed> {
    let sleep = runtime.sleep_until(deadline);
    let future = std::pin::pin!(future);
    match futures_util::future::select(future, sleep).await {
        futures_util::future::Either::Left((output, _)) => Ok(output),
        futures_util::future::Either::Right(((), _)) => Err(Elapsed(())),
    }
}

/// Awaits `future` for at most `duration`, measured from [`Runtime::now`].
pub async fn timeout<F: Future>(
    runtime: &dyn Runtime,
    duration: Duration,
    future: F,
) -> Result<F::Output, Elapsed> {
    let deadline = saturating_deadline(runtime.now(), duration);
    timeout_at(runtime, deadline, future).await
}

/// Waits until `duration` has passed on `runtime`'s clock.
pub async fn sleep(runtime: &dyn Runtime, duration: Duration) {
    runtime
        .sleep_until(saturating_deadline(runtime.now(), duration))
        .await;
}

/// `now + duration`, clamped to a far but representable instant instead of overflowing
/// (`Duration::MAX` means "no deadline" to callers).
pub fn saturating_deadline(now: Instant, duration: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(duration.min(FAR))
        .unwrap_or_else(|| now + Duration::from_secs(3600))
}

/// A shared runtime handle, as the client holds it.
pub type SharedRuntime = Arc<dyn Runtime>;
