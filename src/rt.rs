//! Runtime selection and runtime-agnostic helpers.
//!
//! The client needs a [`Runtime`]: which one is chosen by cargo features (`runtime-tokio`, the
//! default; `runtime-smol`; `runtime-async-std`) and, at run time, by where the client is built:
//! see [`default_runtime`]. `ClientBuilder::runtime` always overrides.

use std::future::Future;
use std::sync::Arc;

pub use claude_agent_core::rt::{
    AsyncIo, BoxFuture, Elapsed, JoinHandle, Runtime, Sleep, saturating_deadline, sleep, spawn,
    timeout, timeout_at,
};

#[cfg(feature = "runtime-async-std")]
pub use claude_agent_async_std::AsyncStdRuntime;
#[cfg(feature = "runtime-smol")]
pub use claude_agent_smol::SmolRuntime;
#[cfg(feature = "runtime-tokio")]
pub use claude_agent_tokio::TokioRuntime;

use crate::Error;

/// The runtime a client built here and now should use.
///
/// In order: tokio when called inside a tokio runtime (feature `runtime-tokio`); async-std when
/// called inside an async-std task (feature `runtime-async-std`); smol's global executor
/// (feature `runtime-smol`); async-std (feature `runtime-async-std`). With no runtime feature,
/// or only `runtime-tokio` outside a tokio runtime, this is an [`Error::Config`] that says what
/// to do, never a panic.
pub fn default_runtime() -> Result<Arc<dyn Runtime>, Error> {
    #[cfg(feature = "runtime-tokio")]
    if let Some(runtime) = claude_agent_tokio::TokioRuntime::try_current() {
        return Ok(Arc::new(runtime));
    }
    #[cfg(feature = "runtime-async-std")]
    if let Some(runtime) = claude_agent_async_std::AsyncStdRuntime::try_current() {
        return Ok(Arc::new(runtime));
    }
    #[cfg(feature = "runtime-smol")]
    return Ok(Arc::new(claude_agent_smol::SmolRuntime::new()));
    #[cfg(all(feature = "runtime-async-std", not(feature = "runtime-smol")))]
    return Ok(Arc::new(claude_agent_async_std::AsyncStdRuntime::new()));
    #[allow(unreachable_code)]
    Err(Error::config(if cfg!(feature = "runtime-tokio") {
        "no async runtime available: the client was built outside a tokio runtime; build it \
         inside one (e.g. in #[tokio::main]), enable the `runtime-smol` or `runtime-async-std` \
         feature, or pass one with ClientBuilder::runtime"
    } else {
        "no async runtime feature is enabled: enable one of the claude-agent features \
         `runtime-tokio`, `runtime-smol` or `runtime-async-std`, or pass a runtime with \
         ClientBuilder::runtime"
    }))
}

/// Runs a future to completion on the runtime chosen by the enabled features, blocking the
/// current thread: `asyncio.run` for Rust. Examples use it so that they never name a runtime.
///
/// With `runtime-tokio` (checked first) a multi-threaded tokio runtime is built for the call;
/// with `runtime-smol` it is `smol::block_on`; with `runtime-async-std`,
/// `async_std::task::block_on`. Without a runtime feature the future is polled by a minimal
/// executor on this thread, which works for futures that need no runtime.
///
/// # Panics
/// Panics if called from inside a tokio runtime (tokio forbids nested `block_on`); use
/// `.await` there.
pub fn block_on<F: Future>(future: F) -> F::Output {
    #[cfg(feature = "runtime-tokio")]
    return claude_agent_tokio::block_on(future);
    #[cfg(all(feature = "runtime-smol", not(feature = "runtime-tokio")))]
    return claude_agent_smol::block_on(future);
    #[cfg(all(
        feature = "runtime-async-std",
        not(any(feature = "runtime-tokio", feature = "runtime-smol"))
    ))]
    return claude_agent_async_std::block_on(future);
    #[allow(unreachable_code)]
    futures_lite::future::block_on(future)
}
