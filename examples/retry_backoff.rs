//! Retries with exponential backoff: the seeds' `retry_with_backoff`, built in.
//!
//! Every call is retried on 408/409/429/5xx/529, connection errors and timeouts (2 retries by
//! default, `min(0.5 s · 2ⁿ, 8 s)` with jitter, `retry-after` honoured). Here a callback shows
//! each retry, and a custom policy retries more often and faster. Offline, the embedded mock
//! server is asked to answer the first attempts with `529 overloaded_error`.
//!
//! ```text
//! cargo run --example retry_backoff
//! ```

mod support;

use std::time::Duration;

use claude_kit::retry::Failure;
use claude_kit::{RequestOptions, RetryPolicy};

fn main() {
    claude_kit::rt::block_on(async {
        let (client, mock) = support::client().unwrap_or_else(|e| support::fail(e));

        let policy = RetryPolicy::new()
            .max_retries(4)
            .backoff(Duration::from_millis(100), Duration::from_secs(2))
            .on_retry(|event| {
                let why = match event.failure {
                    Failure::Status { status, .. } => format!("HTTP {}", status.as_u16()),
                    other => format!("{other:?}"),
                };
                eprintln!(
                    "attempt {} failed ({why}); retrying in {} ms",
                    event.retries_done + 1,
                    event.delay.as_millis()
                );
            });
        let mut options = RequestOptions::new().retry_policy(policy);
        if mock.is_some() {
            // Ask the mock server to fail the first three attempts of this call with a 529.
            options = options
                .header("x-mock-fault", "status:529")
                .header("x-mock-fail-times", "3")
                .header("x-mock-key", "retry-backoff-example");
        }
        let patient = client
            .with_options(options)
            .unwrap_or_else(|e| support::fail(e));
        match patient.query("Hello after a few retries").await {
            Ok(reply) => println!("{}", reply.text()),
            Err(error) => support::fail(error),
        }
    });
}
