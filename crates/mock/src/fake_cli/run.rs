//! The fake CLI process: a stdin reader thread that answers the SDK's control requests, a
//! signal thread, and the main thread running the script.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::frames::{self, Ids, Info, Placeholders};
use super::{Action, ControlAnswer, RECORD_ENV, SCRIPT_ENV, Script};

/// Bytes per write of `huge` lines.
const HUGE_CHUNK: usize = 64 * 1024;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Appends `value` as one line to the record file, if any.
fn record_line(file: &mut Option<File>, value: &Value) {
    if let Some(file) = file.as_mut() {
        let mut line = value.to_string();
        line.push('\n');
        let _ = file.write_all(line.as_bytes());
        let _ = file.flush();
    }
}

/// Something the main thread must handle, in arrival order.
enum Event {
    /// The SDK's `initialize` request.
    Initialize { id: Value },
    /// A `user` frame.
    User(Value),
    /// stdin reached EOF.
    Eof,
    /// SIGINT: exit 0 after the current turn.
    Sigint,
}

/// What the threads share under one lock.
#[derive(Default)]
struct State {
    events: VecDeque<Event>,
    /// Ids of our requests whose answers are awaited.
    expected: Vec<String>,
    /// Answers to our requests not consumed yet, in arrival order: (id, response object).
    responses: Vec<(String, Value)>,
    /// `user` frames received and not finished (queued or running).
    pending_turns: usize,
    /// An `interrupt` arrived during the current turn.
    interrupted: bool,
    eof: bool,
}

/// The mutable session settings the SDK can change.
struct Settings {
    model: String,
    permission_mode: String,
}

struct Shared {
    state: Mutex<State>,
    cond: Condvar,
    record: Mutex<Option<File>>,
    ignore_sigterm: AtomicBool,
    settings: Mutex<Settings>,
    info: Info,
    ids: Ids,
    control: BTreeMap<String, ControlAnswer>,
}

impl Shared {
    /// Appends one line to the record file, if any.
    fn record(&self, value: Value) {
        record_line(&mut lock(&self.record), &value);
    }

    /// Records the exit code and exits, without touching stdout.
    fn exit_now(&self, code: i32) -> ! {
        self.record(json!({ "exit": code }));
        std::process::exit(code)
    }

    /// Runs `write` with stdout locked, then flushes; a failed write (broken pipe) ends the
    /// process quietly with exit 0.
    fn with_stdout(&self, write: impl FnOnce(&mut io::StdoutLock<'_>) -> io::Result<()>) {
        let mut out = io::stdout().lock();
        if write(&mut out).and_then(|()| out.flush()).is_err() {
            self.exit_now(0);
        }
    }

    fn write_line(&self, line: &str) {
        self.with_stdout(|out| {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")
        });
    }

    fn write_frame(&self, frame: &Value) {
        self.write_line(&frame.to_string());
    }

    /// Flushes stdout, records the exit code and exits; stdout stays locked, so no other
    /// thread starts a line.
    fn exit(&self, code: i32) -> ! {
        let mut out = io::stdout().lock();
        let _ = out.flush();
        self.record(json!({ "exit": code }));
        std::process::exit(code)
    }

    fn notify(&self) {
        self.cond.notify_all();
    }

    /// Waits until `ready` returns something.
    fn wait<T>(&self, mut ready: impl FnMut(&mut State) -> Option<T>) -> T {
        let mut state = lock(&self.state);
        loop {
            if let Some(value) = ready(&mut state) {
                return value;
            }
            state = self
                .cond
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn success(&self, id: &Value, payload: Value) {
        self.write_frame(&json!({
            "type": "control_response",
            "response": {"subtype": "success", "request_id": id, "response": payload},
        }));
    }

    fn error(&self, id: &Value, message: &str) {
        self.write_frame(&json!({
            "type": "control_response",
            "response": {"subtype": "error", "request_id": id, "error": message},
        }));
    }

    /// Marks the current turn interrupted (when a turn is running or queued).
    fn interrupt(&self) {
        let mut state = lock(&self.state);
        if state.pending_turns > 0 {
            state.interrupted = true;
        }
        drop(state);
        self.notify();
    }

    /// Answers a control request from the SDK other than `initialize` (reader thread).
    fn answer_control(&self, id: &Value, request: &Value) {
        let subtype = request
            .get("subtype")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // The answer first, then the turn may go on (as the real CLI: the receipt comes
        // before the aborted assistant frame).
        self.answer_control_request(id, subtype, request);
        if subtype == "interrupt" {
            self.interrupt();
        }
    }

    fn answer_control_request(&self, id: &Value, subtype: &str, request: &Value) {
        if let Some(answer) = self.control.get(subtype) {
            if answer.ignore {
                return;
            }
            match &answer.error {
                Some(message) => self.error(id, message),
                None => self.success(id, answer.response.clone().unwrap_or_else(|| json!({}))),
            }
            return;
        }
        match subtype {
            "interrupt" => self.success(id, json!({"still_queued": []})),
            "set_permission_mode" => {
                let mode = request.get("mode").cloned().unwrap_or(Value::Null);
                if let Some(mode) = mode.as_str() {
                    lock(&self.settings).permission_mode = mode.to_owned();
                }
                self.success(id, json!({ "mode": mode }));
                self.write_frame(&frames::status_mode(&self.info, &mode, self.ids.uuid()));
            }
            "set_model" => {
                let model = request.get("model").cloned().unwrap_or(Value::Null);
                lock(&self.settings).model =
                    model.as_str().unwrap_or(frames::DEFAULT_MODEL).to_owned();
                self.success(id, json!({ "model": model }));
            }
            "mcp_status" => self.success(id, json!({"mcpServers": []})),
            "get_context_usage" => {
                let model = lock(&self.settings).model.clone();
                self.success(id, frames::context_usage(&model));
            }
            other => self.write_frame(&json!({
                "type": "control_response",
                "response": {
                    "subtype": "error",
                    "request_id": id,
                    "error": format!("Unsupported control request subtype: {other}"),
                    "error_code": "unsupported_request",
                },
            })),
        }
    }

    /// Handles one parsed stdin line (reader thread).
    fn dispatch(&self, frame: Value) {
        match frame.get("type").and_then(Value::as_str) {
            Some("control_request") => {
                let id = frame.get("request_id").cloned().unwrap_or(Value::Null);
                let request = frame.get("request").cloned().unwrap_or(Value::Null);
                if request.get("subtype").and_then(Value::as_str) == Some("initialize") {
                    lock(&self.state).events.push_back(Event::Initialize { id });
                    self.notify();
                } else {
                    self.answer_control(&id, &request);
                }
            }
            Some("control_response") => {
                let response = frame.get("response").cloned().unwrap_or(Value::Null);
                let id = match response.get("request_id") {
                    Some(Value::String(id)) => id.clone(),
                    Some(other) => other.to_string(),
                    None => return,
                };
                let mut state = lock(&self.state);
                if let Some(index) = state.expected.iter().position(|e| *e == id) {
                    state.expected.remove(index);
                    state.responses.push((id, response));
                    drop(state);
                    self.notify();
                }
            }
            Some("user") => {
                let mut state = lock(&self.state);
                state.pending_turns += 1;
                state.events.push_back(Event::User(frame));
                drop(state);
                self.notify();
            }
            // keep_alive, control_cancel_request, anything else: nothing to do.
            _ => {}
        }
    }

    /// Reads stdin to EOF (reader thread).
    fn read_stdin(&self) {
        let mut input = io::stdin().lock();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match input.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&buf);
            let line = text.trim_end_matches(['\n', '\r']);
            match serde_json::from_str::<Value>(line) {
                Ok(frame) => {
                    self.record(json!({ "stdin": frame }));
                    self.dispatch(frame);
                }
                Err(_) => self.record(json!({ "stdin_raw": line })),
            }
        }
        self.record(json!({"eof": true}));
        let mut state = lock(&self.state);
        state.eof = true;
        state.events.push_back(Event::Eof);
        drop(state);
        self.notify();
    }

    /// SIGINT: like `interrupt`, then exit 0 after the current turn.
    #[cfg(unix)]
    fn sigint(&self) {
        let mut state = lock(&self.state);
        if state.pending_turns > 0 {
            state.interrupted = true;
        }
        state.events.push_front(Event::Sigint);
        drop(state);
        self.notify();
    }
}

/// The main thread's state: the script and the current turn.
struct Runner {
    sh: Arc<Shared>,
    script: Script,
    reads_session_state: bool,
    reader_started: bool,
    turn: u64,
    prompt: String,
    last_text: String,
    assistants: u64,
    turn_started: Instant,
    /// Asynchronous requests sent and not answered: (id, request).
    outstanding: Vec<(String, Value)>,
    last_request: Option<String>,
}

impl Runner {
    fn placeholders(&self) -> Placeholders<'_> {
        Placeholders {
            prompt: &self.prompt,
            session_id: &self.sh.info.session_id,
            turn: self.turn,
            pid: self.sh.info.pid,
        }
    }

    fn emit(&self, frame: &Value) {
        self.sh.write_frame(&self.placeholders().value(frame));
    }

    fn model(&self) -> String {
        lock(&self.sh.settings).model.clone()
    }

    fn start_reader(&mut self) {
        if self.reader_started {
            return;
        }
        self.reader_started = true;
        let sh = Arc::clone(&self.sh);
        let spawned = std::thread::Builder::new()
            .name("stdin".into())
            .spawn(move || sh.read_stdin());
        if spawned.is_err() {
            let _ = writeln!(
                io::stderr(),
                "claude-kit-fake-claude: cannot spawn a thread"
            );
            self.sh.exit(2);
        }
    }

    fn run_all(&mut self, actions: &[Action]) {
        for action in actions {
            self.act(action);
        }
    }

    fn act(&mut self, action: &Action) {
        let sh = Arc::clone(&self.sh);
        let info = &sh.info;
        match action {
            Action::Emit(frame) => self.emit(frame),
            Action::Init(fields) => {
                let settings = lock(&sh.settings);
                let mut frame = frames::init(
                    info,
                    &settings.model,
                    &settings.permission_mode,
                    sh.ids.uuid(),
                );
                drop(settings);
                frames::merge(&mut frame, fields, false);
                self.emit(&frame);
            }
            Action::Text(text) => {
                let text = self.placeholders().string(text);
                let frame = frames::assistant(
                    info,
                    &self.model(),
                    vec![json!({"type": "text", "text": text})],
                    sh.ids.message_id(),
                    sh.ids.uuid(),
                );
                self.assistants += 1;
                self.last_text = text;
                self.emit(&frame);
            }
            Action::ToolUse(tool) => {
                let block = json!({"type": "tool_use", "id": tool.id, "name": tool.name, "input": tool.input});
                let frame = frames::assistant(
                    info,
                    &self.model(),
                    vec![block],
                    sh.ids.message_id(),
                    sh.ids.uuid(),
                );
                self.assistants += 1;
                self.emit(&frame);
            }
            Action::ToolResult(result) => {
                let frame = frames::tool_result(
                    info,
                    &result.tool_use_id,
                    &result.content,
                    result.is_error,
                    sh.ids.uuid(),
                );
                self.emit(&frame);
            }
            Action::StreamEvent(event) => {
                self.emit(&frames::stream_event(info, event, sh.ids.uuid()));
            }
            Action::Result(fields) => {
                let elapsed = self.turn_started.elapsed().as_millis() as u64;
                let mut frame = frames::result(
                    info,
                    &self.last_text,
                    self.assistants.max(1),
                    elapsed,
                    &self.model(),
                    sh.ids.uuid(),
                );
                frames::merge(&mut frame, fields, true);
                self.emit(&frame);
            }
            Action::State(state) => self.emit(&frames::state(info, state, sh.ids.uuid())),
            Action::Raw(line) => sh.write_line(line),
            Action::RawNoNewline(text) => sh.with_stdout(|out| out.write_all(text.as_bytes())),
            Action::Huge(bytes) => {
                let frame = frames::assistant(
                    info,
                    &self.model(),
                    vec![json!({"type": "text", "text": "x".repeat(*bytes)})],
                    sh.ids.message_id(),
                    sh.ids.uuid(),
                );
                self.assistants += 1;
                let mut line = frame.to_string();
                line.push('\n');
                sh.with_stdout(|out| {
                    for chunk in line.as_bytes().chunks(HUGE_CHUNK) {
                        out.write_all(chunk)?;
                        out.flush()?;
                    }
                    Ok(())
                });
            }
            Action::Partial(partial) => {
                let mut line = match &partial.frame {
                    Value::String(text) => text.clone(),
                    frame => self.placeholders().value(frame).to_string(),
                };
                line.push('\n');
                let delay = Duration::from_millis(partial.delay_ms);
                sh.with_stdout(|out| {
                    let mut chunks = line.as_bytes().chunks(partial.chunk.max(1)).peekable();
                    while let Some(chunk) = chunks.next() {
                        out.write_all(chunk)?;
                        out.flush()?;
                        if chunks.peek().is_some() && !delay.is_zero() {
                            std::thread::sleep(delay);
                        }
                    }
                    Ok(())
                });
            }
            Action::SleepMs(ms) => std::thread::sleep(Duration::from_millis(*ms)),
            Action::Stderr(line) => {
                let line = self.placeholders().string(line);
                let mut err = io::stderr().lock();
                let _ = writeln!(err, "{line}");
                let _ = err.flush();
            }
            Action::Exit(code) => sh.exit(*code),
            Action::Hang(true) => loop {
                std::thread::park();
            },
            Action::IgnoreSigterm(true) => sh.ignore_sigterm.store(true, Ordering::SeqCst),
            Action::Request(request) => {
                self.start_reader();
                let (id, request) = self.send_request(request);
                let response = sh.wait(|state| {
                    if let Some(index) = state.responses.iter().position(|(r, _)| *r == id) {
                        return Some(Some(state.responses.remove(index).1));
                    }
                    if state.eof {
                        state.expected.retain(|e| *e != id);
                        return Some(None);
                    }
                    None
                });
                self.answered(request, response);
            }
            Action::RequestAsync(request) => {
                self.start_reader();
                let sent = self.send_request(request);
                self.outstanding.push(sent);
            }
            Action::AwaitResponses(count) => {
                self.start_reader();
                for _ in 0..*count {
                    let outstanding: Vec<String> =
                        self.outstanding.iter().map(|(id, _)| id.clone()).collect();
                    let next = sh.wait(|state| {
                        if let Some(index) = state
                            .responses
                            .iter()
                            .position(|(id, _)| outstanding.contains(id))
                        {
                            return Some(Some(state.responses.remove(index)));
                        }
                        state.eof.then_some(None)
                    });
                    match next {
                        Some((id, response)) => {
                            if let Some(index) = self.outstanding.iter().position(|(o, _)| *o == id)
                            {
                                let (_, request) = self.outstanding.remove(index);
                                self.answered(request, Some(response));
                            }
                        }
                        // EOF: no answer can come any more.
                        None if self.outstanding.is_empty() => break,
                        None => {
                            let (id, request) = self.outstanding.remove(0);
                            lock(&sh.state).expected.retain(|e| *e != id);
                            self.answered(request, None);
                        }
                    }
                }
            }
            Action::CancelLast(true) => {
                if let Some(id) = self.last_request.take() {
                    let mut state = lock(&sh.state);
                    state.expected.retain(|e| *e != id);
                    state.responses.retain(|(r, _)| *r != id);
                    drop(state);
                    self.outstanding.retain(|(o, _)| *o != id);
                    sh.write_frame(&json!({"type": "control_cancel_request", "request_id": id}));
                }
            }
            Action::WaitInterrupt(true) => {
                self.start_reader();
                sh.wait(|state| {
                    if state.interrupted {
                        state.interrupted = false;
                        return Some(());
                    }
                    state.eof.then_some(())
                });
            }
            Action::WaitEof(true) => {
                self.start_reader();
                sh.wait(|state| state.eof.then_some(()));
            }
            Action::Hang(false)
            | Action::IgnoreSigterm(false)
            | Action::CancelLast(false)
            | Action::WaitInterrupt(false)
            | Action::WaitEof(false) => {}
        }
    }

    /// Sends a control request to the SDK, expecting its answer; returns (id, request).
    fn send_request(&mut self, request: &Value) -> (String, Value) {
        let id = self.sh.ids.uuid();
        let request = self.placeholders().value(request);
        lock(&self.sh.state).expected.push(id.clone());
        self.sh.write_frame(&json!({
            "type": "control_request",
            "request_id": id,
            "request": request,
        }));
        self.last_request = Some(id.clone());
        (id, request)
    }

    /// Emits the SDK's answer to one of our requests (`None`: stdin closed first).
    fn answered(&self, request: Value, response: Option<Value>) {
        let frame = match response {
            Some(response) => json!({
                "type": "fake_control_response",
                "request": request,
                "response": response,
            }),
            None => json!({
                "type": "fake_control_response",
                "request": request,
                "response": null,
                "stream_closed": true,
            }),
        };
        self.sh.write_frame(&frame);
    }

    fn default_turn(&self) -> Vec<Action> {
        if let Some(turn) = &self.script.default_turn {
            return turn.clone();
        }
        let mut turn = vec![
            Action::init(),
            Action::text("echo: {{prompt}}"),
            Action::result(),
        ];
        if self.reads_session_state {
            turn.insert(0, Action::state("running"));
            turn.push(Action::state("idle"));
        }
        turn
    }

    fn initialize(&mut self, id: Value) {
        let init = self.script.initialize.clone().unwrap_or_default();
        self.run_all(&init.before);
        if init.ignore {
            return;
        }
        if let Some(message) = &init.error {
            self.sh.error(&id, message);
            return;
        }
        let mut response = match init.response {
            Some(response) => response,
            None => {
                let settings = lock(&self.sh.settings);
                frames::server_info(&self.sh.info, &settings.model, &settings.permission_mode)
            }
        };
        if let Some(fields) = &init.merge {
            frames::merge(&mut response, fields, false);
        }
        self.sh.write_frame(&json!({
            "type": "control_response",
            "response": {
                "subtype": "success",
                "request_id": id,
                "response": response,
                "pending_permission_requests": [],
                "pending_user_dialog_requests": [],
            },
        }));
    }

    fn user_turn(&mut self, frame: Value) {
        self.turn += 1;
        self.prompt = frames::prompt_of(&frame);
        self.last_text.clear();
        self.assistants = 0;
        self.turn_started = Instant::now();
        let actions = match self.script.turns.get(self.turn as usize - 1) {
            Some(actions) => actions.clone(),
            None => self.default_turn(),
        };
        self.run_all(&actions);
        let mut state = lock(&self.sh.state);
        state.pending_turns = state.pending_turns.saturating_sub(1);
        state.interrupted = false;
    }

    fn main_loop(&mut self) -> ! {
        let startup = std::mem::take(&mut self.script.startup);
        self.run_all(&startup);
        self.start_reader();
        loop {
            let event = self.sh.wait(|state| state.events.pop_front());
            match event {
                Event::Initialize { id } => self.initialize(id),
                Event::User(frame) => self.user_turn(frame),
                Event::Eof => {
                    let on_eof = self.script.on_eof.take().unwrap_or_default();
                    self.run_all(&on_eof);
                    self.sh.exit(0);
                }
                Event::Sigint => self.sh.exit(0),
            }
        }
    }
}

#[cfg(unix)]
fn watch_signals(sh: &Arc<Shared>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT]) else {
        return;
    };
    let sh = Arc::clone(sh);
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                match signal {
                    // A stderr line (never stdout) tells a test the signal arrived.
                    SIGTERM if sh.ignore_sigterm.load(Ordering::SeqCst) => {
                        let mut err = io::stderr().lock();
                        let _ = writeln!(err, "claude-kit-fake-claude: SIGTERM ignored");
                        let _ = err.flush();
                    }
                    // Like the real CLI: nothing more on stdout, exit 143.
                    SIGTERM => sh.exit_now(143),
                    SIGINT => sh.sigint(),
                    _ => {}
                }
            }
        });
}

#[cfg(not(unix))]
fn watch_signals(_sh: &Arc<Shared>) {}

pub(super) fn main() -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let record = std::env::var_os(RECORD_ENV).and_then(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    let ids = Ids::new();
    let info = Info::from_args(&args, &ids);
    let settings = Settings {
        model: frames::flag(&args, "--model")
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| frames::DEFAULT_MODEL.to_owned()),
        permission_mode: frames::flag(&args, "--permission-mode")
            .unwrap_or_else(|| "default".to_owned()),
    };
    let mut record = record;
    record_line(&mut record, &json!({ "argv": args }));
    let env: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned())))
        .filter(|(k, _)| k.starts_with("CLAUDE") || k.starts_with("ANTHROPIC") || k == "PWD")
        .collect();
    record_line(&mut record, &json!({ "env": env }));
    let script = match std::env::var(SCRIPT_ENV) {
        Ok(value) if !value.trim().is_empty() => Script::load(&value),
        _ => Ok(Script::default()),
    };
    let script = match script {
        Ok(script) => script,
        Err(message) => {
            let _ = writeln!(io::stderr(), "claude-kit-fake-claude: {message}");
            record_line(&mut record, &json!({"exit": 2}));
            std::process::exit(2);
        }
    };
    let sh = Arc::new(Shared {
        state: Mutex::new(State::default()),
        cond: Condvar::new(),
        record: Mutex::new(record),
        ignore_sigterm: AtomicBool::new(false),
        settings: Mutex::new(settings),
        info,
        ids,
        control: script.control.clone(),
    });
    watch_signals(&sh);
    let reads_session_state =
        std::env::var("CLAUDE_CODE_SDK_READS_SESSION_STATE").is_ok_and(|v| v == "1");
    let mut runner = Runner {
        sh,
        script,
        reads_session_state,
        reader_started: false,
        turn: 0,
        prompt: String::new(),
        last_text: String::new(),
        assistants: 0,
        turn_started: Instant::now(),
        outstanding: Vec::new(),
        last_request: None,
    };
    runner.main_loop()
}
