//! A `Runtime` of our own: the `futures` crate's thread pool for tasks, `async-io` for timers,
//! sockets and processes. The proof that library users can bring any executor: everything the
//! SDK needs fits in the few lines below, and every integration test also runs on it.

use std::pin::Pin;
use std::time::Instant;

use claude_kit_rt::async_io::{self, AsyncIoReactor};
use claude_kit_rt::{BoxFuture, Runtime, Sleep, SpawnProcess, TcpConnect};
use futures::executor::ThreadPool;

/// Tasks on a `futures::executor::ThreadPool` of two threads; timers, TCP and processes from
/// `async-io` (through `claude_kit_rt::async_io`); blocking closures on the trait's default,
/// a thread each.
///
/// ```
/// use claude_kit_rt::Runtime;
/// use claude_kit_testkit::ThreadPoolRuntime;
///
/// let runtime = ThreadPoolRuntime::new();
/// let answer = futures::executor::block_on(claude_kit_rt::spawn(&runtime, async { 6 * 7 }));
/// assert_eq!(answer, 42);
/// assert!(runtime.tcp().is_some() && runtime.process().is_some());
/// ```
#[derive(Debug, Clone)]
pub struct ThreadPoolRuntime {
    pool: ThreadPool,
}

impl ThreadPoolRuntime {
    /// A new pool of two threads named `test-pool-N`.
    ///
    /// # Panics
    /// When the OS refuses the threads.
    pub fn new() -> Self {
        let pool = ThreadPool::builder()
            .pool_size(2)
            .name_prefix("test-pool-")
            .create()
            .expect("thread pool");
        Self { pool }
    }
}

impl Default for ThreadPoolRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime for ThreadPoolRuntime {
    fn name(&self) -> &'static str {
        "futures-thread-pool"
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.pool.spawn_ok(task);
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        async_io::sleep_until(deadline)
    }

    fn tcp(&self) -> Option<&dyn TcpConnect> {
        Some(&AsyncIoReactor)
    }

    fn process(&self) -> Option<&dyn SpawnProcess> {
        Some(&AsyncIoReactor)
    }
}
