//! Timers, TCP and processes on the [`async-io`](https://docs.rs/async-io) reactor, for every
//! executor built on it (feature `async-io`).
//!
//! smol and async-std run on async-io, and so can an executor of your own (any executor works:
//! async-io drives its reactor from its own thread when nobody else does). Their adapters are
//! then only a task spawner plus these pieces:
//!
//! - [`sleep_until`] ([`AsyncIoSleep`]): timers on [`async_io::Timer`];
//! - [`AsyncIoReactor`]: [`TcpConnect`] on [`async_net::TcpStream`] and [`SpawnProcess`] on
//!   [`async_process`], for [`Runtime::tcp`](crate::Runtime::tcp) and
//!   [`Runtime::process`](crate::Runtime::process).
//!
//! ```
//! use std::{pin::Pin, time::Instant};
//! use claude_kit_rt::async_io::{self, AsyncIoReactor};
//! use claude_kit_rt::{BoxFuture, Runtime, Sleep, SpawnProcess, TcpConnect};
//!
//! /// Every task on a thread of its own, the rest on async-io: a complete runtime.
//! #[derive(Debug)]
//! struct ThreadPerTask;
//!
//! impl Runtime for ThreadPerTask {
//!     fn name(&self) -> &'static str { "thread-per-task" }
//!     fn spawn(&self, task: BoxFuture<'static, ()>) {
//!         std::thread::spawn(move || futures::executor::block_on(task));
//!     }
//!     fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
//!         async_io::sleep_until(deadline)
//!     }
//!     fn tcp(&self) -> Option<&dyn TcpConnect> { Some(&AsyncIoReactor) }
//!     fn process(&self) -> Option<&dyn SpawnProcess> { Some(&AsyncIoReactor) }
//! }
//!
//! let runtime = ThreadPerTask;
//! let answer = futures::executor::block_on(claude_kit_rt::spawn(&runtime, async { 6 * 7 }));
//! assert_eq!(answer, 42);
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::{Command, ExitStatus, Stdio};
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::Timer;
use futures_io::{AsyncRead, AsyncWrite};

use crate::{AsyncIo, BoxFuture, ChildProcess, Sleep, SpawnProcess, TcpConnect};

/// A [`Sleep`] backed by an [`async_io::Timer`].
///
/// Polled after it has completed, it stays pending until [`reset`](Sleep::reset) gives it a
/// new deadline.
///
/// ```
/// use std::time::{Duration, Instant};
/// use claude_kit_rt::async_io::AsyncIoSleep;
///
/// futures::executor::block_on(AsyncIoSleep::at(Instant::now() + Duration::from_millis(1)));
/// ```
#[derive(Debug)]
pub struct AsyncIoSleep(Timer);

impl AsyncIoSleep {
    /// A timer that completes at `deadline`.
    pub fn at(deadline: Instant) -> Self {
        Self(Timer::at(deadline))
    }
}

impl Future for AsyncIoSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx).map(drop)
    }
}

impl Sleep for AsyncIoSleep {
    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.get_mut().0.set_at(deadline);
    }
}

/// A boxed [`AsyncIoSleep`]: the body of [`Runtime::sleep_until`](crate::Runtime::sleep_until)
/// for async-io executors.
pub fn sleep_until(deadline: Instant) -> Pin<Box<dyn Sleep>> {
    Box::pin(AsyncIoSleep::at(deadline))
}

/// The TCP and process capabilities of the async-io reactor, as one value: an adapter's
/// `tcp()` and `process()` both return `Some(&AsyncIoReactor)`.
///
/// - [`TcpConnect`]: [`async_net::TcpStream`], `TCP_NODELAY` set. Name resolution runs on the
///   `blocking` thread pool; each resolved address is tried in turn and the last error is
///   returned if none accepts.
/// - [`SpawnProcess`]: [`async_process::Command`] with stdin, stdout and stderr piped and
///   `kill_on_drop(true)`; async-process reaps dropped children on its own thread.
///
/// ```
/// use std::io::Read;
/// use futures::AsyncWriteExt;
/// use claude_kit_rt::{TcpConnect, async_io::AsyncIoReactor};
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?; // a server to talk to
/// let port = listener.local_addr()?.port();
/// futures::executor::block_on(async {
///     let mut stream = AsyncIoReactor.connect_tcp("127.0.0.1", port).await?;
///     stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
///     Ok::<_, std::io::Error>(())
/// })?;
/// let mut request = String::new();
/// listener.accept()?.0.read_to_string(&mut request)?;
/// assert_eq!(request, "GET / HTTP/1.0\r\n\r\n");
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncIoReactor;

impl TcpConnect for AsyncIoReactor {
    fn connect_tcp(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'static, io::Result<Box<dyn AsyncIo>>> {
        let host = host.to_owned();
        Box::pin(async move {
            let stream = async_net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as Box<dyn AsyncIo>)
        })
    }
}

impl SpawnProcess for AsyncIoReactor {
    fn spawn(&self, command: Command) -> io::Result<Box<dyn ChildProcess>> {
        let mut command = async_process::Command::from(command);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = command.spawn()?;
        Ok(Box::new(AsyncProcessChild {
            child,
            reaped: false,
        }))
    }
}

/// An [`async_process::Child`] as a [`ChildProcess`].
#[derive(Debug)]
struct AsyncProcessChild {
    child: async_process::Child,
    /// Whether the status is known: the OS may then give the id to another process.
    reaped: bool,
}

impl AsyncProcessChild {
    fn exited(&mut self, status: io::Result<ExitStatus>) -> io::Result<ExitStatus> {
        self.reaped |= status.is_ok();
        status
    }
}

impl ChildProcess for AsyncProcessChild {
    fn id(&self) -> Option<u32> {
        (!self.reaped).then(|| self.child.id())
    }

    fn take_stdin(&mut self) -> Option<Box<dyn AsyncWrite + Send + Unpin>> {
        Some(Box::new(self.child.stdin.take()?))
    }

    fn take_stdout(&mut self) -> Option<Box<dyn AsyncRead + Send + Unpin>> {
        Some(Box::new(self.child.stdout.take()?))
    }

    fn take_stderr(&mut self) -> Option<Box<dyn AsyncRead + Send + Unpin>> {
        Some(Box::new(self.child.stderr.take()?))
    }

    fn kill(&mut self) -> io::Result<()> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        self.child.kill()
    }

    fn wait(&mut self) -> BoxFuture<'_, io::Result<ExitStatus>> {
        // `status()` closes an untaken stdin, and holds a handle of its own on the child:
        // dropping it mid-way loses nothing.
        let status = self.child.status();
        Box::pin(async move {
            let status = status.await;
            self.exited(status)
        })
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match self.child.try_status()? {
            Some(status) => self.exited(Ok(status)).map(Some),
            None => Ok(None),
        }
    }
}
