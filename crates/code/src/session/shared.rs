//! What the session's tasks share: the control state and its waiters, stdin, the stderr tail,
//! the exit status, the run state; sending a control request and writing a line.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use claude_kit_core::code::control::{ControlAnswer, ControlChannel};
use claude_kit_core::redact::Secrets;
use claude_kit_core::{Error, Result};
use claude_kit_rt::{self as rt, JoinHandle, SharedRuntime};
use futures_channel::oneshot;
use futures_io::AsyncWrite;
use futures_util::AsyncWriteExt;
use serde_json::Value;

/// How long the reader waits, after stdout ended, for the exit status and stderr's end.
pub(super) const EXIT_WAIT: Duration = Duration::from_secs(5);

/// What the reader and handlers share with the session.
pub(super) struct Shared {
    pub(super) cli: PathBuf,
    pub(super) runtime: SharedRuntime,
    pub(super) secrets: Secrets,
    pub(super) control: Mutex<Control>,
    pub(super) stdin: async_lock::Mutex<Option<Box<dyn AsyncWrite + Send + Unpin>>>,
    pub(super) stderr_tail: Mutex<VecDeque<String>>,
    pub(super) stderr_done: Flag,
    pub(super) exit: Mutex<Option<Option<i32>>>,
    pub(super) exited: Flag,
    pub(super) run: Mutex<RunState>,
    pub(super) run_changed: event_listener::Event,
    pub(super) trace: crate::trace::Trace,
}

/// The control protocol's state with the waiters and handlers it routes to.
pub(super) struct Control {
    pub(super) channel: ControlChannel,
    /// One answer each, sent once the control state is unlocked (so the woken caller does not
    /// find it still locked).
    pub(super) waiters: HashMap<String, oneshot::Sender<Result<ControlAnswer>>>,
    pub(super) handlers: HashMap<String, JoinHandle<()>>,
    /// Why the channel closed, for requests made later.
    pub(super) closed: Option<Error>,
}

/// What the stdin-closing rule needs to know about the run.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RunState {
    /// `result` frames seen.
    pub results: u64,
    /// `results` at the last `session_state_changed: idle`.
    pub idle_at: u64,
    /// Whether the CLI reports session state at all.
    pub reports_state: bool,
    /// Whether stdout has ended.
    pub ended: bool,
}

impl RunState {
    /// Whether the run of the `prompts`-th prompt is over: its result came, and, when the CLI
    /// reports session state, the `idle` after it.
    pub fn run_over(&self, prompts: u64) -> bool {
        self.ended || (self.results >= prompts && (!self.reports_state || self.idle_at >= prompts))
    }
}

/// A one-shot flag with waiters.
#[derive(Default)]
pub(super) struct Flag {
    pub(super) set: std::sync::atomic::AtomicBool,
    pub(super) event: event_listener::Event,
}

impl Flag {
    pub(super) fn raise(&self) {
        self.set.store(true, std::sync::atomic::Ordering::SeqCst);
        self.event.notify(usize::MAX);
    }

    pub(super) async fn wait(&self) {
        loop {
            if self.set.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            let listener = self.event.listen();
            if self.set.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            listener.await;
        }
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(super) fn stderr_tail(&self) -> String {
        let tail = lock(&self.stderr_tail);
        let text: Vec<&str> = tail.iter().map(String::as_str).collect();
        self.secrets.scrub(&text.join("\n")).into_owned()
    }

    /// Once stdout has ended (waiting for that, bounded), the error it ended with; else
    /// `fallback`.
    pub(super) async fn ended_error_or(&self, fallback: Error) -> Error {
        let ended = async {
            loop {
                let listener = self.run_changed.listen();
                if lock(&self.run).ended {
                    return;
                }
                listener.await;
            }
        };
        let _ = rt::timeout(&*self.runtime, EXIT_WAIT + Duration::from_secs(1), ended).await;
        lock(&self.control).closed.clone().unwrap_or(fallback)
    }

    /// The error every pending request fails with once stdout has ended.
    pub(super) fn ended_error(&self, exit_code: Option<i32>) -> Error {
        Error::Process {
            message: format!("the Claude Code CLI at {} exited", self.cli.display()),
            exit_code,
            stderr_tail: self.stderr_tail(),
        }
    }
}

pub(super) async fn request_on(
    shared: &Arc<Shared>,
    request: Value,
    timeout: Duration,
) -> Result<ControlAnswer> {
    let subtype = request
        .get("subtype")
        .and_then(Value::as_str)
        .unwrap_or("request")
        .to_owned();
    let (tx, rx) = oneshot::channel();
    let (id, line) = {
        let mut control = lock(&shared.control);
        if let Some(error) = &control.closed {
            return Err(error.clone());
        }
        let (id, line) = control.channel.request(request);
        control.waiters.insert(id.clone(), tx);
        (id, line)
    };
    // Stops waiting for the answer however this future ends (answered, timed out, dropped).
    struct Abandon<'a>(&'a Shared, String);
    impl Drop for Abandon<'_> {
        fn drop(&mut self) {
            let mut control = lock(&self.0.control);
            control.channel.abandon(&self.1);
            control.waiters.remove(&self.1);
        }
    }
    let _abandon = Abandon(shared, id);
    let exchange = async {
        write_line(shared, &line).await?;
        match rx.await {
            Ok(Err(Error::Control { message, code, .. })) => Err(Error::Control {
                subtype: subtype.clone(),
                message,
                code,
            }),
            Ok(result) => result,
            Err(_) => Err(lock(&shared.control)
                .closed
                .clone()
                .unwrap_or_else(|| shared.ended_error(None))),
        }
    };
    // Boxed: a caller that joins several requests keeps a small future.
    match rt::timeout(&*shared.runtime, timeout, Box::pin(exchange)).await {
        Ok(result) => result,
        Err(_) => Err(Error::Control {
            message: format!(
                "the Claude Code CLI at {} did not answer within {timeout:?}",
                shared.cli.display()
            ),
            subtype,
            code: Some("timeout".into()),
        }),
    }
}

pub(super) async fn write_line(shared: &Shared, line: &str) -> Result<()> {
    let mut stdin = shared.stdin.lock().await;
    let Some(pipe) = stdin.as_mut() else {
        return Err(Error::Process {
            message: "the Claude Code CLI's stdin is closed".into(),
            exit_code: *lock(&shared.exit).as_ref().unwrap_or(&None),
            stderr_tail: shared.stderr_tail(),
        });
    };
    let written = async {
        pipe.write_all(line.as_bytes()).await?;
        pipe.flush().await
    }
    .await;
    drop(stdin);
    match written {
        Ok(()) => Ok(()),
        Err(e) => {
            // The CLI is gone or going: the reader's error has its exit status and stderr.
            let failed = Error::Process {
                message: format!("writing to the Claude Code CLI failed: {e}"),
                exit_code: None,
                stderr_tail: shared.stderr_tail(),
            };
            Err(shared.ended_error_or(failed).await)
        }
    }
}
