//! One CLI process, driven: spawned with its pipes, its stdout read and routed, the CLI's
//! requests answered, our control requests awaited, and the process ended.
//!
//! Three tasks per process, all on the session's runtime:
//!
//! - the **reader** splits stdout into lines (bounded by
//!   [`CodeOptions::max_line_bytes`]), routes control frames through the core's
//!   [`ControlChannel`], spawns one handler task per CLI request (so a slow permission callback
//!   never blocks the reader), and delivers every other frame to the message channel;
//! - the **stderr** task keeps the last lines (for errors) and feeds the stderr callback;
//! - the **supervisor** owns the child: it records the exit status, and on shutdown closes
//!   stdin, waits, sends `SIGTERM`, waits, sends `SIGKILL` and reaps — every wait bounded.
//!
//! When stdout ends (the CLI exited or broke the protocol), every pending control request
//! fails at once with the exit status and the tail of stderr. Dropping a [`Session`] hands the
//! supervisor the shutdown and lets it finish in the background; the other tasks are
//! cancelled with it.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use claude_kit_core::code::control::{ControlAnswer, ControlChannel};
use claude_kit_core::code::frames::Frame;
use claude_kit_core::redact::Secrets;
use claude_kit_core::{Error, Result};
use claude_kit_rt::{self as rt, JoinHandle, SharedRuntime};
use futures_channel::mpsc;
use futures_util::{AsyncWriteExt, StreamExt};
use serde_json::Value;

use crate::options::{
    CodeOptions, DEFAULT_CONTROL_TIMEOUT, DEFAULT_INITIALIZE_TIMEOUT, DEFAULT_MAX_LINE_BYTES,
};
use reader::read_stdout;
use requests::Callbacks;
use shared::{Control, Flag, RunState, Shared, lock, request_on, write_line};
use stderr::read_stderr;
use supervisor::{DEFAULT_SHUTDOWN_GRACE, supervise};

mod reader;
mod requests;
mod shared;
mod stderr;
mod supervisor;

/// How many frames wait in the message channel before the reader waits for the consumer
/// (the channel holds one more: its one sender's slot).
const MESSAGE_CAPACITY: usize = 63;

/// Where [`Session::start`] starts the process: starting one blocks the thread ~0.1–0.2 ms
/// (std's `posix_spawn`: the parent waits for the child's `exec`), measured here for the fake
/// and the real CLI alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartOn {
    /// On the task that asked, which waits for this process anyway, as `tokio::process` and
    /// `async-process` do it: handing the start to the blocking pool and back costs two
    /// thread wake-ups, measured ~0.04 ms of CPU per process (~10 % of a query's).
    Caller,
    /// On the runtime's blocking pool, for a start nobody waits for: a warm pool's refill on
    /// a worker stalled the query it had just handed out (pooled time to the first message
    /// with the fake CLI 0.8–0.9 ms, 0.6 ms with the refill on the blocking pool).
    BlockingPool,
}

/// A running CLI process and its tasks. Dropping it shuts the process down in the
/// background (bounded) and cancels the rest.
pub(crate) struct Session {
    shared: Arc<Shared>,
    /// The reader's frames. A channel whose sender wakes the consumer with no lock held (an
    /// `async_channel` wakes under its listeners' lock, which the woken consumer then waits
    /// for: measured, three more system calls per frame when they run on two threads); the
    /// lock makes concurrent `next_message` calls take turns.
    messages: async_lock::Mutex<mpsc::Receiver<Result<Frame>>>,
    shutdown: async_channel::Sender<()>,
    supervisor: Option<JoinHandle<()>>,
    _tasks: Vec<JoinHandle<()>>,
    control_timeout: Duration,
    server_info: Option<ControlAnswer>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("cli", &self.shared.cli)
            .field("runtime", &self.shared.runtime.name())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Spawns the CLI at `cli` with `options` on `runtime`, starts its tasks, and completes
    /// the `initialize` handshake (serving the CLI's requests meanwhile).
    pub(crate) async fn start(
        cli: PathBuf,
        options: &CodeOptions,
        runtime: SharedRuntime,
        start_on: StartOn,
    ) -> Result<Self> {
        let command = options.command(&cli);
        let spawner = runtime.clone();
        let start = move || spawner.process().map(|processes| processes.spawn(command));
        let spawned = match start_on {
            StartOn::Caller => start(),
            StartOn::BlockingPool => rt::spawn_blocking(&*runtime, start).await,
        };
        let spawned = spawned.ok_or_else(|| {
            Error::config(format!(
                "the runtime `{}` cannot start processes, which the Claude Code backend needs",
                runtime.name()
            ))
        })?;
        let mut child = spawned.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::CliNotFound {
                    searched: vec![cli.clone()],
                }
            } else {
                Error::Process {
                    message: format!(
                        "could not start the Claude Code CLI at {}: {e}",
                        cli.display()
                    ),
                    exit_code: None,
                    stderr_tail: String::new(),
                }
            }
        })?;
        let (stdin, stdout, stderr) =
            match (child.take_stdin(), child.take_stdout(), child.take_stderr()) {
                (Some(stdin), Some(stdout), Some(stderr)) => (stdin, stdout, stderr),
                _ => {
                    return Err(Error::Process {
                        message: "the process capability did not pipe the CLI's standard streams"
                            .into(),
                        exit_code: None,
                        stderr_tail: String::new(),
                    });
                }
            };
        let (request, hooks) = options.initialize_request();
        let trace = crate::trace::Trace::new(child.id());
        let shared = Arc::new(Shared {
            cli: cli.clone(),
            runtime: runtime.clone(),
            secrets: options
                .api_key()
                .map_or_else(Secrets::none, |key| Secrets::new([key])),
            control: Mutex::new(Control {
                channel: ControlChannel::new(fastrand::u32(..)),
                waiters: HashMap::new(),
                handlers: HashMap::new(),
                closed: None,
            }),
            stdin: async_lock::Mutex::new(Some(stdin)),
            stderr_tail: Mutex::new(VecDeque::new()),
            stderr_done: Flag::default(),
            exit: Mutex::new(None),
            exited: Flag::default(),
            run: Mutex::new(RunState::default()),
            run_changed: event_listener::Event::new(),
            trace,
        });
        let callbacks = Arc::new(Callbacks {
            can_use_tool: options.can_use_tool.clone(),
            hooks,
            mcp: options.sdk_servers.clone(),
        });
        let (messages_tx, messages) = mpsc::channel(MESSAGE_CAPACITY);
        let (shutdown, shutdown_rx) = async_channel::bounded(1);
        let grace = options.shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE);
        let supervisor = rt::spawn(
            &*runtime,
            supervise(child, shared.clone(), shutdown_rx, grace),
        );
        let max_line = options.max_line_bytes.unwrap_or(DEFAULT_MAX_LINE_BYTES);
        let reader = rt::spawn(
            &*runtime,
            shared.trace.in_session(read_stdout(
                shared.clone(),
                stdout,
                messages_tx,
                callbacks,
                max_line,
                shutdown.clone(),
            )),
        );
        let stderr_task = rt::spawn(
            &*runtime,
            read_stderr(shared.clone(), stderr, options.stderr.clone()),
        );
        let mut session = Session {
            shared,
            messages: async_lock::Mutex::new(messages),
            shutdown,
            supervisor: Some(supervisor),
            _tasks: vec![reader, stderr_task],
            control_timeout: options.control_timeout.unwrap_or(DEFAULT_CONTROL_TIMEOUT),
            server_info: None,
        };
        let timeout = options
            .initialize_timeout
            .unwrap_or(DEFAULT_INITIALIZE_TIMEOUT);
        let answer = session.request(request, timeout).await?;
        session.shared.trace.started(&answer);
        session.server_info = Some(answer);
        Ok(session)
    }

    /// The CLI's answer to `initialize`, moved out (many kilobytes of JSON: a copy would cost
    /// more than the rest of a query's frames); `None` afterwards.
    pub(crate) fn take_server_info(&mut self) -> Option<ControlAnswer> {
        self.server_info.take()
    }

    /// Whether stdout is still open and the process has not exited.
    pub(crate) fn is_alive(&self) -> bool {
        lock(&self.shared.exit).is_none() && lock(&self.shared.control).closed.is_none()
    }

    /// The CLI binary this session runs.
    pub(crate) fn cli(&self) -> &Path {
        &self.shared.cli
    }

    /// The runtime the session runs on.
    pub(crate) fn runtime(&self) -> &SharedRuntime {
        &self.shared.runtime
    }

    /// The next frame, `Err` for a line that could not be read, `None` once stdout ended and
    /// everything read was delivered.
    pub(crate) async fn next_message(&self) -> Option<Result<Frame>> {
        self.messages.lock().await.next().await
    }

    /// Sends a control request and waits (at most `timeout`) for its answer.
    pub(crate) async fn request(&self, request: Value, timeout: Duration) -> Result<ControlAnswer> {
        request_on(&self.shared, request, timeout).await
    }

    /// [`request`](Self::request) with the session's control timeout, the answer as a
    /// `Value`.
    pub(crate) async fn control(&self, request: Value) -> Result<Value> {
        let answer = self.request(request, self.control_timeout).await?;
        answer.to_value().map_err(|e| {
            Error::decode_json("the Claude Code CLI's answer to a control request", &e)
        })
    }

    /// The handle that writes user frames and closes stdin, for a task of its own.
    pub(crate) fn input(&self) -> SessionInput {
        SessionInput {
            shared: self.shared.clone(),
            timeout: self.control_timeout,
        }
    }

    /// Ends the process: stdin closed, then `SIGTERM`, then `SIGKILL`, each step bounded, and
    /// waits until it is reaped. Returns its exit code (`None` when a signal ended it).
    pub(crate) async fn shutdown(mut self) -> Option<i32> {
        let _ = self.shutdown.try_send(());
        if let Some(supervisor) = self.supervisor.take() {
            supervisor.await;
        }
        lock(&self.shared.exit).flatten()
    }
}

/// Writes user frames and closes stdin; holds no part of the process's lifetime (the
/// [`Session`] does), so a task that owns one never keeps the CLI alive.
#[derive(Clone)]
pub(crate) struct SessionInput {
    shared: Arc<Shared>,
    timeout: Duration,
}

impl SessionInput {
    /// Writes one user frame.
    pub(crate) async fn send_user(&self, frame: &Value) -> Result<()> {
        let mut line = frame.to_string();
        line.push('\n');
        self.shared.trace.prompt_sent();
        let write = write_line(&self.shared, &line);
        match rt::timeout(&*self.shared.runtime, self.timeout, write).await {
            Ok(result) => result,
            Err(_) => Err(Error::Process {
                message: format!(
                    "the Claude Code CLI at {} did not read its stdin within {:?}",
                    self.shared.cli.display(),
                    self.timeout
                ),
                exit_code: None,
                stderr_tail: self.shared.stderr_tail(),
            }),
        }
    }

    /// Closes the CLI's stdin (it finishes the turn under way, then exits).
    pub(crate) async fn close_stdin(&self) {
        let mut stdin = self.shared.stdin.lock().await;
        if let Some(mut pipe) = stdin.take() {
            let _ = rt::timeout(&*self.shared.runtime, Duration::from_secs(1), pipe.close()).await;
        }
    }

    /// Waits until `done` holds for the run state (re-checked on every result, state frame and
    /// the end of stdout).
    pub(crate) async fn wait_run(&self, done: impl Fn(&RunState) -> bool) {
        loop {
            let listener = self.shared.run_changed.listen();
            if done(&lock(&self.shared.run)) {
                return;
            }
            listener.await;
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The supervisor escalates in the background, bounded; it owns the child, so the
        // process is killed at the latest when the runtime drops the task.
        let _ = self.shutdown.try_send(());
        if let Some(supervisor) = self.supervisor.take() {
            supervisor.detach();
        }
    }
}
