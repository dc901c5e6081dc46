//! The fault matrix: every fault the mock server can inject × streaming and non-streaming ×
//! transient (fails once, then works) and persistent (fails every time) × every runtime.
//!
//! Each case must end in success after a retry or in the right typed error, after exactly the
//! number of attempts the retry policy allows, with nothing left in flight and no connection
//! left in use.

use crate::common;

use std::time::Duration;

use claude_kit::{
    ApiErrorKind, Client, Error, MessageRequest, RequestOptions, RetryPolicy, TimeoutPhase,
};
use claude_kit_mock::MockServer;
use common::{Rt, TEST_KEY, on_all_runtimes};

/// What a fault must lead to.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Retried: a transient fault ends in success, a persistent one in this error after
    /// 1 + MAX_RETRIES attempts.
    Retried(fn(&Error) -> bool),
    /// Not retried: this error after one attempt, transient or not.
    Fails(fn(&Error) -> bool),
    /// Not a failure at all.
    Succeeds,
}

const MAX_RETRIES: u32 = 2;

fn api(kind: ApiErrorKind) -> impl Fn(&Error) -> bool {
    move |error| matches!(error, Error::Api { kind: k, request_id: Some(_), .. } if *k == kind)
}

fn status_cases() -> Vec<(&'static str, Expect)> {
    vec![
        (
            "status:408",
            Expect::Retried(|e| e.status().is_some_and(|s| s.as_u16() == 408)),
        ),
        (
            "status:409",
            Expect::Retried(|e| e.status().is_some_and(|s| s.as_u16() == 409)),
        ),
        (
            "status:429",
            Expect::Retried(|e| api(ApiErrorKind::RateLimit)(e)),
        ),
        (
            "status:500",
            Expect::Retried(|e| api(ApiErrorKind::Internal)(e)),
        ),
        (
            "status:503",
            Expect::Retried(|e| api(ApiErrorKind::Internal)(e)),
        ),
        (
            "status:529",
            Expect::Retried(|e| api(ApiErrorKind::Overloaded)(e)),
        ),
        (
            "status:400",
            Expect::Fails(|e| api(ApiErrorKind::InvalidRequest)(e)),
        ),
        (
            "status:401",
            Expect::Fails(|e| api(ApiErrorKind::Authentication)(e)),
        ),
        (
            "status:403",
            Expect::Fails(|e| api(ApiErrorKind::Permission)(e)),
        ),
        (
            "status:404",
            Expect::Fails(|e| api(ApiErrorKind::NotFound)(e)),
        ),
        (
            "status:413",
            Expect::Fails(|e| api(ApiErrorKind::RequestTooLarge)(e)),
        ),
        (
            "reset-before-headers",
            Expect::Retried(|e| matches!(e, Error::Transport { .. })),
        ),
        (
            "stall-before-headers",
            Expect::Retried(|e| {
                matches!(
                    e,
                    Error::Timeout {
                        phase: TimeoutPhase::ResponseHeaders,
                        ..
                    }
                )
            }),
        ),
        (
            "wrong-content-type",
            Expect::Fails(|e| matches!(e, Error::Decode { .. })),
        ),
        ("trickle:5", Expect::Succeeds),
    ]
}

fn non_streaming_cases() -> Vec<(&'static str, Expect)> {
    let mut cases = status_cases();
    cases.extend([
        // A body cut off before the end: nothing reached the caller, so it is retried.
        (
            "json-then-reset",
            Expect::Retried(|e| matches!(e, Error::Transport { .. })),
        ),
        (
            "reset-mid-stream",
            Expect::Retried(|e| matches!(e, Error::Transport { .. })),
        ),
        (
            "stall-mid-stream",
            Expect::Retried(|e| {
                matches!(
                    e,
                    Error::Timeout {
                        phase: TimeoutPhase::Idle,
                        ..
                    }
                )
            }),
        ),
        (
            "error-event:0",
            Expect::Retried(|e| api(ApiErrorKind::Overloaded)(e)),
        ),
        (
            "malformed-sse",
            Expect::Fails(|e| {
                matches!(
                    e,
                    Error::Decode {
                        request_id: Some(_),
                        ..
                    }
                )
            }),
        ),
        (
            "oversized",
            Expect::Fails(|e| matches!(e, Error::Decode { .. })),
        ),
    ]);
    cases
}

fn streaming_cases() -> Vec<(&'static str, Expect)> {
    let mut cases = status_cases();
    cases.extend([
        // After content reached the caller, a failure is never retried: it would repeat text.
        (
            "reset-mid-stream",
            Expect::Fails(|e| matches!(e, Error::Transport { .. })),
        ),
        (
            "stall-mid-stream",
            Expect::Fails(|e| {
                matches!(
                    e,
                    Error::Timeout {
                        phase: TimeoutPhase::Idle,
                        ..
                    }
                )
            }),
        ),
        (
            "error-event:2",
            Expect::Fails(|e| {
                matches!(
                    e,
                    Error::Api {
                        kind: ApiErrorKind::Overloaded,
                        request_id: Some(_),
                        ..
                    }
                )
            }),
        ),
        // An error event before any content is only retried on request (see below).
        (
            "error-event:0",
            Expect::Fails(|e| api(ApiErrorKind::Overloaded)(e)),
        ),
        (
            "malformed-sse",
            Expect::Fails(|e| {
                matches!(
                    e,
                    Error::Decode {
                        request_id: Some(_),
                        ..
                    }
                )
            }),
        ),
        (
            "json-then-reset",
            Expect::Fails(|e| matches!(e, Error::Decode { .. })),
        ),
        (
            "oversized",
            Expect::Fails(|e| matches!(e, Error::Decode { .. })),
        ),
    ]);
    cases
}

/// The response-header and idle timeouts of a case whose fault is a stall: short, since the
/// stall must end in a timeout and the test waits for it.
const STALL_TIMEOUT: Duration = Duration::from_millis(300);

/// The same timeouts for every other case: generous, so that an answer that is merely slow
/// (a starved machine) is never mistaken for a stall and retried.
const PATIENCE: Duration = Duration::from_secs(30);

fn matrix_client(server: &MockServer, rt: &Rt, policy: RetryPolicy) -> Client {
    Client::builder()
        .api_key(TEST_KEY)
        .base_url(server.url())
        .shared_runtime(rt.clone())
        .retry_policy(policy)
        .response_header_timeout(PATIENCE)
        .idle_timeout(PATIENCE)
        .max_response_bytes(1 << 20)
        .max_event_size(1 << 20)
        .build()
        .unwrap()
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::new()
        .max_retries(MAX_RETRIES)
        .backoff(Duration::from_millis(1), Duration::from_millis(4))
}

async fn call(client: &Client, streaming: bool) -> claude_kit::Result<String> {
    let request = MessageRequest::new("m", 64).user("fault matrix");
    if streaming {
        client.messages().stream(request).await?.final_text().await
    } else {
        Ok(client.messages().create(request).await?.text())
    }
}

async fn run_case(
    server: &MockServer,
    client: &Client,
    fault: &str,
    streaming: bool,
    transient: bool,
    expect: Expect,
) {
    let key = format!("{fault}/{streaming}/{transient}/{}", fastrand::u64(..));
    let mut options = RequestOptions::new()
        .header("x-mock-fault", fault)
        .header("x-mock-key", key.as_str());
    if transient {
        options = options.header("x-mock-fail-times", "1");
    } else {
        options = options.header("x-mock-fail-times", "1000");
    }
    if fault.starts_with("stall") {
        options = options
            .response_header_timeout(STALL_TIMEOUT)
            .idle_timeout(STALL_TIMEOUT);
    }
    let client = client.with_options(options).unwrap();
    let outcome = call(&client, streaming).await;
    let attempts = server
        .requests()
        .iter()
        .filter(|r| r.header("x-mock-key") == Some(key.as_str()))
        .count();
    let what = format!("{fault} (streaming: {streaming}, transient: {transient})");

    match (expect, transient) {
        (Expect::Succeeds, _) | (Expect::Retried(_), true) => {
            let text = outcome.unwrap_or_else(|e| panic!("{what}: expected success, got {e:?}"));
            assert!(text.contains("fault matrix"), "{what}: {text}");
            let expected = if matches!(expect, Expect::Succeeds) {
                1
            } else {
                2
            };
            assert_eq!(attempts, expected, "{what}: attempts");
        }
        (Expect::Retried(matches), false) => {
            let error = outcome.expect_err(&what);
            assert!(matches(&error), "{what}: unexpected {error:?}");
            assert_eq!(attempts, 1 + MAX_RETRIES as usize, "{what}: attempts");
        }
        (Expect::Fails(matches), _) => {
            let error = outcome.expect_err(&what);
            assert!(matches(&error), "{what}: unexpected {error:?}");
            assert_eq!(
                attempts, 1,
                "{what}: a failure that is not retried is tried once"
            );
        }
    }
    let stats = client.stats();
    assert_eq!(
        (stats.in_flight, stats.waiting),
        (0, 0),
        "{what}: {stats:?}"
    );
    assert_eq!(stats.pool.map(|p| p.in_use), Some(0), "{what}: {stats:?}");
}

async fn every_fault_non_streaming(rt: Rt) {
    let server = common::mock();
    let client = matrix_client(&server, &rt, fast_retries());
    for (fault, expect) in non_streaming_cases() {
        for transient in [true, false] {
            run_case(&server, &client, fault, false, transient, expect).await;
        }
    }
}

async fn every_fault_streaming(rt: Rt) {
    let server = common::mock();
    let client = matrix_client(&server, &rt, fast_retries());
    for (fault, expect) in streaming_cases() {
        for transient in [true, false] {
            run_case(&server, &client, fault, true, transient, expect).await;
        }
    }
}

async fn an_error_event_before_content_is_retried_on_request(rt: Rt) {
    let server = common::mock();
    let client = matrix_client(&server, &rt, fast_retries().retry_stream_errors(true));
    let overloaded = Expect::Retried(|e| {
        matches!(
            e,
            Error::Api {
                kind: ApiErrorKind::Overloaded,
                ..
            }
        )
    });
    run_case(&server, &client, "error-event:0", true, true, overloaded).await;
    run_case(&server, &client, "error-event:0", true, false, overloaded).await;
    // Never once text was delivered, even on request.
    let after_text = Expect::Fails(|e| {
        matches!(
            e,
            Error::Api {
                kind: ApiErrorKind::Overloaded,
                ..
            }
        )
    });
    run_case(&server, &client, "error-event:2", true, true, after_text).await;
}

async fn x_should_retry_and_retry_after_are_obeyed(rt: Rt) {
    let server = common::mock();
    let client = matrix_client(&server, &rt, fast_retries());
    // `x-should-retry: false` turns a retryable 529 into a final answer…
    let no = client
        .with_options(RequestOptions::new().header("x-mock-should-retry", "false"))
        .unwrap();
    run_case(
        &server,
        &no,
        "status:529",
        false,
        true,
        Expect::Fails(|e| api(ApiErrorKind::Overloaded)(e)),
    )
    .await;
    // …and `x-should-retry: true` makes a 400 retryable.
    let yes = client
        .with_options(RequestOptions::new().header("x-mock-should-retry", "true"))
        .unwrap();
    run_case(
        &server,
        &yes,
        "status:400",
        false,
        true,
        Expect::Retried(|e| api(ApiErrorKind::InvalidRequest)(e)),
    )
    .await;

    // The delay the server asks for is honoured and reported to the callback.
    let delays = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = delays.clone();
    let policy = fast_retries().on_retry(move |event| seen.lock().unwrap().push(event.delay));
    let client = matrix_client(&server, &rt, policy)
        .with_options(RequestOptions::new().header("x-mock-retry-after-ms", "30"))
        .unwrap();
    run_case(
        &server,
        &client,
        "status:529",
        false,
        true,
        Expect::Retried(|e| api(ApiErrorKind::Overloaded)(e)),
    )
    .await;
    let delays = delays.lock().unwrap().clone();
    assert_eq!(delays.len(), 1);
    assert!(
        delays[0] <= Duration::from_millis(30) && delays[0] >= Duration::from_millis(20),
        "{delays:?}"
    );
}

async fn the_retry_count_header_numbers_the_attempts(rt: Rt) {
    let server = common::mock();
    let client = matrix_client(&server, &rt, fast_retries());
    run_case(
        &server,
        &client,
        "status:500",
        false,
        false,
        Expect::Retried(|e| api(ApiErrorKind::Internal)(e)),
    )
    .await;
    let counts: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("x-stainless-retry-count").unwrap_or("").to_owned())
        .collect();
    assert_eq!(counts, ["0", "1", "2"]);
}

/// The retry callback is told which call it is about: the caller's label, and the request id
/// of the failed attempt's response.
async fn the_retry_callback_names_the_call(rt: Rt) {
    let server = common::mock();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let policy = fast_retries().on_retry(move |event| {
        record.lock().unwrap().push((
            event.label.map(str::to_owned),
            event.request_id.map(str::to_owned),
            event.retries_done,
        ));
    });
    let client = matrix_client(&server, &rt, policy)
        .with_options(
            RequestOptions::new()
                .label("job-7")
                .header("x-mock-fault", "status:529")
                .header("x-mock-key", format!("label/{}", fastrand::u64(..)))
                .header("x-mock-fail-times", "2"),
        )
        .unwrap();
    let text = call(&client, false)
        .await
        .expect("the third attempt succeeds");
    assert!(!text.is_empty());
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (i, (label, request_id, retries_done)) in seen.iter().enumerate() {
        assert_eq!(label.as_deref(), Some("job-7"));
        assert_eq!(*retries_done, i as u32);
        let id = request_id.as_deref().expect("the mock sends a request-id");
        assert!(id.starts_with("req_mock_"), "{id}");
    }
    assert_ne!(seen[0].1, seen[1].1, "each attempt has its own request id");
    // The label is the caller's: it is never sent.
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert!(request.headers.values().all(|v| v.as_bytes() != b"job-7"));
        assert!(!String::from_utf8_lossy(&request.body).contains("job-7"));
    }
}

async fn a_connection_refused_is_retried_then_reported(rt: Rt) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let retries = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = retries.clone();
    let client = Client::builder()
        .api_key(TEST_KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .shared_runtime(rt)
        .retry_policy(fast_retries().on_retry(move |_| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }))
        .build()
        .unwrap();
    let error = client.query("anyone?").await.expect_err("refused");
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert_eq!(
        retries.load(std::sync::atomic::Ordering::SeqCst),
        MAX_RETRIES
    );
}

async fn the_total_deadline_bounds_retries(rt: Rt) {
    let server = common::mock();
    // Ten retries of a call that stalls 300 ms each time would take 3 s; the total deadline
    // ends it first, with its own error.
    let client = matrix_client(
        &server,
        &rt,
        RetryPolicy::new()
            .max_retries(10)
            .backoff(Duration::from_millis(1), Duration::from_millis(1)),
    )
    .with_options(
        RequestOptions::new()
            .timeout(Duration::from_millis(700))
            .response_header_timeout(STALL_TIMEOUT)
            .header("x-mock-fault", "stall-before-headers"),
    )
    .unwrap();
    let error = client.query("slow").await.expect_err("deadline");
    assert!(
        matches!(
            error,
            Error::Timeout {
                phase: TimeoutPhase::Total,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        server.requests().len() < 11,
        "the deadline cut the retries short"
    );
    let stats = client.stats();
    assert_eq!(
        (stats.in_flight, stats.pool.map(|p| p.in_use)),
        (0, Some(0)),
        "{stats:?}"
    );
}

on_all_runtimes!(
    every_fault_non_streaming,
    every_fault_streaming,
    an_error_event_before_content_is_retried_on_request,
    x_should_retry_and_retry_after_are_obeyed,
    the_retry_count_header_numbers_the_attempts,
    the_retry_callback_names_the_call,
    a_connection_refused_is_retried_then_reported,
    the_total_deadline_bounds_retries,
);
