//! The seeds' "Running Async Code in Sync Context", and its pitfall.
//!
//! From plain synchronous code: `claude_kit::blocking::Client` (the same API, no `.await`),
//! or `claude_kit::rt::block_on` for any future (`asyncio.run`). From async code, the
//! blocking client refuses with a clear error instead of deadlocking — the Rust face of
//! "RuntimeError: This event loop is already running".
//!
//! ```text
//! cargo run --example sync_bridge
//! ```

use claude_kit::blocking;
use claude_kit_mock::MockServer;

fn main() {
    // Offline unless ANTHROPIC_API_KEY is set (this example builds its own blocking client).
    let mock = std::env::var_os("ANTHROPIC_API_KEY")
        .is_none()
        .then(MockServer::start);
    let builder = match &mock {
        Some(server) => {
            eprintln!(
                "ANTHROPIC_API_KEY is not set: using the embedded mock server at {}",
                server.url()
            );
            claude_kit::Client::builder()
                .api_key("offline-mock-key")
                .base_url(server.url())
        }
        None => claude_kit::ClientBuilder::from_env(),
    };
    let client = blocking::Client::new(builder).expect("a client");

    // 1. Sync code, sync client.
    let reply = client.query("Hello from sync code").expect("a reply");
    println!("blocking: {}", reply.text());

    // 2. Sync code running one async function to completion (asyncio.run).
    let text = claude_kit::rt::block_on(async {
        let reply = client.as_async().query("Hello from block_on").await?;
        Ok::<_, claude_kit::Error>(reply.text())
    })
    .expect("a reply");
    println!("block_on: {text}");

    // 3. The pitfall: a blocking call from async code is refused, not a deadlock.
    let refused = claude_kit::rt::block_on(async { client.query("from async code") });
    match refused {
        Err(error) => println!("refused inside async code: {error}"),
        Ok(_) => println!("unexpectedly allowed"),
    }
}
