//! The seeds' rate-limited concurrent execution with an `asyncio.Semaphore`.
//!
//! `patterns::map_concurrent(items, 3, f)` keeps at most three calls in flight and returns the
//! results in input order. (For a client-wide cap, `ClientBuilder::max_concurrent_requests`
//! limits every call of a client and its clones; `requests_per_minute` and
//! `tokens_per_minute` pace them.)
//!
//! ```text
//! cargo run --example rate_limited
//! ```

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use claude_kit::patterns;

fn main() {
    claude_kit::rt::block_on(async {
        let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
        let prompts: Vec<String> = (0..10).map(|i| format!("Question {i}")).collect();
        let (in_flight, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let replies = patterns::map_concurrent(prompts, 3, |prompt| {
            let (client, in_flight, peak) = (&client, &in_flight, &peak);
            async move {
                peak.fetch_max(
                    in_flight.fetch_add(1, Ordering::SeqCst) + 1,
                    Ordering::SeqCst,
                );
                let reply = client.query(prompt).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                reply
            }
        })
        .await;
        for reply in &replies {
            match reply {
                Ok(reply) => println!("{}", reply.text()),
                Err(error) => println!("failed: {error}"),
            }
        }
        println!(
            "{} answers, at most {} at once",
            replies.len(),
            peak.load(Ordering::SeqCst)
        );
    });
}
