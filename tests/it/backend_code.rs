//! The backend seam on Claude Code: `CodeBackend` conversations through `Agent`, driving the
//! fake CLI — turns, the CLI's tool calls as agent events, the toolbox served as an MCP
//! server, interrupts, save and resume, and the seeds' patterns over agent conversations.

use crate::common;

use std::time::Duration;

use claude_kit::agent::Agent;
use claude_kit::backend::{AgentOptions, Backend, CodeBackend, ConversationState, TOOLBOX_SERVER};
use claude_kit::code::CodeOptions;
use claude_kit::patterns::map_concurrent;
use claude_kit::tools::{AgentEvent, ToolError, ToolFn, Toolbox};
use claude_kit_mock::fake_cli::{self, Action, Script};
use common::{Rt, on_all_runtimes};
use futures::StreamExt;
use serde_json::json;

fn backend(rt: &Rt, script: &Script) -> CodeBackend {
    CodeBackend::new(
        CodeOptions::new()
            .cli_path(fake_cli::path())
            .runtime(rt.clone())
            .env(fake_cli::SCRIPT_ENV, script.to_json())
            .shutdown_grace(Duration::from_secs(2)),
    )
}

async fn within<F: std::future::Future>(rt: &Rt, future: F) -> F::Output {
    claude_kit_rt::timeout(&**rt, Duration::from_secs(120), future)
        .await
        .expect("stuck")
}

async fn turns_on_one_cli_process(rt: Rt) {
    let backend = backend(&rt, &Script::new());
    let mut agent = within(
        &rt,
        Agent::connect(&backend, AgentOptions::new().model("claude-x")),
    )
    .await
    .unwrap();
    let first = within(&rt, agent.ask("one")).await.unwrap();
    let second = within(&rt, agent.ask("two")).await.unwrap();
    assert_eq!(first.text(), "echo: one");
    assert_eq!(second.text(), "echo: two");
    assert_eq!(agent.turns(), 2);
    let ConversationState::SessionId { session_id } = agent.state() else {
        panic!("a CLI session is saved by id");
    };
    assert!(!session_id.is_empty());
    let saved = agent.save().unwrap();
    agent.close().await.unwrap();
    // The saved JSON resumes: the next CLI is started with `--resume=<id>`.
    let resumed = within(&rt, Agent::resume(&backend, AgentOptions::new(), &saved))
        .await
        .unwrap();
    assert_eq!(resumed.state(), ConversationState::SessionId { session_id });
    resumed.close().await.unwrap();
}

async fn the_clis_tool_calls_become_agent_events(rt: Rt) {
    let script = Script::new().turn([
        Action::init(),
        Action::tool_use("toolu_1", "Read", json!({"file_path": "/etc/hostname"})),
        Action::tool_result("toolu_1", json!([{"type": "text", "text": "box"}]), false),
        Action::text("It is box."),
        Action::result(),
    ]);
    let backend = backend(&rt, &script);
    let mut agent = within(&rt, Agent::connect(&backend, AgentOptions::new()))
        .await
        .unwrap();
    let events: Vec<AgentEvent> =
        within(&rt, agent.send("Which host?").map(Result::unwrap).collect()).await;
    assert!(events.contains(&AgentEvent::ToolCall {
        id: "toolu_1".into(),
        name: "Read".into(),
        input: json!({"file_path": "/etc/hostname"}),
    }));
    assert!(events.contains(&AgentEvent::ToolResult {
        id: "toolu_1".into(),
        content: "box".into(),
        is_error: false,
    }));
    assert!(matches!(events.last(), Some(AgentEvent::Finished(m)) if m.text() == "It is box."));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::TextDelta(t) if t == "It is box."))
    );
    agent.close().await.unwrap();
}

async fn the_toolbox_is_served_as_an_mcp_server(rt: Rt) {
    #[derive(serde::Deserialize)]
    struct Add {
        a: i64,
        b: i64,
    }
    let toolbox = Toolbox::new().with(ToolFn::new(
        "add",
        "Adds",
        json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}),
        |input: Add| async move { Ok::<_, ToolError>(format!("sum={}", input.a + input.b)) },
    ));
    let call = json!({"subtype": "mcp_message", "server_name": TOOLBOX_SERVER,
        "message": {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 40}}}});
    let script = Script::new().turn([
        Action::init(),
        Action::request(call),
        Action::text("{{prompt}}"),
        Action::result(),
    ]);
    let backend = backend(&rt, &script);
    let options = backend
        .code_options(AgentOptions::new().toolbox(toolbox.clone()))
        .unwrap();
    let argv = options.argv();
    assert!(
        argv.windows(2)
            .any(|w| w == ["--allowedTools", "mcp__tools__add"]),
        "{argv:?}"
    );
    let mut agent = within(
        &rt,
        Agent::connect(&backend, AgentOptions::new().toolbox(toolbox)),
    )
    .await
    .unwrap();
    let events: Vec<AgentEvent> =
        within(&rt, agent.send("add").map(Result::unwrap).collect()).await;
    assert!(
        matches!(events.last(), Some(AgentEvent::Finished(_))),
        "{events:?}"
    );
    agent.close().await.unwrap();
}

async fn an_interrupted_turn_ends_without_finished(rt: Rt) {
    let script = Script::new().turn([
        Action::init(),
        Action::text("partial"),
        Action::wait_interrupt(),
        Action::result_with(
            json!({"subtype": "error_during_execution", "is_error": true,
            "terminal_reason": "aborted_streaming"}),
        ),
    ]);
    let backend = backend(&rt, &script);
    let mut agent = within(&rt, Agent::connect(&backend, AgentOptions::new()))
        .await
        .unwrap();
    let mut events = agent.send("long");
    let first = within(&rt, events.next()).await;
    assert!(
        matches!(first, Some(Ok(AgentEvent::TextDelta(_)))),
        "{first:?}"
    );
    drop(events);
    // Interrupt, then the next turn still works on the same process.
    within(&rt, agent.interrupt()).await.unwrap();
    let next = within(&rt, agent.ask("again")).await;
    assert!(next.is_ok(), "{next:?}");
    agent.close().await.unwrap();
}

async fn a_saved_session_resumes_with_its_id(rt: Rt) {
    let backend = backend(&rt, &Script::new());
    let options = AgentOptions::new().resume(ConversationState::SessionId {
        session_id: "abc-123".into(),
    });
    let code = backend.code_options(options.clone()).unwrap();
    assert!(code.argv().contains(&"--resume=abc-123".to_owned()));
    let agent = within(&rt, Agent::connect(&backend, options))
        .await
        .unwrap();
    assert_eq!(
        agent.state(),
        ConversationState::SessionId {
            session_id: "abc-123".into()
        }
    );
    agent.close().await.unwrap();
    let history = AgentOptions::new().resume(ConversationState::Messages {
        messages: vec![],
        usage: Default::default(),
    });
    assert!(matches!(
        backend.connect(history).await,
        Err(claude_kit::Error::Config { .. })
    ));
}

async fn patterns_run_over_agent_conversations(rt: Rt) {
    let backend = backend(&rt, &Script::new());
    let backend: &dyn Backend = &backend;
    let replies = within(
        &rt,
        map_concurrent(1..=4, 2, |i| async move {
            let mut agent = Agent::connect(backend, AgentOptions::new()).await?;
            let reply = agent.ask(format!("n{i}")).await;
            agent.close().await?;
            reply
        }),
    )
    .await;
    let texts: Vec<String> = replies.into_iter().map(|r| r.unwrap().text()).collect();
    assert_eq!(texts, ["echo: n1", "echo: n2", "echo: n3", "echo: n4"]);
}

on_all_runtimes!(
    turns_on_one_cli_process,
    the_clis_tool_calls_become_agent_events,
    the_toolbox_is_served_as_an_mcp_server,
    an_interrupted_turn_ends_without_finished,
    a_saved_session_resumes_with_its_id,
    patterns_run_over_agent_conversations,
);
