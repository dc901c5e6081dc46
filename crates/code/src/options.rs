//! What a Claude Code session runs with: [`CodeOptions`], mapped to the CLI's argv, its
//! environment and the `initialize` request exactly as the official Agent SDKs map them.
//!
//! ```
//! use claude_kit_code::{CodeOptions, PermissionMode};
//!
//! let options = CodeOptions::new()
//!     .model("claude-sonnet-4-5")
//!     .max_turns(3)
//!     .allowed_tools(["Read", "Grep"])
//!     .permission_mode(PermissionMode::AcceptEdits)
//!     .extra_arg("debug-to-stderr", None)
//!     .extra_arg("flag", Some("-starts-with-a-dash"));
//! let argv = options.argv();
//! assert_eq!(&argv[..5], ["--output-format", "stream-json", "--verbose", "--system-prompt", ""]);
//! assert!(argv.windows(2).any(|w| w == ["--max-turns", "3"]));
//! assert!(argv.contains(&"--flag=-starts-with-a-dash".to_owned()));
//! assert_eq!(&argv[argv.len() - 2..], ["--input-format", "stream-json"]);
//! ```

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use claude_kit_core::agent::Toolbox;
use claude_kit_core::code::mcp::McpBridge;
use claude_kit_rt::SharedRuntime;
use serde_json::{Map, Value, json};

use crate::callbacks::{CanUseTool, HookEvent, HookMatcher};

/// The default bound on one stdout line of the CLI: 32 MiB (the Python SDK's 1 MiB limit
/// ends sessions whose tool results or images are larger).
pub const DEFAULT_MAX_LINE_BYTES: usize = 32 * 1024 * 1024;

/// How long `connect` waits for the CLI to answer `initialize` unless told otherwise: 60 s,
/// as the official SDKs.
pub const DEFAULT_INITIALIZE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a control request (`interrupt`, `set_model`, …) waits for its answer: 60 s.
pub const DEFAULT_CONTROL_TIMEOUT: Duration = Duration::from_secs(60);

/// The value of `CLAUDE_CODE_ENTRYPOINT` this SDK sets (the Python SDK sets `sdk-py`).
pub const ENTRYPOINT: &str = "sdk-rs";

/// The system prompt of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SystemPrompt {
    /// This text (an empty one is the default: the SDK's, not Claude Code's own prompt).
    Text(String),
    /// Claude Code's own system prompt, with this text appended when given.
    Preset {
        /// Appended to the preset.
        append: Option<String>,
    },
    /// The prompt in this file.
    File(PathBuf),
}

/// The base set of built-in tools (`--tools`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolSet {
    /// Only these (none when empty).
    List(Vec<String>),
    /// Claude Code's default set.
    Default,
}

/// How the CLI asks before it uses a tool (`--permission-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PermissionMode {
    /// Ask (through [`CodeOptions::can_use_tool`] when set) for anything not allowed.
    Default,
    /// Accept file edits without asking.
    AcceptEdits,
    /// Plan only: no tool that changes anything runs.
    Plan,
    /// Never ask (refused by the CLI when run as root unless `IS_SANDBOX=1`).
    BypassPermissions,
    /// Deny whatever is not allowed, without asking.
    DontAsk,
    /// Let the CLI decide.
    Auto,
}

impl PermissionMode {
    /// The CLI's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionMode::Default => "default",
            PermissionMode::AcceptEdits => "acceptEdits",
            PermissionMode::Plan => "plan",
            PermissionMode::BypassPermissions => "bypassPermissions",
            PermissionMode::DontAsk => "dontAsk",
            PermissionMode::Auto => "auto",
        }
    }
}

impl fmt::Display for PermissionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Extended thinking (`--thinking`, `--max-thinking-tokens`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Thinking {
    /// The model decides how much to think.
    Adaptive,
    /// Think with at most this many tokens.
    Enabled {
        /// The budget.
        budget_tokens: u32,
    },
    /// No thinking.
    Disabled,
}

/// How hard the model works (`--effort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Effort {
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `xhigh`.
    XHigh,
    /// `max`.
    Max,
}

impl Effort {
    /// The CLI's name of the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::XHigh => "xhigh",
            Effort::Max => "max",
        }
    }
}

/// Where the CLI reads settings from (`--setting-sources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SettingSource {
    /// `~/.claude/settings.json`.
    User,
    /// `.claude/settings.json` of the project.
    Project,
    /// `.claude/settings.local.json` of the project.
    Local,
}

impl SettingSource {
    fn as_str(self) -> &'static str {
        match self {
            SettingSource::User => "user",
            SettingSource::Project => "project",
            SettingSource::Local => "local",
        }
    }
}

/// An external MCP server the CLI starts or connects to itself (passed through in
/// `--mcp-config`). In-process servers are [`CodeOptions::sdk_mcp_server`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum McpServer {
    /// A server the CLI runs as a child process, speaking MCP on its stdio.
    Stdio {
        /// The program.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Its extra environment.
        env: BTreeMap<String, String>,
    },
    /// A server reached over streamable HTTP.
    Http {
        /// Its URL.
        url: String,
        /// Headers to send.
        headers: BTreeMap<String, String>,
    },
    /// A server reached over server-sent events.
    Sse {
        /// Its URL.
        url: String,
        /// Headers to send.
        headers: BTreeMap<String, String>,
    },
    /// Any configuration the CLI accepts, as its JSON.
    Json(Value),
}

impl McpServer {
    /// A stdio server running `command` with `args`.
    pub fn stdio<S: Into<String>>(
        command: impl Into<String>,
        args: impl IntoIterator<Item = S>,
    ) -> Self {
        McpServer::Stdio {
            command: command.into(),
            args: args.into_iter().map(Into::into).collect(),
            env: BTreeMap::new(),
        }
    }

    /// An HTTP server at `url`.
    pub fn http(url: impl Into<String>) -> Self {
        McpServer::Http {
            url: url.into(),
            headers: BTreeMap::new(),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            McpServer::Stdio { command, args, env } => {
                let mut config = json!({"type": "stdio", "command": command, "args": args});
                if !env.is_empty() {
                    config["env"] = json!(env);
                }
                config
            }
            McpServer::Http { url, headers } | McpServer::Sse { url, headers } => {
                let kind = if matches!(self, McpServer::Http { .. }) {
                    "http"
                } else {
                    "sse"
                };
                let mut config = json!({"type": kind, "url": url});
                if !headers.is_empty() {
                    config["headers"] = json!(headers);
                }
                config
            }
            McpServer::Json(value) => value.clone(),
        }
    }
}

/// A subagent the main agent can hand tasks to (sent in the `initialize` request).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentDefinition {
    /// When to use it (the main agent reads this).
    pub description: String,
    /// Its system prompt.
    pub prompt: String,
    /// The tools it may use (all of the session's when `None`).
    pub tools: Option<Vec<String>>,
    /// Its model (`sonnet`, `opus`, `haiku`, `inherit`, or a model id).
    pub model: Option<String>,
}

impl AgentDefinition {
    /// A subagent with a description and a prompt.
    pub fn new(description: impl Into<String>, prompt: impl Into<String>) -> Self {
        Self {
            description: description.into(),
            prompt: prompt.into(),
            tools: None,
            model: None,
        }
    }

    /// Limits its tools.
    #[must_use]
    pub fn tools<S: Into<String>>(mut self, tools: impl IntoIterator<Item = S>) -> Self {
        self.tools = Some(tools.into_iter().map(Into::into).collect());
        self
    }

    /// Sets its model.
    #[must_use]
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut agent = json!({"description": self.description, "prompt": self.prompt});
        if let Some(tools) = &self.tools {
            agent["tools"] = json!(tools);
        }
        if let Some(model) = &self.model {
            agent["model"] = json!(model);
        }
        agent
    }
}

/// A callback that receives the CLI's stderr, line by line.
pub type StderrCallback = Arc<dyn Fn(&str) + Send + Sync>;

/// Everything a Claude Code session runs with. Every field is optional; `new()` is the
/// official SDK's defaults (an empty system prompt, the CLI's own tools and permissions).
#[derive(Clone, Default)]
#[must_use]
pub struct CodeOptions {
    pub(crate) system_prompt: Option<SystemPrompt>,
    pub(crate) tools: Option<ToolSet>,
    pub(crate) allowed_tools: Vec<String>,
    pub(crate) disallowed_tools: Vec<String>,
    pub(crate) permission_mode: Option<PermissionMode>,
    pub(crate) max_turns: Option<u32>,
    pub(crate) max_budget_usd: Option<f64>,
    pub(crate) model: Option<String>,
    pub(crate) fallback_model: Option<String>,
    pub(crate) betas: Vec<String>,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) add_dirs: Vec<PathBuf>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) settings: Option<String>,
    pub(crate) setting_sources: Option<Vec<SettingSource>>,
    pub(crate) mcp_servers: BTreeMap<String, McpServer>,
    pub(crate) mcp_config_path: Option<PathBuf>,
    pub(crate) sdk_servers: McpBridge,
    pub(crate) strict_mcp_config: bool,
    pub(crate) agents: BTreeMap<String, AgentDefinition>,
    pub(crate) hooks: Vec<(HookEvent, HookMatcher)>,
    pub(crate) can_use_tool: Option<CanUseTool>,
    pub(crate) include_partial_messages: bool,
    pub(crate) include_hook_events: bool,
    pub(crate) thinking: Option<Thinking>,
    pub(crate) effort: Option<Effort>,
    pub(crate) json_schema: Option<Value>,
    pub(crate) continue_conversation: bool,
    pub(crate) resume: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) fork_session: bool,
    pub(crate) extra_args: Vec<(String, Option<String>)>,
    pub(crate) cli_path: Option<PathBuf>,
    pub(crate) max_line_bytes: Option<usize>,
    pub(crate) stderr: Option<StderrCallback>,
    pub(crate) initialize_timeout: Option<Duration>,
    pub(crate) control_timeout: Option<Duration>,
    pub(crate) shutdown_grace: Option<Duration>,
    pub(crate) runtime: Option<SharedRuntime>,
}

impl fmt::Debug for CodeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `env` may hold a key: only its names are shown.
        f.debug_struct("CodeOptions")
            .field("argv", &self.argv())
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("cwd", &self.cwd)
            .field("cli_path", &self.cli_path)
            .field("sdk_mcp_servers", &self.sdk_servers.names())
            .field("hooks", &self.hooks.len())
            .field("can_use_tool", &self.can_use_tool.is_some())
            .finish_non_exhaustive()
    }
}

impl CodeOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the system prompt as text.
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(SystemPrompt::Text(prompt.into()));
        self
    }

    /// Sets the system prompt: text, Claude Code's preset (with an addition), or a file.
    pub fn system(mut self, prompt: SystemPrompt) -> Self {
        self.system_prompt = Some(prompt);
        self
    }

    /// Sets the base set of built-in tools.
    pub fn tools(mut self, tools: ToolSet) -> Self {
        self.tools = Some(tools);
        self
    }

    /// Tools the CLI may use without asking (`Read`, `Bash(git *)`, `mcp__calc__add`, …).
    pub fn allowed_tools<S: Into<String>>(mut self, tools: impl IntoIterator<Item = S>) -> Self {
        self.allowed_tools.extend(tools.into_iter().map(Into::into));
        self
    }

    /// Tools the CLI must not use.
    pub fn disallowed_tools<S: Into<String>>(mut self, tools: impl IntoIterator<Item = S>) -> Self {
        self.disallowed_tools
            .extend(tools.into_iter().map(Into::into));
        self
    }

    /// Sets the permission mode.
    pub fn permission_mode(mut self, mode: PermissionMode) -> Self {
        self.permission_mode = Some(mode);
        self
    }

    /// At most this many model turns per query.
    pub fn max_turns(mut self, turns: u32) -> Self {
        self.max_turns = Some(turns);
        self
    }

    /// Stops once the session has cost this many US dollars.
    pub fn max_budget_usd(mut self, usd: f64) -> Self {
        self.max_budget_usd = Some(usd);
        self
    }

    /// Sets the model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the model used when the main one is overloaded.
    pub fn fallback_model(mut self, model: impl Into<String>) -> Self {
        self.fallback_model = Some(model.into());
        self
    }

    /// Adds API beta names (`--betas`).
    pub fn betas<S: Into<String>>(mut self, betas: impl IntoIterator<Item = S>) -> Self {
        self.betas.extend(betas.into_iter().map(Into::into));
        self
    }

    /// Runs the CLI in this directory (and sets `PWD` for it).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Gives the CLI access to one more directory (`--add-dir`, repeatable).
    pub fn add_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.add_dirs.push(dir.into());
        self
    }

    /// Sets an environment variable of the CLI (on top of this process's environment).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Settings as JSON text or a file path (`--settings`).
    pub fn settings(mut self, settings: impl Into<String>) -> Self {
        self.settings = Some(settings.into());
        self
    }

    /// Where settings are read from (`--setting-sources`; none when empty).
    pub fn setting_sources(mut self, sources: impl IntoIterator<Item = SettingSource>) -> Self {
        self.setting_sources = Some(sources.into_iter().collect());
        self
    }

    /// Adds an external MCP server.
    pub fn mcp_server(mut self, name: impl Into<String>, server: McpServer) -> Self {
        self.mcp_servers.insert(name.into(), server);
        self
    }

    /// Passes an MCP configuration file (`--mcp-config PATH`) instead of servers added here.
    pub fn mcp_config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.mcp_config_path = Some(path.into());
        self
    }

    /// Serves `toolbox` to the CLI as the in-process MCP server `name`: its tools are
    /// `mcp__<name>__<tool>` to the model, and run in this process (the same [`Toolbox`] the
    /// Messages API backend's tool runner runs).
    pub fn sdk_mcp_server(mut self, name: impl Into<String>, toolbox: Toolbox) -> Self {
        self.sdk_servers = self.sdk_servers.server(name, toolbox);
        self
    }

    /// Uses only the MCP servers given here (`--strict-mcp-config`).
    pub fn strict_mcp_config(mut self, strict: bool) -> Self {
        self.strict_mcp_config = strict;
        self
    }

    /// Defines a subagent.
    pub fn agent(mut self, name: impl Into<String>, agent: AgentDefinition) -> Self {
        self.agents.insert(name.into(), agent);
        self
    }

    /// Registers hooks for an event.
    pub fn hook(mut self, event: HookEvent, matcher: HookMatcher) -> Self {
        self.hooks.push((event, matcher));
        self
    }

    /// Asks `callback` before each tool use the CLI would ask a user about
    /// (`--permission-prompt-tool stdio`).
    pub fn can_use_tool(mut self, callback: CanUseTool) -> Self {
        self.can_use_tool = Some(callback);
        self
    }

    /// Streams the reply as it is written (`stream_event` messages).
    pub fn include_partial_messages(mut self, include: bool) -> Self {
        self.include_partial_messages = include;
        self
    }

    /// Reports hook runs as messages (`--include-hook-events`).
    pub fn include_hook_events(mut self, include: bool) -> Self {
        self.include_hook_events = include;
        self
    }

    /// Sets extended thinking.
    pub fn thinking(mut self, thinking: Thinking) -> Self {
        self.thinking = Some(thinking);
        self
    }

    /// Sets the effort level.
    pub fn effort(mut self, effort: Effort) -> Self {
        self.effort = Some(effort);
        self
    }

    /// Asks for output matching this JSON schema: the result then carries
    /// `structured_output`.
    pub fn json_schema(mut self, schema: Value) -> Self {
        self.json_schema = Some(schema);
        self
    }

    /// Continues the most recent session of the working directory (`--continue`).
    pub fn continue_conversation(mut self, continue_: bool) -> Self {
        self.continue_conversation = continue_;
        self
    }

    /// Resumes the session with this id (`--resume=ID`).
    pub fn resume(mut self, session_id: impl Into<String>) -> Self {
        self.resume = Some(session_id.into());
        self
    }

    /// Uses this id for the new session (`--session-id=ID`).
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// With [`resume`](Self::resume): continue in a new session, keeping the old one.
    pub fn fork_session(mut self, fork: bool) -> Self {
        self.fork_session = fork;
        self
    }

    /// Passes a flag this SDK has no option for: `--flag`, `--flag value`, or `--flag=value`
    /// when the value starts with `-` (so that it cannot be read as another flag).
    pub fn extra_arg(mut self, flag: impl Into<String>, value: Option<&str>) -> Self {
        self.extra_args
            .push((flag.into(), value.map(str::to_owned)));
        self
    }

    /// Runs this CLI binary instead of discovering one.
    pub fn cli_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.cli_path = Some(path.into());
        self
    }

    /// Bounds one stdout line of the CLI (default [`DEFAULT_MAX_LINE_BYTES`]).
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = Some(bytes.max(1024));
        self
    }

    /// Receives the CLI's stderr line by line (otherwise only its last lines are kept, for
    /// errors).
    pub fn stderr(mut self, callback: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.stderr = Some(Arc::new(callback));
        self
    }

    /// How long `connect` waits for the CLI's answer to `initialize` (default 60 s).
    pub fn initialize_timeout(mut self, timeout: Duration) -> Self {
        self.initialize_timeout = Some(timeout);
        self
    }

    /// How long other control requests wait for their answer (default 60 s).
    pub fn control_timeout(mut self, timeout: Duration) -> Self {
        self.control_timeout = Some(timeout);
        self
    }

    /// How long each step of the shutdown waits for the CLI to exit — after stdin is closed,
    /// after `SIGTERM`, after `SIGKILL` — (default 5 s, the official SDK's).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = Some(grace);
        self
    }

    /// Runs the session's tasks and the CLI process on this runtime (otherwise the one the
    /// caller is in, as the Messages API client chooses).
    pub fn runtime(mut self, runtime: SharedRuntime) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// The model, when one is set.
    pub fn model_name(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// Whether the CLI may send requests that need this process after a result (an
    /// in-process MCP server, hooks or a permission callback): stdin then stays open until
    /// the run is over, as the official SDKs keep it.
    pub fn has_callbacks(&self) -> bool {
        !self.sdk_servers.is_empty() || !self.hooks.is_empty() || self.can_use_tool.is_some()
    }

    /// The CLI's arguments (without the program), in the official SDK's order.
    pub fn argv(&self) -> Vec<String> {
        let mut argv: Vec<String> = ["--output-format", "stream-json", "--verbose"]
            .map(str::to_owned)
            .to_vec();
        let mut push = |flag: &str, value: &str| {
            argv.push(flag.to_owned());
            argv.push(value.to_owned());
        };
        match &self.system_prompt {
            None => push("--system-prompt", ""),
            Some(SystemPrompt::Text(text)) => push("--system-prompt", text),
            Some(SystemPrompt::File(path)) => push("--system-prompt-file", &path.to_string_lossy()),
            Some(SystemPrompt::Preset {
                append: Some(append),
            }) => {
                push("--append-system-prompt", append);
            }
            Some(SystemPrompt::Preset { append: None }) => {}
        }
        match &self.tools {
            None => {}
            Some(ToolSet::List(tools)) => push("--tools", &tools.join(",")),
            Some(ToolSet::Default) => push("--tools", "default"),
        }
        if !self.allowed_tools.is_empty() {
            push("--allowedTools", &self.allowed_tools.join(","));
        }
        if let Some(turns) = self.max_turns.filter(|&turns| turns > 0) {
            push("--max-turns", &turns.to_string());
        }
        if let Some(usd) = self.max_budget_usd {
            push("--max-budget-usd", &usd.to_string());
        }
        if !self.disallowed_tools.is_empty() {
            push("--disallowedTools", &self.disallowed_tools.join(","));
        }
        if let Some(model) = &self.model {
            push("--model", model);
        }
        if let Some(model) = &self.fallback_model {
            push("--fallback-model", model);
        }
        if !self.betas.is_empty() {
            push("--betas", &self.betas.join(","));
        }
        if self.can_use_tool.is_some() {
            push("--permission-prompt-tool", "stdio");
        }
        if let Some(mode) = self.permission_mode {
            push("--permission-mode", mode.as_str());
        }
        if self.continue_conversation {
            argv.push("--continue".to_owned());
        }
        if let Some(id) = &self.resume {
            argv.push(format!("--resume={id}"));
        }
        if let Some(id) = &self.session_id {
            argv.push(format!("--session-id={id}"));
        }
        let mut push = |flag: &str, value: &str| {
            argv.push(flag.to_owned());
            argv.push(value.to_owned());
        };
        if let Some(settings) = &self.settings {
            push("--settings", settings);
        }
        for dir in &self.add_dirs {
            push("--add-dir", &dir.to_string_lossy());
        }
        if let Some(path) = &self.mcp_config_path {
            push("--mcp-config", &path.to_string_lossy());
        } else if let Some(config) = self.mcp_config() {
            push("--mcp-config", &config.to_string());
        }
        for (on, flag) in [
            (self.include_partial_messages, "--include-partial-messages"),
            (self.include_hook_events, "--include-hook-events"),
            (self.strict_mcp_config, "--strict-mcp-config"),
            (self.fork_session, "--fork-session"),
        ] {
            if on {
                argv.push(flag.to_owned());
            }
        }
        if let Some(sources) = &self.setting_sources {
            let names: Vec<&str> = sources.iter().map(|s| s.as_str()).collect();
            argv.push(format!("--setting-sources={}", names.join(",")));
        }
        for (flag, value) in &self.extra_args {
            let flag = flag.trim_start_matches('-');
            match value {
                None => argv.push(format!("--{flag}")),
                Some(value) if value.starts_with('-') => argv.push(format!("--{flag}={value}")),
                Some(value) => {
                    argv.push(format!("--{flag}"));
                    argv.push(value.clone());
                }
            }
        }
        let mut push = |flag: &str, value: &str| {
            argv.push(flag.to_owned());
            argv.push(value.to_owned());
        };
        match &self.thinking {
            None => {}
            Some(Thinking::Adaptive) => push("--thinking", "adaptive"),
            Some(Thinking::Enabled { budget_tokens }) => {
                push("--max-thinking-tokens", &budget_tokens.to_string());
            }
            Some(Thinking::Disabled) => push("--thinking", "disabled"),
        }
        if let Some(effort) = self.effort {
            push("--effort", effort.as_str());
        }
        if let Some(schema) = &self.json_schema {
            push("--json-schema", &schema.to_string());
        }
        push("--input-format", "stream-json");
        argv
    }

    /// The `--mcp-config` JSON: external servers as configured, in-process ones as
    /// `{"type": "sdk", "name": …}`.
    fn mcp_config(&self) -> Option<Value> {
        let mut servers = Map::new();
        for (name, server) in &self.mcp_servers {
            servers.insert(name.clone(), server.to_json());
        }
        for name in self.sdk_servers.names() {
            servers.insert(name.to_owned(), json!({"type": "sdk", "name": name}));
        }
        (!servers.is_empty()).then(|| json!({ "mcpServers": servers }))
    }

    /// The variables set on top of this process's environment (`CLAUDECODE` is removed).
    pub fn child_env(&self) -> Vec<(String, String)> {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        env.insert("CLAUDE_CODE_ENTRYPOINT".to_owned(), ENTRYPOINT.to_owned());
        env.extend(self.env.clone());
        env.insert(
            "CLAUDE_AGENT_SDK_VERSION".to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        );
        // Unless the caller chose a value (here or in this process's environment).
        const READS_STATE: &str = "CLAUDE_CODE_SDK_READS_SESSION_STATE";
        if std::env::var_os(READS_STATE).is_none() {
            env.entry(READS_STATE.to_owned())
                .or_insert_with(|| "1".to_owned());
        }
        if let Some(cwd) = &self.cwd {
            env.insert("PWD".to_owned(), cwd.to_string_lossy().into_owned());
        }
        env.into_iter().collect()
    }

    /// The command that starts `cli` with these options: argv, environment, working
    /// directory.
    pub fn command(&self, cli: &Path) -> std::process::Command {
        let mut command = std::process::Command::new(cli);
        command.args(self.argv());
        command.env_remove("CLAUDECODE");
        for (key, value) in self.child_env() {
            command.env(key, value);
        }
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command
    }

    /// The API key the CLI will use (from these options' env, or this process's), for
    /// redaction.
    pub(crate) fn api_key(&self) -> Option<String> {
        self.env
            .get("ANTHROPIC_API_KEY")
            .cloned()
            .or_else(|| {
                std::env::var_os("ANTHROPIC_API_KEY").and_then(|k: OsString| k.into_string().ok())
            })
            .filter(|key| !key.is_empty())
    }

    /// The `initialize` request (hooks get ids `hook_0`, `hook_1`, … in order) and the
    /// callbacks by id.
    pub(crate) fn initialize_request(&self) -> (Value, Vec<crate::callbacks::HookCallback>) {
        let mut callbacks = Vec::new();
        let mut hooks = Map::new();
        for (event, matcher) in &self.hooks {
            let ids: Vec<String> = matcher
                .callbacks
                .iter()
                .map(|callback| {
                    callbacks.push(callback.clone());
                    format!("hook_{}", callbacks.len() - 1)
                })
                .collect();
            let mut config = json!({"matcher": matcher.matcher, "hookCallbackIds": ids});
            if let Some(timeout) = matcher.timeout {
                config["timeout"] = json!(timeout.as_secs_f64());
            }
            hooks
                .entry(event.as_str())
                .or_insert_with(|| Value::Array(Vec::new()))
                .as_array_mut()
                .expect("hook lists are arrays")
                .push(config);
        }
        let mut request = json!({
            "subtype": "initialize",
            "hooks": if hooks.is_empty() { Value::Null } else { Value::Object(hooks) },
        });
        if !self.agents.is_empty() {
            let agents: Map<String, Value> = self
                .agents
                .iter()
                .map(|(name, agent)| (name.clone(), agent.to_json()))
                .collect();
            request["agents"] = Value::Object(agents);
        }
        (request, callbacks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::{HookOutput, PermissionDecision};

    fn argv(options: CodeOptions) -> Vec<String> {
        options.argv()
    }

    #[test]
    fn defaults_are_the_official_sdks() {
        assert_eq!(
            argv(CodeOptions::new()),
            [
                "--output-format",
                "stream-json",
                "--verbose",
                "--system-prompt",
                "",
                "--input-format",
                "stream-json"
            ]
        );
    }

    #[test]
    fn every_option_maps_to_its_flag_in_order() {
        let options = CodeOptions::new()
            .system(SystemPrompt::Preset {
                append: Some("Be brief.".into()),
            })
            .tools(ToolSet::List(vec![]))
            .allowed_tools(["Read", "Bash(git *)"])
            .max_turns(2)
            .max_budget_usd(0.5)
            .disallowed_tools(["Write"])
            .model("claude-sonnet-4-5")
            .fallback_model("claude-haiku-4-5")
            .betas(["b1", "b2"])
            .can_use_tool(CanUseTool::new(|_| async { PermissionDecision::allow() }))
            .permission_mode(PermissionMode::AcceptEdits)
            .continue_conversation(true)
            .resume("-abc")
            .session_id("s1")
            .settings("{}")
            .add_dir("/a")
            .add_dir("/b")
            .mcp_server("web", McpServer::http("http://127.0.0.1:1/mcp"))
            .sdk_mcp_server("calc", Toolbox::new())
            .include_partial_messages(true)
            .fork_session(true)
            .setting_sources([SettingSource::User, SettingSource::Project])
            .extra_arg("debug", None)
            .extra_arg("x", Some("1"))
            .thinking(Thinking::Enabled {
                budget_tokens: 1000,
            })
            .effort(Effort::High)
            .json_schema(json!({"type": "object"}));
        let argv = argv(options);
        let expected: Vec<String> = [
            "--output-format",
            "stream-json",
            "--verbose",
            "--append-system-prompt",
            "Be brief.",
            "--tools",
            "",
            "--allowedTools",
            "Read,Bash(git *)",
            "--max-turns",
            "2",
            "--max-budget-usd",
            "0.5",
            "--disallowedTools",
            "Write",
            "--model",
            "claude-sonnet-4-5",
            "--fallback-model",
            "claude-haiku-4-5",
            "--betas",
            "b1,b2",
            "--permission-prompt-tool",
            "stdio",
            "--permission-mode",
            "acceptEdits",
            "--continue",
            "--resume=-abc",
            "--session-id=s1",
            "--settings",
            "{}",
            "--add-dir",
            "/a",
            "--add-dir",
            "/b",
            "--mcp-config",
            r#"{"mcpServers":{"web":{"type":"http","url":"http://127.0.0.1:1/mcp"},"calc":{"type":"sdk","name":"calc"}}}"#,
            "--include-partial-messages",
            "--fork-session",
            "--setting-sources=user,project",
            "--debug",
            "--x",
            "1",
            "--max-thinking-tokens",
            "1000",
            "--effort",
            "high",
            "--json-schema",
            r#"{"type":"object"}"#,
            "--input-format",
            "stream-json",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(argv, expected);
    }

    #[test]
    fn system_prompt_forms() {
        let text = argv(CodeOptions::new().system_prompt("Hi"));
        assert_eq!(text[3..5], ["--system-prompt", "Hi"]);
        let file = argv(CodeOptions::new().system(SystemPrompt::File("/p.md".into())));
        assert_eq!(file[3..5], ["--system-prompt-file", "/p.md"]);
        let preset = argv(CodeOptions::new().system(SystemPrompt::Preset { append: None }));
        assert_eq!(preset[3..5], ["--input-format", "stream-json"]);
        let default_tools = argv(CodeOptions::new().tools(ToolSet::Default));
        assert!(
            default_tools
                .windows(2)
                .any(|w| w == ["--tools", "default"])
        );
        let thinking = argv(CodeOptions::new().thinking(Thinking::Adaptive));
        assert!(thinking.windows(2).any(|w| w == ["--thinking", "adaptive"]));
    }

    #[test]
    fn mcp_config_file_is_passed_through() {
        let argv = argv(
            CodeOptions::new()
                .mcp_config_file("/etc/mcp.json")
                .sdk_mcp_server("c", Toolbox::new()),
        );
        assert!(
            argv.windows(2)
                .any(|w| w == ["--mcp-config", "/etc/mcp.json"])
        );
    }

    #[test]
    fn environment_of_the_child() {
        let env = CodeOptions::new()
            .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
            .env("CLAUDE_CODE_ENTRYPOINT", "mine")
            .env("CLAUDE_AGENT_SDK_VERSION", "ignored")
            .cwd("/tmp")
            .child_env();
        let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        assert_eq!(get("CLAUDE_CODE_ENTRYPOINT"), Some("mine"));
        assert_eq!(
            get("CLAUDE_AGENT_SDK_VERSION"),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(get("ANTHROPIC_BASE_URL"), Some("http://127.0.0.1:9"));
        assert_eq!(get("PWD"), Some("/tmp"));
        let command = CodeOptions::new().command(Path::new("/bin/claude"));
        assert!(
            command
                .get_envs()
                .any(|(k, v)| k == "CLAUDECODE" && v.is_none())
        );
    }

    #[test]
    fn initialize_request_carries_hooks_and_agents() {
        let hook = crate::callbacks::HookCallback::new(|_| async { HookOutput::default() });
        let options = CodeOptions::new()
            .hook(
                HookEvent::PreToolUse,
                HookMatcher::new(Some("Bash"))
                    .callback(hook.clone())
                    .timeout(Duration::from_secs(5)),
            )
            .hook(HookEvent::Stop, HookMatcher::new(None).callback(hook))
            .agent(
                "reviewer",
                AgentDefinition::new("Reviews code", "You review.").tools(["Read"]),
            );
        let (request, callbacks) = options.initialize_request();
        assert_eq!(callbacks.len(), 2);
        assert_eq!(
            request,
            json!({
                "subtype": "initialize",
                "hooks": {
                    "PreToolUse": [{"matcher": "Bash", "hookCallbackIds": ["hook_0"], "timeout": 5.0}],
                    "Stop": [{"matcher": null, "hookCallbackIds": ["hook_1"]}],
                },
                "agents": {"reviewer": {"description": "Reviews code", "prompt": "You review.", "tools": ["Read"]}},
            })
        );
        assert_eq!(
            CodeOptions::new().initialize_request().0,
            json!({"subtype": "initialize", "hooks": null})
        );
    }

    #[test]
    fn debug_never_shows_env_values() {
        let options = CodeOptions::new().env("ANTHROPIC_API_KEY", "sk-ant-secret");
        let debug = format!("{options:?}");
        assert!(debug.contains("ANTHROPIC_API_KEY"));
        assert!(!debug.contains("sk-ant-secret"));
    }
}
