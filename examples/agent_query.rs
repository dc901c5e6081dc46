//! One prompt to Claude Code (the seeds' `query()` on the Claude Agent SDK).
//!
//! ```text
//! cargo run --example agent_query -- [--partial] [--max-turns N] [--cwd DIR] PROMPT
//! ```
//!
//! Prints the assistant's text as it arrives, then, as the last line of stdout, `result: `
//! and the result's text (each newline replaced by a space). Exits 0 when the result is not
//! an error, else 1 with the error on stderr. Finds the CLI as the SDK does
//! (`CLAUDE_CODE_PATH` first); without `ANTHROPIC_API_KEY` the CLI talks to an embedded mock
//! server, offline.

mod support;

use std::io::Write;

use claude_kit::code::{Message, query};
use claude_kit::types::{ContentDelta, StreamEvent};
use futures_util::StreamExt;

struct Args {
    partial: bool,
    max_turns: Option<u32>,
    cwd: Option<String>,
    prompt: String,
}

fn args() -> Args {
    let usage = "usage: agent_query [--partial] [--max-turns N] [--cwd DIR] PROMPT";
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        partial: false,
        max_turns: None,
        cwd: None,
        prompt: String::new(),
    };
    let mut prompt = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--partial" => parsed.partial = true,
            "--max-turns" => {
                let n = args.next().and_then(|n| n.parse().ok());
                parsed.max_turns = Some(n.unwrap_or_else(|| exit_usage(usage)));
            }
            "--cwd" => parsed.cwd = Some(args.next().unwrap_or_else(|| exit_usage(usage))),
            "--" => prompt = args.next(),
            _ if prompt.is_none() => prompt = Some(arg),
            _ => exit_usage(usage),
        }
    }
    parsed.prompt = prompt.unwrap_or_else(|| exit_usage(usage));
    parsed
}

fn exit_usage(usage: &str) -> ! {
    eprintln!("{usage}");
    std::process::exit(2)
}

fn main() {
    let args = args();
    claude_kit::rt::block_on(async {
        let (mut options, _mock) = support::code_options();
        options = options.include_partial_messages(args.partial);
        if let Some(turns) = args.max_turns {
            options = options.max_turns(turns);
        }
        if let Some(cwd) = &args.cwd {
            options = options.cwd(cwd);
        }
        let mut stdout = std::io::stdout();
        let mut at_line_start = true;
        let mut print = |text: &str| {
            if !text.is_empty() {
                let _ = stdout.write_all(text.as_bytes());
                let _ = stdout.flush();
                at_line_start = text.ends_with('\n');
            }
        };
        let mut result = None;
        let mut failure = None;
        let mut messages = query(args.prompt.as_str(), options);
        while let Some(message) = messages.next().await {
            match message {
                Ok(Message::StreamEvent(event))
                    if args.partial && event.parent_tool_use_id.is_none() =>
                {
                    if let StreamEvent::ContentBlockDelta {
                        delta: ContentDelta::Text(text),
                        ..
                    } = &event.event
                    {
                        print(text);
                    }
                }
                Ok(Message::Assistant(reply))
                    if !args.partial && reply.parent_tool_use_id.is_none() =>
                {
                    let text = reply.message.text();
                    if !text.is_empty() {
                        print(&text);
                        print("\n");
                    }
                }
                Ok(Message::Result(done)) => result = Some(done),
                Ok(_) => {}
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        drop(messages);
        if let Some(result) = &result {
            if !at_line_start {
                println!();
            }
            println!(
                "result: {}",
                result
                    .result
                    .as_deref()
                    .unwrap_or_default()
                    .replace('\n', " ")
            );
        }
        match (result, failure) {
            (Some(result), None) if !result.is_error => {}
            (_, Some(error)) => support::fail(error),
            (Some(result), None) => {
                eprintln!("error: the result is an error ({})", result.subtype);
                std::process::exit(1)
            }
            (None, None) => {
                eprintln!("error: the CLI ended without a result");
                std::process::exit(1)
            }
        }
    });
}
