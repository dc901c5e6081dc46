//! One Claude Code process for several turns (the seeds' `ClaudeSDKClient`): two turns that
//! share the conversation, then a slow turn interrupted mid-reply, then one more turn.
//!
//! ```text
//! cargo run --example agent_client          # offline: the CLI talks to an embedded mock
//! ```

mod support;

use claude_kit::code::{AgentClient, Message};
use claude_kit::types::StreamEvent;
use futures_util::StreamExt;

/// The text of the turn's result, read to its end.
async fn reply(client: &AgentClient) -> claude_kit::Result<String> {
    let mut text = String::new();
    let mut messages = client.receive_response();
    while let Some(message) = messages.next().await {
        if let Message::Result(result) = message? {
            text = result.result.unwrap_or_default();
        }
    }
    Ok(text)
}

fn main() {
    claude_kit::rt::block_on(async {
        let (options, mock) = support::code_options();
        let options = options.include_partial_messages(true).max_turns(1);
        let outcome = AgentClient::with(options, |client| {
            Box::pin(async move {
                eprintln!(
                    "Claude Code {}",
                    client.server_info().version().unwrap_or("?")
                );
                client.query("My name is Ada.").await?;
                println!("turn 1: {}", reply(client).await?);
                client.query("What is my name?").await?;
                println!("turn 2: {}", reply(client).await?);

                // A slow reply (the mock streams it slowly), interrupted at its first delta.
                let slow = if mock.is_some() {
                    "[[slow:300]] Count to fifty."
                } else {
                    "Count slowly to fifty, one number per line."
                };
                client.query(slow).await?;
                let mut messages = client.receive_response();
                let mut interrupted = false;
                while let Some(message) = messages.next().await {
                    match message? {
                        Message::StreamEvent(event) if !interrupted => {
                            if matches!(event.event, StreamEvent::ContentBlockDelta { .. }) {
                                let receipt = client.interrupt().await?;
                                interrupted = true;
                                eprintln!(
                                    "interrupt sent ({} prompts still queued)",
                                    receipt.still_queued.len()
                                );
                            }
                        }
                        Message::Result(result) => {
                            println!(
                                "turn 3: interrupted: {interrupted}, {} ({})",
                                result.subtype,
                                result.terminal_reason.as_deref().unwrap_or("-")
                            );
                        }
                        _ => {}
                    }
                }
                drop(messages);
                client.query("Say hello.").await?;
                println!("turn 4: {}", reply(client).await?);
                Ok(())
            })
        })
        .await;
        outcome.unwrap_or_else(|e| support::fail(e));
        println!("disconnected");
    });
}
