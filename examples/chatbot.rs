//! A stateful terminal chatbot on [`Session`](claude_kit::session::Session): each line you
//! type is a turn, the reply streams to stdout, and the conversation can be saved and loaded.
//!
//! ```text
//! cargo run --example chatbot                      # offline, embedded mock server
//! ANTHROPIC_API_KEY=sk-ant-... cargo run --example chatbot   # the real API
//! ```
//!
//! Commands: `/reset` (forget the conversation), `/save FILE`, `/load FILE`, `/usage`,
//! `/quit`. End of input (Ctrl-D) exits cleanly.
//!
//! When standard input is empty (closed, or `/dev/null`, as under `cargo test`), the chatbot
//! runs a scripted two-turn demo conversation instead, ending with `demo: 2 turns`.

mod support;

use std::io::{BufRead, IsTerminal, Write};

use claude_kit::session::Session;
use futures_util::StreamExt;

/// The next line of stdin, read on a blocking thread; `None` at end of input.
async fn read_line() -> Option<String> {
    claude_kit::rt::spawn_blocking(|| {
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        }
    })
    .await
}

/// Sends one turn, streaming the reply to stdout.
async fn turn(session: &mut Session, text: &str) -> claude_kit::Result<()> {
    let mut reply = session.stream(text).await?.text_stream();
    print!("claude> ");
    while let Some(delta) = reply.next().await {
        print!("{}", delta?);
        let _ = std::io::stdout().flush();
    }
    reply.final_message().await?; // the turn is now in the history
    println!();
    Ok(())
}

/// Runs one command or turn; returns false to quit.
async fn handle(session: &mut Session, line: &str) -> bool {
    let (command, argument) = line.split_once(' ').unwrap_or((line, ""));
    match command {
        "/quit" | "/exit" => return false,
        "/reset" => {
            session.clear();
            println!("(conversation forgotten)");
        }
        "/usage" => {
            let usage = session.usage();
            println!(
                "(usage: {} input tokens, {} output tokens, {} turns in history)",
                usage.input_tokens,
                usage.output_tokens,
                session.history().len()
            );
        }
        "/save" if !argument.is_empty() => {
            match session.to_json().map(|json| std::fs::write(argument, json)) {
                Ok(Ok(())) => println!("(saved to {argument})"),
                Ok(Err(e)) => println!("(cannot save: {e})"),
                Err(e) => println!("(cannot save: {e})"),
            }
        }
        "/load" if !argument.is_empty() => match std::fs::read_to_string(argument) {
            Ok(json) => match Session::from_json(session.client().clone(), &json) {
                Ok(loaded) => {
                    *session = loaded;
                    println!("(loaded {} turns)", session.history().len());
                }
                Err(e) => println!("(cannot load: {e})"),
            },
            Err(e) => println!("(cannot read {argument}: {e})"),
        },
        _ if line.starts_with('/') => {
            println!("(commands: /reset, /save FILE, /load FILE, /usage, /quit)")
        }
        "" => {}
        _ => {
            if let Err(error) = turn(session, line).await {
                // The failed turn is not in the history: just try again.
                println!("(error: {error})");
            }
        }
    }
    true
}

fn main() {
    claude_kit::rt::block_on(async {
        let (client, _mock) = support::client().unwrap_or_else(|e| support::fail(e));
        let mut session = Session::new(client.clone())
            .system("You are a friendly, brief assistant.")
            .max_tokens(512);
        let interactive = std::io::stdin().is_terminal();
        if interactive {
            println!("Chat with Claude. /reset, /save FILE, /load FILE, /usage, /quit.");
        }
        let mut first = true;
        loop {
            if interactive {
                print!("you> ");
                let _ = std::io::stdout().flush();
            }
            let Some(line) = read_line().await else {
                if first && !interactive {
                    demo(&mut session).await;
                }
                break;
            };
            first = false;
            if !handle(&mut session, line.trim()).await {
                break;
            }
        }
        client.close().await;
    });
}

/// The scripted conversation run when stdin is empty.
async fn demo(session: &mut Session) {
    println!("(stdin is empty: running a scripted demo)");
    let file = std::env::temp_dir().join(format!("chatbot-demo-{}.json", std::process::id()));
    let file = file.display().to_string();
    for line in [
        "Hello! My name is Ada.",
        &format!("/save {file}"),
        "/reset",
        &format!("/load {file}"),
        "What is my name?",
        "/usage",
    ] {
        println!("you> {line}");
        handle(session, line).await;
    }
    let _ = std::fs::remove_file(&file);
    println!("demo: {} turns", session.history().len() / 2);
}
