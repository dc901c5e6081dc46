//! The `tracing` feature: every event of full runs — a call, a stream, retries, a final
//! error, a server that echoes the key into an error message, its headers and its request
//! id — captured as a subscriber sees them (fields included), on every runtime; the key
//! never appears, and what a user reads the traces for does.
//!
//! A process-wide subscriber (runtimes' worker threads emit too), recording only while a
//! test of this module holds [`crate::exclusive`], so the other tests of the binary (the
//! allocation counts of `memory`) run as if it were not there.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use claude_kit::{Client, MessageRequest, RequestOptions, RetryPolicy};
use futures::StreamExt;
use tracing_subscriber::prelude::*;

use crate::common::hostile::{HostileServer, Step, error_body, response};
use crate::common::{self, Rt, TEST_KEY};

static CAPTURING: AtomicBool = AtomicBool::new(false);
static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURED.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (once) and starts recording; returns what was recorded
/// when `run` returns.
fn capture(run: impl FnOnce()) -> String {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // Dynamic: asked at every event, never cached per callsite (a callsite first hit
        // while nothing records must still be seen later).
        let recording = tracing_subscriber::filter::dynamic_filter_fn(|metadata, _| {
            CAPTURING.load(Ordering::SeqCst) && metadata.target().starts_with("claude_kit")
        });
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(|| Capture)
            .with_ansi(false)
            .with_filter(recording);
        tracing_subscriber::registry()
            .with(layer)
            .try_init()
            .expect("no other global subscriber in this binary");
    });
    let _only_me = crate::exclusive();
    CAPTURED.lock().unwrap().clear();
    CAPTURING.store(true, Ordering::SeqCst);
    run();
    CAPTURING.store(false, Ordering::SeqCst);
    String::from_utf8_lossy(&CAPTURED.lock().unwrap()).into_owned()
}

fn client_of(url: String, rt: &Rt, retries: u32) -> Client {
    Client::builder()
        .api_key(TEST_KEY)
        .base_url(url)
        .shared_runtime(rt.clone())
        .retry_policy(
            RetryPolicy::new()
                .max_retries(retries)
                .backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .expect("client")
}

const SECRET_PROMPT: &str = "the user's private question";

async fn full_run(rt: Rt) {
    // A call, and a stream read to its end.
    let server = common::mock();
    let client = client_of(server.url(), &rt, 2);
    let reply = client
        .messages()
        .create(MessageRequest::new("claude-test-model", 64).user(SECRET_PROMPT))
        .await
        .expect("create");
    assert!(!reply.text().is_empty());
    let mut stream = client
        .messages()
        .stream(MessageRequest::new("claude-test-model", 64).user(SECRET_PROMPT))
        .await
        .expect("stream");
    while let Some(event) = stream.next().await {
        event.expect("event");
    }
    // Retried, then it succeeds; labelled.
    let labelled = client
        .with_options(
            RequestOptions::new()
                .label("nightly-job")
                .header("x-mock-fault", "status:529")
                .header("x-mock-key", format!("trace/{}", fastrand::u64(..)))
                .header("x-mock-fail-times", "1"),
        )
        .unwrap();
    labelled
        .messages()
        .create(MessageRequest::new("claude-test-model", 64).user(SECRET_PROMPT))
        .await
        .expect("the retry succeeds");
    // A tool loop: a turn that calls a tool, then the answer.
    let add = claude_kit::tools::ToolFn::new(
        "add",
        "Adds two integers",
        serde_json::json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}),
        |input: serde_json::Value| async move {
            Ok::<_, claude_kit::tools::ToolError>(
                input["a"].as_i64().unwrap_or(0) + input["b"].as_i64().unwrap_or(0),
            )
        },
    );
    let runner = claude_kit::tools::ToolRunner::new(
        client.clone(),
        claude_kit::tools::Toolbox::new().with(add),
    )
    .max_turns(3);
    let outcome = runner
        .run(MessageRequest::new("claude-test-model", 64).user(r#"[[tool:add {"a": 2, "b": 3}]]"#))
        .await
        .expect("tool loop");
    assert!(outcome.turns >= 2, "the tool was called: {outcome:?}");
    // A server that echoes the key into the error message, a header and the request id,
    // retried until the client gives up.
    let script = vec![
        Step::ReadRequest,
        Step::respond(|r| {
            let key = r.header("x-api-key").unwrap_or_default();
            response(
                529,
                "application/json",
                &[("request-id", &key), ("x-echo", &key)],
                error_body("overloaded_error", &format!("busy, {key}")).as_bytes(),
            )
        }),
    ];
    let hostile = HostileServer::repeat(script, 3);
    let echoing = client_of(hostile.url(), &rt, 2);
    let error = echoing
        .messages()
        .create(MessageRequest::new("claude-test-model", 64).user(SECRET_PROMPT))
        .await
        .expect_err("529 three times");
    assert!(!error.to_string().contains(TEST_KEY));
}

fn check(traces: &str) {
    assert!(
        !traces.contains(TEST_KEY),
        "the key is in the traces:\n{traces}"
    );
    assert!(
        !traces.contains(SECRET_PROMPT),
        "message contents are in the traces:\n{traces}"
    );
    for expected in [
        "claude_kit.call",
        "gen_ai.request.model=\"claude-test-model\"",
        "gen_ai.usage.output_tokens=",
        "http.response.status_code=200",
        "stream finished",
        "time_to_first_event_ms=",
        "retrying",
        "label=\"nightly-job\"",
        "request_id=\"req_mock_",
        "http.response.status_code=529",
        "call failed",
        "gen_ai.operation.name=\"invoke_agent\"",
        "turns=2",
    ] {
        assert!(traces.contains(expected), "no {expected:?} in:\n{traces}");
    }
    // The tool loop's model calls and tool calls are inside its turns' spans.
    let in_turn = |what: &str| {
        traces.lines().any(|line| {
            line.contains(what)
                && line.contains("claude_kit.agent{")
                && line.contains("claude_kit.agent.turn{turn=")
        })
    };
    assert!(
        in_turn("gen_ai.tool.name=\"add\""),
        "no tool call in a turn span:\n{traces}"
    );
    assert!(
        in_turn("stream finished"),
        "no model call in a turn span:\n{traces}"
    );
}

#[test]
fn traces_never_show_the_key_on_tokio() {
    check(&capture(|| common::run_tokio(full_run)));
}

#[test]
fn traces_never_show_the_key_on_smol() {
    check(&capture(|| common::run_smol(full_run)));
}

#[test]
fn traces_never_show_the_key_on_async_std() {
    check(&capture(|| common::run_async_std(full_run)));
}

#[test]
fn traces_never_show_the_key_on_a_thread_pool() {
    check(&capture(|| common::run_thread_pool(full_run)));
}

/// The shared capture is only ever written by these tests.
#[test]
fn nothing_is_recorded_outside_a_capture() {
    let _only_me = crate::exclusive();
    let before = CAPTURED.lock().unwrap().len();
    common::run_smol(|rt| async move {
        let server = common::mock();
        let client = client_of(server.url(), &rt, 0);
        client
            .messages()
            .create(MessageRequest::new("m", 8).user("hi"))
            .await
            .unwrap();
    });
    assert_eq!(CAPTURED.lock().unwrap().len(), before);
}

/// The Claude Code backend through the fake CLI: a turn with a permission request; the
/// CLI's environment holds the key, the traces do not.
#[cfg(feature = "backend-code")]
async fn agent_turn(rt: Rt) {
    use claude_kit::code::{CanUseTool, CodeOptions, PermissionDecision, query};
    use claude_kit_mock::fake_cli::{self, Action, Script};
    use serde_json::json;

    let script = Script::new().turn([
        Action::init(),
        Action::request(json!({"subtype": "can_use_tool", "tool_name": "Bash",
            "input": {"command": SECRET_PROMPT}, "tool_use_id": "toolu_1",
            "permission_suggestions": []})),
        Action::text("done"),
        Action::result(),
    ]);
    let options = CodeOptions::new()
        .cli_path(fake_cli::path())
        .runtime(rt.clone())
        .env(fake_cli::SCRIPT_ENV, script.to_json())
        .env("ANTHROPIC_API_KEY", TEST_KEY)
        .shutdown_grace(Duration::from_secs(30))
        .can_use_tool(CanUseTool::new(|_| async { PermissionDecision::allow() }));
    let mut messages = query(SECRET_PROMPT, options);
    while let Some(message) = messages.next().await {
        message.expect("message");
    }
}

#[cfg(feature = "backend-code")]
#[test]
fn agent_traces_never_show_the_key() {
    let traces = capture(|| {
        common::run_tokio(agent_turn);
        common::run_smol(agent_turn);
        common::run_async_std(agent_turn);
        common::run_thread_pool(agent_turn);
    });
    assert!(
        !traces.contains(TEST_KEY),
        "the key is in the traces:\n{traces}"
    );
    assert!(
        !traces.contains(SECRET_PROMPT),
        "contents in the traces:\n{traces}"
    );
    for expected in [
        // The pid and version come from the `initialize` answer, read only for the trace.
        "claude code started",
        "cli_version=\"2.1.328\"",
        "turn finished",
        "num_turns=",
        "permission",
        "decision=\"allow\"",
        "gen_ai.tool.name=\"Bash\"",
    ] {
        assert!(traces.contains(expected), "no {expected:?} in:\n{traces}");
    }
    assert_eq!(traces.matches("turn finished").count(), 4, "{traces}");
    assert_eq!(traces.matches("claude code started").count(), 4, "{traces}");
    // Each turn is a span inside the CLI process's span, and the permission decision is
    // recorded inside it.
    assert!(
        traces
            .lines()
            .any(|line| line.contains("decision=\"allow\"")
                && line.contains("claude_kit.claude_code{")
                && line.contains("pid=")
                && line.contains("claude_kit.claude_code.turn")),
        "the permission decision is not inside a turn span:\n{traces}"
    );
}
