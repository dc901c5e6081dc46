//! What every example shares: a client for the real API when `ANTHROPIC_API_KEY` is set, or
//! for an embedded mock server when it is not, so that every example runs offline.

use claude_kit::Client;
use claude_kit_mock::MockServer;

/// Prints claude-kit's traces to stderr (stdout stays the program's output) when
/// `ANTHROPIC_LOG` is `info`, `debug` or `trace`, as the official SDKs do: calls, attempts
/// with their request ids, retries and why, streams. Needs the `tracing` feature (on by
/// default). Call it once, first.
#[allow(dead_code)]
pub fn log_from_env() {
    use tracing_subscriber::prelude::*;
    let level = match std::env::var("ANTHROPIC_LOG").as_deref() {
        Ok("info") => tracing::Level::INFO,
        Ok("debug") => tracing::Level::DEBUG,
        Ok("trace") => tracing::Level::TRACE,
        Ok("warn") => tracing::Level::WARN,
        _ => return,
    };
    let only_ours = tracing_subscriber::filter::filter_fn(move |metadata| {
        metadata.target().starts_with("claude_kit") && *metadata.level() <= level
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(only_ours);
    // A second call (or a subscriber of the program's own) keeps the first.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// A client, and the mock server it talks to when running offline (keep it alive as long
/// as the client is used).
#[allow(dead_code)]
pub fn client() -> claude_kit::Result<(Client, Option<MockServer>)> {
    log_from_env();
    if std::env::var_os("ANTHROPIC_API_KEY").is_some_and(|key| !key.is_empty()) {
        return Ok((Client::from_env()?, None));
    }
    let server = MockServer::start();
    eprintln!(
        "ANTHROPIC_API_KEY is not set: using the embedded mock server at {}",
        server.url()
    );
    let client = Client::builder()
        .api_key("offline-mock-key")
        .base_url(server.url())
        .build()?;
    Ok((client, Some(server)))
}

/// `client`, with the embedded mock server asked to inject `fault` into its calls (see the
/// mock's `x-mock-fault` header) when running offline; unchanged against a real server.
#[allow(dead_code)]
pub fn with_mock_fault(client: &Client, mock: &Option<MockServer>, fault: &str) -> Client {
    if mock.is_none() {
        return client.clone();
    }
    let options = claude_kit::RequestOptions::new().header("x-mock-fault", fault);
    client.with_options(options).unwrap_or_else(|e| fail(e))
}

/// Prints an error the way every example reports failure, and exits with status 1.
#[allow(dead_code)]
pub fn fail(error: claude_kit::Error) -> ! {
    eprintln!("error: {error}");
    std::process::exit(1)
}

/// Options for the Claude Code backend: the CLI talks to the real API when
/// `ANTHROPIC_API_KEY` is set (with `ANTHROPIC_BASE_URL` passed through), or else to an
/// embedded mock server, with the environment that keeps the CLI offline (and a home of its
/// own, so that no settings of yours change what it does). Keep the server alive while the
/// CLI runs.
#[cfg(feature = "backend-code")]
#[allow(dead_code)]
pub fn code_options() -> (claude_kit::code::CodeOptions, Option<MockServer>) {
    use claude_kit::code::CodeOptions;
    log_from_env();
    if std::env::var_os("ANTHROPIC_API_KEY").is_some_and(|key| !key.is_empty()) {
        return (CodeOptions::new(), None);
    }
    let server = MockServer::start();
    eprintln!(
        "ANTHROPIC_API_KEY is not set: the Claude Code CLI talks to the embedded mock server at {}",
        server.url()
    );
    let home = std::env::temp_dir().join(format!("claude-kit-offline-home-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&home);
    let options = server
        .claude_code_env(&home)
        .into_iter()
        .fold(CodeOptions::new(), |options, (name, value)| {
            options.env(name, value)
        });
    (options, Some(server))
}
