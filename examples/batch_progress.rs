//! Chunks of work with a progress bar, and a whole-batch deadline.
//!
//! `map_concurrent_with_progress` reports after each completed call, which drives an
//! `indicatif` progress bar; `deadline_batch` gives a batch one deadline, keeps what finished
//! and cancels the rest.
//!
//! ```text
//! cargo run --example batch_progress
//! ```

mod support;

use std::time::Duration;

use claude_kit::patterns;
use indicatif::ProgressBar;

fn main() {
    claude_kit::rt::block_on(async {
        let (client, mock) = support::client().unwrap_or_else(|e| support::fail(e));
        let prompts: Vec<String> = (0..40)
            .map(|i| format!("Document {i}: summarise"))
            .collect();

        let bar = ProgressBar::new(prompts.len() as u64);
        let replies = patterns::map_concurrent_with_progress(
            prompts,
            8,
            |prompt| {
                let client = &client;
                async move { client.query(prompt).await }
            },
            |progress| bar.set_position(progress.done as u64),
        )
        .await;
        bar.finish();
        let ok = replies.iter().filter(|r| r.is_ok()).count();
        println!("{ok} of {} summaries done", replies.len());

        // The same kind of batch under one deadline: what is too slow is cancelled.
        let slow = support::with_mock_fault(&client, &mock, "stall-before-headers");
        let calls = (0..6).map(|i| {
            let client = if i % 2 == 0 {
                client.clone()
            } else {
                slow.clone()
            };
            async move { client.query(format!("item {i}")).await }
        });
        // Generous, so that the quick calls make it even on a busy machine.
        let batch = patterns::deadline_batch(client.runtime(), Duration::from_secs(3), calls).await;
        println!(
            "finished in time: {:?}",
            batch.finished.iter().map(|(i, _)| i).collect::<Vec<_>>()
        );
        println!("cancelled: {:?}", batch.cancelled);
    });
}
