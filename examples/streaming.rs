//! The seeds' streaming example: print the reply as it is generated, delta by delta.
//!
//! ```text
//! cargo run --example streaming
//! ```

mod support;

use std::io::Write;

use claude_kit::MessageRequest;
use futures_util::StreamExt;

fn main() {
    claude_kit::rt::block_on(async {
        let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
        let request = MessageRequest::new(client.model(), 1024)
            .user("Tell me a short story about a lighthouse.");
        let mut text = client
            .messages()
            .stream(request)
            .await
            .unwrap_or_else(|e| support::fail(e))
            .text_stream();
        let mut stdout = std::io::stdout();
        while let Some(delta) = text.next().await {
            let delta = delta.unwrap_or_else(|e| support::fail(e));
            print!("{delta}");
            stdout.flush().ok();
        }
        println!();
        let message = text
            .final_message()
            .await
            .unwrap_or_else(|e| support::fail(e));
        eprintln!(
            "[{} output tokens, stop reason {:?}]",
            message.usage.output_tokens, message.stop_reason
        );
    });
}
