//! The seeds' `async with ClaudeSDKClient(...) as client:` — a client's lifecycle.
//!
//! A `Client` needs no `connect()`: connections open on first use and are pooled. Closing is
//! explicit and graceful (`close().await` waits for calls in flight, boundedly); dropping a
//! client without closing it is always safe too — that is Rust's `async with`.
//!
//! ```text
//! cargo run --example client_lifecycle
//! ```

mod support;

fn main() {
    claude_kit::rt::block_on(async {
        // Scope 1: create, use, close.
        {
            let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
            let reply = client
                .query("Hello!")
                .await
                .unwrap_or_else(|e| support::fail(e));
            println!("{}", reply.text());
            println!("stats while open: {:?}", client.stats());
            client.close().await; // refuses new calls, closes idle connections
            println!("closed: {}", client.is_closed());
        }
        // Scope 2: no close at all. Dropping the client (and its clones) at the end of the
        // scope releases everything; nothing is left running.
        {
            let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
            let reply = client
                .query("Hello again!")
                .await
                .unwrap_or_else(|e| support::fail(e));
            println!("{}", reply.text());
        }
    });
}
