//! A fake Claude Code CLI: the `claude-kit-fake-claude` binary, a test double that speaks the
//! CLI's stream-json protocol (JSON lines on stdin and stdout, control requests both ways) and
//! follows a JSON [`Script`], so that SDK tests can exercise every protocol path and fault
//! without Node or the real CLI.
//!
//! The binary accepts any argv (it reads `--session-id`, `--resume`, `--model`,
//! `--permission-mode`, `--tools` and `--mcp-config` when present and ignores everything else),
//! and like the real CLI it writes nothing to stdout before it has read its first stdin line
//! (unless the script's `startup` says so). A reader thread reads stdin and answers the SDK's
//! control requests at any time, even in the middle of a turn; the main thread runs the script;
//! every stdout line is written whole under a lock and flushed.
//!
//! # Environment
//!
//! - `FAKE_CLAUDE_SCRIPT`: the script, inline JSON (when it starts with `{`) or the path of a
//!   JSON file. Absent: the default script (`{}`). A bad script: a stderr line and exit 2.
//! - `FAKE_CLAUDE_RECORD`: an optional path the fake appends JSON lines to, each flushed:
//!   `{"argv":[…]}` (the arguments, without the program name), `{"env":{…}}` (every variable
//!   whose name starts with `CLAUDE` or `ANTHROPIC`, plus `PWD`), then `{"stdin":<JSON>}` for
//!   every stdin line (`{"stdin_raw":"…"}` when it is not JSON), `{"eof":true}` at stdin EOF
//!   and `{"exit":<code>}` just before exiting.
//!
//! # Script
//!
//! Every key is optional; unknown keys are an error (typos do not pass silently).
//!
//! ```json
//! {
//!   "startup": [],
//!   "initialize": {"before": [], "response": {}, "merge": {}, "error": "…", "ignore": false},
//!   "turns": [[{"init": {}}, {"text": "hi {{prompt}}"}, {"result": {}}]],
//!   "default_turn": [],
//!   "on_eof": [{"exit": 0}],
//!   "control": {"mcp_status": {"response": {"mcpServers": []}}, "set_model": {"error": "no"},
//!               "interrupt": {"ignore": true}}
//! }
//! ```
//!
//! - `startup`: actions run before stdin is read (e.g. `[{"stderr":"boom"},{"exit":1}]`, the
//!   CLI failing at start-up). A waiting action there (`request`, `wait_eof`, …) starts the
//!   stdin reader early; frames emitted there break the "nothing before the first line" rule
//!   on purpose.
//! - `initialize`: how the SDK's `initialize` control request is answered. `before` actions run
//!   first (e.g. `request`s of subtype `mcp_message`, as the real CLI sends before it answers
//!   when SDK MCP servers are configured); then the answer: `response` (replacing the default
//!   server info: `commands`, `agents`, `output_style`, `models`, `account`, `pid`,
//!   `claude_code_version: "2.1.328"`, `current_permission_mode`, `capabilities:
//!   ["interrupt_receipt_v1"]`, …), with `merge` merged on top of it, or `error` (an error
//!   response), or `ignore: true` (no answer ever, for initialize timeouts). The SDK may also
//!   skip `initialize`: the fake works without it.
//! - `turns`: one action list per `user` frame on stdin, in order. Once they run out,
//!   `default_turn` is used, by default: `{"init":{}}`, `{"text":"echo: {{prompt}}"}`,
//!   `{"result":{}}`, framed by `{"state":"running"}` / `{"state":"idle"}` when
//!   `CLAUDE_CODE_SDK_READS_SESSION_STATE=1` (as the real CLI does).
//! - `on_eof`: actions run at stdin EOF once the current (and any queued) turns are done; then
//!   the fake exits 0 (the default).
//! - `control`: answers to the SDK's other control requests by subtype: `{"response":{…}}`,
//!   `{"error":"text"}` or `{"ignore":true}`. Defaults: `interrupt` → `{"still_queued":[]}`
//!   (then the current turn is marked interrupted, whatever the answer; an `interrupt` while
//!   no turn is running or queued marks nothing), `set_permission_mode` →
//!   `{"mode":<mode>}` then a `system/status` frame with `permissionMode`, `set_model` →
//!   `{"model":<model>}`, `mcp_status` → `{"mcpServers":[]}`, `get_context_usage` → a small
//!   usage object, any other subtype → the real CLI's error (`"Unsupported control request
//!   subtype: X"`, `error_code: "unsupported_request"`). `initialize` is not answered here.
//!   Only the default answers change the model and permission mode reported later.
//!
//! # Actions
//!
//! Each action is a JSON object with one key (see [`Action`] for the Rust builders):
//!
//! | action | effect |
//! |---|---|
//! | `{"emit": <json>}` | writes one frame |
//! | `{"init": {…}}` | a `system/init` frame (`{…}`: fields merged on top; `{}` for none) |
//! | `{"text": "…"}` | an `assistant` frame with one text block |
//! | `{"tool_use": {"id","name","input"}}` | an `assistant` frame with one `tool_use` block |
//! | `{"tool_result": {"tool_use_id","content","is_error"}}` | a `user` frame with a `tool_result` block |
//! | `{"stream_event": <event>}` | a `stream_event` frame around the raw SSE event |
//! | `{"result": {…}}` | a `result` frame (`success`, `result` = the turn's last `text`, `num_turns` = the turn's assistant frames, at least 1); fields merged on top, a `null` field removes the key |
//! | `{"state": "running"}` | a `system/session_state_changed` frame |
//! | `{"raw": "…"}`, `{"raw_no_newline": "…"}` | the string written verbatim (plus `\n`, or not) |
//! | `{"huge": N}` | one valid `assistant` line of about N bytes (N `x`s), written in chunks |
//! | `{"partial": {"frame","chunk","delay_ms"}}` | one frame written `chunk` bytes at a time, flushed, sleeping `delay_ms` between (a string `frame` is written verbatim) |
//! | `{"sleep_ms": N}`, `{"stderr": "line"}`, `{"exit": code}` | sleep; a stderr line; flush, record and exit |
//! | `{"hang": true}` | do nothing, forever (even after stdin EOF); SIGTERM still ends the process |
//! | `{"ignore_sigterm": true}` | from now on SIGTERM is ignored (the SDK must use SIGKILL); each one ignored writes the stderr line `claude-kit-fake-claude: SIGTERM ignored` |
//! | `{"request": {"subtype",…}}` | sends a control request to the SDK, waits for its `control_response`, then emits `{"type":"fake_control_response","request":…,"response":<the response object>}` |
//! | `{"request_async": {…}}` | sends a control request without waiting |
//! | `{"await_responses": N}` | waits for N answers to `request_async`s, emitting a `fake_control_response` frame for each, in arrival order |
//! | `{"cancel_last": true}` | sends `control_cancel_request` for the last request sent, and stops waiting for it |
//! | `{"wait_interrupt": true}` | waits until the SDK sends `interrupt` in this turn (at once if it already did) |
//! | `{"wait_eof": true}` | waits until stdin EOF |
//!
//! Strings in emitted frames (all frames but `raw`) and `stderr` lines may use the
//! placeholders `{{prompt}}` (the current user frame's text: its `message.content` string, or
//! its text blocks joined with `\n`), `{{session_id}}` (the `--session-id` or `--resume` value,
//! else a fixed uuid-like id of this process), `{{turn}}` (1-based; 0 before the first user
//! frame) and `{{pid}}`. Frames made by shortcuts carry `session_id` and a fresh `uuid`.
//!
//! When stdin reaches EOF, pending waits give up: a `request` still waiting emits its
//! `fake_control_response` with `"response": null` and `"stream_closed": true` (so does each
//! request `await_responses` still counts on), and `wait_interrupt` returns. A broken stdout pipe ends the process quietly with exit 0.
//! SIGTERM exits 143 (as the real CLI) unless ignored; SIGINT counts as an interrupt, and the
//! process exits 0 after the current turn.
//!
//! # Example
//!
//! ```
//! use claude_kit_mock::fake_cli::{Action, Script};
//! use serde_json::json;
//!
//! let script = Script::new()
//!     .turn([Action::init(), Action::text("hi {{prompt}}"), Action::result()])
//!     .turn([
//!         Action::init(),
//!         Action::request(json!({"subtype": "can_use_tool", "tool_name": "Bash",
//!             "input": {"command": "ls"}, "tool_use_id": "toolu_1"})),
//!         Action::result_with(json!({"subtype": "error_max_turns", "is_error": true,
//!             "errors": ["Reached maximum number of turns (1)"], "result": null})),
//!         Action::exit(1),
//!     ]);
//! let json = script.to_json();
//! assert_eq!(Script::from_json(&json).unwrap(), script);
//! // Spawn `claude_kit_mock::fake_cli::path()` with FAKE_CLAUDE_SCRIPT=<json> ...
//! ```

mod frames;
mod run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The name of the fake CLI's binary (without the platform's executable suffix).
pub const BINARY_NAME: &str = "claude-kit-fake-claude";

/// The environment variable holding the script (inline JSON or a file path).
pub const SCRIPT_ENV: &str = "FAKE_CLAUDE_SCRIPT";

/// The environment variable naming the record file.
pub const RECORD_ENV: &str = "FAKE_CLAUDE_RECORD";

/// The version the fake reports (`claude_code_version`).
pub const VERSION: &str = "2.1.328";

/// A script for the fake CLI; see the [module docs](self) for the JSON format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Script {
    /// Actions run before stdin is read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub startup: Vec<Action>,
    /// How the SDK's `initialize` request is answered (default: server info).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initialize: Option<Initialize>,
    /// One action list per `user` frame, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<Vec<Action>>,
    /// The turn used once `turns` has run out (default: init, `echo: {{prompt}}`, result).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_turn: Option<Vec<Action>>,
    /// Actions run at stdin EOF once the turns are done (default: none, then exit 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_eof: Option<Vec<Action>>,
    /// Answers to the SDK's other control requests, by subtype.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub control: BTreeMap<String, ControlAnswer>,
}

impl Script {
    /// The default script: every turn echoes the prompt, EOF exits 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the actions run before stdin is read.
    pub fn startup(mut self, actions: impl IntoIterator<Item = Action>) -> Self {
        self.startup = actions.into_iter().collect();
        self
    }

    /// Sets how `initialize` is answered.
    pub fn initialize(mut self, initialize: Initialize) -> Self {
        self.initialize = Some(initialize);
        self
    }

    /// Runs `actions` before answering `initialize` (with the default answer unless
    /// [`Script::initialize`] set another one).
    pub fn initialize_before(mut self, actions: impl IntoIterator<Item = Action>) -> Self {
        let init = self.initialize.take().unwrap_or_default();
        self.initialize = Some(init.before(actions));
        self
    }

    /// Appends one turn: the actions answering the next `user` frame.
    pub fn turn(mut self, actions: impl IntoIterator<Item = Action>) -> Self {
        self.turns.push(actions.into_iter().collect());
        self
    }

    /// Sets the turn used once the scripted turns have run out.
    pub fn default_turn(mut self, actions: impl IntoIterator<Item = Action>) -> Self {
        self.default_turn = Some(actions.into_iter().collect());
        self
    }

    /// Sets the actions run at stdin EOF (after them the fake exits 0).
    pub fn on_eof(mut self, actions: impl IntoIterator<Item = Action>) -> Self {
        self.on_eof = Some(actions.into_iter().collect());
        self
    }

    /// Sets how control requests of `subtype` from the SDK are answered.
    pub fn control(mut self, subtype: impl Into<String>, answer: ControlAnswer) -> Self {
        self.control.insert(subtype.into(), answer);
        self
    }

    /// The script as compact JSON (for `FAKE_CLAUDE_SCRIPT`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a script always serializes")
    }

    /// The script as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a script always serializes")
    }

    /// Parses a script from JSON.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Loads a script the way the binary reads `FAKE_CLAUDE_SCRIPT`: inline JSON when `value`
    /// starts with `{` (after white space), else the path of a JSON file.
    pub fn load(value: &str) -> Result<Self, String> {
        if value.trim_start().starts_with('{') {
            Self::from_json(value).map_err(|e| format!("bad inline script: {e}"))
        } else {
            let text = std::fs::read_to_string(value)
                .map_err(|e| format!("cannot read script file {value}: {e}"))?;
            Self::from_json(&text).map_err(|e| format!("bad script file {value}: {e}"))
        }
    }
}

/// How the SDK's `initialize` control request is answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Initialize {
    /// Actions run before the answer (e.g. `mcp_message` requests to the SDK).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<Action>,
    /// The success response, replacing the default server info.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// Fields merged on top of the response (default or scripted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge: Option<Value>,
    /// Answer with an error response carrying this text instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Never answer.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ignore: bool,
}

impl Initialize {
    /// The default answer (server info).
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers with this success response instead of the default server info.
    pub fn with_response(response: Value) -> Self {
        Self {
            response: Some(response),
            ..Self::default()
        }
    }

    /// Answers with an error response.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            error: Some(message.into()),
            ..Self::default()
        }
    }

    /// Never answers.
    pub fn ignore() -> Self {
        Self {
            ignore: true,
            ..Self::default()
        }
    }

    /// Runs `actions` before answering.
    pub fn before(mut self, actions: impl IntoIterator<Item = Action>) -> Self {
        self.before = actions.into_iter().collect();
        self
    }

    /// Merges the fields of `fields` (an object) on top of the response.
    pub fn merge(mut self, fields: Value) -> Self {
        self.merge = Some(fields);
        self
    }
}

/// How a control request from the SDK is answered: one of the three fields is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlAnswer {
    /// A success response with this payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// An error response with this text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// No answer at all.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ignore: bool,
}

impl ControlAnswer {
    /// A success response with `payload` (`response.response`).
    pub fn response(payload: Value) -> Self {
        Self {
            response: Some(payload),
            ..Self::default()
        }
    }

    /// An error response with `message` (`response.error`).
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            error: Some(message.into()),
            ..Self::default()
        }
    }

    /// No answer.
    pub fn ignore() -> Self {
        Self {
            ignore: true,
            ..Self::default()
        }
    }
}

/// The `tool_use` action: an assistant frame with one `tool_use` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolUse {
    /// The block's id (`toolu_…`).
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The tool's input (default `{}`).
    #[serde(default = "empty_object")]
    pub input: Value,
}

/// The `tool_result` action: a user frame with one `tool_result` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolResult {
    /// The id of the `tool_use` block answered.
    pub tool_use_id: String,
    /// The result: a string or content blocks.
    #[serde(default)]
    pub content: Value,
    /// Whether the tool failed.
    #[serde(default)]
    pub is_error: bool,
}

/// The `partial` action: one frame written a few bytes at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partial {
    /// The frame (a JSON string is written verbatim); a `\n` ends it.
    pub frame: Value,
    /// Bytes per write (at least 1).
    #[serde(default = "one")]
    pub chunk: usize,
    /// Sleep between writes, in milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
}

fn one() -> usize {
    1
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// One step of a script; see the [module docs](self) for what each does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Writes one frame (placeholders replaced).
    Emit(Value),
    /// A `system/init` frame; an object's fields are merged on top.
    Init(Value),
    /// An assistant frame with one text block.
    Text(String),
    /// An assistant frame with one `tool_use` block.
    ToolUse(ToolUse),
    /// A user frame with one `tool_result` block.
    ToolResult(ToolResult),
    /// A `stream_event` frame carrying this SSE event.
    StreamEvent(Value),
    /// A `result` frame; an object's fields are merged on top (`null` removes a field).
    Result(Value),
    /// A `system/session_state_changed` frame with this state.
    State(String),
    /// This string and `\n`, verbatim.
    Raw(String),
    /// This string, verbatim, without a newline.
    RawNoNewline(String),
    /// One valid assistant line of about this many bytes.
    Huge(usize),
    /// One frame written in small chunks.
    Partial(Partial),
    /// Sleeps this many milliseconds.
    SleepMs(u64),
    /// Writes this line to stderr.
    Stderr(String),
    /// Flushes, records and exits with this code.
    Exit(i32),
    /// Does nothing forever (when `true`).
    Hang(bool),
    /// Ignores SIGTERM from now on (when `true`).
    IgnoreSigterm(bool),
    /// Sends a control request to the SDK and waits for the answer.
    Request(Value),
    /// Sends a control request to the SDK without waiting.
    RequestAsync(Value),
    /// Waits for this many answers to asynchronous requests.
    AwaitResponses(usize),
    /// Cancels the last request sent (when `true`).
    CancelLast(bool),
    /// Waits for an `interrupt` request (when `true`).
    WaitInterrupt(bool),
    /// Waits for stdin EOF (when `true`).
    WaitEof(bool),
}

impl Action {
    /// Writes `frame` as one line.
    pub fn emit(frame: Value) -> Self {
        Action::Emit(frame)
    }

    /// A `system/init` frame.
    pub fn init() -> Self {
        Action::Init(Value::Object(Default::default()))
    }

    /// A `system/init` frame with `fields` merged on top.
    pub fn init_with(fields: Value) -> Self {
        Action::Init(fields)
    }

    /// An assistant frame with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Action::Text(text.into())
    }

    /// An assistant frame with one `tool_use` block.
    pub fn tool_use(id: impl Into<String>, name: impl Into<String>, input: Value) -> Self {
        Action::ToolUse(ToolUse {
            id: id.into(),
            name: name.into(),
            input,
        })
    }

    /// A user frame with one `tool_result` block.
    pub fn tool_result(tool_use_id: impl Into<String>, content: Value, is_error: bool) -> Self {
        Action::ToolResult(ToolResult {
            tool_use_id: tool_use_id.into(),
            content,
            is_error,
        })
    }

    /// A `stream_event` frame carrying `event`.
    pub fn stream_event(event: Value) -> Self {
        Action::StreamEvent(event)
    }

    /// A success `result` frame.
    pub fn result() -> Self {
        Action::Result(Value::Object(Default::default()))
    }

    /// A `result` frame with `fields` merged on top (a `null` field removes the key).
    pub fn result_with(fields: Value) -> Self {
        Action::Result(fields)
    }

    /// A `system/session_state_changed` frame (`running`, `requires_action`, `idle`, …).
    pub fn state(state: impl Into<String>) -> Self {
        Action::State(state.into())
    }

    /// `line` and `\n`, verbatim.
    pub fn raw(line: impl Into<String>) -> Self {
        Action::Raw(line.into())
    }

    /// `text`, verbatim, without a newline.
    pub fn raw_no_newline(text: impl Into<String>) -> Self {
        Action::RawNoNewline(text.into())
    }

    /// One valid assistant line of about `bytes` bytes.
    pub fn huge(bytes: usize) -> Self {
        Action::Huge(bytes)
    }

    /// `frame` written `chunk` bytes at a time, sleeping `delay_ms` between writes.
    pub fn partial(frame: Value, chunk: usize, delay_ms: u64) -> Self {
        Action::Partial(Partial {
            frame,
            chunk,
            delay_ms,
        })
    }

    /// Sleeps `ms` milliseconds.
    pub fn sleep_ms(ms: u64) -> Self {
        Action::SleepMs(ms)
    }

    /// Writes `line` to stderr.
    pub fn stderr(line: impl Into<String>) -> Self {
        Action::Stderr(line.into())
    }

    /// Flushes, records and exits with `code`.
    pub fn exit(code: i32) -> Self {
        Action::Exit(code)
    }

    /// Does nothing forever.
    pub fn hang() -> Self {
        Action::Hang(true)
    }

    /// Ignores SIGTERM from now on.
    pub fn ignore_sigterm() -> Self {
        Action::IgnoreSigterm(true)
    }

    /// Sends the control request `request` (`{"subtype": …}`) to the SDK and waits for the
    /// answer, then emits it as a `fake_control_response` frame.
    pub fn request(request: Value) -> Self {
        Action::Request(request)
    }

    /// Sends the control request `request` without waiting (see [`Action::await_responses`]).
    pub fn request_async(request: Value) -> Self {
        Action::RequestAsync(request)
    }

    /// Waits for `count` answers to asynchronous requests.
    pub fn await_responses(count: usize) -> Self {
        Action::AwaitResponses(count)
    }

    /// Sends `control_cancel_request` for the last request sent.
    pub fn cancel_last() -> Self {
        Action::CancelLast(true)
    }

    /// Waits until the SDK sends an `interrupt` control request in this turn.
    pub fn wait_interrupt() -> Self {
        Action::WaitInterrupt(true)
    }

    /// Waits until stdin EOF.
    pub fn wait_eof() -> Self {
        Action::WaitEof(true)
    }
}

/// Runs the fake CLI in this process: reads the environment and argv, follows the script and
/// exits. This is the `claude-kit-fake-claude` binary's `main`.
pub fn run() -> ! {
    run::main()
}

/// The path of the built `claude-kit-fake-claude` binary, for tests of other packages (cargo
/// builds a dependency's binaries only for its own tests).
///
/// It looks next to the running test executable (`target/<profile>/deps/…` →
/// `target/<profile>/claude-kit-fake-claude`). When the binary is missing, or older than the
/// mock's sources, it runs `$CARGO build -p claude-kit-mock --bin claude-kit-fake-claude` once
/// per process, with the same profile and target directory, from the workspace root (when that
/// build fails but an older binary exists, it says so on stderr and uses that one).
///
/// # Panics
///
/// When the binary cannot be found or built (this is a test helper).
pub fn path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(locate_or_build).clone()
}

fn locate_or_build() -> PathBuf {
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("{BINARY_NAME}: cannot find the current executable: {e}"));
    let mut dir = exe
        .parent()
        .unwrap_or_else(|| panic!("{BINARY_NAME}: {} has no parent", exe.display()))
        .to_path_buf();
    if dir
        .file_name()
        .is_some_and(|n| n == "deps" || n == "examples")
    {
        dir.pop();
    }
    let binary = dir.join(format!("{BINARY_NAME}{}", std::env::consts::EXE_SUFFIX));
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    if is_fresh(&binary, manifest_dir) {
        return binary;
    }
    let profile = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "debug".to_owned());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(&cargo);
    command
        .current_dir(manifest_dir.join("..").join(".."))
        .args(["build", "-p", "claude-kit-mock", "--bin", BINARY_NAME]);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    if let Some(target_dir) = dir.parent() {
        command.arg("--target-dir").arg(target_dir);
    }
    let built = match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!(
            "`cargo build -p claude-kit-mock --bin {BINARY_NAME}` failed ({status})"
        )),
        Err(e) => Err(format!(
            "cannot run {} to build the fake CLI: {e}",
            Path::new(&cargo).display()
        )),
    };
    match built {
        Ok(()) if binary.is_file() => binary,
        Ok(()) => panic!(
            "{BINARY_NAME}: built, but {} does not exist",
            binary.display()
        ),
        // Sources edited since the binary was built, and not buildable right now: use it.
        Err(message) if binary.is_file() => {
            eprintln!(
                "{BINARY_NAME}: {message}; using the existing {}",
                binary.display()
            );
            binary
        }
        Err(message) => panic!("{BINARY_NAME}: {message}"),
    }
}

/// Whether `binary` exists and is newer than every file of the mock crate's sources.
fn is_fresh(binary: &Path, manifest_dir: &Path) -> bool {
    let Ok(built) = binary.metadata().and_then(|m| m.modified()) else {
        return false;
    };
    fn newest(path: &Path) -> Option<std::time::SystemTime> {
        let meta = path.metadata().ok()?;
        if meta.is_dir() {
            std::fs::read_dir(path)
                .ok()?
                .filter_map(|entry| newest(&entry.ok()?.path()))
                .max()
        } else {
            meta.modified().ok()
        }
    }
    [manifest_dir.join("src"), manifest_dir.join("Cargo.toml")]
        .iter()
        .filter_map(|p| newest(p))
        .all(|t| t <= built)
}
