//! The same agent code on either backend: an `Agent` (a conversation that keeps its turns
//! and can be saved) and the seeds' patterns, on the Messages API — tools run in this process
//! — and on Claude Code — the CLI runs the agent.
//!
//! ```text
//! cargo run --example backend_switch        # offline: both backends talk to an embedded mock
//! ```

mod support;

use claude_kit::agent::Agent;
use claude_kit::backend::{AgentOptions, ApiBackend, Backend, CodeBackend};
use claude_kit::patterns::map_concurrent;

/// One conversation of two turns, on any backend.
async fn chat(backend: &dyn Backend) -> claude_kit::Result<(String, String)> {
    let mut agent = Agent::connect(
        backend,
        AgentOptions::new().system("Be brief.").max_turns(2),
    )
    .await?;
    let first = agent.ask("My name is Ada.").await?;
    let second = agent.ask("What is my name?").await?;
    let saved = agent.save()?;
    agent.close().await?;
    eprintln!("saved state: {saved}");
    Ok((first.text(), second.text()))
}

fn main() {
    claude_kit::rt::block_on(async {
        let (client, _api_mock) = support::client().unwrap_or_else(|e| support::fail(e));
        let (options, _code_mock) = support::code_options();
        let backends: Vec<(&str, Box<dyn Backend>)> = vec![
            ("Messages API", Box::new(ApiBackend::new(client))),
            ("Claude Code", Box::new(CodeBackend::new(options))),
        ];
        for (name, backend) in &backends {
            let (first, second) = chat(backend.as_ref())
                .await
                .unwrap_or_else(|e| support::fail(e));
            println!("{name}: {} turns: {first:?} / {second:?}", 2);
            // The seeds' bounded map, over agent conversations of this backend.
            let replies = map_concurrent(1..=3, 2, |i| async move {
                let mut agent = Agent::connect(backend.as_ref(), AgentOptions::new()).await?;
                let reply = agent.ask(format!("Say the number {i}.")).await;
                agent.close().await?;
                reply
            })
            .await;
            println!(
                "{name}: map_concurrent: {} of 3 answered",
                replies.iter().filter(|r| r.is_ok()).count()
            );
        }
    });
}
