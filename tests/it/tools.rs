//! `claude_kit::tools`: typed tools, the tool runner's loop, hooks, limits and cancellation,
//! against scripted streamed replies (deterministic ids).

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use claude_kit::MessageRequest;
use claude_kit::session::Session;
use claude_kit::tools::{
    AgentEvent, HookDecision, ToolError, ToolFn, ToolOutput, ToolRunner, Toolbox,
};
use claude_kit_mock::{Chunking, MockServer, Reply};
use common::{Rt, on_all_runtimes};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

/// A streamed assistant message with these content blocks (`{"type":"text","text":..}` or
/// `{"type":"tool_use","id":..,"name":..,"input":..}`), as the API would send it.
fn streamed(blocks: &[Value], stop_reason: &str) -> Reply {
    let mut sse = String::new();
    let mut event = |name: &str, data: Value| {
        sse.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    event(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": "msg_test", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 1}}}),
    );
    for (index, block) in blocks.iter().enumerate() {
        let (start, delta) = if block["type"] == "text" {
            (
                json!({"type": "text", "text": ""}),
                json!({"type": "text_delta", "text": block["text"]}),
            )
        } else {
            (
                json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}),
            )
        };
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        );
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        );
        event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        );
    }
    event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
               "usage": {"output_tokens": 5}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    Reply::sse(sse, Chunking::PerEvent)
}

fn tool_use(id: &str, name: &str, input: Value) -> Value {
    json!({"type": "tool_use", "id": id, "name": name, "input": input})
}

fn answer(text: &str) -> Reply {
    streamed(&[json!({"type": "text", "text": text})], "end_turn")
}

/// The `tool_result` blocks of the last message of the `index`-th request.
fn sent_results(server: &MockServer, index: usize) -> Vec<Value> {
    let body = server.requests()[index].json().unwrap();
    let last = body["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "user");
    last["content"].as_array().unwrap().clone()
}

#[derive(Deserialize)]
struct City {
    city: String,
}

fn weather() -> ToolFn {
    ToolFn::new(
        "get_weather",
        "The weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        |input: City| async move { Ok::<_, ToolError>(format!("Sunny in {}", input.city)) },
    )
}

fn request() -> MessageRequest {
    MessageRequest::new("claude-test", 256).user("What is the weather in Paris?")
}

async fn full_tool_loop(rt: Rt) {
    let server = common::mock();
    server.enqueue(streamed(
        &[
            json!({"type": "text", "text": "Let me check."}),
            tool_use("toolu_1", "get_weather", json!({"city": "Paris"})),
        ],
        "tool_use",
    ));
    server.enqueue(answer("It is sunny in Paris."));
    let runner = ToolRunner::new(common::client(&server, &rt), Toolbox::new().with(weather()));
    let outcome = runner.run(request()).await.unwrap();

    assert_eq!(outcome.final_message.text(), "It is sunny in Paris.");
    assert_eq!(outcome.turns, 2);
    assert!(!outcome.max_turns_reached);
    assert_eq!(outcome.messages.len(), 4);
    assert_eq!(outcome.usage.input_tokens, 20);
    assert_eq!(outcome.usage.output_tokens, 10);

    let first = server.requests()[0].json().unwrap();
    assert_eq!(first["tools"][0]["name"], "get_weather");
    assert_eq!(first["stream"], true);
    let results = sent_results(&server, 1);
    assert_eq!(
        results,
        [json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny in Paris"})]
    );
    // The assistant turn with the tool_use went back too.
    let second = server.requests()[1].json().unwrap();
    assert_eq!(second["messages"][1]["content"][1]["id"], "toolu_1");
}

async fn events_of_a_run(rt: Rt) {
    let server = common::mock();
    server.enqueue(streamed(
        &[tool_use("toolu_1", "get_weather", json!({"city": "Oslo"}))],
        "tool_use",
    ));
    server.enqueue(answer("Sunny"));
    let runner = ToolRunner::new(common::client(&server, &rt), Toolbox::new().with(weather()));
    let events: Vec<AgentEvent> = runner
        .run_stream(request())
        .map(|event| event.unwrap())
        .collect()
        .await;
    assert!(matches!(&events[0], AgentEvent::TurnComplete(m) if m.tool_uses().count() == 1));
    assert_eq!(
        events[1],
        AgentEvent::ToolCall {
            id: "toolu_1".into(),
            name: "get_weather".into(),
            input: json!({"city": "Oslo"})
        }
    );
    assert_eq!(
        events[2],
        AgentEvent::ToolResult {
            id: "toolu_1".into(),
            content: "Sunny in Oslo".into(),
            is_error: false
        }
    );
    assert_eq!(events[3], AgentEvent::TextDelta("Sunny".into()));
    assert!(matches!(&events[4], AgentEvent::TurnComplete(m) if m.text() == "Sunny"));
    assert!(matches!(&events[5], AgentEvent::Finished(m) if m.text() == "Sunny"));
    assert_eq!(events.len(), 6);

    // A failed model call ends the stream with an error.
    server.enqueue(Reply::error(400, "invalid_request_error", "bad"));
    let last = runner.run_stream(request()).collect::<Vec<_>>().await;
    assert_eq!(last.len(), 1);
    assert!(last[0].is_err());
}

async fn parallel_calls_respect_the_cap_and_keep_block_order(rt: Rt) {
    let server = common::mock();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let (current, max) = (in_flight.clone(), max_in_flight.clone());
    let slow = ToolFn::new(
        "slow",
        "Takes a while",
        json!({"type": "object"}),
        move |input: Value| {
            let (current, max) = (current.clone(), max.clone());
            async move {
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                // Earlier calls take longer, so they finish last.
                let n = input["n"].as_u64().unwrap();
                for _ in 0..(10 - n) {
                    futures_lite::future::yield_now().await;
                }
                current.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, ToolError>(format!("done {n}"))
            }
        },
    );
    let blocks: Vec<Value> = (0..6)
        .map(|n| tool_use(&format!("toolu_{n}"), "slow", json!({"n": n})))
        .collect();
    server.enqueue(streamed(&blocks, "tool_use"));
    server.enqueue(answer("All done"));
    let runner = ToolRunner::new(common::client(&server, &rt), Toolbox::new().with(slow))
        .max_parallel_tools(2);
    let outcome = runner.run(request()).await.unwrap();
    assert_eq!(outcome.final_message.text(), "All done");
    assert_eq!(max_in_flight.load(Ordering::SeqCst), 2);
    let results = sent_results(&server, 1);
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["tool_use_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "toolu_0", "toolu_1", "toolu_2", "toolu_3", "toolu_4", "toolu_5"
        ]
    );
    assert_eq!(results[3]["content"], "done 3");
}

async fn tool_errors_are_sent_back_and_the_loop_goes_on(rt: Rt) {
    let server = common::mock();
    let failing = ToolFn::new(
        "failing",
        "Always fails",
        json!({"type": "object"}),
        |_: Value| async move { Err::<String, _>(ToolError::new("disk on fire")) },
    );
    let panicking = ToolFn::new(
        "panicking",
        "Panics",
        json!({"type": "object"}),
        |_: Value| async move {
            if true {
                panic!("tool bug");
            }
            Ok::<String, ToolError>(String::new())
        },
    );
    server.enqueue(streamed(
        &[
            tool_use("t1", "failing", json!({})),
            tool_use("t2", "no_such_tool", json!({})),
            tool_use("t3", "get_weather", json!({"town": "Paris"})),
            tool_use("t4", "panicking", json!({})),
        ],
        "tool_use",
    ));
    server.enqueue(answer("Sorry"));
    let toolbox = Toolbox::new().with(failing).with(weather()).with(panicking);
    let runner = ToolRunner::new(common::client(&server, &rt), toolbox);
    let outcome = runner.run(request()).await.unwrap();
    assert_eq!(outcome.final_message.text(), "Sorry");

    let results = sent_results(&server, 1);
    assert!(results.iter().all(|r| r["is_error"] == true), "{results:?}");
    assert_eq!(results[0]["content"], "disk on fire");
    assert_eq!(results[1]["content"], "unknown tool no_such_tool");
    let invalid = results[2]["content"].as_str().unwrap();
    assert!(
        invalid.starts_with("invalid input for tool get_weather"),
        "{invalid}"
    );
    assert_eq!(results[3]["content"], "tool panicking panicked");
}

async fn deny_hook_vetoes_the_call(rt: Rt) {
    let server = common::mock();
    let called = Arc::new(AtomicBool::new(false));
    let flag = called.clone();
    let delete = ToolFn::new(
        "delete_file",
        "Deletes a file",
        json!({"type": "object"}),
        move |_: Value| {
            flag.store(true, Ordering::SeqCst);
            async move { Ok::<_, ToolError>("deleted") }
        },
    );
    server.enqueue(streamed(
        &[tool_use("t1", "delete_file", json!({"path": "/"}))],
        "tool_use",
    ));
    server.enqueue(answer("Understood"));
    let runner = ToolRunner::new(common::client(&server, &rt), Toolbox::new().with(delete))
        .before_tool(|call| {
            if call.name == "delete_file" {
                HookDecision::Deny("deleting files is not allowed".into())
            } else {
                HookDecision::Allow
            }
        });
    runner.run(request()).await.unwrap();
    assert!(!called.load(Ordering::SeqCst));
    let results = sent_results(&server, 1);
    assert_eq!(results[0]["is_error"], true);
    assert_eq!(results[0]["content"], "deleting files is not allowed");
}

async fn rewrite_hook_changes_the_input_and_after_hook_the_result(rt: Rt) {
    let server = common::mock();
    server.enqueue(streamed(
        &[tool_use("t1", "get_weather", json!({"city": "Pariss"}))],
        "tool_use",
    ));
    server.enqueue(answer("Fine"));
    let runner = ToolRunner::new(common::client(&server, &rt), Toolbox::new().with(weather()))
        .before_tool(|call| match call.input["city"].as_str() {
            Some("Pariss") => HookDecision::Rewrite(json!({"city": "Paris"})),
            _ => HookDecision::Allow,
        })
        .after_tool(|call, output: &mut ToolOutput| {
            assert_eq!(
                call.input["city"], "Paris",
                "the hook sees the rewritten input"
            );
            output.content.push_str(" (checked)");
        });
    runner.run(request()).await.unwrap();
    let results = sent_results(&server, 1);
    assert_eq!(results[0]["content"], "Sunny in Paris (checked)");
    assert!(results[0].get("is_error").is_none());
}

async fn max_turns_reached_is_flagged(rt: Rt) {
    let server = common::mock();
    for id in ["t1", "t2"] {
        server.enqueue(streamed(
            &[tool_use(id, "get_weather", json!({"city": "Rome"}))],
            "tool_use",
        ));
    }
    let runner =
        ToolRunner::new(common::client(&server, &rt), Toolbox::new().with(weather())).max_turns(2);
    let outcome = runner.run(request()).await.unwrap();
    assert!(outcome.max_turns_reached);
    assert_eq!(outcome.turns, 2);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        outcome.final_message.stop_reason,
        Some(claude_kit::StopReason::ToolUse)
    );
    // user, assistant(t1), user(result t1), assistant(t2): t2 was not run.
    assert_eq!(outcome.messages.len(), 4);
}

async fn dropping_the_run_drops_the_tools_in_flight(rt: Rt) {
    struct DropFlag(Arc<AtomicBool>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let server = common::mock();
    let dropped = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = async_channel::bounded::<()>(1);
    let flag = dropped.clone();
    let forever = ToolFn::new(
        "forever",
        "Never finishes",
        json!({"type": "object"}),
        move |_: Value| {
            let guard = DropFlag(flag.clone());
            let started = started_tx.clone();
            async move {
                let _guard = guard;
                let _ = started.send(()).await;
                std::future::pending::<()>().await;
                Ok::<_, ToolError>("unreachable")
            }
        },
    );
    server.enqueue(streamed(
        &[tool_use("t1", "forever", json!({}))],
        "tool_use",
    ));
    let runner = ToolRunner::new(common::client(&server, &rt), Toolbox::new().with(forever));
    let run = Box::pin(runner.run(request()));
    let started = Box::pin(started_rx.recv());
    match futures::future::select(run, started).await {
        futures::future::Either::Left(_) => panic!("the run cannot finish"),
        futures::future::Either::Right((started, run)) => {
            started.unwrap();
            assert!(!dropped.load(Ordering::SeqCst), "the tool is in flight");
            drop(run);
        }
    }
    assert!(
        dropped.load(Ordering::SeqCst),
        "dropping the run dropped the tool"
    );
    assert_eq!(server.requests().len(), 1);
}

async fn runs_on_a_session(rt: Rt) {
    let server = common::mock();
    server.enqueue(streamed(
        &[tool_use("t1", "get_weather", json!({"city": "Lima"}))],
        "tool_use",
    ));
    server.enqueue(answer("Sunny in Lima"));
    server.enqueue(Reply::text("You asked about Lima")); // `send` does not stream
    let client = common::client(&server, &rt);
    let mut session = Session::new(client.clone());
    let runner = ToolRunner::new(client, Toolbox::new().with(weather()));
    let outcome = session
        .run_tools(&runner, "Weather in Lima?")
        .await
        .unwrap();
    assert_eq!(outcome.turns, 2);
    assert_eq!(session.history().len(), 4);
    assert_eq!(session.usage().input_tokens, 20);
    session.send("Which city did I ask about?").await.unwrap();
    let body = server.requests()[2].json().unwrap();
    assert_eq!(body["messages"].as_array().unwrap().len(), 5);
    assert_eq!(body["messages"][2]["content"][0]["type"], "tool_result");
}

on_all_runtimes!(
    full_tool_loop,
    events_of_a_run,
    parallel_calls_respect_the_cap_and_keep_block_order,
    tool_errors_are_sent_back_and_the_loop_goes_on,
    deny_hook_vetoes_the_call,
    rewrite_hook_changes_the_input_and_after_hook_the_result,
    max_turns_reached_is_flagged,
    dropping_the_run_drops_the_tools_in_flight,
    runs_on_a_session,
);
