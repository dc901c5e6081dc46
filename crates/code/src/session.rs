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
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use claude_kit_core::code::control::{ControlChannel, Inbound};
use claude_kit_core::code::frames::{Frame, SystemMessage};
use claude_kit_core::code::mcp::McpBridge;
use claude_kit_core::jsonl::LineDecoder;
use claude_kit_core::redact::{self, Secrets};
use claude_kit_core::{DecodeCategory, Error, Result};
use claude_kit_rt::{self as rt, ChildProcess, JoinHandle, SharedRuntime};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::future::{Either, FutureExt, select};
use futures_util::{AsyncReadExt, AsyncWriteExt};
use serde_json::Value;

use crate::callbacks::{CanUseTool, HookCallback, HookInput, PermissionRequest};
use crate::options::{
    CodeOptions, DEFAULT_CONTROL_TIMEOUT, DEFAULT_INITIALIZE_TIMEOUT, DEFAULT_MAX_LINE_BYTES,
};

/// How many frames wait in the message channel before the reader waits for the consumer.
const MESSAGE_CAPACITY: usize = 64;
/// What is kept of stderr for errors.
const STDERR_TAIL_BYTES: usize = 16 * 1024;
/// How much of a stderr line is kept (and handed to the callback).
const STDERR_LINE_BYTES: usize = 16 * 1024;
/// How much of a malformed stdout line an error quotes.
const EXCERPT_BYTES: usize = 200;
/// Each step of the shutdown escalation waits at most this long (the official SDK's 5 s).
pub(crate) const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long the reader waits, after stdout ended, for the exit status and stderr's end.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// What the reader and handlers share with the session.
struct Shared {
    cli: PathBuf,
    runtime: SharedRuntime,
    secrets: Secrets,
    control: Mutex<Control>,
    stdin: async_lock::Mutex<Option<Box<dyn AsyncWrite + Send + Unpin>>>,
    stderr_tail: Mutex<VecDeque<String>>,
    stderr_done: Flag,
    exit: Mutex<Option<Option<i32>>>,
    exited: Flag,
    run: Mutex<RunState>,
    run_changed: event_listener::Event,
}

/// The control protocol's state with the waiters and handlers it routes to.
struct Control {
    channel: ControlChannel,
    waiters: HashMap<String, async_channel::Sender<Result<Value>>>,
    handlers: HashMap<String, JoinHandle<()>>,
    /// Why the channel closed, for requests made later.
    closed: Option<Error>,
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
struct Flag {
    set: std::sync::atomic::AtomicBool,
    event: event_listener::Event,
}

impl Flag {
    fn raise(&self) {
        self.set.store(true, std::sync::atomic::Ordering::SeqCst);
        self.event.notify(usize::MAX);
    }

    async fn wait(&self) {
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

/// The callbacks a CLI request may need.
struct Callbacks {
    can_use_tool: Option<CanUseTool>,
    hooks: Vec<HookCallback>,
    mcp: McpBridge,
}

/// A running CLI process and its tasks. Dropping it shuts the process down in the
/// background (bounded) and cancels the rest.
pub(crate) struct Session {
    shared: Arc<Shared>,
    messages: async_channel::Receiver<Result<Frame>>,
    shutdown: async_channel::Sender<()>,
    supervisor: Option<JoinHandle<()>>,
    _tasks: Vec<JoinHandle<()>>,
    control_timeout: Duration,
    server_info: Value,
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
    ) -> Result<Self> {
        let processes = runtime.process().ok_or_else(|| {
            Error::config(format!(
                "the runtime `{}` cannot start processes, which the Claude Code backend needs",
                runtime.name()
            ))
        })?;
        let mut child = processes.spawn(options.command(&cli)).map_err(|e| {
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
        });
        let callbacks = Arc::new(Callbacks {
            can_use_tool: options.can_use_tool.clone(),
            hooks,
            mcp: options.sdk_servers.clone(),
        });
        let (messages_tx, messages) = async_channel::bounded(MESSAGE_CAPACITY);
        let (shutdown, shutdown_rx) = async_channel::bounded(1);
        let grace = options.shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE);
        let supervisor = rt::spawn(
            &*runtime,
            supervise(child, shared.clone(), shutdown_rx, grace),
        );
        let max_line = options.max_line_bytes.unwrap_or(DEFAULT_MAX_LINE_BYTES);
        let reader = rt::spawn(
            &*runtime,
            read_stdout(
                shared.clone(),
                stdout,
                messages_tx,
                callbacks,
                max_line,
                shutdown.clone(),
            ),
        );
        let stderr_task = rt::spawn(
            &*runtime,
            read_stderr(shared.clone(), stderr, options.stderr.clone()),
        );
        let mut session = Session {
            shared,
            messages,
            shutdown,
            supervisor: Some(supervisor),
            _tasks: vec![reader, stderr_task],
            control_timeout: options.control_timeout.unwrap_or(DEFAULT_CONTROL_TIMEOUT),
            server_info: Value::Null,
        };
        let timeout = options
            .initialize_timeout
            .unwrap_or(DEFAULT_INITIALIZE_TIMEOUT);
        session.server_info = session.request(request, timeout).await?;
        Ok(session)
    }

    /// The CLI's answer to `initialize`.
    pub(crate) fn server_info(&self) -> &Value {
        &self.server_info
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
        self.messages.recv().await.ok()
    }

    /// Sends a control request and waits (at most `timeout`) for its answer.
    pub(crate) async fn request(&self, request: Value, timeout: Duration) -> Result<Value> {
        request_on(&self.shared, request, timeout).await
    }

    /// [`request`](Self::request) with the session's control timeout.
    pub(crate) async fn control(&self, request: Value) -> Result<Value> {
        self.request(request, self.control_timeout).await
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn stderr_tail(&self) -> String {
        let tail = lock(&self.stderr_tail);
        let text: Vec<&str> = tail.iter().map(String::as_str).collect();
        self.secrets.scrub(&text.join("\n")).into_owned()
    }

    /// Once stdout has ended (waiting for that, bounded), the error it ended with; else
    /// `fallback`.
    async fn ended_error_or(&self, fallback: Error) -> Error {
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
    fn ended_error(&self, exit_code: Option<i32>) -> Error {
        Error::Process {
            message: format!("the Claude Code CLI at {} exited", self.cli.display()),
            exit_code,
            stderr_tail: self.stderr_tail(),
        }
    }
}

async fn request_on(shared: &Arc<Shared>, request: Value, timeout: Duration) -> Result<Value> {
    let subtype = request
        .get("subtype")
        .and_then(Value::as_str)
        .unwrap_or("request")
        .to_owned();
    let (tx, rx) = async_channel::bounded(1);
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
        match rx.recv().await {
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

async fn write_line(shared: &Shared, line: &str) -> Result<()> {
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

/// Owns the child: records its exit, or ends it on request.
async fn supervise(
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
async fn escalate(
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

/// Reads the CLI's stdout to its end, routing every line.
async fn read_stdout(
    shared: Arc<Shared>,
    mut stdout: Box<dyn AsyncRead + Send + Unpin>,
    messages: async_channel::Sender<Result<Frame>>,
    callbacks: Arc<Callbacks>,
    max_line: usize,
    shutdown: async_channel::Sender<()>,
) {
    let mut lines = LineDecoder::new(max_line);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut last_was_error_result = false;
    let fatal: Option<Error> = 'read: loop {
        let n = match stdout.read(&mut buffer).await {
            Ok(0) => break None,
            Ok(n) => n,
            Err(e) => {
                break Some(Error::Process {
                    message: format!("reading the Claude Code CLI's stdout failed: {e}"),
                    exit_code: None,
                    stderr_tail: shared.stderr_tail(),
                });
            }
        };
        if lines.push(&buffer[..n]).is_err() {
            break Some(too_long(max_line));
        }
        while let Some(line) = lines.next_line() {
            let Ok(line) = line else {
                break 'read Some(too_long(max_line));
            };
            let Some(value) = parse_line(&line, &shared.secrets) else {
                continue;
            };
            let frame = match value {
                Ok(value) => route(&shared, &callbacks, value),
                Err(error) => Some(Err(error)),
            };
            if let Some(frame) = frame {
                if let Ok(frame) = &frame {
                    last_was_error_result = note_frame(&shared, frame);
                }
                if messages.send(frame).await.is_err() {
                    break 'read None;
                }
            }
        }
    };
    // A truncated last line (no `\n` before EOF) is dropped, as the official SDK drops it.
    if fatal.is_some() {
        // The CLI would block writing to a pipe nobody reads: end it.
        let _ = shutdown.try_send(());
    }
    drop(stdout);
    let runtime = &*shared.runtime;
    let _ = rt::timeout(runtime, EXIT_WAIT, async {
        shared.exited.wait().await;
        shared.stderr_done.wait().await;
    })
    .await;
    let exit_code = lock(&shared.exit).flatten();
    let error = fatal
        .clone()
        .unwrap_or_else(|| shared.ended_error(exit_code));
    let (waiters, handlers) = {
        let mut control = lock(&shared.control);
        control.channel.close();
        control.closed = Some(error.clone());
        (
            std::mem::take(&mut control.waiters),
            std::mem::take(&mut control.handlers),
        )
    };
    drop(handlers);
    for (_, waiter) in waiters {
        let _ = waiter.try_send(Err(error.clone()));
    }
    {
        let mut run = lock(&shared.run);
        run.ended = true;
    }
    shared.run_changed.notify(usize::MAX);
    // A signal, an exit status other than 0, or no exit at all within the wait: a failure.
    let failed_exit = exit_code != Some(0);
    if let Some(fatal) = fatal {
        let _ = messages.send(Err(fatal)).await;
    } else if failed_exit && !last_was_error_result {
        let _ = messages.send(Err(error)).await;
    }
}

fn too_long(limit: usize) -> Error {
    Error::decode_as(
        DecodeCategory::TooLarge,
        format!(
            "a line of the Claude Code CLI's stdout exceeds the limit of {limit} bytes \
             (raise it with CodeOptions::max_line_bytes)"
        ),
    )
}

/// One stdout line as JSON: `None` for a line to skip (blank, or not starting with `{`: the
/// CLI's debug output), an error for a `{` line that is not JSON (quoted, bounded).
fn parse_line(line: &[u8], secrets: &Secrets) -> Option<Result<Value>> {
    let start = line.iter().position(|b| !b.is_ascii_whitespace())?;
    let line = &line[start..];
    if line.first() != Some(&b'{') {
        return None;
    }
    Some(serde_json::from_slice(line).map_err(|e| {
        let text = String::from_utf8_lossy(line);
        let excerpt = secrets.scrub_bounded(&text, EXCERPT_BYTES);
        let mut error = Error::decode_json(
            format_args!("the Claude Code CLI wrote a line that is not JSON ({excerpt:?})"),
            &e,
        );
        if let Error::Decode { message, .. } = &mut error {
            *message = redact::truncate(message, 2 * EXCERPT_BYTES + 200);
        }
        error
    }))
}

/// Routes one frame: control frames to the channel (answers to their waiters, requests to a
/// new handler task); every other frame comes back, typed, for the message channel.
fn route(shared: &Arc<Shared>, callbacks: &Arc<Callbacks>, value: Value) -> Option<Result<Frame>> {
    let mut control = lock(&shared.control);
    match control.channel.receive(value) {
        Inbound::Response { id, result } => {
            if let Some(waiter) = control.waiters.remove(&id) {
                let result = result.map_err(|e| Error::Control {
                    subtype: "control request".into(),
                    message: shared.secrets.scrub(&e.message).into_owned(),
                    code: e.code,
                });
                let _ = waiter.try_send(result);
            }
            None
        }
        Inbound::Request { id, request } => {
            let handler = handle(shared.clone(), callbacks.clone(), id.clone(), request);
            let task = rt::spawn(&*shared.runtime, handler);
            control.handlers.insert(id, task);
            None
        }
        Inbound::Cancelled { id } => {
            // Dropping the handle cancels the handler; no answer is written.
            control.handlers.remove(&id);
            None
        }
        Inbound::StrayResponse { .. } | Inbound::Malformed { .. } => None,
        Inbound::Message(value) => {
            drop(control);
            Some(Frame::from_value(value).map_err(|e| e.redact(&shared.secrets)))
        }
        _ => None,
    }
}

/// Notes what the stdin-closing rule needs; returns whether `frame` is an error result.
fn note_frame(shared: &Shared, frame: &Frame) -> bool {
    let mut changed = false;
    let mut error_result = false;
    {
        let mut run = lock(&shared.run);
        match frame {
            Frame::Result(result) => {
                run.results += 1;
                changed = true;
                error_result = result.is_error;
            }
            Frame::System(SystemMessage::Other { subtype, data })
                if subtype == "session_state_changed" =>
            {
                run.reports_state = true;
                if data.get("state").and_then(Value::as_str) == Some("idle") {
                    run.idle_at = run.results;
                }
                changed = true;
            }
            _ => {}
        }
    }
    if changed {
        shared.run_changed.notify(usize::MAX);
    }
    error_result
}

/// Answers one CLI request, unless it is cancelled first.
async fn handle(shared: Arc<Shared>, callbacks: Arc<Callbacks>, id: String, request: Value) {
    let answer = AssertUnwindSafe(answer(&callbacks, request))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err("the callback panicked".to_owned()));
    let line = {
        let mut control = lock(&shared.control);
        if let Some(task) = control.handlers.remove(&id) {
            task.detach();
        }
        control.channel.answer(&id, answer)
    };
    if let Some(line) = line {
        let _ = write_line(&shared, &line).await;
    }
}

async fn answer(callbacks: &Callbacks, request: Value) -> Result<Value, String> {
    let subtype = request
        .get("subtype")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match subtype {
        "can_use_tool" => {
            let Some(callback) = &callbacks.can_use_tool else {
                return Err("canUseTool callback is not provided".into());
            };
            let request = PermissionRequest::from_wire(&request);
            let input = request.input.clone();
            Ok(callback.call(request).await.to_wire(&input))
        }
        "hook_callback" => {
            let id = request
                .get("callback_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let callback = id
                .strip_prefix("hook_")
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| callbacks.hooks.get(n))
                .ok_or_else(|| format!("No hook callback found for ID: {id}"))?;
            let input = HookInput::from_wire(&request);
            let event = input.event.clone();
            Ok(callback.call(input).await.to_wire(&event))
        }
        "mcp_message" => {
            let server = request.get("server_name").and_then(Value::as_str);
            let message = request.get("message").filter(|m| m.is_object());
            match (server, message) {
                (Some(server), Some(message)) => {
                    Ok(callbacks.mcp.handle(server, message.clone()).await)
                }
                _ => Err("Missing server_name or message for MCP request".into()),
            }
        }
        other => Err(format!("Unsupported control request subtype: {other}")),
    }
}

/// Reads stderr to its end: each line to the callback, the last ones kept for errors.
async fn read_stderr(
    shared: Arc<Shared>,
    mut stderr: Box<dyn AsyncRead + Send + Unpin>,
    callback: Option<crate::options::StderrCallback>,
) {
    let mut buffer = vec![0u8; 8 * 1024];
    let mut line: Vec<u8> = Vec::new();
    let keep = |line: &mut Vec<u8>| {
        let text = String::from_utf8_lossy(line)
            .trim_end_matches('\r')
            .to_owned();
        line.clear();
        if let Some(callback) = &callback {
            callback(&text);
        }
        let mut tail = lock(&shared.stderr_tail);
        tail.push_back(text);
        let mut total: usize = tail.iter().map(String::len).sum();
        while total > STDERR_TAIL_BYTES && tail.len() > 1 {
            total -= tail.pop_front().map_or(0, |l| l.len());
        }
        if total > STDERR_TAIL_BYTES
            && let Some(only) = tail.back_mut()
        {
            let cut = only.len() - STDERR_TAIL_BYTES;
            let start = (cut..only.len())
                .find(|&i| only.is_char_boundary(i))
                .unwrap_or(0);
            *only = only[start..].to_owned();
        }
    };
    loop {
        let n = match stderr.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &byte in &buffer[..n] {
            if byte == b'\n' {
                keep(&mut line);
            } else if line.len() < STDERR_LINE_BYTES {
                line.push(byte);
            }
        }
    }
    if !line.is_empty() {
        keep(&mut line);
    }
    shared.stderr_done.raise();
}
