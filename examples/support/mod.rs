//! What every example shares: a client for the real API when `ANTHROPIC_API_KEY` is set, or
//! for an embedded mock server when it is not, so that every example runs offline.

use claude_kit::Client;
use claude_kit_mock::MockServer;

/// A client, and the mock server it talks to when running offline (keep it alive as long
/// as the client is used).
#[allow(dead_code)]
pub fn client() -> claude_kit::Result<(Client, Option<MockServer>)> {
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
