//! The seeds' async generator (`async def query_generator(...): yield ...`).
//!
//! In Rust an async generator is a `Stream`: here, a stream of replies, one per prompt,
//! produced lazily as the consumer asks for them (`async for` is `while let Some(..) =
//! stream.next().await`).
//!
//! ```text
//! cargo run --example response_stream
//! ```

mod support;

use claude_kit::{Client, Result};
use futures_util::{Stream, StreamExt, stream};

/// Yields the text of each reply, in prompt order, one call at a time.
fn replies<'a>(
    client: &'a Client,
    prompts: &'a [&'a str],
) -> impl Stream<Item = Result<String>> + 'a {
    stream::iter(prompts).then(move |prompt| async move { Ok(client.query(*prompt).await?.text()) })
}

fn main() {
    claude_kit::rt::block_on(async {
        let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
        let prompts = ["Query 1", "Query 2", "Query 3"];
        let mut responses = std::pin::pin!(replies(&client, &prompts));
        while let Some(response) = responses.next().await {
            match response {
                Ok(text) => println!("Response: {text}"),
                Err(error) => println!("Error: {error}"),
            }
        }
    });
}
