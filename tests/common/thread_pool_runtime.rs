//! A `Runtime` of our own: the `futures` crate's thread pool for tasks, `async-io` for timers
//! and sockets. The proof that library users can bring any executor: everything the SDK needs
//! fits in the few lines below, and every integration test also runs on it.

use std::future::Future;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use claude_kit::rt::{AsyncIo, BoxFuture, Runtime, Sleep, TcpConnect};
use futures::executor::ThreadPool;

/// Tasks on a `futures::executor::ThreadPool`, timers and TCP from `async-io`.
#[derive(Debug, Clone)]
pub struct ThreadPoolRuntime {
    pool: ThreadPool,
}

impl ThreadPoolRuntime {
    pub fn new() -> Self {
        let pool = ThreadPool::builder()
            .pool_size(2)
            .name_prefix("test-pool-")
            .create()
            .expect("thread pool");
        Self { pool }
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
        Box::pin(TimerSleep(async_io::Timer::at(deadline)))
    }

    fn tcp(&self) -> Option<&dyn TcpConnect> {
        Some(self)
    }
}

impl TcpConnect for ThreadPoolRuntime {
    fn connect_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'static, std::io::Result<Box<dyn AsyncIo>>> {
        let host = host.to_owned();
        Box::pin(async move {
            let stream = async_net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as Box<dyn AsyncIo>)
        })
    }
}

struct TimerSleep(async_io::Timer);

impl Future for TimerSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_instant| ())
    }
}

impl Sleep for TimerSleep {
    fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
        self.0.set_at(deadline);
    }
}
