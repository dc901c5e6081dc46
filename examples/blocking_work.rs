//! The seeds' "Avoiding Blocking Operations": run blocking work off the async threads.
//!
//! CPU-heavy or blocking code (`std::thread::sleep`, file hashing, compression) inside async
//! code stalls every other task on that thread. `rt::spawn_blocking` runs it on a blocking
//! thread pool (`run_in_executor` / `asyncio.to_thread`) while the API calls go on.
//!
//! ```text
//! cargo run --example blocking_work
//! ```

mod support;

use std::time::Duration;

use claude_kit::{patterns, rt};

/// Deliberately blocking work: a busy checksum, then a blocking sleep.
fn checksum(rounds: u64) -> u64 {
    let mut x = 0xcbf2_9ce4_8422_2325_u64;
    for i in 0..rounds {
        x = (x ^ i).wrapping_mul(0x0100_0000_01b3);
    }
    std::thread::sleep(Duration::from_millis(200));
    x
}

fn main() {
    rt::block_on(async {
        let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
        // The blocking work and three API calls proceed at the same time.
        let blocking = rt::spawn_blocking(|| checksum(5_000_000));
        let replies = patterns::gather(["one", "two", "three"].map(|p| client.query(p))).await;
        for reply in replies {
            println!(
                "{}",
                reply.map(|r| r.text()).unwrap_or_else(|e| e.to_string())
            );
        }
        println!(
            "checksum computed off the async threads: {:x}",
            blocking.await
        );
    });
}
