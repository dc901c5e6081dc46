//! The design of claude-kit, chapter by chapter: how the crates fit together and why.
//!
//! Nothing here is code: each module is a chapter (in the manner of rustls's `manual`), kept
//! in rustdoc so its links are checked with the code they describe.
//!
//! - [`architecture`]: the crates, what each may depend on, and where each concept lives.
//! - [`data_path`]: one streaming Messages API call, from `stream(request)` to the last byte.
//! - [`runtimes`]: the async seam, the adapters, and how the runtime is chosen.
//! - [`deadlines_and_retries`]: every wait has a bound; what is retried and when.
//! - [`claude_code`]: the Claude Code backend — one CLI process, three tasks, and its end.
//! - [`cancellation`]: why dropping any future or stream at any point leaks nothing.
//! - [`hostile_input`]: bounded memory, typed errors and secrets that never leak.
//! - [`testing`]: what is tested where, and how the tests stay honest.
//! - [`decisions`]: choices made while building, each with its reason and measurement.

pub mod architecture {
    //! # The crates
    //!
    //! claude-kit is a small stack of crates; none depends on one above it.
    //!
    //! | crate | job |
    //! | --- | --- |
    //! | `claude-kit-core` | types of the Messages API, the one [`Error`](crate::Error) enum, the [`Transport`](crate::transport::Transport) trait and the sans-IO machines: SSE and JSON-lines decoding, the stream decoder and accumulator, the retry, rate-limit and deadline policies. No executor, no thread-local, no clock reads. |
    //! | `claude-kit-rt` | the async seam: [`Runtime`](crate::rt::Runtime) (spawn, timers, now, blocking work) with its TCP and process capabilities, the task and timeout helpers, and the one runtime choice ([`claude_kit_rt::context::choose`]). |
    //! | `claude-kit-tokio`, `-smol`, `-async-std` | one small adapter each: the traits on that runtime, and an `ADAPTER` descriptor. |
    //! | `claude-kit-hyper` | the HTTP transport: hyper 1.x client connections over the runtime's TCP, rustls, proxies, a connection pool of its own. |
    //! | `claude-kit-api` | the Messages API backend: the client, its engine (admission, attempts, retries, one response body under the call's deadlines), the resources (messages, batches, models), the tool loop. |
    //! | `claude-kit-code` | the Claude Code backend: the CLI as a child process through the runtime's process capability, its tasks, control requests and callbacks, `query`, `AgentClient`, `WarmPool`, the session store. |
    //! | `claude-kit` | this facade: re-exports, runtime-implicit helpers ([`rt`](crate::rt)), blocking faces ([`blocking`](crate::blocking)), sessions and the agent patterns ([`patterns`](crate::patterns)). |
    //! | `claude-kit-mock` | an independent Messages API server for tests, examples and benchmarks: it shares no type with the SDK, so the SDK's types cannot hide their own bugs. |
    //!
    //! Library authors build on `claude-kit-core` and `claude-kit-rt` and never pick a runtime
    //! for their users; they may implement [`Runtime`](crate::rt::Runtime) (another executor)
    //! or [`Transport`](crate::transport::Transport) (a proxy, a recorder, a test double).
    //!
    //! # Where a concept lives
    //!
    //! The rule: what can be decided without I/O is decided in core, as a value that takes
    //! `now` and returns what to do next; async code only feeds it bytes and sleeps until the
    //! instant it names. So the wire rules of a stream live in
    //! [`MessageStreamDecoder`](claude_kit_core::stream::MessageStreamDecoder) (fuzzed and
    //! property-tested without sockets), the deadlines of a call in
    //! [`CallDeadlines`](claude_kit_core::policy::deadline::CallDeadlines), the retry decision in
    //! [`RetryPolicy`](claude_kit_core::policy::retry::RetryPolicy), and the async driver that
    //! ships is a thin poll loop over them.
}

pub mod data_path {
    //! # One streaming call
    //!
    //! ```text
    //! client.messages().stream(req)                                          claude-kit-api
    //!  └ engine: settings + request options → CallDeadlines::new(now)                   [core]
    //!     └ retry loop: RetryPolicy::decide(failure, retries, now, wall clock, random)   [core]
    //!        └ attempt: admission = concurrency permit, then RateLimiter::try_acquire      [core]
    //!           └ dyn Transport::send(request, SendOptions { connect })          claude-kit-hyper
    //!                pooled connection, or tcp() → CONNECT tunnel → rustls → http1 handshake
    //!           ◄ Response<Body>; status ≥ 400 → Error::Api { origin: Http, .. }
    //!           one response body: Body + deadlines (idle, drain) + permit + in-flight guard
    //!        └ prefetch: bytes → MessageStreamDecoder until the first content; failures
    //!          before it are retried, nothing after it ever is                           [core]
    //!  caller ◄ StreamEvent · text_stream() · final_message(); drop closes the connection
    //! ```
    //!
    //! Every decision on the way, and everything right of the bytes, is pure; the async code
    //! feeds it. Events are dispatched on the SSE `event:` name first, as the official SDK
    //! does (no name: skipped; `ping`; `error`: an [`Error::Api`](crate::Error::Api) with
    //! [`ErrorOrigin::Stream`](crate::ErrorOrigin::Stream)), then on the data's `type`; an
    //! event this version does not know is kept raw, never dropped. After `message_stop` the
    //! rest of the body is drained (at most 2 s and 64 KiB) so the connection can be reused,
    //! and never applied.
}

pub mod runtimes {
    //! # The async seam
    //!
    //! An executor is a few capabilities: run a task, wake up at an instant, tell the time,
    //! run blocking work elsewhere — and, where the caller needs them, open a TCP connection
    //! ([`TcpConnect`](crate::rt::TcpConnect)) or spawn a child process with piped stdio
    //! (`SpawnProcess`). HTTP never asks for processes, the CLI backend never for TCP; a
    //! missing capability is an [`Error::Config`](crate::Error::Config) when the client is
    //! built. The traits are dyn-compatible and held as `Arc<dyn Runtime>`: one allocation per
    //! task or timer is noise next to an HTTP request, and no type of the SDK carries a
    //! runtime parameter. Their futures are hand-written `BoxFuture<'static, _>` because they
    //! are stored and spawned, which a future borrowing `&self` could not be.
    //!
    //! # Choosing the runtime
    //!
    //! One function decides, [`claude_kit_rt::context::choose`], over a list of adapter
    //! descriptors that each crate builds from its own cargo features (no `cfg` ladders):
    //!
    //! 1. the runtime handed to a builder (`ClientBuilder::runtime`);
    //! 2. the runtime marked on this thread by [`rt::scope`](crate::rt::scope), an adapter's
    //!    `block_on`, or a task of [`rt::spawn`](crate::rt::spawn);
    //! 3. the first adapter that detects its runtime (tokio's `Handle::try_current`,
    //!    async-std's `task::try_current`);
    //! 4. the one `CLAUDE_KIT_RUNTIME=tokio|smol|async-std` names, as its owned runtime;
    //! 5. smol's or async-std's global executor when compiled in; else an error that names
    //!    the features to enable.
    //!
    //! The blocking faces ([`blocking`](crate::blocking)) run on an adapter's owned runtime;
    //! called inside async code they return [`Error::AsyncContext`](crate::Error::AsyncContext)
    //! instead of deadlocking (Python's "this event loop is already running").
    //!
    //! # Features
    //!
    //! One word per runtime — `tokio` (default), `smol`, `async-std` — is that runtime plus
    //! the API backend plus the default TLS (rustls with ring, Mozilla's roots), so
    //! `--no-default-features --features smol` is the whole SDK on smol. The fine-grained
    //! features stay: `backend-api`, `runtime-tokio`, `runtime-smol`, `runtime-async-std`,
    //! `rustls-ring`, `webpki-roots`; a runtime feature implies no backend. Without a TLS
    //! feature `http://` works and `https://` fails when the client is built, naming the
    //! feature. tokio's `rt`, `net`, `time` and `process` features appear only under
    //! `claude-kit-tokio`; hyper's runtime-free `tokio/sync` is in every graph.
}

pub mod deadlines_and_retries {
    //! # Every wait has a bound
    //!
    //! A call has five: connect (TCP and TLS, enforced by the transport), response headers,
    //! idle (between two chunks of a body), total (the call with its retries; for a stream, up
    //! to its response headers), and the drain after a stream's last event. They are one value,
    //! [`CallDeadlines`](claude_kit_core::policy::deadline::CallDeadlines), and a body has one
    //! timer, armed at its next wake-up: when it fires early (chunks came meanwhile) it is
    //! re-armed, so no timer is re-registered per chunk. A deadline that passes is
    //! [`Error::Timeout { phase, after }`](crate::Error::Timeout): which one, and its length.
    //!
    //! # Retries, as the official SDKs
    //!
    //! Two by default, on 408, 409, 429, ≥ 500, connection errors and timeouts;
    //! `x-should-retry` wins over the status. The delay is `retry-after-ms`, else
    //! `retry-after` (seconds or an HTTP date, at most 60 s), else `min(0.5·2ⁿ, 8)` s with up to
    //! 25 % jitter. A stream is retried only before its first content reached the caller:
    //! [`Failure::classify`](claude_kit_core::policy::retry::Failure::classify) decides what the
    //! policy sees, and nothing after the first content is ever retried.
}

pub mod claude_code {
    //! # One CLI process, three tasks
    //!
    //! ```text
    //! code::query(prompt, options) / AgentClient::connect(options)               claude-kit-code
    //!   discover::find_cli            option › CLAUDE_CODE_PATH › PATH › known dirs › target/claude-code
    //!   CodeOptions::command          the official SDK's argv and environment
    //!   Runtime::process().spawn      stdin, stdout, stderr piped; killed if dropped  claude-kit-rt
    //!   ├─ reader      stdout → LineDecoder (32 MiB lines) → ControlChannel::receive  claude-kit-core
    //!   │              answers → their waiters; CLI requests → one handler task each
    //!   │              (can_use_tool, hook_callback, mcp_message → McpBridge); frames →
    //!   │              Frame::from_value → the message channel (64 frames, backpressure)
    //!   ├─ stderr      the last 16 KiB kept for errors (key redacted); the stderr callback
    //!   └─ supervisor  owns the child: its exit status; on shutdown close stdin, wait,
    //!                  SIGTERM, wait, SIGKILL, wait (each wait 5 s, shutdown_grace)
    //!   initialize    the first line written; its answer awaited (60 s) while the reader
    //!                 serves the CLI's own requests (MCP servers are listed before it answers)
    //! ```
    //!
    //! The pure half — the frames, the control channel (request ids, routing, cancels,
    //! fail-all at close) and the MCP JSON-RPC bridge — is in
    //! [`claude_kit_core::code`], fuzzed (`code_protocol`). When stdout ends, every pending
    //! control request fails at once with [`Error::Process`](crate::Error::Process) (the exit
    //! status and the end of stderr); a write that fails waits for that error instead of
    //! reporting a bare broken pipe. stdin is closed right after a plain prompt, and, when the
    //! CLI may call back (an in-process MCP server, hooks, a permission callback), at the
    //! `session_state_changed: idle` after the last prompt's result, as the official SDK does.
    //! Dropping a [`code::AgentClient`](crate::code::AgentClient) or a query stream hands the
    //! shutdown to the supervisor, which finishes it in the background (bounded); a test
    //! counts the children left after every way of dropping one, on every runtime.
}

pub mod cancellation {
    //! # Guards, not cleanup code
    //!
    //! The concurrency permit, the in-flight count, the pool lease and the per-host slot are
    //! each owned by a value whose `Drop` releases it; those values live in the call's future
    //! and then in its response body. Dropping either at any await point releases everything.
    //! Tasks are cancelled when their [`JoinHandle`](crate::rt::JoinHandle) is dropped unless
    //! detached; the tool loop polls its tool futures itself, so dropping a run cancels its
    //! tools. The tests drop calls after every possible number of polls and cancel at random,
    //! then check that the client's counters are back to idle.
}

pub mod hostile_input {
    //! # Bad input gets a typed error and loses nothing
    //!
    //! Every buffer has a bound a server cannot move: an SSE event, a JSON line, an error
    //! body, the drain after a stream's stop, the block indices of a message (only the next
    //! block or one already started is accepted). Past a bound the call fails with
    //! [`Error::Decode`](crate::Error::Decode) or [`Error::Api`](crate::Error::Api), never a
    //! panic, never a hang. Server text kept in an error is bounded (512 bytes) and scrubbed
    //! of the API key and token, including text a server echoes back; the key never appears
    //! in `Debug` or `Display`. A decode error keeps no `serde_json::Error` as its source
    //! (callers print error chains, and its text may quote the server): its message is
    //! redacted and bounded like every other.
}

pub mod testing {
    //! # What is tested where
    //!
    //! - **core, no runtime**: unit and property tests (chunk-split invariance of the SSE,
    //!   JSON-lines and stream decoders; retry delays in bounds), official-SDK parity of each
    //!   recorded transcript through the shipped stream decoder without sockets, and fuzz
    //!   targets on the decoders seeded with the hostile cases.
    //! - **one integration binary per package** (`tests/it/main.rs` and a module per area);
    //!   async cases run through `on_all_runtimes!` on tokio, smol, async-std and a user-style
    //!   thread-pool runtime. Loopback only, no timing assertions, waits on counters and
    //!   events, never sleeps as synchronisation.
    //! - **adapters** run the conformance kit of `claude-kit-rt` (tasks, timers, blocking
    //!   work, TCP, processes).
    //! - **the facade** runs the fault matrix (each case: the outcome and the exact number of
    //!   attempts), 128 hostile-server scenarios, cancellation at every poll, a random soak,
    //!   and a counting allocator that checks memory bounds.
}

pub mod decisions {
    //! # Decisions made while building
    //!
    //! - **Streaming follows the official SDK byte for byte**, and expectations for cases the
    //!   recorded fixtures lack are produced by the official SDK itself
    //!   (`scripts/official_sdk_expectations.sh`), never by hand.
    //! - **Event parsing is one pass**: the envelope is read with `RawValue` fields and only
    //!   the part an event type needs is parsed.
    //! - **Tool input is parsed lazily**: `input_json_delta` pieces are concatenated and the
    //!   partial-JSON parser runs when a snapshot is asked for and when the block stops.
    //! - **Per-call settings are a derived client** (`with_options`) sharing pool and counters.
    //! - **`close` is graceful and bounded**: new calls refused, idle connections closed, calls
    //!   in flight awaited (a notification, no polling) for at most 30 s.
    //! - **Measured performance choices** (see `BENCHMARKS.md`): one read scratch buffer per
    //!   thread, not per connection; the idle timer re-armed only when it fires; the header
    //!   timer skipped when the total bound is as tight; call state boxed so a held future is
    //!   small; the rare steps of opening a connection (proxy tunnel, TLS and HTTP/2
    //!   handshakes) boxed apart, so a plain connection being opened stays small; a reply's
    //!   headers kept as one buffer of names and values, the `HeaderMap` view made on first
    //!   use (it was ~2.6 KiB of every open stream); the CLI's `initialize` answer kept as
    //!   JSON text and parsed when first read; the CLI's frames and control answers handed
    //!   over through channels that wake the reader with no lock held (`futures-channel`:
    //!   `async-channel` wakes under its listeners' lock, which the woken thread then waits
    //!   for); a direct connect starting its CLI on the task that waits for it (std's
    //!   `posix_spawn`, ~0.1–0.2 ms) and a warm pool's refills on the blocking pool (nobody
    //!   waits for them, and the query just handed out must not).
    //! - **Claude Code: the 32 MiB line limit** (the Python SDK's 1 MiB ends sessions whose tool
    //!   results are larger), the SDK's own stderr always piped and kept (the Python SDK
    //!   inherits it unless a callback is set: a kept tail lets errors quote it), an
    //!   interrupted turn's error result not turned into an error (the CLI exits 0 after it:
    //!   it was asked for), a malformed line an error item after which the stream ends.
    //! - **Not yet built**: the `rustls-aws-lc-rs` and `platform-verifier` features,
    //!   TLS to an `https://` proxy, token refunds for streamed replies.
}
