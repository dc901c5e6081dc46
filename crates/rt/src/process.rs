//! The process capability: [`SpawnProcess`] starts a child with piped standard streams,
//! [`ChildProcess`] is the running child.
//!
//! The Claude Code backend drives the CLI through it: it writes JSON lines to the child's
//! stdin, reads its stdout and stderr, and ends it with stdin closed, then
//! [`terminate`](ChildProcess::terminate), then [`kill`](ChildProcess::kill). A child is never
//! left behind: dropping a [`ChildProcess`] kills it.

use std::fmt;
use std::io;
use std::process::{Command, ExitStatus};

use futures_io::{AsyncRead, AsyncWrite};

use crate::BoxFuture;

/// The process capability of a [`Runtime`](crate::Runtime): start a child process whose
/// standard streams the caller reads and writes asynchronously.
///
/// A runtime offers it through [`Runtime::process`](crate::Runtime::process). You implement it
/// to run the CLI elsewhere (in a container, over ssh) or to record what the SDK would run.
///
/// Implementations must
///
/// - pipe stdin, stdout and stderr, whatever `command` says about them (the caller takes them
///   with [`ChildProcess::take_stdin`] and friends);
/// - kill the child when its [`ChildProcess`] is dropped, and reap it without blocking the
///   thread that drops it (no zombie is left, no caller waits).
///
/// [`spawn`](Self::spawn) is synchronous (starting a process does not wait for it), so this
/// trait has no future of its own; [`ChildProcess::wait`] is the hand-written boxed future,
/// borrowing the child it waits for, so that the trait stays dyn-compatible.
///
/// ```
/// # #[cfg(unix)] {
/// use std::process::Command;
/// use claude_kit_rt::{ChildProcess, SpawnProcess};
///
/// /// How a caller uses the capability, whatever the runtime.
/// async fn shout(processes: &dyn SpawnProcess) -> std::io::Result<String> {
///     use futures::{AsyncReadExt, AsyncWriteExt};
///
///     let mut command = Command::new("tr");
///     command.args(["a-z", "A-Z"]);
///     let mut child = processes.spawn(command)?;
///     let mut stdin = child.take_stdin().expect("piped");
///     stdin.write_all(b"hello").await?;
///     drop(stdin); // EOF: `tr` ends
///     let mut out = String::new();
///     child.take_stdout().expect("piped").read_to_string(&mut out).await?;
///     assert!(child.wait().await?.success());
///     Ok(out)
/// }
/// # #[cfg(feature = "async-io")] {
/// let shouted = futures::executor::block_on(shout(&claude_kit_rt::async_io::AsyncIoReactor));
/// assert_eq!(shouted.unwrap(), "HELLO");
/// # }
/// # let _ = shout;
/// # }
/// ```
pub trait SpawnProcess: Send + Sync {
    /// Starts `command` with its stdin, stdout and stderr piped (overriding whatever the
    /// command had), to be killed when the returned child is dropped.
    ///
    /// # Errors
    /// When the program cannot be started (not found, not executable, out of resources): a
    /// missing program is an error here, not an exit status later.
    fn spawn(&self, command: Command) -> io::Result<Box<dyn ChildProcess>>;
}

/// A child process started by [`SpawnProcess::spawn`]. Dropping it kills the child.
///
/// It is `Sync` as well as `Send` so that the structs that own one (a CLI session shared
/// between the tasks that read and write it) are `Sync` without a lock of their own; the
/// implementations in this workspace keep their pipes and OS handles, all `Sync`, by value.
///
/// The streams are taken once each: the first `take_*` call returns the pipe, later ones `None`.
pub trait ChildProcess: Send + Sync + fmt::Debug {
    /// The OS process id, or `None` once the implementation knows the child has been reaped
    /// (after [`wait`](Self::wait) or [`try_wait`](Self::try_wait) returned its status), when
    /// the id may already belong to another process.
    fn id(&self) -> Option<u32>;

    /// The writing end of the child's stdin; dropping it closes the pipe (the child reads EOF).
    fn take_stdin(&mut self) -> Option<Box<dyn AsyncWrite + Send + Unpin>>;

    /// The reading end of the child's stdout.
    fn take_stdout(&mut self) -> Option<Box<dyn AsyncRead + Send + Unpin>>;

    /// The reading end of the child's stderr.
    fn take_stderr(&mut self) -> Option<Box<dyn AsyncRead + Send + Unpin>>;

    /// Kills the child at once (`SIGKILL` on unix). A child that has already exited is not an
    /// error: `Ok(())`. Call [`wait`](Self::wait) to learn when it is gone.
    fn kill(&mut self) -> io::Result<()>;

    /// Asks the child to end (`SIGTERM` on unix, so it may clean up; elsewhere the same as
    /// [`kill`](Self::kill)). A child that has already exited is not an error: `Ok(())`.
    ///
    /// The default sends the signal to [`id`](Self::id) after [`try_wait`](Self::try_wait)
    /// found the child still running, so that it never reaches a reaped child's recycled id.
    fn terminate(&mut self) -> io::Result<()> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        #[cfg(unix)]
        {
            self.id().map_or(Ok(()), sigterm)
        }
        #[cfg(not(unix))]
        {
            self.kill()
        }
    }

    /// Waits until the child has exited and returns its status. A child whose stdin was not
    /// taken gets it closed first, so one that reads stdin to its end cannot hang the wait.
    ///
    /// Cancel-safe: dropping the future and calling `wait` again loses nothing.
    fn wait(&mut self) -> BoxFuture<'_, io::Result<ExitStatus>>;

    /// The exit status if the child has exited, without waiting: `Ok(None)` while it runs.
    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>>;
}

/// `kill(pid, SIGTERM)`, through rustix: no `unsafe` and no libc here.
#[cfg(unix)]
fn sigterm(pid: u32) -> io::Result<()> {
    use rustix::process::{Pid, Signal, kill_process};

    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("no process id: {pid}"))
        })?;
    Ok(kill_process(pid, Signal::TERM)?)
}
