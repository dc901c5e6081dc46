//! The process checks: unix only (they run `sh`, `cat`, `sleep` and `kill`).

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::future;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

use crate::context::SharedRuntime;
use crate::{ChildProcess, Runtime, SpawnProcess};

/// How often [`process_kill_on_drop`] looks for the dropped child, 10 ms apart.
const GONE_POLLS: u32 = 3000;

fn processes(rt: &dyn Runtime) -> &dyn SpawnProcess {
    rt.process()
        .unwrap_or_else(|| panic!("the {} runtime has no process capability", rt.name()))
}

pub(super) fn sh(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.arg("-c").arg(script);
    command
}

fn sleeper(rt: &dyn Runtime) -> Box<dyn ChildProcess> {
    let mut command = Command::new("sleep");
    command.arg("1000");
    processes(rt).spawn(command).expect("spawning sleep")
}

async fn read_all(reader: Option<Box<dyn futures_io::AsyncRead + Send + Unpin>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut reader = reader.expect("the stream is piped");
    reader.read_to_end(&mut out).await.expect("reading a pipe");
    out
}

/// Whether a process `pid` exists (a zombie counts: it is not reaped yet).
fn exists(pid: u32) -> bool {
    sh(&format!("kill -0 {pid} 2>/dev/null"))
        .status()
        .expect("running sh")
        .success()
}

/// Stdin, stdout and stderr are piped: what is written comes back (more than a pipe
/// buffer of it, written and read at once), stderr is apart, the exit code is reported.
pub async fn process_pipes(rt: SharedRuntime) {
    let mut child = processes(&*rt)
        .spawn(sh("cat; echo oops >&2; exit 3"))
        .expect("spawning sh");
    assert!(child.id().is_some());
    let mut stdin = child.take_stdin().expect("stdin is piped");
    let (stdout, stderr) = (child.take_stdout(), child.take_stderr());
    assert!(child.take_stdin().is_none() && child.take_stdout().is_none());
    let sent: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    let write = async {
        stdin.write_all(&sent).await.expect("writing stdin");
        stdin.close().await.expect("flushing stdin");
        drop(stdin);
    };
    let ((), echoed, errors) = future::join3(write, read_all(stdout), read_all(stderr)).await;
    assert!(echoed == sent, "stdout is not what stdin got");
    assert_eq!(String::from_utf8_lossy(&errors), "oops\n");
    assert_eq!(child.wait().await.expect("waiting").code(), Some(3));
}

/// The streams are piped whatever the command said about them.
pub async fn process_stdio_overridden(rt: SharedRuntime) {
    let mut command = sh("read line; echo \"$line\"; echo err >&2");
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let mut child = processes(&*rt).spawn(command).expect("spawning sh");
    let mut stdin = child.take_stdin().expect("stdin is piped");
    stdin.write_all(b"in\n").await.expect("writing stdin");
    drop(stdin);
    assert_eq!(read_all(child.take_stdout()).await, b"in\n");
    assert_eq!(read_all(child.take_stderr()).await, b"err\n");
    assert!(child.wait().await.expect("waiting").success());
}

/// Exit codes, a repeated `wait`, `try_wait` after the exit, and `kill`/`terminate` of an
/// exited child (no-ops).
pub async fn process_exit_status(rt: SharedRuntime) {
    let mut ok = processes(&*rt).spawn(sh("true")).expect("spawning sh");
    assert!(ok.wait().await.expect("waiting").success());
    let mut child = processes(&*rt).spawn(sh("exit 7")).expect("spawning sh");
    let status = child.wait().await.expect("waiting");
    assert_eq!((status.success(), status.code()), (false, Some(7)));
    assert_eq!(child.wait().await.expect("waiting again").code(), Some(7));
    let again = child.try_wait().expect("try_wait").map(|s| s.code());
    assert_eq!(again, Some(Some(7)));
    child.kill().expect("kill after the exit");
    child.terminate().expect("terminate after the exit");
}

/// `kill` ends a child that would run for a long time; `wait` reports SIGKILL.
pub async fn process_kill(rt: SharedRuntime) {
    let mut child = sleeper(&*rt);
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "sleep 1000 ended"
    );
    child.kill().expect("kill");
    let status = child.wait().await.expect("waiting");
    assert_eq!(status.signal(), Some(9), "{status}");
    child.kill().expect("kill again");
}

/// `terminate` sends SIGTERM; `wait` reports it.
pub async fn process_terminate(rt: SharedRuntime) {
    let mut child = sleeper(&*rt);
    child.terminate().expect("terminate");
    let status = child.wait().await.expect("waiting");
    assert_eq!(status.signal(), Some(15), "{status}");
}

/// Dropping a child kills it, and it is reaped: its pid is gone.
pub async fn process_kill_on_drop(rt: SharedRuntime) {
    let child = sleeper(&*rt);
    let pid = child.id().expect("a running child has an id");
    assert!(exists(pid));
    drop(child);
    for _ in 0..GONE_POLLS {
        if !exists(pid) {
            return;
        }
        crate::sleep(&*rt, Duration::from_millis(10)).await;
    }
    panic!("process {pid} still exists after its ChildProcess was dropped");
}

/// A program that does not exist fails `spawn` with `NotFound`.
pub async fn process_missing_program_fails(rt: SharedRuntime) {
    let command = Command::new("/nonexistent/claude-kit-no-such-program");
    match processes(&*rt).spawn(command) {
        Ok(child) => panic!("spawned a missing program: {child:?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}"),
    }
}
