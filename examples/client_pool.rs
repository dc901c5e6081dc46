//! The seeds' `ClientPool`, done right: a checked-out client goes back on drop.
//!
//! One `Client` already runs many calls at once over its own connection pool, so you need a
//! pool of clients only for clients that differ (keys, accounts, base URLs, settings). The
//! guard returned by `get()` derefs to the client and returns it when dropped — even if the
//! call fails, panics or is cancelled.
//!
//! ```text
//! cargo run --example client_pool
//! ```

mod support;

use claude_kit::patterns::{ClientPool, gather};

fn main() {
    claude_kit::rt::block_on(async {
        let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
        // Three clients (here derived from one; in practice, e.g., one per API key).
        let pool = ClientPool::new(vec![client.clone(), client.clone(), client.clone()]);
        let calls = (0..8).map(|i| {
            let pool = pool.clone();
            async move {
                let client = pool.get().await; // waits while all three are checked out
                let reply = client.query(format!("Query {i}")).await;
                (i, reply.map(|r| r.text()))
            } // the client goes back here
        });
        for (i, reply) in gather(calls).await {
            println!("{i}: {}", reply.unwrap_or_else(|e| e.to_string()));
        }
        println!(
            "clients available again: {} of {}",
            pool.available(),
            pool.size()
        );
    });
}
