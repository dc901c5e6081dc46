//! `claude_kit::query` and `Client::from_env` read their configuration from the environment.

use crate::common;

use claude_kit_mock::MockServer;
use common::TEST_KEY;

#[test]
fn query_reads_key_base_url_and_model_from_the_environment() {
    let _process = crate::exclusive();
    let _env = crate::EnvGuard(&[
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_MODEL",
        "ANTHROPIC_CUSTOM_HEADERS",
    ]);
    let server = MockServer::builder().api_key(TEST_KEY).start().unwrap();
    // SAFETY: the test holds `crate::exclusive()`: no other test runs, and the only other
    // threads are the mock server's, which never read the environment.
    unsafe {
        std::env::set_var("ANTHROPIC_API_KEY", TEST_KEY);
        std::env::set_var("ANTHROPIC_BASE_URL", server.url());
        std::env::set_var("ANTHROPIC_MODEL", "claude-from-env");
        std::env::set_var(
            "ANTHROPIC_CUSTOM_HEADERS",
            "X-Team: agents\nanthropic-beta: feature-a\n\nnot a header",
        );
    }
    let ask = |_rt| async {
        let reply = claude_kit::query("Hello").await.expect("query");
        assert!(
            reply.text().ends_with("You said: Hello"),
            "{}",
            reply.text()
        );
    };
    common::run_tokio(ask);
    common::run_smol(ask);
    common::run_async_std(ask);

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for request in requests {
        assert_eq!(request.json().unwrap()["model"], "claude-from-env");
        assert_eq!(request.header("x-api-key"), Some(TEST_KEY));
        assert_eq!(request.header("x-team"), Some("agents"));
        assert_eq!(request.header("anthropic-beta"), Some("feature-a"));
    }
}
