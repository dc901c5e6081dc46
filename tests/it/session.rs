//! `claude_kit::session::Session`: history, usage totals, streaming turns, save and load.

use crate::common;

use claude_kit::Role;
use claude_kit::session::Session;
use claude_kit::types::Content;
use claude_kit_mock::Reply;
use common::{Rt, on_all_runtimes};
use futures::StreamExt;
use serde_json::Value;

/// The `messages` of the `index`-th request the server saw.
fn sent_messages(server: &claude_kit_mock::MockServer, index: usize) -> Vec<Value> {
    let body = server.requests()[index].json().expect("JSON body");
    body["messages"].as_array().expect("messages").clone()
}

fn text_of(content: &Content) -> String {
    match content {
        Content::Text(text) => text.clone(),
        Content::Blocks(blocks) => blocks.iter().filter_map(|b| b.as_text()).collect(),
    }
}

async fn send_appends_history_and_sums_usage(rt: Rt) {
    let server = common::mock();
    let mut session = Session::new(common::client(&server, &rt))
        .system("Be brief.")
        .max_tokens(100);
    server.enqueue(Reply::text("Hello Ada"));
    server.enqueue(Reply::text("Your name is Ada"));
    let first = session.send("My name is Ada").await.unwrap();
    let second = session.send("What is my name?").await.unwrap();
    assert_eq!(second.text(), "Your name is Ada");

    let history = session.history();
    assert_eq!(history.len(), 4);
    let roles: Vec<Role> = history.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::User, Role::Assistant]
    );
    assert_eq!(text_of(&history[0].content), "My name is Ada");
    assert_eq!(text_of(&history[1].content), "Hello Ada");

    // The second request carried the first turn, the system prompt and max_tokens.
    let body = server.requests()[1].json().unwrap();
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["max_tokens"], 100);
    assert_eq!(sent_messages(&server, 1).len(), 3);

    let usage = session.usage();
    assert!(first.usage.input_tokens > 0);
    assert_eq!(
        usage.input_tokens,
        first.usage.input_tokens + second.usage.input_tokens
    );
    assert_eq!(
        usage.output_tokens,
        first.usage.output_tokens + second.usage.output_tokens
    );

    session.clear();
    assert!(session.history().is_empty());
    assert_eq!(session.usage(), usage, "clear keeps the totals");
}

async fn failed_send_keeps_no_user_turn(rt: Rt) {
    let server = common::mock();
    let mut session = Session::new(common::client(&server, &rt));
    server.enqueue(Reply::error(400, "invalid_request_error", "bad request"));
    assert!(session.send("Hello").await.is_err());
    assert!(session.history().is_empty());
    assert_eq!(session.usage().input_tokens, 0);

    // The retry sends the user turn once.
    server.enqueue(Reply::text("Hi"));
    session.send("Hello").await.unwrap();
    assert_eq!(session.history().len(), 2);
    assert_eq!(sent_messages(&server, 1).len(), 1);
}

async fn stream_appends_only_when_finished(rt: Rt) {
    let server = common::mock();
    let mut session = Session::new(common::client(&server, &rt));

    // Dropped after one event: nothing recorded.
    server.enqueue(Reply::text("one two three"));
    let mut stream = session.stream("first").await.unwrap();
    assert!(stream.next().await.unwrap().is_ok());
    drop(stream);
    assert!(session.history().is_empty());

    // Read to the end through the text stream: recorded.
    server.enqueue(Reply::text("alpha beta gamma"));
    let mut text = session.stream("second").await.unwrap().text_stream();
    let mut received = String::new();
    while let Some(delta) = text.next().await {
        received.push_str(&delta.unwrap());
    }
    let reply = text.final_message().await.unwrap();
    assert_eq!(received, "alpha beta gamma");
    assert_eq!(reply.text(), received);
    assert_eq!(session.history().len(), 2);
    assert_eq!(text_of(&session.history()[0].content), "second");
    assert_eq!(text_of(&session.history()[1].content), "alpha beta gamma");
    assert_eq!(session.usage().output_tokens, reply.usage.output_tokens);

    // final_message without reading first: recorded too.
    server.enqueue(Reply::text("delta"));
    let reply = session
        .stream("third")
        .await
        .unwrap()
        .final_message()
        .await
        .unwrap();
    assert_eq!(reply.text(), "delta");
    assert_eq!(session.history().len(), 4);
    assert_eq!(sent_messages(&server, 2).len(), 3);
}

async fn save_and_load_continue_the_conversation(rt: Rt) {
    let server = common::mock();
    let mut session = Session::new(common::client(&server, &rt))
        .model("claude-test")
        .system("Remember things.");
    server.enqueue(Reply::text("Noted: blue"));
    session.send("My favourite colour is blue").await.unwrap();
    let saved = session.to_json().unwrap();
    let usage = session.usage();
    drop(session);

    // "After a restart": a new client, the saved JSON.
    let mut restored = Session::from_json(common::client(&server, &rt), &saved).unwrap();
    assert_eq!(restored.history().len(), 2);
    assert_eq!(restored.usage(), usage);
    assert_eq!(restored.state().model, "claude-test");
    server.enqueue(Reply::text("Blue"));
    restored.send("What is my favourite colour?").await.unwrap();

    let body = server.requests()[1].json().unwrap();
    assert_eq!(body["model"], "claude-test");
    assert_eq!(body["system"], "Remember things.");
    let messages = sent_messages(&server, 1);
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0]["content"], "My favourite colour is blue");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["content"][0]["text"], "Noted: blue");
    assert_eq!(messages[2]["content"], "What is my favourite colour?");

    assert!(Session::from_json(common::client(&server, &rt), "not json").is_err());
}

on_all_runtimes!(
    send_appends_history_and_sums_usage,
    failed_send_keeps_no_user_turn,
    stream_appends_only_when_finished,
    save_and_load_continue_the_conversation,
);
