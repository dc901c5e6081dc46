//! The seeds' error handling, one call and many: typed errors, and partial failure.
//!
//! Every failure is one `claude_kit::Error` you can match on. With many calls, each result
//! is its own `Result`, so one bad answer costs only itself. Offline, the mock server is told
//! to reject one of the calls.
//!
//! ```text
//! cargo run --example error_handling
//! ```

mod support;

use claude_kit::{ApiErrorKind, Error, patterns};

fn describe(error: &Error) -> String {
    match error {
        Error::Api {
            kind: ApiErrorKind::RateLimit | ApiErrorKind::Overloaded,
            ..
        } => {
            format!("busy, try later ({error})")
        }
        Error::Api {
            kind: ApiErrorKind::Authentication,
            ..
        } => "check ANTHROPIC_API_KEY".into(),
        Error::Api {
            status,
            kind,
            request_id,
            ..
        } => format!("API error {status} {kind} (request {request_id:?})"),
        Error::Timeout { phase, .. } => format!("timed out {phase}"),
        Error::Connect { .. } | Error::Transport { .. } => format!("network problem: {error}"),
        other => format!("other: {other}"),
    }
}

fn main() {
    claude_kit::rt::block_on(async {
        let (client, mock) = support::client().unwrap_or_else(|e| support::fail(e));
        let rejected = support::with_mock_fault(&client, &mock, "status:400");

        // One call.
        match client.query("A single question").await {
            Ok(reply) => println!("ok: {}", reply.text()),
            Err(error) => println!("failed: {}", describe(&error)),
        }

        // Many calls, one of which fails (offline): the others still succeed.
        let calls = vec![
            client.query("first"),
            rejected.query("second"),
            client.query("third"),
        ];
        let results = patterns::gather(calls).await;
        let failures = results.iter().filter(|r| r.is_err()).count();
        for (i, result) in results.iter().enumerate() {
            match result {
                Ok(reply) => println!("call {i}: {}", reply.text()),
                Err(error) => println!("call {i}: {}", describe(error)),
            }
        }
        println!("{} succeeded, {failures} failed", results.len() - failures);
    });
}
