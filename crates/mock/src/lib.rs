//! A local mock of the Anthropic Messages API for `claude-kit` tests, examples and benchmarks.
//!
//! [`MockServer`] is a real HTTP/1.1 and HTTP/2 server (optionally over TLS) bound to loopback.
//! It runs on
//! its own worker threads (an [`async_executor::Executor`] driven by `async-io`), independent of
//! whatever runtime the caller uses, so one server serves tokio, smol, async-std and plain
//! blocking tests alike. Connections are async tasks, not threads, so it holds many thousands of
//! concurrent streams on a couple of threads.
//!
//! HTTP/2: on plain TCP a connection that starts with the HTTP/2 preface is served as HTTP/2
//! (prior knowledge), any other as HTTP/1.1; over TLS the server offers ALPN `h2` and
//! `http/1.1` and serves what was negotiated. Each HTTP/2 connection takes up to 20,000
//! concurrent streams ([`MockServerBuilder::http2_max_concurrent_streams`]);
//! [`MockServerBuilder::http2`] turns HTTP/2 off.
//!
//! What it does:
//!
//! - `POST /v1/messages` answers like the real API: JSON, or Server-Sent Events when the request
//!   has `"stream": true`, from a deterministic "model" that echoes the last user message.
//! - Tool calling: when a request offers `tools` and its last message is a user turn without
//!   `tool_result` blocks, the model answers `stop_reason: "tool_use"` with a text block and a
//!   `tool_use` block (`id: "toolu_mock_<N>"`) calling the first tool (or the `tool_choice`
//!   tool) with an input generated from its `input_schema`; streamed as `input_json_delta`
//!   events. `x-mock-parallel-tools: N` makes N calls, cycling through the tools. A last user
//!   turn with `tool_result` blocks gets `"The tool said: <text>"` (`"The tool failed: .."`
//!   when `is_error`).
//! - `POST /v1/messages/count_tokens` (`{"input_tokens": <words of messages and system>}`),
//!   `GET /v1/models` (paginated with `limit`, `after_id`, `before_id`) and
//!   `GET /v1/models/{id}`.
//! - Message Batches (`/v1/messages/batches`: create, list, get, cancel, delete, results as
//!   JSONL), processed in simulated time ([`MockServerBuilder::batch_request_delay`]).
//! - Requests are validated like the real API (`400 invalid_request_error`), the API key is
//!   checked when one is configured (`401 authentication_error`), anything else is a `404`.
//! - Scripted [`Reply`]s queued with [`MockServer::enqueue`] answer the next valid requests
//!   instead of the model (errors, arbitrary JSON, raw bodies, extra headers such as
//!   `retry-after`).
//! - Recorded SSE transcripts are replayed byte for byte, cut into HTTP chunks per event, per
//!   byte, at random or not at all ([`Reply::sse`], [`MockServerBuilder::replay`], [`Chunking`]).
//! - Stream faults: a stall after some events or before the headers, a connection closed in the
//!   middle of the body, an endless event, a slow stream ([`Reply::sse_then_stall`],
//!   [`Reply::stall_before_headers`], [`Reply::sse_then_reset`], [`Reply::oversized_event`],
//!   [`Reply::trickle`]).
//! - More faults: a connection closed before any response byte, a JSON body cut off, a stream
//!   ending with an SSE `error` event, malformed SSE, an HTML page instead of the API
//!   ([`Reply::reset_before_headers`], [`Reply::json_then_reset`], [`Reply::error_event_after`],
//!   [`Reply::malformed_sse`], [`Reply::wrong_content_type`], ...).
//! - Faults selected per request by headers, for fault matrices and deterministic retry tests
//!   (see below), or per server by a seeded random [`FaultPlan`] for soak tests
//!   ([`MockServerBuilder::fault_plan`], [`MockServer::faults_injected`]).
//! - Rate limits: every answer carries `anthropic-ratelimit-*` headers counting down from
//!   [`MockServerBuilder::rate_limits`], and requests over the per-minute budget get
//!   `429 rate_limit_error` with `retry-after`.
//! - Every request is recorded ([`MockServer::requests`]) and accepted TCP connections are
//!   counted ([`MockServer::connection_count`], [`MockServer::open_connections`]); so are the
//!   bytes of streamed bodies ([`MockServer::bytes_streamed`]).
//! - Every response carries a `request-id: req_mock_<N>` header.
//! - It serves the real Claude Code CLI, scripted by directives in the prompt (see
//!   [Claude Code](#claude-code) below).
//! - With `CLAUDE_KIT_MOCK_REQUEST_LOG=FILE` in the environment, every request is appended to
//!   `FILE` as one JSON line: `request_id`, `method`, `path` (with the query), `headers` (the
//!   API key redacted) and `body` (JSON, or the text when it is not JSON); the line is written
//!   before the request is answered. For capturing what a real client sends.
//!
//! # Fault headers
//!
//! A valid `POST /v1/messages` (after the API key check and request validation) may carry:
//!
//! - `x-mock-fault: <fault>`: answer this request with a fault, in the syntax of
//!   [`Fault::parse`] (`status:529`, `status:429:0`, `reset-before-headers`, `reset-mid-stream`,
//!   `json-then-reset`, `error-event:2`, `malformed-sse`, `wrong-content-type`,
//!   `stall-before-headers`, `stall-mid-stream`, `trickle:<ms>`, `oversized`), or `none` for
//!   no fault (bypassing the fault plan). The fault overrides scripted replies without
//!   consuming them. An unknown fault gets `400 invalid_request_error`
//!   ("unknown x-mock-fault ...").
//! - `x-mock-retry-after: <secs>`, `x-mock-retry-after-ms: <ms>`,
//!   `x-mock-should-retry: true|false`: copied into the fault response as `retry-after`,
//!   `retry-after-ms` and `x-should-retry`.
//! - `x-mock-fail-times: <n>` with `x-mock-key: <any>`: only the first `n` requests carrying
//!   that key get the fault; later ones are answered normally (scripted reply or model). The
//!   count is per key and per server, independent of any retry-count header.
//!
//! ```
//! use claude_kit_mock::{MockServer, Reply};
//!
//! let server = MockServer::start();
//! server.enqueue(Reply::error(529, "overloaded_error", "Overloaded").header("retry-after", "0"));
//! // point the client at `server.url()` ...
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! assert!(server.requests().is_empty());
//! ```
//!
//! # Claude Code
//!
//! Requests carrying `x-app: cli` and an `anthropic-beta` that names a `claude-code-*` beta
//! (what the Claude Code CLI sends; tested with 2.1.328, installed by
//! `scripts/install-claude-code.sh`) are served as Claude Code's. Point the CLI at the mock
//! with `ANTHROPIC_BASE_URL=<server.url()>` and any `ANTHROPIC_API_KEY`. For them:
//!
//! - `POST /v1/messages?beta=true` and `POST /v1/messages/count_tokens?beta=true` are
//!   answered (the query string never matters for routing); `count_tokens` says
//!   `{"input_tokens": N}`, N counting words of the messages and system prompt plus a quarter
//!   of the bytes of the tool definitions.
//! - `role: "system"` entries in `messages` (content a string or text blocks) are accepted,
//!   like the other fields the CLI sends (`thinking`, `output_config`, `context_management`,
//!   `metadata`, dozens of tools with `defer_loading`). SSE and `stream: false` both work.
//! - The offered tools are **not** called with schema-example inputs (other clients still get
//!   that); the prompt's directives decide. The prompt is the last user message that does not
//!   answer tools (has no `tool_result` block: the CLI puts text such as `"Tool loaded."` or
//!   `<system-reminder>`s next to tool results), its string content or its last text block
//!   that is not a `<system-reminder>`.
//! - Without directives the answer is the text
//!   `Hello! I am the claude-kit mock server. You said: <prompt>`.
//!
//! Directives (anywhere in the prompt; `[[` followed by anything else is plain text; a
//! malformed directive is answered with a text starting `claude-kit-mock: ` that says what is
//! wrong):
//!
//! | directive | effect |
//! |---|---|
//! | `[[tool:NAME JSON]]` | one model call answers a single `tool_use` block (no text block, `stop_reason: "tool_use"`) calling `NAME` with the JSON object as input; `[[tool:NAME]]` makes the input from `NAME`'s `input_schema` (as for other clients) |
//! | `[[error:STATUS]]` | the call gets the API error for that status (400 to 599; e.g. 401 `authentication_error`, 429 `rate_limit_error`, 500 `api_error`, 529 `overloaded_error`): `{"type":"error","error":{"type":..,"message":..},"request_id":..}` with `x-should-retry: false`, so the CLI gives up at once |
//! | `[[error:STATUS:N]]` | the first `N` calls that reach it get that error with `x-should-retry: true` (the CLI retries, with its own backoff of about 0.5 s, then 1 s, ...); later ones go on. Counted per `x-claude-code-session-id`, prompt and directive |
//! | `[[slow:MS]]` | a streamed text answer goes one character per `text_delta`, each `MS` ms after the previous event (so a client can interrupt mid-stream); non-streaming answers are not delayed |
//! | `[[text:TEXT]]` | the final text answer is exactly `TEXT` (up to the first `]]`, not trimmed; several are joined by newlines) |
//!
//! `[[tool:..]]` and `[[error:..]]` directives are steps, taken in order, one per model call;
//! the mock keeps no state for them but reads the progress from the conversation the CLI
//! sends back (the `tool_use` blocks it answered before, after the prompt). When a step's
//! tool is not among the offered `tools` but `ToolSearch` is (Claude Code defers MCP tools
//! such as `mcp__calc__add`), the call answers `ToolSearch` with
//! `{"query":"select:NAME"}` first, and `NAME` once a later request offers it; if it is still
//! not offered after that search, or cannot be searched for, the answer is an explaining
//! text. After the last step, the answer is the `[[text:..]]`, else (when the prompt had tool
//! directives) one line per tool result of this prompt, in order:
//! `NAME returned: <the result's text>` (a string content, or its text blocks joined by
//! newlines; `is_error` results alike; cut to 16 KiB; the results of the mock's own
//! `ToolSearch` calls are left out), else the greeting above (the prompt without its
//! directives). Scripted replies ([`MockServer::enqueue`]), a replay transcript and
//! `x-mock-fault` headers still come first.
//!
//! ```text
//! claude -p '[[tool:Read {"file_path":"/tmp/notes.txt"}]]' --allowedTools Read \
//!     --output-format stream-json --verbose
//! # -> assistant tool_use Read, user tool_result, assistant "Read returned: 1\t<line 1>..."
//! claude -p '[[error:401]]' --output-format stream-json --verbose
//! # -> result is_error: true, api_error_status: 401, at once; exit status 1
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batches;
mod body;
mod chunking;
mod endpoints;
pub mod fake_cli;
mod fault;
mod model;
mod ratelimit;
mod reply;
mod server;
mod tls;
mod tool_request;
mod tools;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_executor::Executor;

pub use chunking::Chunking;
pub use fault::{Fault, FaultPlan, OVERSIZED_FAULT_BYTES};
pub use reply::Reply;

/// How long [`MockServer::shutdown`] (or drop) waits for the worker threads before detaching them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// One HTTP request the server received, recorded before it was answered.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The method, e.g. `"POST"`.
    pub method: String,
    /// The path and query, e.g. `"/v1/messages"` or `"/v1/models?limit=2"`.
    pub path: String,
    /// All request headers.
    pub headers: http::HeaderMap,
    /// The whole request body.
    pub body: bytes::Bytes,
}

impl RecordedRequest {
    /// The body parsed as JSON, or `None` when it is not valid JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The value of header `name` (case-insensitive), when present and valid UTF-8.
    /// With repeated headers this is the first value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }
}

/// State shared by the handle and the connection tasks.
pub(crate) struct Shared {
    requests: Mutex<Vec<RecordedRequest>>,
    replies: Mutex<VecDeque<Reply>>,
    connections: AtomicUsize,
    open_connections: AtomicUsize,
    http2_connections: AtomicUsize,
    open_requests: AtomicUsize,
    /// Bytes of streamed response bodies handed to hyper; shared with the body streams.
    pub(crate) streamed: Arc<AtomicU64>,
    next_request: AtomicU64,
    next_message: AtomicU64,
    next_tool: AtomicU64,
    pub(crate) api_key: Option<String>,
    pub(crate) token_delay: Duration,
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` of HTTP/2 connections; `None`: HTTP/2 is off.
    pub(crate) http2_max_streams: Option<u32>,
    /// The transcript answering valid requests when no scripted reply is queued.
    pub(crate) replay: Option<(bytes::Bytes, Chunking)>,
    /// The per-server fault plan and its generator.
    plan: Option<Mutex<fault::PlanState>>,
    /// Requests seen per `x-mock-key` (for `x-mock-fail-times`).
    attempts: Mutex<HashMap<String, u64>>,
    /// Every fault injected (from headers or the plan), in order.
    injected: Mutex<Vec<Fault>>,
    pub(crate) rate: ratelimit::RateLimiter,
    /// The Message Batches created so far.
    pub(crate) batches: batches::Batches,
}

/// Locks `mutex`, ignoring poisoning (the data are plain lists, always consistent).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn record(&self, request: RecordedRequest) {
        lock(&self.requests).push(request);
    }

    pub(crate) fn next_scripted(&self) -> Option<Reply> {
        lock(&self.replies).pop_front()
    }

    /// Counts an accepted connection as accepted and open; it stays open until the guard is
    /// dropped (with the connection's task).
    pub(crate) fn connection_accepted(self: &Arc<Self>) -> OpenConnection {
        self.connections.fetch_add(1, Ordering::SeqCst);
        self.open_connections.fetch_add(1, Ordering::SeqCst);
        OpenConnection(Arc::clone(self))
    }

    /// Counts a connection served as HTTP/2.
    pub(crate) fn http2_connection(&self) {
        self.http2_connections.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts a request as being answered until the guard is dropped (with its response
    /// body, or with the service future when no response was made).
    pub(crate) fn request_opened(self: &Arc<Self>) -> OpenRequest {
        self.open_requests.fetch_add(1, Ordering::SeqCst);
        OpenRequest(Arc::clone(self))
    }

    /// The next `request-id` (`req_mock_1`, `req_mock_2`, ...).
    pub(crate) fn next_request_id(&self) -> String {
        format!(
            "req_mock_{}",
            self.next_request.fetch_add(1, Ordering::SeqCst) + 1
        )
    }

    /// The fault plan's decision for the next request that consults it.
    pub(crate) fn planned_fault(&self) -> Option<Fault> {
        self.plan.as_ref().and_then(|plan| lock(plan).draw())
    }

    /// How many requests with this `x-mock-key` came before this one (and counts this one).
    pub(crate) fn next_attempt(&self, key: &str) -> u64 {
        let mut attempts = lock(&self.attempts);
        let count = attempts.entry(key.to_owned()).or_insert(0);
        *count += 1;
        *count - 1
    }

    /// Records an injected fault.
    pub(crate) fn fault_injected(&self, fault: &Fault) {
        lock(&self.injected).push(fault.clone());
    }

    /// The next tool call id (`toolu_mock_1`, `toolu_mock_2`, ...).
    pub(crate) fn next_tool_id(&self) -> String {
        format!(
            "toolu_mock_{}",
            self.next_tool.fetch_add(1, Ordering::SeqCst) + 1
        )
    }

    /// The next message id (`msg_mock_1`, `msg_mock_2`, ...).
    pub(crate) fn next_message_id(&self) -> String {
        format!(
            "msg_mock_{}",
            self.next_message.fetch_add(1, Ordering::SeqCst) + 1
        )
    }
}

/// Keeps a request counted in [`MockServer::open_requests`] while it lives.
pub(crate) struct OpenRequest(Arc<Shared>);

impl Drop for OpenRequest {
    fn drop(&mut self) {
        self.0.open_requests.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Keeps a connection counted in [`MockServer::open_connections`] while it lives.
pub(crate) struct OpenConnection(Arc<Shared>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open_connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Listen backlog: thousands of clients may connect at once (the kernel caps it at somaxconn).
const BACKLOG: i32 = 4096;

/// Binds a TCP listener like `std::net::TcpListener::bind`, but with a larger backlog.
fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// The default of [`MockServerBuilder::batch_request_delay`].
const DEFAULT_BATCH_REQUEST_DELAY: Duration = Duration::from_millis(20);

/// The default of [`MockServerBuilder::http2_max_concurrent_streams`]: above the 10,000
/// concurrent streams of the benchmarks.
pub const DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS: u32 = 20_000;

/// The base URL of a server listening on `addr` (see [`MockServer::url`]).
fn base_url(addr: SocketAddr, tls: bool) -> String {
    if tls {
        format!("https://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// Configures and starts a [`MockServer`]; see [`MockServer::builder`].
#[derive(Debug, Clone)]
pub struct MockServerBuilder {
    addr: SocketAddr,
    api_key: Option<String>,
    tls: bool,
    threads: usize,
    token_delay: Duration,
    replay: Option<(bytes::Bytes, Chunking)>,
    fault_plan: Option<FaultPlan>,
    requests_per_minute: u64,
    tokens_per_minute: u64,
    batch_request_delay: Duration,
    http2: bool,
    http2_max_streams: u32,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_key: None,
            tls: false,
            threads: 2,
            token_delay: Duration::ZERO,
            replay: None,
            fault_plan: None,
            requests_per_minute: ratelimit::DEFAULT_LIMIT,
            tokens_per_minute: ratelimit::DEFAULT_LIMIT,
            batch_request_delay: DEFAULT_BATCH_REQUEST_DELAY,
            http2: true,
            http2_max_streams: DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
        }
    }
}

impl MockServerBuilder {
    /// The address to listen on. Default `127.0.0.1:0` (a free port chosen by the OS).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Requires this API key: each `POST /v1/messages` must carry `x-api-key: KEY` or
    /// `authorization: Bearer KEY`, else it gets `401 authentication_error`. Default: no check.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Serves HTTPS with a certificate for `localhost` and `127.0.0.1` signed by a CA generated
    /// at start; trust [`MockServer::ca_certificate_der`] (or `_pem`) in the client. Default off.
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Number of worker threads (at least 1). Default 2.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Delay before each streamed text token (SSE `content_block_delta`). Default zero.
    pub fn token_delay(mut self, delay: Duration) -> Self {
        self.token_delay = delay;
        self
    }

    /// Answers every valid `POST /v1/messages` (after the API key check and request validation)
    /// that finds no scripted reply queued with this recorded SSE transcript, as
    /// [`Reply::sse`] does, instead of the default model's answer. Default: the model answers.
    pub fn replay(mut self, transcript: impl Into<bytes::Bytes>, chunking: Chunking) -> Self {
        self.replay = Some((transcript.into(), chunking));
        self
    }

    /// Injects faults into valid `POST /v1/messages` at random, as `plan` says (for soak
    /// tests). Requests with an `x-mock-fault` header are left to that header. Default: none.
    pub fn fault_plan(mut self, plan: FaultPlan) -> Self {
        self.fault_plan = Some(plan);
        self
    }

    /// The rate limits, per one-minute window (a window starts with the first request after
    /// the previous window ended). Each valid `POST /v1/messages` not answered by a fault
    /// carries `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,
    /// remaining,reset}` headers: the limits, what is left in the window, and its end in RFC
    /// 3339 UTC. A request counts its input words as input tokens and its `max_tokens` as
    /// output tokens; every valid request (faulted ones too) counts against the request
    /// budget. Requests beyond `requests_per_minute` in a window get `429 rate_limit_error`
    /// with `retry-after` (seconds until the window ends, at least 1); the token budget is
    /// only reported, never enforced. Default: 1 000 000 of each, which tests never reach.
    pub fn rate_limits(mut self, requests_per_minute: u64, tokens_per_minute: u64) -> Self {
        self.requests_per_minute = requests_per_minute;
        self.tokens_per_minute = tokens_per_minute;
        self
    }

    /// Time the simulated Message Batches processing takes per request: request `i` (from 0)
    /// of a batch completes `(i + 1) × delay` after the batch was created, and the batch ends
    /// when its last request completes. Zero makes batches end as soon as they are created
    /// (the creation answer still says `in_progress`). Default 20 ms.
    pub fn batch_request_delay(mut self, delay: Duration) -> Self {
        self.batch_request_delay = delay;
        self
    }

    /// Whether the server speaks HTTP/2 besides HTTP/1.1 (default true): on plain TCP to
    /// clients that open with the HTTP/2 preface (prior knowledge), over TLS to clients that
    /// pick `h2` in ALPN. Off, it speaks HTTP/1.1 only and offers only `http/1.1` in ALPN, as a
    /// server without HTTP/2 would.
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }

    /// The most concurrent streams per HTTP/2 connection, announced as
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` (default
    /// [`DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS`], 20,000). Streams beyond it are refused by the
    /// protocol, so a client opens another connection.
    pub fn http2_max_concurrent_streams(mut self, max: u32) -> Self {
        self.http2_max_streams = max;
        self
    }

    /// Binds the listener, generates the TLS certificates if asked, and starts the worker
    /// threads. The server is ready to accept connections when this returns.
    pub fn start(self) -> io::Result<MockServer> {
        let std_listener = bind(self.addr)?;
        let addr = std_listener.local_addr()?;
        let listener = async_net::TcpListener::try_from(std_listener)?;
        let tls = if self.tls {
            let alpn = if self.http2 {
                vec![b"h2".to_vec(), b"http/1.1".to_vec()]
            } else {
                vec![b"http/1.1".to_vec()]
            };
            Some(tls::Tls::generate(alpn)?)
        } else {
            None
        };
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            replies: Mutex::new(VecDeque::new()),
            connections: AtomicUsize::new(0),
            open_connections: AtomicUsize::new(0),
            http2_connections: AtomicUsize::new(0),
            open_requests: AtomicUsize::new(0),
            streamed: Arc::new(AtomicU64::new(0)),
            next_request: AtomicU64::new(0),
            next_message: AtomicU64::new(0),
            next_tool: AtomicU64::new(0),
            api_key: self.api_key,
            token_delay: self.token_delay,
            http2_max_streams: self.http2.then_some(self.http2_max_streams),
            replay: self.replay,
            plan: self
                .fault_plan
                .map(|plan| Mutex::new(fault::PlanState::new(plan))),
            attempts: Mutex::new(HashMap::new()),
            injected: Mutex::new(Vec::new()),
            rate: ratelimit::RateLimiter::new(self.requests_per_minute, self.tokens_per_minute),
            batches: batches::Batches::new(self.batch_request_delay, base_url(addr, tls.is_some())),
        });
        let executor = Arc::new(Executor::new());
        // Closing (dropping) the sender stops every worker thread.
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        let (done_tx, done_rx) = mpsc::channel();
        let mut accept = Some(server::accept_loop(
            listener,
            tls.as_ref().map(|t| t.acceptor.clone()),
            Arc::clone(&shared),
            Arc::clone(&executor),
        ));
        let mut threads = Vec::new();
        for index in 0..self.threads.max(1) {
            let executor = Arc::clone(&executor);
            let stop = stop_rx.clone();
            let done = done_tx.clone();
            // Thread 0 runs the accept loop as its main future: it is dropped (closing the
            // listener) when that thread stops, and it is not owned by the executor.
            let accept = accept.take();
            let handle = std::thread::Builder::new()
                .name(format!("claude-kit-mock-{index}"))
                .spawn(move || {
                    let stopped = async move {
                        let _ = stop.recv().await;
                    };
                    match accept {
                        Some(accept) => {
                            async_io::block_on(
                                executor.run(futures_lite::future::or(accept, stopped)),
                            );
                        }
                        None => async_io::block_on(executor.run(stopped)),
                    }
                    drop(executor);
                    let _ = done.send(index);
                })?;
            threads.push(Some(handle));
        }
        Ok(MockServer {
            addr,
            tls,
            shared,
            stop: Some(stop_tx),
            threads,
            done: Mutex::new(done_rx),
            executor: Some(executor),
        })
    }
}

/// A running mock of the Messages API. Dropping it (or calling [`MockServer::shutdown`]) stops
/// it: the listener is closed, open connections are dropped, worker threads are joined.
pub struct MockServer {
    addr: SocketAddr,
    tls: Option<tls::Tls>,
    shared: Arc<Shared>,
    stop: Option<async_channel::Sender<()>>,
    threads: Vec<Option<JoinHandle<()>>>,
    /// Worker threads report here when they stopped (a `Mutex` keeps `MockServer` `Sync`).
    done: Mutex<mpsc::Receiver<usize>>,
    executor: Option<Arc<Executor<'static>>>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("url", &self.url())
            .field("threads", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Starts a plain-HTTP server on `127.0.0.1:<free port>`, without API key check.
    ///
    /// # Panics
    ///
    /// If binding a loopback port or spawning the worker threads fails; use
    /// [`MockServer::builder`] to handle that error.
    pub fn start() -> MockServer {
        Self::builder()
            .start()
            .expect("claude-kit-mock: cannot start the mock server on 127.0.0.1")
    }

    /// A builder for non-default settings (address, API key, TLS, threads, token delay, replay,
    /// fault plan, rate limits, HTTP/2).
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// The base URL, without trailing slash: `http://127.0.0.1:PORT`, or
    /// `https://localhost:PORT` with TLS.
    pub fn url(&self) -> String {
        base_url(self.addr, self.tls.is_some())
    }

    /// The environment that points the Claude Code CLI at this server and keeps it offline
    /// (`../shared/claude-code-cli.md` §2): the base URL, an API key (the server's own when it
    /// checks one), `HOME` set to `home` (so no settings of the user's apply), the switches that
    /// turn off telemetry, updates and error reports, and one retry only.
    pub fn claude_code_env(&self, home: &std::path::Path) -> Vec<(String, String)> {
        let key = self
            .shared
            .api_key
            .clone()
            .unwrap_or_else(|| "sk-ant-mock-offline-key".to_owned());
        [
            ("ANTHROPIC_BASE_URL", self.url()),
            ("ANTHROPIC_API_KEY", key),
            ("HOME", home.to_string_lossy().into_owned()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
            ("DISABLE_TELEMETRY", "1".to_owned()),
            ("DISABLE_AUTOUPDATER", "1".to_owned()),
            ("DISABLE_ERROR_REPORTING", "1".to_owned()),
            ("CLAUDE_CODE_MAX_RETRIES", "1".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The DER of the CA certificate that signed the server certificate (TLS only).
    pub fn ca_certificate_der(&self) -> Option<Vec<u8>> {
        self.tls.as_ref().map(|t| t.ca_der.clone())
    }

    /// The PEM of the CA certificate that signed the server certificate (TLS only).
    pub fn ca_certificate_pem(&self) -> Option<String> {
        self.tls.as_ref().map(|t| t.ca_pem.clone())
    }

    /// Every request received so far, in arrival order (including rejected ones).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Number of TCP connections accepted so far.
    pub fn connection_count(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Number of connections open right now: accepted and not yet closed by either side.
    /// A connection is counted until the server has noticed its end and dropped it.
    pub fn open_connections(&self) -> usize {
        self.shared.open_connections.load(Ordering::SeqCst)
    }

    /// Number of connections served as HTTP/2 so far (prior knowledge on plain TCP, ALPN `h2`
    /// over TLS); the others were HTTP/1.1.
    pub fn http2_connection_count(&self) -> usize {
        self.shared.http2_connections.load(Ordering::SeqCst)
    }

    /// Number of requests being answered right now: received, and whose response is not yet
    /// sent to its end (a stream still producing, a stall). A request whose client went away
    /// (the connection closed, or its HTTP/2 stream reset) stops counting once the server
    /// noticed and dropped it.
    pub fn open_requests(&self) -> usize {
        self.shared.open_requests.load(Ordering::SeqCst)
    }

    /// Total bytes of streamed (chunked, SSE) response bodies produced so far, counted when a
    /// chunk is handed to the HTTP layer. Lets tests check that the server stops producing an
    /// endless body ([`Reply::oversized_event`]) once the client has gone.
    pub fn bytes_streamed(&self) -> u64 {
        self.shared.streamed.load(Ordering::SeqCst)
    }

    /// Number of faults injected so far, from `x-mock-fault` headers or the fault plan (not
    /// counting scripted [`Reply`] faults or rate-limit answers).
    pub fn faults_injected(&self) -> usize {
        lock(&self.shared.injected).len()
    }

    /// The faults injected so far, in the order they were decided (see
    /// [`MockServer::faults_injected`]).
    pub fn injected_faults(&self) -> Vec<Fault> {
        lock(&self.shared.injected).clone()
    }

    /// Queues a scripted reply. Queued replies are consumed first-in first-out, one per valid
    /// `POST /v1/messages` (after the API key and request validation), instead of the default
    /// model's answer.
    pub fn enqueue(&self, reply: Reply) {
        lock(&self.shared.replies).push_back(reply);
    }

    /// Stops the server; the same as dropping it.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // Closing the channel wakes every worker; each returns from `Executor::run`.
        self.stop = None;
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        let mut remaining = self.threads.iter().filter(|t| t.is_some()).count();
        let done = self.done.get_mut().unwrap_or_else(PoisonError::into_inner);
        while remaining > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match done.recv_timeout(left) {
                Ok(index) => {
                    if let Some(handle) = self.threads.get_mut(index).and_then(Option::take) {
                        let _ = handle.join();
                    }
                    remaining -= 1;
                }
                // A worker stuck past the grace period (or gone): detach it.
                Err(_) => break,
            }
        }
        // Dropping the last reference to the executor drops every connection task.
        self.executor = None;
    }
}
