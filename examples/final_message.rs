//! Streams one request and prints the final message as one line of JSON on stdout.
//!
//! Against the embedded mock server when `ANTHROPIC_API_KEY` is unset; otherwise against
//! `ANTHROPIC_BASE_URL` (default the real API). On failure it prints
//! `error: <error type>: <message>` on stderr and exits with status 1.
//!
//! ```text
//! cargo run --example final_message
//! ```

mod support;

use claude_kit::{Error, MessageRequest};

fn main() {
    let outcome = claude_kit::rt::block_on(async {
        let (client, _mock) = support::client()?;
        let request = MessageRequest::new(client.model(), 1024).user("Hello");
        client
            .messages()
            .stream(request)
            .await?
            .final_message()
            .await
    });
    match outcome {
        Ok(message) => println!(
            "{}",
            serde_json::to_string(&message).expect("a message serialises")
        ),
        Err(error) => {
            eprintln!("error: {}: {}", error_type(&error), error_message(&error));
            std::process::exit(1);
        }
    }
}

/// The API's `error.type` for API errors; a short name for the SDK's own errors.
fn error_type(error: &Error) -> &str {
    match error {
        Error::Api { kind, .. } => kind.as_str(),
        Error::Connect { .. } => "connection_error",
        Error::Transport { .. } => "connection_error",
        Error::Timeout { .. } => "timeout",
        Error::Decode { .. } => "decode_error",
        _ => "error",
    }
}

fn error_message(error: &Error) -> String {
    match error {
        Error::Api { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
