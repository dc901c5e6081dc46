//! The seeds' "Checking Event Loop Status": which runtime is running this code?
//!
//! `rt::runtime_name()` is `None` in plain sync code and `Some("tokio" | "smol" |
//! "async-std")` inside async code; the cargo features (and `CLAUDE_KIT_RUNTIME` when several
//! are enabled) decide which one `rt::block_on` starts.
//!
//! ```text
//! cargo run --example runtime_check
//! CLAUDE_KIT_RUNTIME=smol cargo run --example runtime_check --all-features
//! ```

mod support;

use claude_kit::rt;

fn main() {
    println!("in sync main: {:?}", rt::runtime_name());
    rt::block_on(async {
        println!("inside block_on: {:?}", rt::runtime_name());
        let in_task = rt::spawn(async { rt::runtime_name() }).await;
        println!("inside a spawned task: {in_task:?}");
        let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
        println!("the client runs on: {}", client.runtime().name());
        let reply = client
            .query("Which runtime?")
            .await
            .unwrap_or_else(|e| support::fail(e));
        println!("{}", reply.text());
    });
}
