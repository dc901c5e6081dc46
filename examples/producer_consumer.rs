//! The seeds' producer/consumer with `asyncio.Queue`: bounded, with `join()`.
//!
//! A producer pushes prompts into a bounded `WorkQueue` (it waits when the queue is full:
//! back-pressure); three workers take them and call the API; `join()` returns once every item
//! pushed has been processed.
//!
//! ```text
//! cargo run --example producer_consumer
//! ```

mod support;

use std::sync::Mutex;

use claude_kit::patterns::WorkQueue;

fn main() {
    claude_kit::rt::block_on(async {
        let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
        let queue = WorkQueue::bounded(2);
        let answers = Mutex::new(Vec::new());

        let producer = async {
            for i in 0..9 {
                queue
                    .push(format!("Item {i}"))
                    .await
                    .expect("the queue is open");
            }
            queue.join().await; // every pushed item has been processed
            queue.close(); // lets the workers finish
        };
        let workers = queue.run_workers(3, |prompt: String| {
            let (client, answers) = (&client, &answers);
            async move {
                let text = match client.query(prompt.as_str()).await {
                    Ok(reply) => reply.text(),
                    Err(error) => format!("failed: {error}"),
                };
                answers.lock().unwrap().push(text);
            }
        });
        futures_util::future::join(producer, workers).await;

        let answers = answers.into_inner().unwrap();
        for answer in &answers {
            println!("{answer}");
        }
        println!("{} items processed", answers.len());
    });
}
