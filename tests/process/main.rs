//! The facade's tests that need the whole process: a counting global allocator (`memory`),
//! environment variables (`query_from_env`, `rt_env`), runtime detection outside any
//! runtime (`runtime_detection`) and the count of child processes left (`orphans`). Every
//! test holds [`exclusive`] while it runs, so no two run
//! at once: no allocation of another test is measured, and no test sees another's
//! environment (each removes what it set, see [`EnvGuard`]).

#[path = "../common/mod.rs"]
mod common;

mod memory;
#[cfg(feature = "backend-code")]
mod orphans;
mod query_from_env;
mod rt_env;
mod runtime_detection;
#[cfg(all(feature = "tracing", feature = "backend-api"))]
mod tracing;

use std::sync::{Mutex, MutexGuard, PoisonError};

static PROCESS: Mutex<()> = Mutex::new(());

/// The process, for one test at a time. A failed test poisons nothing for the next.
pub fn exclusive() -> MutexGuard<'static, ()> {
    PROCESS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes these environment variables when dropped (also when the test panics), so the next
/// test starts from the environment the binary started with.
pub struct EnvGuard(pub &'static [&'static str]);

impl Drop for EnvGuard {
    fn drop(&mut self) {
        for name in self.0 {
            // SAFETY: the test holding this guard also holds `exclusive()`: no other test
            // runs, and the threads left (mock servers, runtime workers) never read the
            // environment.
            unsafe { std::env::remove_var(name) };
        }
    }
}
