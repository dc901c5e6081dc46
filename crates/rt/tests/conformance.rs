//! The conformance kit on the smallest runtime there is: a thread per task, `async-io` for the
//! rest, and the trait's default `spawn_blocking` (a thread per call).
#![cfg(all(feature = "testkit", feature = "async-io"))]

use std::pin::Pin;
use std::time::Instant;

use claude_kit_rt::async_io::{self, AsyncIoReactor};
use claude_kit_rt::{BoxFuture, Runtime, Sleep, SpawnProcess, TcpConnect};

#[derive(Debug)]
struct ThreadPerTask;

impl Runtime for ThreadPerTask {
    fn name(&self) -> &'static str {
        "thread-per-task"
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        std::thread::spawn(move || futures::executor::block_on(task));
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

claude_kit_rt::conformance_tests! {
    runtime = || ThreadPerTask,
    block_on = futures::executor::block_on,
}
