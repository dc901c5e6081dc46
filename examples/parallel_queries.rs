//! The seeds' "Running Queries in Parallel" with `asyncio.gather`.
//!
//! `patterns::gather` runs every call at once and returns the results in input order, each a
//! `Result`: one failure does not lose the other answers (`return_exceptions=True`).
//!
//! ```text
//! cargo run --example parallel_queries
//! ```

mod support;

use claude_kit::patterns;

fn main() {
    claude_kit::rt::block_on(async {
        let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
        let prompts = ["What is Python?", "What is TypeScript?", "What is Rust?"];
        let replies = patterns::gather(prompts.map(|prompt| client.query(prompt))).await;
        for (i, reply) in replies.into_iter().enumerate() {
            match reply {
                Ok(reply) => println!("{}. {}", i + 1, reply.text()),
                Err(error) => println!("{}. failed: {error}", i + 1),
            }
        }
    });
}
