//! The async runtime, without naming it: detection, selection and runtime-agnostic helpers.
//!
//! Code written against this module runs unchanged on tokio, smol, async-std or an executor
//! of your own: [`sleep`], [`timeout`], [`spawn`], [`spawn_blocking`] and [`block_on`] use the
//! *current* runtime, the one [`current_runtime`] returns.
//!
//! ```
//! use std::time::Duration;
//! use claude_kit::rt;
//!
//! // `asyncio.run(main())`: the runtime comes from the cargo features (and
//! // `CLAUDE_KIT_RUNTIME`); this code names none.
//! let total = rt::block_on(async {
//!     let background = rt::spawn(async { 40 });
//!     let blocking = rt::spawn_blocking(|| 2); // off the async threads
//!     rt::sleep(Duration::from_millis(1)).await;
//!     let slow = rt::timeout(Duration::from_millis(5), rt::sleep(Duration::from_secs(60))).await;
//!     assert!(slow.is_err());
//!     background.await + blocking.await
//! });
//! assert_eq!(total, 42);
//! ```
//!
//! # Which runtime is current
//!
//! [`current_runtime`] answers, in order:
//! 1. the runtime of the innermost [`block_on`], [`spawn`]ed task or [`scope`] this code runs
//!    in (and of the adapters' own `block_on` helpers);
//! 2. tokio, inside a tokio runtime (feature `runtime-tokio`);
//! 3. async-std, inside an async-std task (feature `runtime-async-std`);
//! 4. outside any runtime: the one the environment variable [`RUNTIME_ENV`]
//!    (`CLAUDE_KIT_RUNTIME=tokio|smol|async-std`) names — for tokio a process-wide runtime
//!    started on first use;
//! 5. else smol's global executor (`runtime-smol`), else async-std (`runtime-async-std`).
//!
//! `ClientBuilder::runtime` always overrides it for a client. A bare `smol::block_on` cannot
//! be detected (smol has no "current executor"); inside one, step 5 picks smol anyway when
//! `runtime-smol` is on.
//!
//! # Choosing the runtime at run time
//!
//! `CLAUDE_KIT_RUNTIME` also decides what [`block_on`] and
//! [`blocking::Client`](crate::blocking::Client) run on, so one build with all runtime features
//! runs any program on any of them:
//!
//! ```sh
//! CLAUDE_KIT_RUNTIME=async-std cargo run --example quickstart --all-features
//! ```
//!
//! Without it, [`block_on`] uses tokio (`runtime-tokio`), else smol, else async-std. A value
//! naming a runtime whose feature is off, or no runtime at all, is an error (a panic for the
//! panicking helpers) that says which feature to enable.
//!
//! # Explicit runtimes
//!
//! Library code that holds a runtime (`client.runtime()`) uses the functions of
//! [`with_runtime`], which take it as their first argument.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, Instant};

use claude_kit_rt::context::{self, Adapter, ThreadContext};
pub use claude_kit_rt::{
    AsyncIo, BoxFuture, Elapsed, JoinHandle, Runtime, SharedRuntime, Sleep, TcpConnect,
};

#[cfg(feature = "runtime-async-std")]
#[cfg_attr(docsrs, doc(cfg(feature = "runtime-async-std")))]
pub use claude_kit_async_std::AsyncStdRuntime;
#[cfg(feature = "runtime-smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "runtime-smol")))]
pub use claude_kit_smol::SmolRuntime;
#[cfg(feature = "runtime-tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "runtime-tokio")))]
pub use claude_kit_tokio::TokioRuntime;

use crate::Error;

/// The adapters this build compiles in, in the order [`block_on`] prefers them: the one list
/// every choice of this module reads.
const ADAPTERS: &[Adapter] = &[
    #[cfg(feature = "runtime-tokio")]
    claude_kit_tokio::ADAPTER,
    #[cfg(feature = "runtime-smol")]
    claude_kit_smol::ADAPTER,
    #[cfg(feature = "runtime-async-std")]
    claude_kit_async_std::ADAPTER,
];

fn config(error: context::NoRuntime) -> Error {
    Error::config(error.to_string())
}

/// The helpers of this module with the runtime passed explicitly, for code that holds one
/// (a library given a runtime, or `client.runtime()`).
///
/// ```
/// use std::time::{Duration, Instant};
/// use claude_kit::rt::{self, with_runtime};
///
/// rt::block_on(async {
///     let runtime = rt::current_runtime().unwrap();
///     with_runtime::sleep(&*runtime, Duration::from_millis(1)).await;
///     let deadline = Instant::now() + Duration::from_millis(1);
///     let late = with_runtime::timeout_at(&*runtime, deadline, std::future::pending::<()>()).await;
///     assert!(late.is_err());
///     assert_eq!(with_runtime::spawn(&*runtime, async { 7 }).await, 7);
///     assert_eq!(with_runtime::spawn_blocking(&*runtime, || 6).await, 6);
/// });
/// ```
pub mod with_runtime {
    pub use claude_kit_rt::{sleep, spawn, spawn_blocking, timeout, timeout_at};
}

/// The environment variable that picks the runtime at run time: `tokio`, `smol` or
/// `async-std` (see the [module docs](self)).
pub const RUNTIME_ENV: &str = context::RUNTIME_ENV;

/// One of the runtimes claude-kit ships an adapter for.
///
/// ```
/// use claude_kit::rt::RuntimeKind;
///
/// let kind: RuntimeKind = "async-std".parse().unwrap();
/// assert_eq!(kind, RuntimeKind::AsyncStd);
/// assert_eq!(kind.name(), "async-std");
/// assert!(RuntimeKind::Tokio.is_enabled() == cfg!(feature = "runtime-tokio"));
/// assert!("tokyo".parse::<RuntimeKind>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RuntimeKind {
    /// tokio (feature `runtime-tokio`).
    Tokio,
    /// smol (feature `runtime-smol`).
    Smol,
    /// async-std (feature `runtime-async-std`; deprecated upstream).
    AsyncStd,
}

impl RuntimeKind {
    /// Every kind, in the order [`block_on`] prefers them.
    pub const ALL: [RuntimeKind; 3] = [Self::Tokio, Self::Smol, Self::AsyncStd];

    /// The name [`Runtime::name`] reports for it, and that [`RUNTIME_ENV`] accepts.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Tokio => "tokio",
            Self::Smol => "smol",
            Self::AsyncStd => "async-std",
        }
    }

    /// The cargo feature that compiles it in.
    pub const fn feature(self) -> &'static str {
        match self {
            Self::Tokio => "runtime-tokio",
            Self::Smol => "runtime-smol",
            Self::AsyncStd => "runtime-async-std",
        }
    }

    /// Whether its feature is enabled in this build.
    pub fn is_enabled(self) -> bool {
        self.adapter().is_some()
    }

    fn adapter(self) -> Option<&'static Adapter> {
        ADAPTERS.iter().find(|adapter| adapter.name == self.name())
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The kind [`RUNTIME_ENV`] asks for: `Ok(None)` when it is unset or empty, an
    /// [`Error::Config`] when it names an unknown runtime or one whose feature is off.
    pub fn from_env() -> Result<Option<Self>, Error> {
        Ok(context::adapter_from_env(ADAPTERS)
            .map_err(config)?
            .and_then(|adapter| Self::from_name(adapter.name)))
    }

    /// What [`block_on`] and `blocking::Client` run on: [`RUNTIME_ENV`] if set, else the
    /// first enabled of tokio, smol, async-std; an [`Error::Config`] naming the features when
    /// none is enabled.
    pub fn preferred() -> Result<Self, Error> {
        let adapter = context::preferred(ADAPTERS).map_err(config)?;
        Self::from_name(adapter.name).ok_or_else(|| Error::config(context::NO_RUNTIME_FEATURE))
    }

    /// A handle to this runtime usable from anywhere: smol's and async-std's global
    /// executors, or for tokio the runtime the caller is in, else a process-wide one
    /// (`claude_kit_tokio::TokioRuntime::global`).
    pub fn runtime(self) -> Result<SharedRuntime, Error> {
        let adapter = self.enabled_adapter()?;
        match (adapter.try_current)() {
            Some(runtime) => Ok(runtime),
            None => (adapter.owned)().map_err(|e| Error::config(e.to_string())),
        }
    }

    /// Runs `future` to completion on this runtime, blocking the current thread, as
    /// [`block_on`] does for the preferred runtime.
    ///
    /// ```
    /// use claude_kit::rt::{self, RuntimeKind};
    ///
    /// for kind in RuntimeKind::ALL.into_iter().filter(|kind| kind.is_enabled()) {
    ///     assert_eq!(kind.block_on(async { rt::runtime_name() }), Some(kind.name()));
    /// }
    /// ```
    ///
    /// # Panics
    /// When called from async code (the event loop is already running: use `.await`), when
    /// this runtime's feature is off, or when tokio cannot start its runtime.
    #[track_caller]
    pub fn block_on<F: Future>(self, future: F) -> F::Output {
        if in_async_context() {
            panic!("{BLOCK_ON_IN_ASYNC}");
        }
        match self.enabled_adapter() {
            Ok(adapter) => adapter.run(future),
            Err(error) => panic!("{error}"),
        }
    }

    fn enabled_adapter(self) -> Result<&'static Adapter, Error> {
        self.adapter().ok_or_else(|| {
            Error::config(format!(
                "the {} runtime is not compiled in: enable the claude-kit feature `{}`",
                self.name(),
                self.feature()
            ))
        })
    }
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`RuntimeKind`] from a name it does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRuntime(String);

impl fmt::Display for UnknownRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown runtime {:?}: expected `tokio`, `smol` or `async-std`",
            self.0
        )
    }
}

impl std::error::Error for UnknownRuntime {}

impl FromStr for RuntimeKind {
    type Err = UnknownRuntime;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        context::normalise(name)
            .and_then(Self::from_name)
            .ok_or_else(|| UnknownRuntime(name.to_owned()))
    }
}

const BLOCK_ON_IN_ASYNC: &str = "claude_kit::rt::block_on called from async code (the event \
     loop is already running): .await the future instead, or run the blocking part with \
     claude_kit::rt::spawn_blocking";

/// The runtime the caller is in, or the one to use here: see the
/// [module docs](self#which-runtime-is-current) for the order.
///
/// This is the non-panicking way to the runtime the other helpers of this module use; it is
/// also what a `Client` is built on unless `ClientBuilder::runtime` says otherwise. With no
/// runtime feature, or only `runtime-tokio` outside a tokio runtime (and no
/// `CLAUDE_KIT_RUNTIME=tokio`), it is an [`Error::Config`] that says what to do.
///
/// ```
/// use claude_kit::rt;
///
/// let name = rt::block_on(async { rt::current_runtime().map(|runtime| runtime.name()) });
/// assert!(name.is_ok());
/// ```
pub fn current_runtime() -> Result<SharedRuntime, Error> {
    context::choose(ADAPTERS, None).map_err(config)
}

/// The name of the runtime the caller runs in (`"tokio"`, `"smol"`, `"async-std"`, or a
/// custom runtime's [`Runtime::name`]), or `None` outside any: the seeds' "check the event
/// loop" (`asyncio.get_running_loop()`).
///
/// Steps 1 to 3 of the [detection order](self#which-runtime-is-current); the environment and
/// the defaults are not consulted. A bare `smol::block_on` is not detectable and answers
/// `None`; [`block_on`], [`spawn`] and `claude_kit_smol::block_on` are.
///
/// ```
/// use claude_kit::rt;
///
/// assert_eq!(rt::runtime_name(), None); // plain sync code
/// let inside = rt::block_on(async { rt::runtime_name() });
/// assert!(inside.is_some());
/// ```
pub fn runtime_name() -> Option<&'static str> {
    runtime_in_context().map(|runtime| runtime.name())
}

fn runtime_in_context() -> Option<SharedRuntime> {
    context::runtime_in_context(ADAPTERS)
}

/// Whether the calling thread is polling async code, so that blocking it would stall (or
/// deadlock) its event loop. A [`spawn_blocking`] closure may block even though a tokio
/// context is present on its thread.
pub(crate) fn in_async_context() -> bool {
    context::in_async_context(ADAPTERS)
}

#[track_caller]
fn expect_runtime() -> SharedRuntime {
    match current_runtime() {
        Ok(runtime) => runtime,
        Err(error) => panic!("claude_kit::rt: {error}"),
    }
}

/// Waits until `duration` has passed, on the current runtime's timer.
///
/// The returned timer is resettable ([`Sleep::reset`]).
///
/// ```
/// use std::time::Duration;
/// use claude_kit::rt;
///
/// rt::block_on(async { rt::sleep(Duration::from_millis(1)).await });
/// ```
///
/// # Panics
/// When there is no usable runtime: see [`current_runtime`], the non-panicking way to check.
#[track_caller]
pub fn sleep(duration: Duration) -> std::pin::Pin<Box<dyn Sleep>> {
    let runtime = expect_runtime();
    runtime.sleep_until(claude_kit_rt::saturating_deadline(runtime.now(), duration))
}

/// Waits until `deadline`, on the current runtime's timer.
///
/// ```
/// use std::time::{Duration, Instant};
/// use claude_kit::rt;
///
/// rt::block_on(async { rt::sleep_until(Instant::now() + Duration::from_millis(1)).await });
/// ```
///
/// # Panics
/// When there is no usable runtime: see [`current_runtime`].
#[track_caller]
pub fn sleep_until(deadline: Instant) -> std::pin::Pin<Box<dyn Sleep>> {
    expect_runtime().sleep_until(deadline)
}

/// Awaits `future` for at most `duration`; past it, the future is dropped (cancelled) and
/// [`Elapsed`] returned: `asyncio.wait_for`.
///
/// ```
/// use std::time::Duration;
/// use claude_kit::rt;
///
/// rt::block_on(async {
///     assert_eq!(rt::timeout(Duration::from_secs(5), async { 1 }).await, Ok(1));
///     let never = std::future::pending::<()>();
///     assert!(rt::timeout(Duration::from_millis(1), never).await.is_err());
/// });
/// ```
///
/// # Panics
/// When there is no usable runtime: see [`current_runtime`].
#[track_caller]
pub fn timeout<F: Future>(
    duration: Duration,
    future: F,
) -> impl Future<Output = Result<F::Output, Elapsed>> {
    let runtime = expect_runtime();
    async move { claude_kit_rt::timeout(&*runtime, duration, future).await }
}

/// Awaits `future` until `deadline`; past it, the future is dropped and [`Elapsed`] returned.
///
/// ```
/// use std::time::{Duration, Instant};
/// use claude_kit::rt;
///
/// rt::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(1);
///     assert!(rt::timeout_at(deadline, std::future::pending::<()>()).await.is_err());
/// });
/// ```
///
/// # Panics
/// When there is no usable runtime: see [`current_runtime`].
#[track_caller]
pub fn timeout_at<F: Future>(
    deadline: Instant,
    future: F,
) -> impl Future<Output = Result<F::Output, Elapsed>> {
    let runtime = expect_runtime();
    async move { claude_kit_rt::timeout_at(&*runtime, deadline, future).await }
}

/// Runs `future` as a task on the current runtime: `asyncio.create_task`.
///
/// Dropping the returned [`JoinHandle`] cancels the task; [`JoinHandle::detach`] lets it run
/// on. Inside the task the same runtime is current, whatever thread polls it.
///
/// ```
/// use claude_kit::rt;
///
/// rt::block_on(async {
///     let task = rt::spawn(async { rt::runtime_name() });
///     assert_eq!(task.await, rt::runtime_name());
/// });
/// ```
///
/// # Panics
/// When there is no usable runtime: see [`current_runtime`].
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = expect_runtime();
    claude_kit_rt::spawn(
        &*runtime,
        ThreadContext::Async(Some(runtime.clone())).scope(future),
    )
}

/// Runs the blocking closure `f` away from the async threads (the current runtime's blocking
/// pool) and returns a handle to its result: `loop.run_in_executor(None, f)`.
///
/// Dropping the handle before the closure started means it never starts; a running closure
/// cannot be interrupted and runs to its end. Inside it, `blocking::Client` may be used.
///
/// ```
/// use claude_kit::rt;
///
/// let sum = rt::block_on(async { rt::spawn_blocking(|| (1..=100u64).sum::<u64>()).await });
/// assert_eq!(sum, 5050);
/// ```
///
/// # Panics
/// When there is no usable runtime: see [`current_runtime`].
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    claude_kit_rt::spawn_blocking(&*expect_runtime(), f)
}

/// Runs `future` with `runtime` as the current runtime of this module's helpers (and of
/// clients built inside), wherever it is polled: how code on an executor of your own makes
/// [`sleep`], [`spawn`] and friends use it.
///
/// ```
/// use claude_kit::rt;
///
/// rt::block_on(async {
///     let runtime = rt::current_runtime().unwrap();
///     let name = rt::scope(runtime.clone(), async { rt::runtime_name() }).await;
///     assert_eq!(name, Some(runtime.name()));
/// });
/// ```
pub fn scope<F: Future>(runtime: SharedRuntime, future: F) -> impl Future<Output = F::Output> {
    context::scope(runtime, future)
}

/// Runs a future to completion, blocking the current thread: `asyncio.run` for Rust.
/// Examples use it so that they never name a runtime.
///
/// It runs on [`RuntimeKind::preferred`]: the runtime [`RUNTIME_ENV`] names, else tokio
/// (`runtime-tokio`: a multi-threaded runtime built for the call and shut down after it),
/// else smol (`smol::block_on`, tasks on smol's global executor), else async-std. Inside, that
/// runtime is current for this module's helpers. Without a runtime feature the future is
/// polled by a minimal executor on this thread, which serves futures that need no runtime.
///
/// ```
/// use claude_kit::rt;
///
/// assert_eq!(rt::block_on(async { 6 * 7 }), 42);
/// ```
///
/// # Panics
/// When called from async code — inside a runtime's task or another `block_on` — since the
/// event loop is already running there: `.await` instead, or use [`spawn_blocking`]. Also
/// when [`RUNTIME_ENV`] names an unknown runtime or one whose feature is off.
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    match RuntimeKind::preferred() {
        Ok(kind) => kind.block_on(future),
        Err(_) if ADAPTERS.is_empty() => {
            if in_async_context() {
                panic!("{BLOCK_ON_IN_ASYNC}");
            }
            futures_lite::future::block_on(future)
        }
        Err(error) => panic!("claude_kit::rt::block_on: {error}"),
    }
}
