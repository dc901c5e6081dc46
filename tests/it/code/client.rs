//! `AgentClient`: turns on one process, control requests, the scoped form, the warm pool.

use crate::common::{Rt, on_all_runtimes};
use claude_kit::Error;
use claude_kit::code::{AgentClient, Message, PermissionMode, SystemMessage, WarmPool};
use claude_kit_mock::fake_cli::{Action, ControlAnswer, Script};
use serde_json::json;

use super::{collect, fake, texts, within};

async fn two_turns_on_one_process(rt: Rt) {
    let (options, record) = fake(&rt, &Script::new());
    let client = within(&rt, AgentClient::connect(options)).await.unwrap();
    let pid = client.server_info().pid();
    assert!(pid.is_some());
    client.query("one").await.unwrap();
    let first = collect(&rt, client.receive_response()).await;
    assert_eq!(texts(&first), ["echo: one"]);
    assert!(matches!(first.last(), Some(Ok(Message::Result(_)))));
    client.query("two").await.unwrap();
    let second = collect(&rt, client.receive_response()).await;
    assert_eq!(texts(&second), ["echo: two"]);
    let users: Vec<_> = record
        .stdin()
        .into_iter()
        .filter(|f| f["type"] == "user")
        .collect();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["session_id"], "default");
    assert_eq!(
        within(&rt, client.disconnect()).await,
        Some(0),
        "stdin closed: the CLI exits 0"
    );
}

async fn interrupt_returns_a_receipt_and_the_session_goes_on(rt: Rt) {
    let script = Script::new().turn([
        Action::init(),
        Action::text("partial"),
        Action::wait_interrupt(),
        Action::emit(
            json!({"type": "assistant", "aborted": true, "session_id": "{{session_id}}",
            "message": {"id": "m", "type": "message", "role": "assistant", "model": "x",
                "content": [{"type": "text", "text": "[aborted]"}], "stop_reason": null,
                "usage": {"input_tokens": 1, "output_tokens": 1}}}),
        ),
        Action::result_with(
            json!({"subtype": "error_during_execution", "is_error": true,
            "terminal_reason": "aborted_streaming", "result": null}),
        ),
    ]);
    let (options, _record) = fake(&rt, &script);
    let client = within(&rt, AgentClient::connect(options)).await.unwrap();
    client.query("long").await.unwrap();
    let receipt = within(&rt, client.interrupt()).await.unwrap();
    assert!(receipt.still_queued.is_empty());
    let turn = collect(&rt, client.receive_response()).await;
    // An interrupted turn ends with its error result, and no error after it: it was asked for.
    assert!(
        matches!(turn.last(), Some(Ok(Message::Result(r))) if r.is_error && r.subtype == "error_during_execution"),
        "{turn:?}"
    );
    client.query("next").await.unwrap();
    let next = collect(&rt, client.receive_response()).await;
    assert_eq!(texts(&next), ["echo: next"]);
    client.disconnect().await;
}

async fn control_requests_are_routed_by_id(rt: Rt) {
    let script = Script::new().control(
        "mcp_status",
        ControlAnswer::response(json!({"mcpServers": [{"name": "x"}]})),
    );
    let (options, _record) = fake(&rt, &script);
    let client = within(&rt, AgentClient::connect(options)).await.unwrap();
    let (mode, model, status, usage) = within(
        &rt,
        futures_util::future::join4(
            client.set_permission_mode(PermissionMode::AcceptEdits),
            client.set_model(Some("claude-haiku-4-5")),
            client.mcp_status(),
            client.context_usage(),
        ),
    )
    .await;
    mode.unwrap();
    model.unwrap();
    assert_eq!(status.unwrap()["mcpServers"][0]["name"], "x");
    assert!(usage.unwrap().is_object());
    // The mode change is also announced as a `system/status` frame.
    client.query("x").await.unwrap();
    let turn = collect(&rt, client.receive_response()).await;
    assert!(
        turn.iter().any(
            |m| matches!(m, Ok(Message::System(SystemMessage::Other { subtype, data }))
        if subtype == "status" && data["permissionMode"] == "acceptEdits")
        ),
        "{turn:?}"
    );
    let refused = client.control(json!({"subtype": "no_such_subtype"})).await;
    match refused {
        Err(Error::Control {
            subtype,
            message,
            code,
        }) => {
            assert_eq!(subtype, "no_such_subtype");
            assert!(message.contains("Unsupported control request subtype"));
            assert_eq!(code.as_deref(), Some("unsupported_request"));
        }
        other => panic!("{other:?}"),
    }
    client.disconnect().await;
}

async fn the_scoped_form_always_disconnects(rt: Rt) {
    let (options, _record) = fake(&rt, &Script::new());
    let pid = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen = pid.clone();
    let outcome: Result<(), Error> = within(
        &rt,
        AgentClient::with(options, move |client| {
            Box::pin(async move {
                *seen.lock().unwrap() = client.server_info().pid();
                Err(Error::config("the body failed"))
            })
        }),
    )
    .await;
    assert!(matches!(outcome, Err(Error::Config { .. })));
    let pid = pid.lock().unwrap().expect("the fake reports its pid");
    assert!(
        !super::alive(pid as u32),
        "the CLI was ended and reaped by `with`"
    );
}

async fn the_warm_pool_hands_out_connected_clients(rt: Rt) {
    let (options, _record) = fake(&rt, &Script::new());
    let pool = WarmPool::new(options, 2).unwrap();
    let first = within(&rt, pool.get()).await.unwrap();
    let second = within(&rt, pool.get()).await.unwrap();
    assert_ne!(first.server_info().pid(), second.server_info().pid());
    first.query("pooled").await.unwrap();
    assert_eq!(
        texts(&collect(&rt, first.receive_response()).await),
        ["echo: pooled"]
    );
    let third = within(&rt, pool.get()).await.unwrap();
    assert!(third.is_alive());
    let stats = pool.stats();
    assert_eq!(stats.handed_out, 3);
    assert!(stats.started >= 3);
    assert_eq!(stats.failures, 0);
    for client in [first, second, third] {
        client.disconnect().await;
    }
}

async fn the_warm_pool_reports_start_failures(rt: Rt) {
    let options = claude_kit::code::CodeOptions::new()
        .runtime(rt.clone())
        .cli_path("/definitely/not/here/claude");
    let pool = WarmPool::new(options, 1).unwrap();
    assert!(matches!(
        within(&rt, pool.get()).await,
        Err(Error::CliNotFound { .. })
    ));
    assert!(pool.stats().failures >= 1);
}

/// A runtime that notes on which kind of thread each process is started.
#[derive(Debug)]
struct WatchedStarts {
    inner: Rt,
    starts: std::sync::Mutex<Vec<Option<claude_kit_rt::context::ThreadContext>>>,
}

impl claude_kit_rt::Runtime for WatchedStarts {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn spawn(&self, task: claude_kit_rt::BoxFuture<'static, ()>) {
        self.inner.spawn(task);
    }
    fn sleep_until(
        &self,
        deadline: std::time::Instant,
    ) -> std::pin::Pin<Box<dyn claude_kit_rt::Sleep>> {
        self.inner.sleep_until(deadline)
    }
    fn is_shut_down(&self) -> bool {
        self.inner.is_shut_down()
    }
    fn process(&self) -> Option<&dyn claude_kit_rt::SpawnProcess> {
        Some(self)
    }
    fn spawn_blocking(&self, task: Box<dyn FnOnce() + Send + 'static>) {
        self.inner.spawn_blocking(task);
    }
}

impl claude_kit_rt::SpawnProcess for WatchedStarts {
    fn spawn(
        &self,
        command: std::process::Command,
    ) -> std::io::Result<Box<dyn claude_kit_rt::ChildProcess>> {
        self.starts
            .lock()
            .unwrap()
            .push(claude_kit_rt::context::ThreadContext::current());
        self.inner.process().unwrap().spawn(command)
    }
}

/// Starting a process blocks its thread ~0.1–0.2 ms (`posix_spawn` waits for the child's
/// `exec`): a direct connect does it on the task that waits for that process anyway; a warm
/// pool, whose refills nobody waits for, on the blocking pool — never on a thread that polls
/// tasks, where a refill would stall the query it was taken for.
async fn processes_start_where_someone_waits_for_them(rt: Rt) {
    let watched = std::sync::Arc::new(WatchedStarts {
        inner: rt.clone(),
        starts: std::sync::Mutex::new(Vec::new()),
    });
    let (options, _record) = fake(&rt, &Script::new());
    let options = options.runtime(watched.clone());
    let client = within(&rt, AgentClient::connect(options.clone()))
        .await
        .unwrap();
    client.query("one").await.unwrap();
    let turn = collect(&rt, client.receive_response()).await;
    assert_eq!(texts(&turn), ["echo: one"]);
    within(&rt, client.disconnect()).await;
    let pool = WarmPool::new(options, 1).unwrap();
    let pooled = within(&rt, pool.get()).await.unwrap();
    pooled.query("two").await.unwrap();
    let turn = collect(&rt, pooled.receive_response()).await;
    assert_eq!(texts(&turn), ["echo: two"]);
    within(&rt, pooled.disconnect()).await;
    drop(pool);
    let starts = watched.starts.lock().unwrap();
    assert!(starts.len() >= 2, "{starts:?}");
    assert!(
        !matches!(
            starts[0],
            Some(claude_kit_rt::context::ThreadContext::Blocking)
        ),
        "a direct connect started on {:?}",
        starts[0]
    );
    for start in &starts[1..] {
        assert!(
            matches!(start, Some(claude_kit_rt::context::ThreadContext::Blocking)),
            "a pool's start on {start:?}"
        );
    }
}

/// A client whose CLI answers its query with one assistant message per word, its result,
/// and its exit (so stdout ends after the turn); the query is sent. The record is the fake's
/// file, kept until the test ends.
async fn words_then_exit(rt: &Rt, words: &[&str]) -> (AgentClient, super::Record) {
    let mut turn = vec![Action::init()];
    turn.extend(words.iter().map(|w| Action::text(*w)));
    turn.extend([Action::result(), Action::exit(0)]);
    let (options, record) = fake(rt, &Script::new().turn(turn));
    let client = within(rt, AgentClient::connect(options)).await.unwrap();
    client.query("go").await.unwrap();
    (client, record)
}

/// The texts of the assistant messages among `messages`.
fn assistant_texts(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Assistant(a) => Some(a.message.text()),
            _ => None,
        })
        .collect()
}

async fn concurrent_readers_take_turns_and_lose_nothing(rt: Rt) {
    let words = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let (client, _record) = words_then_exit(&rt, &words).await;
    // Two readers on one client at once: each message reaches exactly one of them, and each
    // sees its own in the CLI's order.
    let reader = || async {
        let mut seen = Vec::new();
        // Until stdout ends (the CLI exits after its result): then both see the end.
        while let Some(message) = client.next_message().await {
            seen.push(message.unwrap());
        }
        seen
    };
    let (one, two) = within(&rt, futures_util::future::join(reader(), reader())).await;
    let (first, second) = (assistant_texts(&one), assistant_texts(&two));
    for seen in [&first, &second] {
        let order: Vec<usize> = seen
            .iter()
            .map(|t| words.iter().position(|w| w == t).unwrap())
            .collect();
        assert!(order.windows(2).all(|p| p[0] < p[1]), "{seen:?}");
    }
    let mut all: Vec<String> = first.into_iter().chain(second).collect();
    all.sort();
    assert_eq!(all, words, "every message exactly once");
    let results = one
        .iter()
        .chain(&two)
        .filter(|m| matches!(m, Message::Result(_)));
    assert_eq!(results.count(), 1);
    within(&rt, client.disconnect()).await;
}

async fn a_dropped_wait_for_the_next_message_loses_none(rt: Rt) {
    let words = ["a", "b", "c", "d", "e", "f"];
    let (client, _record) = words_then_exit(&rt, &words).await;
    // Before every message, a wait that is polled once and dropped (mid-wait whenever the
    // message has not come yet): what it was waiting for goes to the next wait instead.
    let mut seen = Vec::new();
    loop {
        use futures_util::FutureExt;
        if let Some(early) = client.next_message().now_or_never() {
            match early {
                Some(message) => seen.push(message.unwrap()),
                None => break,
            }
        }
        match within(&rt, client.next_message()).await {
            Some(message) => seen.push(message.unwrap()),
            None => break,
        }
    }
    assert_eq!(
        assistant_texts(&seen),
        words,
        "every message once, in order"
    );
    let results = seen.iter().filter(|m| matches!(m, Message::Result(_)));
    assert_eq!(results.count(), 1, "{seen:?}");
    within(&rt, client.disconnect()).await;
}

on_all_runtimes!(
    a_dropped_wait_for_the_next_message_loses_none,
    concurrent_readers_take_turns_and_lose_nothing,
    processes_start_where_someone_waits_for_them,
    two_turns_on_one_process,
    interrupt_returns_a_receipt_and_the_session_goes_on,
    control_requests_are_routed_by_id,
    the_scoped_form_always_disconnects,
    the_warm_pool_hands_out_connected_clients,
    the_warm_pool_reports_start_failures,
);
