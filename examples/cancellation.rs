//! The seeds' graceful cancellation: cancel a call midway, cleanup runs, the cancel is seen.
//!
//! Rust cancels a future by dropping it. Dropping runs every destructor of the work in flight —
//! the HTTP request is aborted and its connection closed, and your own cleanup (a guard's
//! `Drop`) runs — and the caller observes the cancellation as the timeout or `select` that
//! caused it. Nothing is left running: `client.stats()` is back to idle.
//!
//! ```text
//! cargo run --example cancellation
//! ```

mod support;

use std::time::Duration;

use claude_kit::{ContentDelta, MessageRequest, StreamEvent, rt};
use futures_util::StreamExt;

/// Cleanup that must run however the work ends.
struct Cleanup(&'static str);

impl Drop for Cleanup {
    fn drop(&mut self) {
        println!("cleanup: {}", self.0);
    }
}

fn main() {
    rt::block_on(async {
        let (client, mock) = support::client().unwrap_or_else(|e| support::fail(e));
        // Offline, the mock answers slowly: 150 ms between words.
        let slow = support::with_mock_fault(&client, &mock, "trickle:150");

        let work = async {
            let _cleanup = Cleanup("the story task");
            let request = MessageRequest::new(slow.model(), 1024).user("Tell me a very long story");
            let mut stream = slow.messages().stream(request).await?;
            let mut words = 0;
            while let Some(event) = stream.next().await {
                if let StreamEvent::ContentBlockDelta {
                    delta: ContentDelta::Text(text),
                    ..
                } = event?
                {
                    print!("{text}");
                    words += 1;
                }
            }
            Ok::<_, claude_kit::Error>(words)
        };
        match rt::timeout(Duration::from_millis(500), work).await {
            Ok(Ok(words)) => println!("\nfinished with {words} deltas before the deadline"),
            Ok(Err(error)) => println!("\nfailed: {error}"),
            Err(_elapsed) => println!("\ncancelled after 500 ms"),
        }
        let stats = client.stats();
        println!(
            "in flight after the cancel: {}, connections in use: {:?}",
            stats.in_flight,
            stats.pool.map(|p| p.in_use)
        );
    });
}
