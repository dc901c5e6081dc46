//! The [`Runtime`] trait: what claude-kit needs from an async executor, and nothing more.
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
//! use claude_kit_rt::{AsyncIo, BoxFuture, Runtime, Sleep};
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
//! }
//! # let _ = Inert.name();
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, Ordering};

pub mod context;

pub use context::SharedRuntime;
use context::ThreadContext;

use futures_channel::oneshot;
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::future::{FutureExt, RemoteHandle};

/// A boxed, `Send` future: the currency of the dyn-compatible traits in this crate.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A byte stream to a peer: what [`TcpConnect::connect_tcp`] returns.
///
/// Any `futures-io` reader and writer that is `Send + Unpin + 'static` is one; adapters for
/// runtimes with their own I/O traits (tokio) wrap their streams in a compatibility layer.
pub trait AsyncIo: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> AsyncIo for T {}

/// The TCP capability of a [`Runtime`]: name resolution and connect.
///
/// Its future is a hand-written `'static` [`BoxFuture`], not an `async fn`: the transport
/// stores and spawns it, so it cannot borrow `&self`.
pub trait TcpConnect: Send + Sync {
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

/// A timer future that completes at a deadline and can be moved to another deadline.
///
/// Resetting instead of re-creating matters on hot paths: the idle timeout of a stream is
/// pushed forward on every chunk, and HTTP/2 keep-alive timers do the same.
pub trait Sleep: Future<Output = ()> + Send + Sync {
    /// Moves the deadline; a completed timer becomes pending again when the new deadline is in
    /// the future.
    fn reset(self: Pin<&mut Self>, deadline: Instant);
}

/// An async executor, as claude-kit sees it.
///
/// Implemented by `claude-kit-tokio`, `claude-kit-smol` and `claude-kit-async-std`; you
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
    ///
    /// On an executor that has shut down (see [`is_shut_down`](Self::is_shut_down)) the timer
    /// must complete (or never be polled), not panic: that ends every wait of a call at once.
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>>;

    /// Whether the executor has shut down for good: tasks spawned now would never run. An
    /// executor that cannot go away while this value lives (smol's and async-std's global
    /// ones, a pool this value owns) keeps the default, `false`.
    ///
    /// The client checks it before every attempt and fails with
    /// [`Error::Closed`](crate::Error::Closed) instead of waiting on a dead runtime (a tokio
    /// runtime dropped while a client built in it lives on).
    fn is_shut_down(&self) -> bool {
        false
    }

    /// The current instant. Timeouts and retry delays are computed from it, so a runtime with
    /// a virtual clock (for tests) makes them deterministic.
    fn now(&self) -> Instant {
        Instant::now()
    }

    /// The TCP capability: `None` (the default) for a runtime that opens no sockets. The
    /// HTTP transport needs it and says so when it is missing.
    fn tcp(&self) -> Option<&dyn TcpConnect> {
        None
    }

    /// Runs a blocking closure (file I/O, CPU-heavy work, a synchronous library) away from the
    /// threads that poll async tasks, so it never stalls them.
    ///
    /// The default starts a new OS thread per call, which is correct on any executor; the
    /// adapters override it with their runtime's blocking pool (tokio's
    /// `Handle::spawn_blocking`, smol's `unblock`, async-std's `spawn_blocking`). [`spawn_blocking`]
    /// (the function) builds an awaitable [`JoinHandle`] on top of this.
    ///
    /// # Panics
    /// The default panics if the OS refuses to start a thread, as [`std::thread::spawn`] does.
    ///
    /// ```
    /// use claude_kit_rt::Runtime;
    /// # use std::{io, pin::Pin, time::Instant};
    /// # use claude_kit_rt::{AsyncIo, BoxFuture, Sleep};
    /// # #[derive(Debug)] struct Inert;
    /// # impl Runtime for Inert {
    /// #     fn name(&self) -> &'static str { "inert" }
    /// #     fn spawn(&self, _task: BoxFuture<'static, ()>) {}
    /// #     fn sleep_until(&self, _: Instant) -> Pin<Box<dyn Sleep>> { unimplemented!() }
    /// # }
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// // `Inert` does not override `spawn_blocking`: this runs on a new thread.
    /// Inert.spawn_blocking(Box::new(move || tx.send(6 * 7).unwrap()));
    /// assert_eq!(rx.recv().unwrap(), 42);
    /// ```
    fn spawn_blocking(&self, task: Box<dyn FnOnce() + Send + 'static>) {
        std::thread::Builder::new()
            .name("claude-kit-blocking".to_owned())
            .spawn(task)
            .expect("starting a thread for a blocking task");
    }
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
    JoinHandle {
        inner: Inner::Remote(handle),
    }
}

/// Runs the blocking closure `f` with [`Runtime::spawn_blocking`] and returns a handle to its
/// result.
///
/// A closure cannot be interrupted: dropping the [`JoinHandle`] before the closure started
/// means it never starts, but once it runs it runs to the end (its result is then discarded).
/// A panic in the closure resumes in the task that awaits the handle. While the closure runs,
/// [`ThreadContext::current`](context::ThreadContext::current) is [`ThreadContext::Blocking`](context::ThreadContext::Blocking), which tells synchronous APIs
/// built on the SDK that they may block this thread.
///
/// ```
/// use claude_kit_rt::{self as rt, Runtime};
/// # use std::{io, pin::Pin, time::Instant};
/// # use claude_kit_rt::{AsyncIo, BoxFuture, Sleep};
/// # #[derive(Debug)] struct Inert;
/// # impl Runtime for Inert {
/// #     fn name(&self) -> &'static str { "inert" }
/// #     fn spawn(&self, _task: BoxFuture<'static, ()>) {}
/// #     fn sleep_until(&self, _: Instant) -> Pin<Box<dyn Sleep>> { unimplemented!() }
/// # }
/// let handle = rt::spawn_blocking(&Inert, || std::iter::repeat_n(7u64, 6).product::<u64>());
/// assert_eq!(futures::executor::block_on(handle), 7u64.pow(6));
/// ```
pub fn spawn_blocking<F, T>(runtime: &dyn Runtime, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let cancelled = Arc::new(AtomicBool::new(false));
    let flag = cancelled.clone();
    runtime.spawn_blocking(Box::new(move || {
        if flag.load(Ordering::SeqCst) {
            return;
        }
        let _blocking = ThreadContext::Blocking.enter();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        // The receiver may be gone (the handle was dropped meanwhile): nobody wants the result.
        let _ = tx.send(result);
    }));
    JoinHandle {
        inner: Inner::Blocking {
            result: rx,
            cancel: CancelOnDrop {
                flag: cancelled,
                armed: true,
            },
        },
    }
}

/// The output of a task started with [`spawn`] or [`spawn_blocking`]; cancels the task when
/// dropped.
///
/// Awaiting it returns the task's output; a panic in the task resumes in the awaiting task,
/// as with `std::thread::JoinHandle::join().unwrap()`.
///
/// ```
/// use claude_kit_rt;
/// # use std::{io, pin::Pin, time::Instant};
/// # use claude_kit_rt::{AsyncIo, BoxFuture, Runtime, Sleep};
/// # #[derive(Debug)] struct Inert;
/// # impl Runtime for Inert {
/// #     fn name(&self) -> &'static str { "inert" }
/// #     fn spawn(&self, _task: BoxFuture<'static, ()>) {}
/// #     fn sleep_until(&self, _: Instant) -> Pin<Box<dyn Sleep>> { unimplemented!() }
/// # }
/// let (tx, rx) = std::sync::mpsc::channel();
/// // Detached: runs to the end although nobody awaits it.
/// rt::spawn_blocking(&Inert, move || tx.send("done").unwrap()).detach();
/// assert_eq!(rx.recv().unwrap(), "done");
/// ```
#[must_use = "dropping a JoinHandle cancels its task; call detach() to let it run"]
pub struct JoinHandle<T> {
    inner: Inner<T>,
}

enum Inner<T> {
    /// A future spawned with [`spawn`]: dropping the remote handle cancels it.
    Remote(RemoteHandle<T>),
    /// A closure given to [`spawn_blocking`].
    Blocking {
        result: oneshot::Receiver<std::thread::Result<T>>,
        cancel: CancelOnDrop,
    },
}

/// Tells a blocking closure that has not started yet not to start, unless disarmed.
struct CancelOnDrop {
    flag: Arc<AtomicBool>,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.flag.store(true, Ordering::SeqCst);
        }
    }
}

impl<T: 'static> JoinHandle<T> {
    /// Lets the task run to completion without anyone waiting for it.
    pub fn detach(self) {
        match self.inner {
            Inner::Remote(handle) => handle.forget(),
            Inner::Blocking { mut cancel, .. } => cancel.armed = false,
        }
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
        match &mut self.inner {
            Inner::Remote(handle) => handle.poll_unpin(cx),
            Inner::Blocking { result, .. } => match std::task::ready!(result.poll_unpin(cx)) {
                Ok(Ok(output)) => Poll::Ready(output),
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                Err(oneshot::Canceled) => {
                    panic!("a blocking task was dropped before it ran (its runtime shut down)")
                }
            },
        }
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
/// (`Duration::MAX` means "no deadline" to callers). Public for the crates that arm timers
/// on a [`Runtime`] from a length (`sleep_until` takes an instant).
pub fn saturating_deadline(now: Instant, duration: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(duration.min(FAR))
        .unwrap_or_else(|| now + Duration::from_secs(3600))
}
