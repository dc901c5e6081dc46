//! The seeds' first example, `query(prompt="Hello")`: one question, one answer.
//!
//! ```text
//! cargo run --example quickstart                      # offline, embedded mock server
//! ANTHROPIC_API_KEY=sk-ant-... cargo run --example quickstart   # the real API
//! cargo run --example quickstart --no-default-features --features smol   # on smol
//! ```

mod support;

fn main() {
    // `block_on` runs on whichever runtime the cargo features chose: this file never names one.
    claude_kit::rt::block_on(async {
        let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
        eprintln!("runtime: {}", client.runtime().name());
        let reply = client
            .query("Hello")
            .await
            .unwrap_or_else(|e| support::fail(e));
        println!("{}", reply.text());
        client.close().await;
    });
}
