//! Which runtime is current: the thread's mark, and the choice among compiled-in adapters.
//!
//! Two things need to know which runtime a piece of code runs on: helpers that name none
//! (`claude_kit::rt::sleep`) and synchronous APIs, which must refuse to block a thread that
//! polls async code. The adapters' `block_on`, [`scope`] and the tasks of runtime-implicit
//! `spawn` mark the thread ([`ThreadContext`]); [`choose`] combines that mark with what each
//! compiled-in [`Adapter`] can detect, the environment and a default.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::Runtime;

/// A shared runtime handle, as clients hold it.
pub type SharedRuntime = Arc<dyn Runtime>;

/// A non-`Send` boxed future borrowed for `'a`: what [`Adapter::block_on`] runs.
pub type LocalFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// What a crate that picks a runtime needs to know about one adapter, as plain data.
///
/// Each adapter crate exports one as `ADAPTER`; a crate that chooses (the API backend, the
/// Claude Code backend, the facade) lists those its cargo features compile in and hands the
/// list to [`choose`]:
///
/// ```
/// use claude_kit_rt::context::{Adapter, choose};
///
/// const ADAPTERS: &[Adapter] = &[]; // e.g. `#[cfg(feature = "runtime-smol")] claude_kit_smol::ADAPTER`
/// let error = choose(ADAPTERS, None).unwrap_err();
/// assert!(error.to_string().contains("no async runtime"));
/// ```
#[derive(Clone, Copy)]
pub struct Adapter {
    /// The runtime's name, as [`Runtime::name`] reports it and `CLAUDE_KIT_RUNTIME` accepts.
    pub name: &'static str,
    /// The cargo feature that compiles it in, for error messages.
    pub feature: &'static str,
    /// The runtime the caller runs in, when the runtime can tell (tokio's
    /// `Handle::try_current`, async-std's `task::try_current`); `None` otherwise.
    pub try_current: fn() -> Option<SharedRuntime>,
    /// A handle usable from anywhere, outside any runtime: smol's and async-std's global
    /// executors, a process-wide tokio runtime.
    pub owned: fn() -> io::Result<SharedRuntime>,
    /// Runs a future to completion on this runtime, blocking the thread, which is marked
    /// [`ThreadContext::Async`] meanwhile.
    pub block_on: for<'a> fn(LocalFuture<'a>),
}

impl fmt::Debug for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adapter")
            .field("name", &self.name)
            .field("feature", &self.feature)
            .finish_non_exhaustive()
    }
}

impl Adapter {
    /// Runs `future` to completion on this adapter's runtime, blocking the current thread.
    pub fn run<F: Future>(&self, future: F) -> F::Output {
        let mut output = None;
        (self.block_on)(Box::pin(async {
            output = Some(future.await);
        }));
        match output {
            Some(output) => output,
            None => unreachable!("block_on returns when its future completed"),
        }
    }
}

/// Why [`choose`] found no runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRuntime(String);

impl NoRuntime {
    /// A reason, as [`Display`](fmt::Display) prints it.
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

impl fmt::Display for NoRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoRuntime {}

/// The environment variable that picks the runtime outside any: `tokio`, `smol` or `async-std`.
pub const RUNTIME_ENV: &str = "CLAUDE_KIT_RUNTIME";

/// The runtime of the caller's context: the innermost [`ThreadContext::Async`] mark, else the
/// first adapter whose `try_current` answers.
pub fn runtime_in_context(adapters: &[Adapter]) -> Option<SharedRuntime> {
    if let Some(ThreadContext::Async(Some(runtime))) = ThreadContext::current() {
        return Some(runtime);
    }
    adapters.iter().find_map(|adapter| (adapter.try_current)())
}

/// Whether the calling thread polls async code, so that blocking it would stall (or deadlock)
/// its event loop. A [`spawn_blocking`](crate::spawn_blocking) closure may block even though a
/// runtime context is present on its thread.
pub fn in_async_context(adapters: &[Adapter]) -> bool {
    match ThreadContext::current() {
        Some(ThreadContext::Async(_)) => true,
        Some(ThreadContext::Blocking) => false,
        None => adapters
            .iter()
            .any(|adapter| (adapter.try_current)().is_some()),
    }
}

/// The adapter [`RUNTIME_ENV`] names among `adapters`: `Ok(None)` when it is unset or empty,
/// an error when it names an unknown runtime or one not compiled in.
pub fn adapter_from_env(adapters: &[Adapter]) -> Result<Option<&Adapter>, NoRuntime> {
    let Some(value) = std::env::var_os(RUNTIME_ENV) else {
        return Ok(None);
    };
    let value = value.to_string_lossy();
    let name = value.trim();
    if name.is_empty() {
        return Ok(None);
    }
    find(adapters, name)
        .map(Some)
        .map_err(|e| NoRuntime(format!("{RUNTIME_ENV}={name:?}: {e}")))
}

/// The adapter called `name` (`tokio`, `smol`, `async-std`; case and `_` forgiven) among
/// `adapters`, or an error naming the feature to enable.
pub fn find<'a>(adapters: &'a [Adapter], name: &str) -> Result<&'a Adapter, NoRuntime> {
    let wanted = normalise(name).ok_or_else(|| {
        NoRuntime(format!(
            "unknown runtime {name:?}: expected `tokio`, `smol` or `async-std`"
        ))
    })?;
    adapters
        .iter()
        .find(|adapter| adapter.name == wanted)
        .ok_or_else(|| {
            NoRuntime(format!(
                "the {wanted} runtime is not compiled in: enable the claude-kit feature `runtime-{wanted}`"
            ))
        })
}

/// The canonical name of a runtime the SDK ships an adapter for.
pub fn normalise(name: &str) -> Option<&'static str> {
    match name.trim().to_ascii_lowercase().as_str() {
        "tokio" => Some("tokio"),
        "smol" => Some("smol"),
        "async-std" | "async_std" | "asyncstd" => Some("async-std"),
        _ => None,
    }
}

/// The one selection logic: the runtime to use here, among `adapters` (in preference order).
///
/// 1. `explicit`, a runtime the caller handed over (a builder's `runtime(…)`);
/// 2. the runtime marked on this thread by [`scope`], an adapter's `block_on` or a spawned task;
/// 3. the first adapter whose `try_current` answers (inside tokio, inside an async-std task);
/// 4. the adapter [`RUNTIME_ENV`] names, as its owned runtime;
/// 5. the first adapter whose owned runtime needs no context (smol, async-std), or else an
///    error that says what to do.
pub fn choose(
    adapters: &[Adapter],
    explicit: Option<SharedRuntime>,
) -> Result<SharedRuntime, NoRuntime> {
    if let Some(runtime) = explicit {
        return Ok(runtime);
    }
    if let Some(runtime) = runtime_in_context(adapters) {
        return Ok(runtime);
    }
    if let Some(adapter) = adapter_from_env(adapters)? {
        return (adapter.owned)().map_err(|e| NoRuntime(format!("starting {}: {e}", adapter.name)));
    }
    // tokio is not a fallback outside its runtime: a process-wide tokio runtime the user did
    // not ask for would surprise; smol's and async-std's executors are global anyway.
    if let Some(adapter) = adapters.iter().find(|adapter| adapter.name != "tokio") {
        return (adapter.owned)().map_err(|e| NoRuntime(format!("starting {}: {e}", adapter.name)));
    }
    Err(NoRuntime(
        if adapters.iter().any(|adapter| adapter.name == "tokio") {
            "no async runtime available: called outside a tokio runtime; call it inside one \
         (e.g. in #[tokio::main] or claude_kit::rt::block_on), set CLAUDE_KIT_RUNTIME=tokio, \
         enable the `runtime-smol` or `runtime-async-std` feature, or pass one with \
         ClientBuilder::runtime"
                .to_owned()
        } else {
            NO_RUNTIME_FEATURE.to_owned()
        },
    ))
}

/// The adapter a blocking entry point runs on: the one [`RUNTIME_ENV`] names, else the first.
pub fn preferred(adapters: &[Adapter]) -> Result<&Adapter, NoRuntime> {
    if let Some(adapter) = adapter_from_env(adapters)? {
        return Ok(adapter);
    }
    adapters
        .first()
        .ok_or_else(|| NoRuntime(NO_RUNTIME_FEATURE.to_owned()))
}

/// What [`choose`] says when no adapter is compiled in.
pub const NO_RUNTIME_FEATURE: &str = "no async runtime feature is enabled: enable one of the \
     claude-kit features `runtime-tokio`, `runtime-smol` or `runtime-async-std`, or pass a \
     runtime with ClientBuilder::runtime";

/// Runs `future` with `runtime` as the current runtime (see [`choose`], step 2), wherever it
/// is polled: how code on an executor of your own makes runtime-implicit helpers use it.
pub fn scope<F: Future>(runtime: SharedRuntime, future: F) -> Scoped<F> {
    ThreadContext::Async(Some(runtime)).scope(future)
}

/// What the current thread is doing, as far as the code that drives it said so.
///
/// Executors' `block_on` helpers in the adapters, `claude_kit::rt::block_on` and the tasks
/// of `claude_kit::rt::spawn` mark the thread [`Async`](Self::Async) while they poll a
/// future; [`spawn_blocking`](crate::spawn_blocking) marks it [`Blocking`](Self::Blocking)
/// while a closure runs. Two things read it:
///
/// - the runtime-implicit helpers of `claude_kit::rt` (`sleep`, `spawn`, …) use the
///   runtime of the innermost `Async` mark;
/// - synchronous APIs (`claude_kit::blocking`) refuse to block a thread that polls async
///   code (the deadlock behind Python's "event loop is already running"), and know that a
///   `Blocking` thread may block although a runtime context is present there.
///
/// Marks nest: [`enter`](Self::enter) returns a guard that restores the previous mark.
///
/// ```
/// use claude_kit_rt::context::ThreadContext;
///
/// assert!(ThreadContext::current().is_none());
/// let marked = ThreadContext::Async(None).scope(async { ThreadContext::current() });
/// let inside = futures::executor::block_on(marked);
/// assert!(matches!(inside, Some(ThreadContext::Async(None))));
/// assert!(ThreadContext::current().is_none());
/// ```
#[derive(Debug, Clone)]
pub enum ThreadContext {
    /// The thread is polling async code, on this runtime when it is known.
    Async(Option<SharedRuntime>),
    /// The thread runs a blocking closure of [`spawn_blocking`](crate::spawn_blocking): it may
    /// block.
    Blocking,
}

thread_local! {
    static CONTEXT: RefCell<Option<ThreadContext>> = const { RefCell::new(None) };
}

impl ThreadContext {
    /// The innermost mark on this thread, or `None` when nothing marked it.
    pub fn current() -> Option<ThreadContext> {
        CONTEXT.with(|context| context.borrow().clone())
    }

    /// Marks this thread until the guard is dropped, which restores the previous mark.
    ///
    /// ```
    /// use claude_kit_rt::context::ThreadContext;
    ///
    /// let guard = ThreadContext::Blocking.enter();
    /// assert!(matches!(ThreadContext::current(), Some(ThreadContext::Blocking)));
    /// drop(guard);
    /// assert!(ThreadContext::current().is_none());
    /// ```
    pub fn enter(self) -> ContextGuard {
        let previous = CONTEXT.with(|context| context.replace(Some(self)));
        ContextGuard {
            previous,
            _not_send: std::marker::PhantomData,
        }
    }

    /// `future`, with this mark on the thread during each of its polls (wherever it is
    /// polled), and the previous mark restored in between.
    ///
    /// ```
    /// use claude_kit_rt::context::ThreadContext;
    ///
    /// let future = ThreadContext::Blocking.scope(async { ThreadContext::current() });
    /// let seen = futures::executor::block_on(future);
    /// assert!(matches!(seen, Some(ThreadContext::Blocking)));
    /// ```
    pub fn scope<F: Future>(self, future: F) -> Scoped<F> {
        Scoped {
            context: self,
            future,
        }
    }
}

/// Restores the previous [`ThreadContext`] when dropped; see [`ThreadContext::enter`].
#[must_use = "the mark is removed when the guard is dropped"]
#[derive(Debug)]
pub struct ContextGuard {
    previous: Option<ThreadContext>,
    /// The guard restores a thread-local: it must be dropped on the thread it was made on.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: a guard dropped during thread teardown has nothing left to restore.
        let _ = CONTEXT.try_with(|context| context.replace(previous));
    }
}

pin_project_lite::pin_project! {
    /// A future polled under a [`ThreadContext`] mark; see [`ThreadContext::scope`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Scoped<F> {
        context: ThreadContext,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _mark = this.context.clone().enter();
        this.future.poll(cx)
    }
}
