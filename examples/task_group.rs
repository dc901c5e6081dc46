//! The seeds' structured concurrency with `asyncio.TaskGroup`: fail fast, never outlive the
//! scope.
//!
//! Every task of a `TaskGroup` runs until `join()`; the first error cancels the others and is
//! returned. The group owns its tasks, so none can outlive it. Offline, the second group has a
//! call the mock server rejects while a slow sibling is still running.
//!
//! ```text
//! cargo run --example task_group
//! ```

mod support;

use claude_kit::patterns::TaskGroup;

fn main() {
    claude_kit::rt::block_on(async {
        let (client, mock) = support::client().unwrap_or_else(|e| support::fail(e));

        // Everything succeeds: all results, in spawn order.
        let mut group = TaskGroup::new();
        for prompt in ["alpha", "beta", "gamma"] {
            let client = client.clone();
            group.spawn(async move { client.query(prompt).await.map(|r| r.text()) });
        }
        match group.join().await {
            Ok(texts) => texts.iter().for_each(|t| println!("ok: {t}")),
            Err(error) => println!("group failed: {error}"),
        }

        // One fails: the group stops at once and the slow sibling is cancelled.
        let failing = support::with_mock_fault(&client, &mock, "status:400");
        let slow = support::with_mock_fault(&client, &mock, "stall-before-headers");
        let mut group = TaskGroup::new();
        group.spawn(async move { slow.query("slow").await.map(|r| r.text()) });
        group.spawn(async move { failing.query("bad").await.map(|r| r.text()) });
        match group.join().await {
            Ok(texts) => println!("all succeeded: {texts:?}"),
            Err(error) => println!("first error cancelled the group: {error}"),
        }
        println!("calls still in flight: {}", client.stats().in_flight);
    });
}
