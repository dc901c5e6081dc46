//! A misbehaving CLI: bad lines, huge lines, crashes, early exits, error results, hangs,
//! signals ignored. Every case is a typed error, nothing hangs, and no process is left.

use std::time::Duration;

use crate::common::{Rt, on_all_runtimes};
use claude_kit::code::{AgentClient, Message, query};
use claude_kit::{DecodeCategory, Error};
use claude_kit_mock::fake_cli::{Action, ControlAnswer, Initialize, Script};
use futures_util::StreamExt;
use serde_json::json;

use super::{alive, collect, errors, fake, texts, within};

async fn non_json_lines_are_skipped(rt: Rt) {
    let script = Script::new().turn([
        Action::raw("[SandboxDebug] starting"),
        Action::raw(""),
        Action::raw("   "),
        Action::init(),
        Action::partial(
            json!({"type": "assistant", "session_id": "s",
            "message": {"id": "m", "type": "message", "role": "assistant", "model": "x",
                "content": [{"type": "text", "text": "written in pieces"}], "stop_reason": null,
                "usage": {"input_tokens": 1, "output_tokens": 1}}}),
            7,
            1,
        ),
        Action::result(),
    ]);
    let (options, _record) = fake(&rt, &script);
    let messages = collect(&rt, query("x", options)).await;
    assert!(errors(&messages).is_empty(), "{messages:?}");
    assert_eq!(texts(&messages), ["written in pieces"]);
}

async fn a_malformed_line_is_a_decode_error_quoting_it(rt: Rt) {
    let script = Script::new().turn([
        Action::init(),
        Action::raw("{\"type\": \"assistant\", oops sk-ant-fake-key-for-tests"),
        Action::result(),
    ]);
    let (options, _record) = fake(&rt, &script);
    let messages = collect(&rt, query("x", options)).await;
    let errors = errors(&messages);
    assert_eq!(errors.len(), 1, "{messages:?}");
    let Error::Decode {
        message, source, ..
    } = errors[0]
    else {
        panic!("{:?}", errors[0]);
    };
    assert!(message.contains("oops"), "the line is quoted: {message}");
    assert!(
        !message.contains("sk-ant-fake-key-for-tests"),
        "but never the key: {message}"
    );
    assert!(source.is_some());
    // Delivered in order: the frames before it came first, and the stream ended with it.
    assert!(matches!(messages.last(), Some(Err(Error::Decode { .. }))));
}

async fn an_over_long_line_names_the_limit(rt: Rt) {
    let script = Script::new().turn([Action::init(), Action::huge(300_000), Action::result()]);
    let (options, _record) = fake(&rt, &script);
    let messages = collect(&rt, query("x", options.max_line_bytes(64 * 1024))).await;
    let errors = errors(&messages);
    assert_eq!(errors.len(), 1, "{messages:?}");
    let text = errors[0].to_string();
    assert!(
        text.contains("65536") && text.contains("max_line_bytes"),
        "{text}"
    );
    assert!(
        matches!(errors[0], Error::Decode { source: Some(s), .. } if s.category == DecodeCategory::TooLarge)
    );
}

async fn a_line_under_the_default_limit_is_fine(rt: Rt) {
    // 2 MiB: over the Python SDK's 1 MiB limit, well under ours.
    let script = Script::new().turn([
        Action::init(),
        Action::huge(2 * 1024 * 1024),
        Action::result(),
    ]);
    let (options, _record) = fake(&rt, &script);
    let messages = collect(&rt, query("x", options)).await;
    assert!(errors(&messages).is_empty());
    assert!(texts(&messages)[0].len() >= 2 * 1024 * 1024 - 1024);
}

async fn a_crash_before_initialize_fails_connect_with_status_and_stderr(rt: Rt) {
    let script = Script::new().startup([
        Action::stderr("Error: something broke at start-up (key sk-ant-fake-key-for-tests)"),
        Action::exit(3),
    ]);
    let (options, _record) = fake(&rt, &script);
    match within(&rt, AgentClient::connect(options)).await {
        Err(Error::Process {
            exit_code,
            stderr_tail,
            message,
        }) => {
            assert_eq!(exit_code, Some(3), "{message}");
            assert!(stderr_tail.contains("something broke"), "{stderr_tail}");
            assert!(
                !stderr_tail.contains("sk-ant-fake-key-for-tests"),
                "{stderr_tail}"
            );
        }
        other => panic!("{other:?}"),
    }
}

async fn an_early_exit_fails_pending_requests_at_once(rt: Rt) {
    let script = Script::new()
        .control("interrupt", ControlAnswer::ignore())
        .turn([
            Action::init(),
            Action::wait_interrupt(),
            Action::stderr("dying now"),
            Action::exit(2),
        ]);
    let (options, _record) = fake(&rt, &script);
    // A control timeout far beyond the test's own bound: only failing at once passes.
    let client = within(
        &rt,
        AgentClient::connect(options.control_timeout(Duration::from_secs(3600))),
    )
    .await
    .unwrap();
    client.query("x").await.unwrap();
    match within(&rt, client.interrupt()).await {
        Err(Error::Process {
            exit_code,
            stderr_tail,
            ..
        }) => {
            assert_eq!(exit_code, Some(2));
            assert!(stderr_tail.contains("dying now"), "{stderr_tail}");
        }
        other => panic!("{other:?}"),
    }
    // Later requests fail the same way, without waiting.
    assert!(matches!(
        within(&rt, client.set_model(None)).await,
        Err(Error::Process { .. })
    ));
    client.disconnect().await;
}

async fn an_error_result_is_delivered_then_typed(rt: Rt) {
    let script = Script::new().turn([
        Action::init(),
        Action::text("Invalid API key · Fix external API key"),
        Action::result_with(
            json!({"subtype": "success", "is_error": true, "api_error_status": 401,
            "terminal_reason": "api_error", "result": "Invalid API key"}),
        ),
        Action::exit(1),
    ]);
    let (options, _record) = fake(&rt, &script);
    let messages = collect(&rt, query("x", options)).await;
    let n = messages.len();
    assert!(
        matches!(&messages[n - 2], Ok(Message::Result(r)) if r.is_error),
        "{messages:?}"
    );
    match &messages[n - 1] {
        Err(Error::AgentResult(result)) => {
            assert_eq!(result.api_error_status, Some(401));
            assert_eq!(result.subtype, "success");
            assert_eq!(result.terminal_reason.as_deref(), Some("api_error"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        errors(&messages).len(),
        1,
        "one error, not also the exit status: {messages:?}"
    );
}

async fn max_turns_is_a_typed_result_error(rt: Rt) {
    let script = Script::new().turn([
        Action::init(),
        Action::tool_use("toolu_1", "Bash", json!({"command": "ls"})),
        Action::tool_result("toolu_1", json!("a\nb"), false),
        Action::result_with(json!({"subtype": "error_max_turns", "is_error": true,
            "errors": ["Reached maximum number of turns (1)"], "result": null})),
        Action::exit(1),
    ]);
    let (options, _record) = fake(&rt, &script);
    let messages = collect(&rt, query("x", options.max_turns(1))).await;
    let error = messages.last().unwrap().as_ref().unwrap_err();
    assert!(matches!(error, Error::AgentResult(r) if r.subtype == "error_max_turns"));
    assert!(
        error
            .to_string()
            .contains("Reached maximum number of turns (1)"),
        "{error}"
    );
}

async fn a_crash_mid_turn_is_a_process_error(rt: Rt) {
    let script = Script::new().turn([
        Action::init(),
        Action::text("half"),
        Action::stderr("panic: oh no"),
        Action::exit(1),
    ]);
    let (options, _record) = fake(&rt, &script);
    let messages = collect(&rt, query("x", options)).await;
    assert_eq!(texts(&messages), ["half"]);
    match messages.last() {
        Some(Err(Error::Process {
            exit_code: Some(1),
            stderr_tail,
            ..
        })) => assert!(stderr_tail.contains("oh no")),
        other => panic!("{other:?}"),
    }
}

async fn an_initialize_timeout_names_the_cli(rt: Rt) {
    let (options, _record) = fake(&rt, &Script::new().initialize(Initialize::ignore()));
    let started = std::time::Instant::now();
    let outcome = within(
        &rt,
        AgentClient::connect(options.initialize_timeout(Duration::from_millis(300))),
    )
    .await;
    match outcome {
        Err(Error::Control {
            subtype,
            message,
            code,
        }) => {
            assert_eq!(subtype, "initialize");
            assert_eq!(code.as_deref(), Some("timeout"));
            assert!(message.contains("claude-kit-fake-claude"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let _ = started;
}

async fn a_cli_that_ignores_sigterm_is_killed(rt: Rt) {
    let script = Script::new().turn([
        Action::init_with(json!({"fake_pid": "{{pid}}"})),
        Action::ignore_sigterm(),
        Action::hang(),
    ]);
    let (options, _record) = fake(&rt, &script);
    let client = within(
        &rt,
        AgentClient::connect(options.shutdown_grace(Duration::from_millis(200))),
    )
    .await
    .unwrap();
    let pid = client.server_info().pid().unwrap() as u32;
    client.query("x").await.unwrap();
    let mut messages = client.receive_messages();
    let init = within(&rt, messages.next()).await;
    assert!(matches!(init, Some(Ok(Message::System(_)))));
    drop(messages);
    // stdin closed: ignored (the fake hangs); SIGTERM: ignored; SIGKILL: gone.
    let status = within(&rt, client.disconnect()).await;
    assert_eq!(status, None, "ended by a signal");
    assert!(!alive(pid), "the CLI is gone and reaped");
}

async fn dropping_a_query_mid_turn_ends_the_cli(rt: Rt) {
    let script = Script::new().turn([
        Action::init_with(json!({"fake_pid": "{{pid}}"})),
        Action::hang(),
    ]);
    let (options, _record) = fake(&rt, &script);
    let mut messages = query("x", options.shutdown_grace(Duration::from_millis(200)));
    let pid = loop {
        match within(&rt, messages.next()).await {
            Some(Ok(Message::System(claude_kit::code::SystemMessage::Init(init)))) => {
                break init.extra["fake_pid"]
                    .as_str()
                    .unwrap()
                    .parse::<u32>()
                    .unwrap();
            }
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert!(alive(pid));
    drop(messages);
    // The shutdown runs in the background: wait (bounded) for the process to be reaped.
    within(&rt, async {
        while alive(pid) {
            claude_kit_rt::sleep(&*rt, Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Runs a turn whose CLI writes `stderr` (one action each) and answers; the lines the stderr
/// callback got, as they come.
async fn stderr_callback_lines(rt: &Rt, stderr: Vec<Action>) -> async_channel::Receiver<String> {
    let mut actions = vec![Action::init()];
    actions.extend(stderr);
    actions.extend([Action::text("ok"), Action::result()]);
    let script = Script::new().turn(actions);
    let (options, _record) = fake(rt, &script);
    let (tx, rx) = async_channel::unbounded();
    let options = options.stderr(move |line| {
        let _ = tx.try_send(line.to_owned());
    });
    let messages = collect(rt, query("x", options)).await;
    assert!(errors(&messages).is_empty());
    rx
}

async fn stderr_reaches_the_callback(rt: Rt) {
    let rx = stderr_callback_lines(
        &rt,
        vec![Action::stderr("line one"), Action::stderr("line two")],
    )
    .await;
    let first = within(&rt, rx.recv()).await.unwrap();
    let second = within(&rt, rx.recv()).await.unwrap();
    assert_eq!([first, second], ["line one", "line two"]);
}

/// Lines longer than the stderr task's first read buffer, written at once (reads that fill
/// the buffer, lines cut across reads): each reaches the callback whole, in order.
async fn long_stderr_lines_reach_the_callback_whole(rt: Rt) {
    let lines: Vec<String> = (0..30)
        .map(|i| format!("{i:02} {}", "e".repeat(700 + i)))
        .collect();
    let rx = stderr_callback_lines(&rt, vec![Action::stderr(lines.join("\n"))]).await;
    for line in &lines {
        assert_eq!(&within(&rt, rx.recv()).await.unwrap(), line);
    }
}

on_all_runtimes!(
    non_json_lines_are_skipped,
    a_malformed_line_is_a_decode_error_quoting_it,
    an_over_long_line_names_the_limit,
    a_line_under_the_default_limit_is_fine,
    a_crash_before_initialize_fails_connect_with_status_and_stderr,
    an_early_exit_fails_pending_requests_at_once,
    an_error_result_is_delivered_then_typed,
    max_turns_is_a_typed_result_error,
    a_crash_mid_turn_is_a_process_error,
    an_initialize_timeout_names_the_cli,
    a_cli_that_ignores_sigterm_is_killed,
    dropping_a_query_mid_turn_ends_the_cli,
    stderr_reaches_the_callback,
    long_stderr_lines_reach_the_callback_whole,
);
