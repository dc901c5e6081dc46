//! The async seam of claude-kit: what the SDK needs from an async executor, and nothing more.
//!
//! An executor provides a few capabilities: run a task in the background ([`Runtime::spawn`]),
//! wake up at an instant ([`Runtime::sleep_until`]), tell the time ([`Runtime::now`]), run
//! blocking code away from the async threads ([`Runtime::spawn_blocking`]), and, where it can,
//! open TCP connections ([`Runtime::tcp`], for the HTTP transport) and start processes
//! ([`Runtime::process`], for the Claude Code CLI). Everything else the SDK does (HTTP, TLS,
//! retries, timeouts, streaming, the CLI protocol) is built on these, so the same client runs
//! unchanged on tokio, smol, async-std, or an executor of your own.
//!
//! The traits are dyn-compatible and a runtime is held as `Arc<dyn Runtime>`
//! ([`SharedRuntime`]): one allocation per spawned task or timer is noise next to an HTTP
//! request, and it keeps every type in the SDK free of a runtime generic parameter.
//!
//! Built on the traits alone: [`spawn`] and [`spawn_blocking`] (a [`JoinHandle`] that cancels
//! its task when dropped), [`timeout`], [`timeout_at`], [`sleep`]; [`ShutdownWatch`] for an
//! executor that can go away without saying so; [`context`] tells which runtime the calling
//! code runs on.
//!
//! # Features
//!
//! - `async-io`: [`async_io`], timers, TCP and processes on the `async-io` reactor, shared by
//!   the smol and async-std adapters and usable by any executor of your own.
//! - `testkit`: [`testkit`] and [`conformance_tests!`], the checks every runtime must pass.
//!
//! # Implementing a runtime
//!
//! ```
//! use std::{pin::Pin, time::Instant};
//! use claude_kit_rt::{BoxFuture, Runtime, Sleep};
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
//! assert!(Inert.tcp().is_none() && Inert.process().is_none());
//! ```
//!
//! A real one on an `async-io` based executor is a few lines with the `async-io` feature
//! ([`async_io`] shows one); run [`conformance_tests!`] on it to check it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

#[cfg(feature = "async-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-io")))]
pub mod async_io;
pub mod context;
mod net;
mod process;
mod task;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;

pub use context::SharedRuntime;
pub use net::{AsyncIo, TcpConnect};
pub use process::{ChildProcess, SpawnProcess};
pub use task::{
    Elapsed, JoinHandle, ShutdownWatch, Timeout, sleep, spawn, spawn_blocking, timeout, timeout_at,
};

/// A boxed, `Send` future: the currency of the dyn-compatible traits in this crate.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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
/// implement it to run the SDK on any other executor, and check your implementation with
/// [`conformance_tests!`] (feature `testkit`).
///
/// The futures it takes and returns are hand-written [`BoxFuture<'static, _>`](BoxFuture) and
/// `Pin<Box<dyn Sleep>>`, not `async fn`s: a spawned task and a timer outlive the call that made
/// them (they are stored in connection pools and streams, and spawned), so they cannot borrow
/// `&self`, and a boxed future keeps the trait dyn-compatible.
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
    /// The client checks it before every attempt and fails with `Error::Closed` instead of
    /// waiting on a dead runtime (a tokio runtime dropped while a client built in it lives on).
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

    /// The process capability: `None` (the default) for a runtime that starts no processes.
    /// The Claude Code backend needs it (it drives the CLI as a child process) and says so
    /// when it is missing; the HTTP backend never asks.
    fn process(&self) -> Option<&dyn SpawnProcess> {
        None
    }

    /// Runs a blocking closure (file I/O, CPU-heavy work, a synchronous library) away from the
    /// threads that poll async tasks, so it never stalls them.
    ///
    /// The default starts a new OS thread per call, which is correct on any executor; the
    /// adapters override it with their runtime's blocking pool (tokio's
    /// `Handle::spawn_blocking`, smol's `unblock`, async-std's `spawn_blocking`).
    /// [`spawn_blocking`] (the function) builds an awaitable [`JoinHandle`] on top of this.
    ///
    /// # Panics
    /// The default panics if the OS refuses to start a thread, as [`std::thread::spawn`] does.
    ///
    /// ```
    /// use claude_kit_rt::Runtime;
    /// # use std::{pin::Pin, time::Instant};
    /// # use claude_kit_rt::{BoxFuture, Sleep};
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

/// `now + duration`, clamped to a far but representable instant instead of overflowing
/// (`Duration::MAX` means "no deadline" to callers). Public for the crates that arm timers
/// on a [`Runtime`] from a length (`sleep_until` takes an instant).
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let now = Instant::now();
/// let far = claude_kit_rt::saturating_deadline(now, Duration::MAX);
/// assert!(far > now + Duration::from_secs(365 * 24 * 3600));
/// ```
pub fn saturating_deadline(now: Instant, duration: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(duration.min(FAR))
        .unwrap_or_else(|| now + Duration::from_secs(3600))
}
