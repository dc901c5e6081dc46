//! The supervisor task: owns the child, records its exit, and ends it on request (stdin
//! closed, `SIGTERM`, `SIGKILL`, each wait bounded).

use std::pin::pin;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use claude_kit_core::Result;
use claude_kit_rt::{self as rt, ChildProcess};
use futures_util::AsyncWriteExt;
use futures_util::future::{Either, select};

use super::shared::{Shared, lock};

/// Each step of the shutdown escalation waits at most this long (the official SDK's 5 s).
pub(crate) const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Owns the child: records its exit, or ends it on request.
pub(super) async fn supervise(
    mut child: Box<dyn ChildProcess>,
    shared: Arc<Shared>,
    shutdown: async_channel::Receiver<()>,
    grace: Duration,
) {
    let status = {
        let wait = child.wait();
        let stop = pin!(shutdown.recv());
        match select(wait, stop).await {
            Either::Left((status, _)) => Some(status),
            Either::Right(_) => None,
        }
    };
    let status = match status {
        Some(status) => status.ok(),
        None => escalate(&mut *child, &shared, grace).await,
    };
    *lock(&shared.exit) = Some(status.and_then(|s| s.code()));
    shared.exited.raise();
}

/// Closes stdin, waits; `SIGTERM`, waits; `SIGKILL`, waits: each wait at most `grace`.
pub(super) async fn escalate(
    child: &mut dyn ChildProcess,
    shared: &Shared,
    grace: Duration,
) -> Option<ExitStatus> {
    let runtime = &*shared.runtime;
    if let Ok(mut stdin) = rt::timeout(runtime, grace, shared.stdin.lock()).await
        && let Some(mut pipe) = stdin.take()
    {
        let _ = rt::timeout(runtime, grace, pipe.close()).await;
    }
    if let Ok(status) = rt::timeout(runtime, grace, child.wait()).await {
        return status.ok();
    }
    let _ = child.terminate();
    if let Ok(status) = rt::timeout(runtime, grace, child.wait()).await {
        return status.ok();
    }
    let _ = child.kill();
    rt::timeout(runtime, grace, child.wait())
        .await
        .ok()
        .and_then(Result::ok)
}
