//! The seeds' `asyncio.create_task`: start calls as tasks, await them when you need them.
//!
//! `rt::spawn` runs a future as a task on the current runtime (tokio, smol or async-std) and
//! returns a `JoinHandle`. Unlike a Python task, a handle that is dropped cancels its task —
//! call `detach()` to let it run on its own.
//!
//! ```text
//! cargo run --example spawn_tasks
//! ```

mod support;

use claude_kit::rt;

fn main() {
    rt::block_on(async {
        let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
        // Three tasks start at once (the client is cheap to clone).
        let tasks: Vec<_> = ["Query 1", "Query 2", "Query 3"]
            .into_iter()
            .map(|prompt| {
                let client = client.clone();
                rt::spawn(async move { client.query(prompt).await.map(|reply| reply.text()) })
            })
            .collect();
        // Await them one by one, in whatever order suits you.
        for (i, task) in tasks.into_iter().enumerate() {
            match task.await {
                Ok(text) => println!("task {}: {text}", i + 1),
                Err(error) => println!("task {} failed: {error}", i + 1),
            }
        }

        // A task nobody waits for is cancelled when its handle is dropped…
        let unwanted = rt::spawn({
            let client = client.clone();
            async move { client.query("never mind").await }
        });
        drop(unwanted);
        // …unless it is detached, and then it runs to completion on its own.
        let (done_tx, done_rx) = async_channel::bounded(1);
        rt::spawn({
            let client = client.clone();
            async move {
                let ok = client.query("background work").await.is_ok();
                let _ = done_tx.send(ok).await;
            }
        })
        .detach();
        println!(
            "detached task succeeded: {}",
            done_rx.recv().await.unwrap_or(false)
        );
    });
}
