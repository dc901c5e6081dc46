//! The foundation, end to end on every runtime: request building, replies, typed errors,
//! connection reuse, TLS and secret redaction, against the local mock server.

use crate::common;

use claude_kit::{ApiErrorKind, Client, ContentBlock, Error, MessageRequest, Role, StopReason};
use claude_kit_mock::{MockServer, Reply};
use common::{Rt, TEST_KEY, client, mock, on_all_runtimes};
use http::StatusCode;

const MOCK_GREETING: &str = "Hello! I am the claude-kit mock server. You said: ";

async fn create_returns_the_reply(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let request = MessageRequest::new("claude-test-model", 300)
        .system("Be brief.")
        .user("What is 2+2?")
        .temperature(0.0);
    let reply = client.messages().create(request).await.expect("create");

    assert_eq!(reply.text(), format!("{MOCK_GREETING}What is 2+2?"));
    assert_eq!(reply.role, Role::Assistant);
    assert_eq!(reply.model, "claude-test-model");
    assert_eq!(reply.stop_reason, Some(StopReason::EndTurn));
    assert!(reply.id.starts_with("msg_"));
    assert!(reply.usage.output_tokens > 0);
    assert!(matches!(&reply.content[..], [ContentBlock::Text(_)]));
    assert_eq!(reply.status(), StatusCode::OK);
    assert!(reply.request_id().is_some_and(|id| id.starts_with("req_")));

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let sent = &seen[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(TEST_KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("accept"), Some("application/json"));
    assert_eq!(sent.header("x-stainless-retry-count"), Some("0"));
    let body = sent.json().expect("JSON body");
    assert_eq!(body["model"], "claude-test-model");
    assert_eq!(body["max_tokens"], 300);
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(body["messages"][0]["content"], "What is 2+2?");
    assert!(
        body.get("stream").is_none(),
        "create must not ask for a stream: {body}"
    );
}

async fn query_sends_one_user_message_to_the_default_model(rt: Rt) {
    let server = mock();
    let client = Client::builder()
        .api_key(TEST_KEY)
        .base_url(format!("{}/", server.url()))
        .model("claude-from-builder")
        .shared_runtime(rt)
        .build()
        .unwrap();
    let reply = client.query("Hello").await.expect("query");
    assert_eq!(reply.text(), format!("{MOCK_GREETING}Hello"));
    let body = server.requests()[0].json().unwrap();
    assert_eq!(body["model"], "claude-from-builder");
    assert_eq!(body["max_tokens"], claude_kit::DEFAULT_MAX_TOKENS);
    assert_eq!(
        server.requests()[0].path,
        "/v1/messages",
        "trailing slash of the base URL is dropped"
    );
}

async fn error_statuses_become_typed_errors_with_request_ids(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let cases = [
        (400, "invalid_request_error", ApiErrorKind::InvalidRequest),
        (401, "authentication_error", ApiErrorKind::Authentication),
        (403, "permission_error", ApiErrorKind::Permission),
        (404, "not_found_error", ApiErrorKind::NotFound),
        (429, "rate_limit_error", ApiErrorKind::RateLimit),
        (500, "api_error", ApiErrorKind::Internal),
        (529, "overloaded_error", ApiErrorKind::Overloaded),
    ];
    for (status, error_type, expected) in cases {
        server.enqueue(Reply::error(
            status,
            error_type,
            format!("scripted {status}"),
        ));
        let error = client.query("hi").await.expect_err("scripted error");
        let Error::Api {
            status: got,
            kind,
            message,
            request_id,
            origin,
            ..
        } = &error
        else {
            panic!("expected an API error for {status}, got {error:?}");
        };
        assert_eq!(*origin, claude_kit::ErrorOrigin::Http);
        assert_eq!(got.as_u16(), status);
        assert_eq!(kind, &expected);
        assert_eq!(message, &format!("scripted {status}"));
        assert!(
            request_id
                .as_deref()
                .is_some_and(|id| id.starts_with("req_")),
            "{error:?}"
        );
        assert!(error.to_string().contains(error_type), "{error}");
    }
}

async fn the_servers_own_validation_errors_are_typed(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let empty = MessageRequest::new("m", 10);
    let error = client
        .messages()
        .create(empty)
        .await
        .expect_err("no messages");
    assert!(
        matches!(&error, Error::Api { status, kind: ApiErrorKind::InvalidRequest, message, .. }
            if *status == StatusCode::BAD_REQUEST && message.contains("messages")),
        "{error:?}"
    );

    let wrong_key = Client::builder()
        .api_key("sk-ant-wrong")
        .base_url(server.url())
        .shared_runtime(rt.clone())
        .build()
        .unwrap();
    let error = wrong_key.query("hi").await.expect_err("wrong key");
    assert!(
        matches!(
            error,
            Error::Api {
                status: StatusCode::UNAUTHORIZED,
                kind: ApiErrorKind::Authentication,
                ..
            }
        ),
        "{error:?}"
    );

    let wrong_path = Client::builder()
        .api_key(TEST_KEY)
        .base_url(format!("{}/no-such-prefix", server.url()))
        .shared_runtime(rt)
        .build()
        .unwrap();
    let error = wrong_path.query("hi").await.expect_err("unknown path");
    assert!(
        matches!(error, Error::Api { status: StatusCode::NOT_FOUND, kind: ApiErrorKind::NotFound, ref request_id, .. } if request_id.is_some()),
        "{error:?}"
    );
}

async fn an_undecodable_body_is_a_decode_error(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    server.enqueue(Reply::raw(
        200,
        "application/json",
        "{\"id\": \"msg_1\", \"content\": [".into(),
    ));
    let error = client.query("hi").await.expect_err("truncated JSON");
    assert!(
        matches!(
            &error,
            Error::Decode {
                request_id: Some(_),
                ..
            }
        ),
        "{error:?}"
    );

    // The client is still usable afterwards.
    assert!(client.query("again").await.is_ok());
}

async fn keep_alive_connections_are_reused(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    for i in 0..5 {
        let reply = client.query(format!("request {i}")).await.expect("query");
        assert!(reply.text().ends_with(&format!("request {i}")));
    }
    // An error status must not cost the connection either.
    server.enqueue(Reply::error(529, "overloaded_error", "busy"));
    assert!(client.query("error").await.is_err());
    assert!(client.query("after the error").await.is_ok());
    assert_eq!(
        server.connection_count(),
        1,
        "every request should reuse the first connection"
    );

    // Clones share the pool.
    let clone = client.clone();
    clone.query("from a clone").await.unwrap();
    assert_eq!(server.connection_count(), 1);
}

async fn a_refused_connection_is_a_connect_error(rt: Rt) {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .api_key(TEST_KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .shared_runtime(rt)
        .build()
        .unwrap();
    let error = client.query("hi").await.expect_err("nothing listens");
    assert!(
        matches!(&error, Error::Connect { target, .. } if target.contains(&port.to_string())),
        "{error:?}"
    );
}

async fn tls_with_an_extra_trusted_root(rt: Rt) {
    let server = MockServer::builder()
        .api_key(TEST_KEY)
        .tls(true)
        .start()
        .expect("TLS mock");
    assert!(server.url().starts_with("https://"));

    let trusting = Client::builder()
        .api_key(TEST_KEY)
        .base_url(server.url())
        .add_root_certificate_der(server.ca_certificate_der().expect("CA"))
        .shared_runtime(rt.clone())
        .build()
        .unwrap();
    let reply = trusting.query("over TLS").await.expect("TLS query");
    assert_eq!(reply.text(), format!("{MOCK_GREETING}over TLS"));
    trusting.query("again").await.unwrap();
    assert_eq!(
        server.connection_count(),
        1,
        "TLS connections are pooled too"
    );

    let untrusting = Client::builder()
        .api_key(TEST_KEY)
        .base_url(server.url())
        .shared_runtime(rt)
        .build()
        .unwrap();
    let error = untrusting.query("hi").await.expect_err("unknown CA");
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
}

async fn the_api_key_never_shows(rt: Rt) {
    const SECRET: &str = "sk-ant-do-not-print-me";
    let server = MockServer::builder().api_key(TEST_KEY).start().unwrap();
    let builder = Client::builder()
        .api_key(SECRET)
        .base_url(server.url())
        .shared_runtime(rt);
    assert!(!format!("{builder:?}").contains(SECRET));
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains(SECRET));
    assert!(!format!("{:?}", claude_kit::ApiKey::new(SECRET)).contains(SECRET));

    let error = client.query("hi").await.expect_err("wrong key");
    assert!(!format!("{error:?}").contains(SECRET));
    assert!(!error.to_string().contains(SECRET));
    // It was sent, though.
    assert_eq!(server.requests()[0].header("x-api-key"), Some(SECRET));
}

async fn a_closed_client_refuses_calls(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    client.query("before").await.unwrap();
    let clone = client.clone();
    client.close().await;
    assert!(clone.is_closed());
    let error = clone.query("after").await.expect_err("closed");
    assert!(matches!(error, Error::Closed { .. }), "{error:?}");
    assert_eq!(server.requests().len(), 1);
}

/// A client built in a tokio runtime that has since shut down, used from whatever runtime the
/// test runs on: a typed `Closed` error naming the cause, never a panic inside tokio's timer
/// (nor a hang).
async fn a_client_whose_runtime_is_gone_reports_closed(rt: Rt) {
    let _ = rt;
    let server = mock();
    let url = server.url();
    // On a thread of its own: tokio refuses to start or drop a runtime inside async code.
    let client = std::thread::spawn(move || {
        let tokio_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let client = tokio_rt.block_on(async move {
            let client = Client::builder()
                .api_key(TEST_KEY)
                .base_url(url)
                .build() // on the tokio runtime it is built in
                .unwrap();
            client.query("while it lives").await.unwrap();
            client
        });
        drop(tokio_rt);
        client
    })
    .join()
    .unwrap();
    assert_eq!(client.runtime().name(), "tokio");
    for _ in 0..2 {
        let error = client.query("after").await.expect_err("runtime gone");
        assert!(
            matches!(&error, Error::Closed { message } if message.contains("tokio runtime")),
            "{error:?}"
        );
        let error = client
            .messages()
            .stream(MessageRequest::new("m", 8).user("after"))
            .await
            .expect_err("runtime gone");
        assert!(matches!(error, Error::Closed { .. }), "{error:?}");
    }
    assert_eq!(server.requests().len(), 1);
}

/// A path prefix in the base URL is kept (gateways use one).
async fn a_base_url_path_prefix_is_kept(rt: Rt) {
    let server = mock();
    let client = Client::builder()
        .api_key(TEST_KEY)
        .base_url(format!("{}/gateway/anthropic/", server.url()))
        .shared_runtime(rt)
        .build()
        .unwrap();
    let _ = client.query("hi").await;
    assert_eq!(server.requests()[0].path, "/gateway/anthropic/v1/messages");
}

async fn the_runtime_is_the_one_given(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    assert_eq!(client.runtime().name(), rt.name());
}

on_all_runtimes!(
    create_returns_the_reply,
    query_sends_one_user_message_to_the_default_model,
    error_statuses_become_typed_errors_with_request_ids,
    the_servers_own_validation_errors_are_typed,
    an_undecodable_body_is_a_decode_error,
    keep_alive_connections_are_reused,
    a_refused_connection_is_a_connect_error,
    tls_with_an_extra_trusted_root,
    the_api_key_never_shows,
    a_closed_client_refuses_calls,
    a_client_whose_runtime_is_gone_reports_closed,
    a_base_url_path_prefix_is_kept,
    the_runtime_is_the_one_given,
);

#[test]
fn building_without_a_key_is_a_config_error() {
    let error = Client::builder()
        .base_url("http://127.0.0.1:1")
        .runtime(claude_kit_smol::SmolRuntime::new())
        .build()
        .expect_err("no key");
    assert!(
        matches!(&error, Error::Config { message } if message.contains("ANTHROPIC_API_KEY")),
        "{error}"
    );
}

#[test]
fn a_base_url_must_be_http() {
    for url in ["ftp://example.com", "not a url", "example.com"] {
        let error = Client::builder()
            .api_key(TEST_KEY)
            .base_url(url)
            .runtime(claude_kit_smol::SmolRuntime::new())
            .build()
            .expect_err(url);
        assert!(matches!(error, Error::Config { .. }), "{url}: {error}");
    }
}

#[test]
fn a_base_url_with_a_query_or_fragment_is_refused_at_build() {
    for url in [
        "http://127.0.0.1:1/?tenant=a",
        "http://127.0.0.1:1?tenant=a",
        "http://127.0.0.1:1/#x",
        "https://gateway.example/anthropic?key=v#frag",
    ] {
        let error = Client::builder()
            .api_key(TEST_KEY)
            .base_url(url)
            .runtime(claude_kit_smol::SmolRuntime::new())
            .build()
            .expect_err(url);
        assert!(
            matches!(&error, Error::Config { message } if message.contains("query") || message.contains("fragment")),
            "{url}: {error}"
        );
    }
}

#[test]
fn a_key_or_token_that_is_not_visible_ascii_is_refused_at_build_without_showing_it() {
    for key in [
        "sk-ant-clé",
        "sk-ant-\nkey",
        "sk-ant key",
        "sk-ant-\u{7f}",
        "",
    ] {
        for token in [false, true] {
            let builder = Client::builder()
                .base_url("http://127.0.0.1:1")
                .runtime(claude_kit_smol::SmolRuntime::new());
            let builder = if token {
                builder.auth_token(key)
            } else {
                builder.api_key(key)
            };
            let error = builder.build().expect_err(key);
            assert!(
                matches!(&error, Error::Config { message } if message.contains("visible ASCII")),
                "{key:?}: {error}"
            );
            if !key.is_empty() {
                assert!(!format!("{error} {error:?}").contains(key), "{error}");
            }
        }
    }
}
