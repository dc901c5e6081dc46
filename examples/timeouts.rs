//! Timeouts per call and for a whole batch, as in the seeds' `asyncio.wait_for` and
//! `asyncio.timeout` examples.
//!
//! 1. One call with a short deadline: it ends in `Error::Timeout`, and the client is fine.
//! 2. A batch of calls under one deadline: the calls that finish in time are reported, the
//!    rest are cancelled (their futures dropped: connections closed, nothing left running).
//!
//! ```text
//! cargo run --example timeouts
//! ```

mod support;

use std::time::{Duration, Instant};

use claude_kit::{Error, RequestOptions};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

fn main() {
    claude_kit::rt::block_on(async {
        let (client, mock) = support::client().unwrap_or_else(|e| support::fail(e));
        let offline = mock.is_some();

        // 1. A per-call deadline.
        let mut options = RequestOptions::new()
            .timeout(Duration::from_millis(500))
            .max_retries(0);
        if offline {
            options = options.header("x-mock-fault", "stall-before-headers");
        }
        let hasty = client
            .with_options(options)
            .unwrap_or_else(|e| support::fail(e));
        match hasty.query("This one is too slow").await {
            Err(Error::Timeout { phase, .. }) => println!("per-call timeout: gave up ({phase})"),
            Ok(_) => println!("per-call timeout: answered in time"),
            Err(other) => support::fail(other),
        }

        // 2. A whole batch under one deadline.
        let deadline = Instant::now() + Duration::from_millis(800);
        let mut batch = FuturesUnordered::new();
        for i in 0..6u64 {
            // Offline, each reply trickles more slowly than the one before.
            let mut options = RequestOptions::new();
            if offline {
                options = options.header("x-mock-fault", format!("trickle:{}", 20 * i * i));
            }
            let client = client
                .with_options(options)
                .unwrap_or_else(|e| support::fail(e));
            batch.push(async move {
                let reply = client
                    .messages()
                    .stream(
                        claude_kit::MessageRequest::new(client.model(), 256)
                            .user(format!("Question {i}")),
                    )
                    .await;
                (
                    i,
                    match reply {
                        Ok(stream) => stream.final_text().await,
                        Err(error) => Err(error),
                    },
                )
            });
        }
        let mut finished = Vec::new();
        let _ = claude_kit::rt::timeout_at(deadline, async {
            while let Some((i, reply)) = batch.next().await {
                finished.push(i);
                println!(
                    "batch item {i}: {}",
                    reply
                        .map(|t| t.len().to_string() + " characters")
                        .unwrap_or_else(|e| e.to_string())
                );
            }
        })
        .await;
        let cancelled = 6 - finished.len();
        drop(batch); // cancels whatever did not finish in time
        println!(
            "batch: {} finished before the deadline, {cancelled} cancelled",
            finished.len()
        );
        client.close().await;
    });
}
