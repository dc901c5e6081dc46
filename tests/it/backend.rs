//! The backend seam on the Messages API: `ApiBackend` conversations through `Agent` — history
//! across turns, tools, interrupts, dropped turns, save and resume.

use crate::common;

use claude_kit::agent::Agent;
use claude_kit::backend::{AgentOptions, ApiBackend, Backend, ConversationState};
use claude_kit::tools::{AgentEvent, ToolError, ToolFn, Toolbox};
use claude_kit::{Error, Role};
use claude_kit_mock::Reply;
use common::{Rt, on_all_runtimes};
use futures::StreamExt;
use serde_json::{Value, json};

fn backend(server: &claude_kit_mock::MockServer, rt: &Rt) -> ApiBackend {
    ApiBackend::new(common::client(server, rt))
}

fn messages_of(state: ConversationState) -> Vec<claude_kit::types::MessageParam> {
    match state {
        ConversationState::Messages { messages, .. } => messages,
        other => panic!("expected saved messages, got {other:?}"),
    }
}

fn sent_messages(server: &claude_kit_mock::MockServer, index: usize) -> Vec<Value> {
    let body = server.requests()[index].json().expect("JSON body");
    body["messages"].as_array().expect("messages").clone()
}

async fn turns_build_the_history_and_sum_usage(rt: Rt) {
    let server = common::mock();
    server.enqueue(Reply::text("Hello Ada"));
    server.enqueue(Reply::text("Your name is Ada"));
    let backend = backend(&server, &rt);
    let options = AgentOptions::new().system("Be brief.").max_tokens(100);
    let mut agent = Agent::connect(&backend, options).await.unwrap();
    let first = agent.ask("My name is Ada").await.unwrap();
    let second = agent.ask("What is my name?").await.unwrap();
    assert_eq!(first.text(), "Hello Ada");
    assert_eq!(second.text(), "Your name is Ada");
    assert_eq!(agent.turns(), 2);

    // The second request carried the first turn and the options.
    let body = server.requests()[1].json().unwrap();
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["max_tokens"], 100);
    assert_eq!(sent_messages(&server, 1).len(), 3);

    let ConversationState::Messages { messages, usage } = agent.state() else {
        panic!("the API backend saves messages");
    };
    let roles: Vec<Role> = messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::User, Role::Assistant]
    );
    assert_eq!(
        usage.input_tokens,
        first.usage.input_tokens + second.usage.input_tokens
    );
    agent.close().await.unwrap();
}

fn lookup() -> ToolFn {
    ToolFn::new(
        "lookup",
        "Looks a word up",
        json!({"type": "object", "properties": {"word": {"type": "string"}}}),
        |input: Value| async move { Ok::<_, ToolError>(format!("{} means hello", input["word"])) },
    )
}

async fn tools_run_in_process_and_their_turns_are_kept(rt: Rt) {
    let server = common::mock();
    let backend = backend(&server, &rt);
    let options = AgentOptions::new().toolbox(Toolbox::new().with(lookup()));
    let mut agent = Agent::connect(&backend, options).await.unwrap();
    // The mock calls an offered tool with input made from its schema, then answers from the result.
    let mut events = agent.send("What is ciao?");
    let mut seen = Vec::new();
    let mut finished = None;
    while let Some(event) = events.next().await {
        match event.unwrap() {
            AgentEvent::ToolCall { name, .. } => seen.push(format!("call {name}")),
            AgentEvent::ToolResult { content, .. } => seen.push(format!("result {content}")),
            AgentEvent::Finished(message) => finished = Some(message),
            _ => {}
        }
    }
    drop(events);
    assert_eq!(seen, ["call lookup", r#"result "example" means hello"#]);
    let finished = finished.expect("the turn finished");
    assert!(
        finished.text().contains("means hello"),
        "{}",
        finished.text()
    );

    // user, assistant (tool_use), user (tool_result), assistant (answer)
    let messages = messages_of(agent.state());
    let roles: Vec<Role> = messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::User, Role::Assistant]
    );
    // The next turn sends that transcript back, tool result included.
    agent.ask("Thanks").await.unwrap();
    let sent = sent_messages(&server, 2);
    assert_eq!(sent.len(), 5);
    assert_eq!(sent[2]["content"][0]["type"], "tool_result");
    agent.close().await.unwrap();
}

async fn an_interrupted_turn_ends_and_keeps_nothing(rt: Rt) {
    let server = common::mock();
    server.enqueue(Reply::sse_then_stall(concat!(
        "event: message_start\n",
        r#"data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":0}}}"#,
        "\n\n",
        "event: content_block_start\n",
        r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        "\n\n",
        "event: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Once upon"}}"#,
        "\n\n",
    )));
    let backend = backend(&server, &rt);
    let mut agent = Agent::connect(&backend, AgentOptions::new()).await.unwrap();
    let mut events = agent.send("Tell me a story");
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(first, AgentEvent::TextDelta("Once upon".into()));
    // The server stalls: the turn waits until the interrupt wakes it and ends it.
    let (next, interrupted) = futures::join!(events.next(), agent.interrupt());
    interrupted.unwrap();
    assert!(next.is_none(), "{next:?}");
    assert!(events.next().await.is_none());
    drop(events);
    assert!(messages_of(agent.state()).is_empty());

    // The conversation goes on.
    server.enqueue(Reply::text("Hi"));
    assert_eq!(agent.ask("Hello").await.unwrap().text(), "Hi");
    assert_eq!(messages_of(agent.state()).len(), 2);
    agent.close().await.unwrap();
}

async fn a_dropped_turn_keeps_nothing(rt: Rt) {
    let server = common::mock();
    server.enqueue(Reply::text("never kept"));
    let backend = backend(&server, &rt);
    let mut agent = Agent::connect(&backend, AgentOptions::new()).await.unwrap();
    let mut events = agent.send("Hello");
    let _ = events.next().await;
    drop(events);
    assert!(messages_of(agent.state()).is_empty());
    agent.close().await.unwrap();
}

async fn a_saved_conversation_resumes_with_its_history(rt: Rt) {
    let server = common::mock();
    server.enqueue(Reply::text("Noted"));
    server.enqueue(Reply::text("Ada"));
    let backend = backend(&server, &rt);
    let mut agent = Agent::connect(&backend, AgentOptions::new()).await.unwrap();
    agent.ask("My name is Ada").await.unwrap();
    let saved = agent.save().unwrap();
    agent.close().await.unwrap();

    let mut resumed = Agent::resume(&backend, AgentOptions::new(), &saved)
        .await
        .unwrap();
    assert_eq!(resumed.ask("What is my name?").await.unwrap().text(), "Ada");
    assert_eq!(sent_messages(&server, 1).len(), 3);
    resumed.close().await.unwrap();

    let garbage = Agent::resume(&backend, AgentOptions::new(), "{not json").await;
    assert!(matches!(garbage, Err(Error::Decode { .. })), "{garbage:?}");
    let foreign = backend
        .connect(AgentOptions::new().resume(ConversationState::SessionId {
            session_id: "abc".into(),
        }))
        .await;
    assert!(matches!(foreign, Err(Error::Config { .. })), "{foreign:?}");
}

async fn a_failed_turn_keeps_nothing(rt: Rt) {
    let server = common::mock();
    server.enqueue(Reply::error(400, "invalid_request_error", "bad"));
    let backend = backend(&server, &rt);
    let mut agent = Agent::connect(&backend, AgentOptions::new()).await.unwrap();
    let error = agent.ask("Hello").await.expect_err("400");
    assert!(matches!(error, Error::Api { .. }), "{error:?}");
    assert!(messages_of(agent.state()).is_empty());
    agent.close().await.unwrap();
}

on_all_runtimes!(
    turns_build_the_history_and_sum_usage,
    tools_run_in_process_and_their_turns_are_kept,
    an_interrupted_turn_ends_and_keeps_nothing,
    a_dropped_turn_keeps_nothing,
    a_saved_conversation_resumes_with_its_history,
    a_failed_turn_keeps_nothing,
);
