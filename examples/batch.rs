//! Message Batches: submit many requests at once, poll with a progress bar, stream the results.
//!
//! For workloads larger than one machine should run concurrently, the API processes a batch
//! on its side (offline: the embedded mock server simulates the processing over time).
//!
//! ```text
//! cargo run --example batch
//! ```

mod support;

use std::time::Duration;

use claude_kit::MessageRequest;
use claude_kit::batches::{BatchOutcome, BatchRequest};
use futures_util::StreamExt;
use indicatif::ProgressBar;

fn main() {
    claude_kit::rt::block_on(async {
        let (client, mock) = support::client().unwrap_or_else(|e| support::fail(e));
        let batches = client.messages().batches();
        let mut requests: Vec<BatchRequest> = (0..20)
            .map(|i| {
                BatchRequest::new(
                    format!("doc-{i}"),
                    MessageRequest::new(client.model(), 256)
                        .user(format!("Summarise document {i}")),
                )
            })
            .collect();
        // One invalid request, to show a per-request error (max_tokens must be at least 1).
        requests.push(BatchRequest::new(
            "broken",
            MessageRequest::new(client.model(), 0).user("?"),
        ));

        let batch = batches
            .create(requests)
            .await
            .unwrap_or_else(|e| support::fail(e));
        println!(
            "submitted {} ({} requests)",
            batch.id,
            batch.request_counts.total()
        );

        let bar = ProgressBar::new(batch.request_counts.total());
        let interval = if mock.is_some() {
            Duration::from_millis(50)
        } else {
            Duration::from_secs(30)
        };
        let batch = batches
            .wait(&batch.id, interval, |batch| {
                bar.set_position(batch.request_counts.done())
            })
            .await
            .unwrap_or_else(|e| support::fail(e));
        bar.finish();
        println!("ended: {:?}", batch.request_counts);

        let mut results = batches
            .results(&batch.id)
            .await
            .unwrap_or_else(|e| support::fail(e));
        let (mut succeeded, mut errored) = (0, 0);
        while let Some(result) = results.next().await {
            let result = result.unwrap_or_else(|e| support::fail(e));
            match &result.result {
                BatchOutcome::Succeeded { message } => {
                    succeeded += 1;
                    if succeeded <= 3 {
                        println!("{}: {}", result.custom_id, message.text());
                    }
                }
                BatchOutcome::Errored { error } => {
                    errored += 1;
                    println!("{}: error {}", result.custom_id, error);
                }
                other => println!("{}: {other:?}", result.custom_id),
            }
        }
        println!("results: {succeeded} succeeded, {errored} errored");
    });
}
