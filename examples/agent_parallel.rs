//! The seeds' concurrency patterns over Claude Code queries: gather, a bounded map, a deadline
//! batch — and a warm pool, which starts CLI processes ahead of demand so that a query does
//! not wait for the CLI's start-up.
//!
//! ```text
//! cargo run --example agent_parallel        # offline: the CLI talks to an embedded mock
//! ```

mod support;

use std::time::{Duration, Instant};

use claude_kit::code::{AgentClient, CodeOptions, Message, WarmPool, query};
use claude_kit::patterns::{deadline_batch, gather, map_concurrent};
use futures_util::StreamExt;

/// The result text of one query.
async fn answer(prompt: String, options: CodeOptions) -> claude_kit::Result<String> {
    let mut messages = query(prompt, options);
    let mut text = String::new();
    while let Some(message) = messages.next().await {
        if let Message::Result(result) = message? {
            text = result.result.unwrap_or_default();
        }
    }
    Ok(text)
}

/// Runs one turn on a connected client; returns how long after `start` its first assistant
/// message came.
async fn first_reply(client: &AgentClient, start: Instant) -> claude_kit::Result<Duration> {
    client.query("Hello").await?;
    let mut first = None;
    let mut messages = client.receive_response();
    while let Some(message) = messages.next().await {
        if let Message::Assistant(_) = message? {
            first.get_or_insert_with(|| start.elapsed());
        }
    }
    Ok(first.unwrap_or_else(|| start.elapsed()))
}

fn main() {
    claude_kit::rt::block_on(async {
        let (options, _mock) = support::code_options();
        let options = options.max_turns(1);

        let questions = ["What is 1 + 1?", "What is 2 + 2?", "What is 3 + 3?"];
        let all = gather(
            questions
                .iter()
                .map(|q| answer(q.to_string(), options.clone())),
        )
        .await;
        println!(
            "gather: {} answers",
            all.iter().filter(|a| a.is_ok()).count()
        );

        let bounded = map_concurrent(1..=4, 2, |i| {
            answer(format!("Name the number {i}."), options.clone())
        })
        .await;
        println!(
            "map_concurrent: {} answers, at most 2 CLIs at once",
            bounded.iter().filter(|a| a.is_ok()).count()
        );

        let runtime = claude_kit::rt::current_runtime().unwrap_or_else(|e| support::fail(e));
        let batch = deadline_batch(
            &runtime,
            Duration::from_secs(120),
            questions
                .iter()
                .map(|q| answer(q.to_string(), options.clone())),
        )
        .await;
        println!(
            "deadline_batch: {} finished, {} cancelled",
            batch.finished.len(),
            batch.cancelled.len()
        );

        // Cold: spawn and handshake on demand. Warm: the pool did that ahead of time.
        let start = Instant::now();
        let cold = AgentClient::connect(options.clone())
            .await
            .unwrap_or_else(|e| support::fail(e));
        let cold_first = first_reply(&cold, start)
            .await
            .unwrap_or_else(|e| support::fail(e));
        cold.disconnect().await;
        let pool = WarmPool::new(options.clone(), 1).unwrap_or_else(|e| support::fail(e));
        while pool.stats().ready == 0 && pool.stats().failures == 0 {
            claude_kit::rt::sleep(Duration::from_millis(20)).await; // the pool warms up meanwhile
        }
        let start = Instant::now();
        let warm = pool.get().await.unwrap_or_else(|e| support::fail(e));
        let warm_first = first_reply(&warm, start)
            .await
            .unwrap_or_else(|e| support::fail(e));
        warm.disconnect().await;
        eprintln!(
            "first assistant message: cold {cold_first:?}, from the warm pool {warm_first:?} ({:.1}x sooner)",
            cold_first.as_secs_f64() / warm_first.as_secs_f64().max(1e-6)
        );
        let stats = pool.stats();
        println!("warm pool: {} handed out", stats.handed_out);
    });
}
