//! The CLI's requests: the permission callback, hooks, in-process MCP servers, unknown
//! subtypes, concurrency and cancellation; stdin kept open while callbacks may be needed.

use std::sync::Arc;

use crate::common::{Rt, on_all_runtimes};
use claude_kit::code::{
    AgentClient, CanUseTool, HookCallback, HookEvent, HookMatcher, HookOutput, PermissionDecision,
    query,
};
use claude_kit::tools::{ToolFn, Toolbox};
use claude_kit_mock::fake_cli::{Action, Initialize, Script};
use serde_json::{Value, json};

use super::{answers, collect, fake, within};

fn can_use_tool(tool: &str, input: Value) -> Value {
    json!({"subtype": "can_use_tool", "tool_name": tool, "input": input, "tool_use_id": "toolu_1",
        "permission_suggestions": []})
}

fn policy() -> CanUseTool {
    CanUseTool::new(|request| async move {
        match request.tool_name.as_str() {
            "Bash" => PermissionDecision::allow(),
            "Edit" => PermissionDecision::allow_with(json!({"file_path": "/safe"})),
            _ => PermissionDecision::deny(format!(
                "{} is not allowed in this test",
                request.tool_name
            )),
        }
    })
}

async fn permission_callback_allows_one_tool_and_denies_another(rt: Rt) {
    let script = Script::new().turn([
        Action::init(),
        Action::request(can_use_tool("Bash", json!({"command": "ls"}))),
        Action::request(can_use_tool("Write", json!({"file_path": "/x"}))),
        Action::request(can_use_tool("Edit", json!({"file_path": "/etc/passwd"}))),
        Action::text("done"),
        Action::result(),
    ]);
    let (options, record) = fake(&rt, &script);
    let messages = collect(&rt, query("x", options.can_use_tool(policy()))).await;
    let answers = answers(&messages);
    assert_eq!(answers.len(), 3, "{messages:?}");
    assert_eq!(answers[0]["subtype"], "success");
    assert_eq!(
        answers[0]["response"],
        json!({"behavior": "allow", "updatedInput": {"command": "ls"}})
    );
    assert_eq!(
        answers[1]["response"],
        json!({"behavior": "deny", "message": "Write is not allowed in this test"})
    );
    assert_eq!(
        answers[2]["response"]["updatedInput"],
        json!({"file_path": "/safe"})
    );
    assert!(
        record
            .argv()
            .windows(2)
            .any(|w| w == ["--permission-prompt-tool", "stdio"])
    );
}

async fn stdin_stays_open_until_idle_when_callbacks_are_set(rt: Rt) {
    // A request after the result, before `idle`: it finds stdin open only if the SDK waits
    // for `idle` (closing at the result would make the fake see EOF: `stream_closed`).
    let script = Script::new().turn([
        Action::state("running"),
        Action::init(),
        Action::text("done"),
        Action::result(),
        Action::request(can_use_tool("Bash", json!({"command": "ls"}))),
        Action::state("idle"),
    ]);
    let (options, record) = fake(&rt, &script);
    let messages = collect(&rt, query("x", options.can_use_tool(policy()))).await;
    let answers = answers(&messages);
    assert_eq!(answers.len(), 1, "{messages:?}");
    assert_eq!(answers[0]["response"]["behavior"], "allow", "{answers:?}");
    assert_eq!(
        record.stdin().last(),
        Some(&Value::Null),
        "stdin closed at the end"
    );
}

async fn hooks_are_registered_and_called(rt: Rt) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let hook = HookCallback::new(move |input| {
        log.lock()
            .unwrap()
            .push((input.event.clone(), input.tool_name.clone()));
        async move {
            match input.tool_name.as_deref() {
                Some("Bash") => HookOutput::deny("no shell in tests"),
                _ => HookOutput::default(),
            }
        }
    });
    let script = Script::new().turn([
        Action::init(),
        Action::request(json!({"subtype": "hook_callback", "callback_id": "hook_0", "tool_use_id": "toolu_1",
            "input": {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "rm -rf /"}}})),
        Action::request(json!({"subtype": "hook_callback", "callback_id": "hook_7", "input": {}})),
        Action::result(),
    ]);
    let (options, record) = fake(&rt, &script);
    let options = options.hook(
        HookEvent::PreToolUse,
        HookMatcher::new(Some("Bash")).callback(hook),
    );
    let messages = collect(&rt, query("x", options)).await;
    let answers = answers(&messages);
    assert_eq!(
        answers[0]["response"],
        json!({"hookSpecificOutput": {"permissionDecision": "deny",
            "permissionDecisionReason": "no shell in tests", "hookEventName": "PreToolUse"}})
    );
    assert_eq!(answers[1]["subtype"], "error");
    assert!(answers[1]["error"].as_str().unwrap().contains("hook_7"));
    assert_eq!(
        *seen.lock().unwrap(),
        [("PreToolUse".to_owned(), Some("Bash".to_owned()))]
    );
    let initialize = &record.stdin()[0]["request"];
    assert_eq!(
        initialize["hooks"],
        json!({"PreToolUse": [{"matcher": "Bash", "hookCallbackIds": ["hook_0"]}]})
    );
}

fn calculator() -> Toolbox {
    #[derive(serde::Deserialize)]
    struct Add {
        a: i64,
        b: i64,
    }
    Toolbox::new().with(ToolFn::new(
        "add",
        "Adds two integers",
        json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}),
        |input: Add| async move { Ok::<_, claude_kit::tools::ToolError>(format!("sum={}", input.a + input.b)) },
    ))
}

fn mcp(message: Value) -> Value {
    json!({"subtype": "mcp_message", "server_name": "calc", "message": message})
}

async fn mcp_requests_are_served_before_initialize_is_answered(rt: Rt) {
    // As the real CLI does with an SDK MCP server: initialize, notifications/initialized and
    // tools/list arrive before the CLI answers `initialize`.
    let script = Script::new()
        .initialize(Initialize::new().before([
            Action::request(mcp(
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}),
            )),
            Action::request(mcp(
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )),
            Action::request(mcp(
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            )),
        ]))
        .turn([
            Action::init(),
            Action::request(mcp(
                json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}),
            )),
            Action::request(json!({"subtype": "mcp_message", "server_name": "nope",
                "message": {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}})),
            Action::result(),
        ]);
    let (options, record) = fake(&rt, &script);
    let client = within(
        &rt,
        AgentClient::connect(options.sdk_mcp_server("calc", calculator())),
    )
    .await;
    let client = client.expect("connected while serving the CLI's MCP requests");
    assert_eq!(client.server_info().version(), Some("2.1.328"));
    client.query("add").await.unwrap();
    let messages = collect(&rt, client.receive_response()).await;
    let answers = answers(&messages);
    assert_eq!(answers.len(), 5, "{messages:?}");
    let mcp = |i: usize| answers[i]["response"]["mcp_response"].clone();
    assert_eq!(mcp(0)["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(mcp(1), json!({"jsonrpc": "2.0", "result": {}}));
    assert_eq!(mcp(2)["result"]["tools"][0]["name"], "add");
    assert_eq!(mcp(3)["result"]["content"][0]["text"], "sum=5");
    assert_eq!(mcp(4)["error"]["code"], -32601);
    client.disconnect().await;
    let argv = record.argv();
    let config = argv
        .iter()
        .position(|a| a == "--mcp-config")
        .map(|i| &argv[i + 1]);
    assert_eq!(
        config.map(String::as_str),
        Some(r#"{"mcpServers":{"calc":{"type":"sdk","name":"calc"}}}"#)
    );
}

async fn a_slow_callback_never_blocks_the_reader(rt: Rt) {
    // The first request's callback waits until the second one has been answered: handled one
    // at a time, the two would deadlock.
    let (release, released) = async_channel::bounded::<()>(1);
    let callback = CanUseTool::new(move |request| {
        let release = release.clone();
        let released = released.clone();
        async move {
            if request.tool_name == "Slow" {
                let _ = released.recv().await;
            } else {
                let _ = release.send(()).await;
            }
            PermissionDecision::deny(request.tool_name)
        }
    });
    let script = Script::new().turn([
        Action::init(),
        Action::request_async(can_use_tool("Slow", json!({}))),
        Action::request_async(can_use_tool("Fast", json!({}))),
        Action::await_responses(2),
        Action::result(),
    ]);
    let (options, _record) = fake(&rt, &script);
    let messages = collect(&rt, query("x", options.can_use_tool(callback))).await;
    let answers = answers(&messages);
    // Both answered (handled one at a time, `Slow` would wait for ever and `collect`'s bound
    // would fail the test); which answer is written first is a race, and not asserted.
    let mut answered: Vec<&str> = answers
        .iter()
        .map(|a| a["response"]["message"].as_str().unwrap())
        .collect();
    answered.sort_unstable();
    assert_eq!(answered, ["Fast", "Slow"]);
}

async fn a_cancelled_request_stops_its_callback_and_gets_no_answer(rt: Rt) {
    struct SignalOnDrop(async_channel::Sender<()>);
    impl Drop for SignalOnDrop {
        fn drop(&mut self) {
            let _ = self.0.try_send(());
        }
    }
    let (dropped_tx, dropped) = async_channel::bounded::<()>(1);
    let (started_tx, started) = async_channel::bounded::<()>(1);
    let callback = CanUseTool::new(move |_| {
        let guard = SignalOnDrop(dropped_tx.clone());
        let started = started_tx.clone();
        async move {
            let _guard = guard;
            let _ = started.send(()).await;
            std::future::pending::<PermissionDecision>().await
        }
    });
    let script = Script::new().turn([
        Action::init(),
        Action::request_async(can_use_tool("Never", json!({}))),
        Action::text("sent"),
        Action::wait_interrupt(),
        Action::cancel_last(),
        Action::request(json!({"subtype": "no_such_subtype"})),
        Action::result(),
    ]);
    let (options, record) = fake(&rt, &script);
    let client = within(&rt, AgentClient::connect(options.can_use_tool(callback)))
        .await
        .unwrap();
    client.query("x").await.unwrap();
    let mut messages = client.receive_response();
    // Wait until the callback runs, then let the fake cancel it.
    within(&rt, started.recv()).await.unwrap();
    client.interrupt().await.unwrap();
    let rest = collect(&rt, &mut messages).await;
    drop(messages);
    let answers = answers(&rest);
    // Only the unknown subtype was answered, with the CLI's own error wording.
    assert_eq!(answers.len(), 1, "{rest:?}");
    assert_eq!(answers[0]["subtype"], "error");
    assert_eq!(
        answers[0]["error"],
        "Unsupported control request subtype: no_such_subtype"
    );
    // The cancelled callback's future is dropped (its guard signals), not left running.
    within(&rt, dropped.recv()).await.unwrap();
    client.disconnect().await;
    let answered: Vec<_> = record
        .stdin()
        .into_iter()
        .filter(|f| f["type"] == "control_response")
        .collect();
    assert_eq!(
        answered.len(),
        1,
        "no answer to the cancelled request: {answered:?}"
    );
}

on_all_runtimes!(
    permission_callback_allows_one_tool_and_denies_another,
    stdin_stays_open_until_idle_when_callbacks_are_set,
    hooks_are_registered_and_called,
    mcp_requests_are_served_before_initialize_is_answered,
    a_slow_callback_never_blocks_the_reader,
    a_cancelled_request_stops_its_callback_and_gets_no_answer,
);
