//! Which runtime a session runs on when its options name none: the one selection logic of
//! `claude_kit_rt::context::choose`, over the adapters this crate's `runtime-*` features
//! compile in.

use claude_kit_core::{Error, Result};
use claude_kit_rt::SharedRuntime;
use claude_kit_rt::context::{self, Adapter};

/// The adapters this build compiles in, in order of preference.
const ADAPTERS: &[Adapter] = &[
    #[cfg(feature = "runtime-tokio")]
    claude_kit_tokio::ADAPTER,
    #[cfg(feature = "runtime-smol")]
    claude_kit_smol::ADAPTER,
    #[cfg(feature = "runtime-async-std")]
    claude_kit_async_std::ADAPTER,
];

/// `explicit`, or the runtime the caller is in, or the one to use here; an [`Error::Config`]
/// that says what to do when there is none.
pub(crate) fn choose(explicit: Option<SharedRuntime>) -> Result<SharedRuntime> {
    context::choose(ADAPTERS, explicit).map_err(|e| Error::config(e.to_string()))
}
