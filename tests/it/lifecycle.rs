//! Cancellation, shutdown and client-side limits, on every runtime: a call dropped at any
//! point leaves nothing behind, `close` drains, and the limits hold.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use claude_kit::{ApiErrorKind, Client, ClientStats, Error, MessageRequest, RequestOptions};
use claude_kit_mock::{MockServer, Reply};
use common::{Rt, TEST_KEY, cancel_after, on_all_runtimes};
use futures::StreamExt;

fn assert_idle(stats: ClientStats, what: &str) {
    assert_eq!(
        (stats.in_flight, stats.waiting),
        (0, 0),
        "{what}: {stats:?}"
    );
    let pool = stats.pool.expect("the hyper transport has a pool");
    assert_eq!((pool.in_use, pool.waiting), (0, 0), "{what}: {stats:?}");
}

async fn call(client: &Client, streaming: bool) -> claude_kit::Result<String> {
    let request = MessageRequest::new("m", 64).user("one two three four five six seven eight");
    if streaming {
        let mut stream = client.messages().stream(request).await?;
        let mut text = String::new();
        while let Some(event) = stream.next().await {
            if let claude_kit::StreamEvent::ContentBlockDelta {
                delta: claude_kit::ContentDelta::Text(t),
                ..
            } = event?
            {
                text.push_str(&t);
            }
        }
        Ok(text)
    } else {
        Ok(client.messages().create(request).await?.text())
    }
}

async fn a_call_dropped_at_any_point_leaves_nothing_behind(rt: Rt) {
    let server = MockServer::builder()
        .api_key(TEST_KEY)
        .token_delay(Duration::from_millis(1))
        .start()
        .unwrap();
    let client = Client::builder()
        .api_key(TEST_KEY)
        .base_url(server.url())
        .shared_runtime(rt)
        .max_concurrent_requests(4)
        .requests_per_minute(100_000)
        .build()
        .unwrap();
    for streaming in [false, true] {
        let mut completed = 0;
        for polls in 0..40 {
            match cancel_after(polls, call(&client, streaming)).await {
                None => {}
                Some(result) => {
                    result.unwrap();
                    completed += 1;
                }
            }
            assert_idle(
                client.stats(),
                &format!("streaming {streaming}, dropped after {polls} polls"),
            );
        }
        assert!(completed > 0, "some calls should complete within 40 polls");
        assert!(completed < 40, "some calls should be cancelled midway");
    }
    // The client is as good as new.
    assert!(call(&client, true).await.unwrap().ends_with("seven eight"));
}

async fn close_waits_for_calls_in_flight_then_refuses_new_ones(rt: Rt) {
    let server = common::mock();
    let client = common::client(&server, &rt);
    server.enqueue(Reply::trickle(
        "a slow but complete answer",
        Duration::from_millis(5),
    ));
    let stream = client
        .messages()
        .stream(MessageRequest::new("m", 64).user("slow"))
        .await
        .unwrap();
    let (drained, text) = futures::join!(
        // A generous bound: close returns as soon as the stream is done, and a starved machine
        // may take seconds to trickle it.
        client.close_within(Duration::from_secs(60)),
        stream.final_text()
    );
    assert!(
        drained,
        "close returns once the stream is done: {:?} {text:?}",
        client.stats()
    );
    assert_eq!(text.unwrap(), "a slow but complete answer");
    assert!(matches!(
        client.query("after close").await,
        Err(Error::Closed { .. })
    ));
    assert_idle(client.stats(), "after close");
    let pool = client.stats().pool.unwrap();
    assert_eq!(pool.idle, 0, "close drops idle connections");

    // A stream nobody reads keeps close waiting only as long as its bound.
    let server = common::mock();
    let client = common::client(&server, &rt);
    let held = client
        .messages()
        .stream(MessageRequest::new("m", 64).user("held"))
        .await
        .unwrap();
    assert!(
        !client.close_within(Duration::from_millis(50)).await,
        "a held stream is still in flight"
    );
    drop(held);
    assert!(client.close_within(Duration::from_secs(30)).await);
}

async fn background_tasks_end_after_close(rt: Rt) {
    let server = common::mock();
    let client = common::client(&server, &rt);
    for _ in 0..3 {
        client.query("keep-alive").await.unwrap();
    }
    assert!(
        client.stats().tasks >= 1,
        "a pooled connection has its driver task"
    );
    client.close().await;
    // The drivers notice their connection closed on their own schedule: wait for it, boundedly
    // (a deadline, not a number of polls, so a starved machine gets the same patience).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if client.stats().tasks == 0 {
            return;
        }
        claude_kit::rt::with_runtime::sleep(&**client.runtime(), Duration::from_millis(5)).await;
    }
    panic!("tasks still alive after close: {:?}", client.stats());
}

async fn the_concurrency_cap_holds(rt: Rt) {
    let server = MockServer::builder()
        .api_key(TEST_KEY)
        .token_delay(Duration::from_millis(2))
        .start()
        .unwrap();
    let client = Client::builder()
        .api_key(TEST_KEY)
        .base_url(server.url())
        .shared_runtime(rt)
        .max_concurrent_requests(3)
        .build()
        .unwrap();
    let peak = Arc::new(AtomicUsize::new(0));
    let server = &server;
    let calls = (0..12).map(|i| {
        let client = client.clone();
        let peak = peak.clone();
        async move {
            let mut stream = client
                .messages()
                .stream(MessageRequest::new("m", 64).user(format!("call {i}")))
                .await
                .unwrap();
            while let Some(event) = stream.next().await {
                event.unwrap();
                peak.fetch_max(server.open_connections(), Ordering::SeqCst);
            }
        }
    });
    futures::future::join_all(calls).await;
    assert!(
        peak.load(Ordering::SeqCst) <= 3,
        "at most 3 calls at once, saw {} connections",
        peak.load(Ordering::SeqCst)
    );
    assert!(
        server.connection_count() <= 3,
        "connections are reused under the cap"
    );
    assert_idle(client.stats(), "after the capped batch");
}

async fn the_request_rate_limiter_holds_calls_back(rt: Rt) {
    let server = common::mock();
    // One request a minute: the second call must wait for the limiter, so a short deadline
    // ends it before it ever reaches the server.
    let client = Client::builder()
        .api_key(TEST_KEY)
        .base_url(server.url())
        .shared_runtime(rt)
        .requests_per_minute(1)
        .build()
        .unwrap();
    client.query("first").await.unwrap();
    let hasty = client
        .with_options(RequestOptions::new().timeout(Duration::from_millis(200)))
        .unwrap();
    let error = hasty.query("second").await.expect_err("held back");
    assert!(
        matches!(
            error,
            Error::Timeout {
                phase: claude_kit::TimeoutPhase::Total,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "the held-back call never reached the server"
    );
    assert_idle(client.stats(), "after giving up on the limiter");
}

async fn rate_limit_headers_are_parsed_on_responses_and_errors(rt: Rt) {
    let server = MockServer::builder()
        .api_key(TEST_KEY)
        .rate_limits(2, 1_000_000)
        .start()
        .unwrap();
    let client = common::client(&server, &rt);
    let first = client.query("one").await.unwrap();
    let second = client.query("two").await.unwrap();
    let (a, b) = (first.rate_limit(), second.rate_limit());
    let (a, b) = (
        a.requests.expect("requests limit"),
        b.requests.expect("requests limit"),
    );
    assert_eq!(a.limit, Some(2));
    assert_eq!((a.remaining, b.remaining), (Some(1), Some(0)));
    assert!(a.reset.is_some());

    let error = client.query("three").await.expect_err("over the limit");
    assert!(
        matches!(
            error,
            Error::Api {
                kind: ApiErrorKind::RateLimit,
                ..
            }
        ),
        "{error:?}"
    );
    let info = error.rate_limit().expect("rate-limit headers on the 429");
    assert!(
        info.retry_after
            .is_some_and(|d| d >= Duration::from_secs(1)),
        "{info:?}"
    );
}

async fn per_request_options_override_the_client(rt: Rt) {
    let server = common::mock();
    let client = common::client(&server, &rt);
    let beta = client
        .with_options(RequestOptions::new().header("anthropic-beta", "feature-x"))
        .unwrap();
    beta.query("with a beta header").await.unwrap();
    client.query("without").await.unwrap();
    let requests = server.requests();
    assert_eq!(requests[0].header("anthropic-beta"), Some("feature-x"));
    assert_eq!(
        requests[1].header("anthropic-beta"),
        None,
        "the base client is unchanged"
    );

    let hasty = client
        .with_options(
            RequestOptions::new()
                .timeout(Duration::from_millis(100))
                .header("x-mock-fault", "stall-before-headers"),
        )
        .unwrap();
    let error = hasty.query("too slow").await.expect_err("timeout");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert_idle(client.stats(), "after the timed-out call");
    // Derived clients share the pool with the original.
    assert_eq!(client.stats().pool, hasty.stats().pool);
}

on_all_runtimes!(
    a_call_dropped_at_any_point_leaves_nothing_behind,
    close_waits_for_calls_in_flight_then_refuses_new_ones,
    background_tasks_end_after_close,
    the_concurrency_cap_holds,
    the_request_rate_limiter_holds_calls_back,
    rate_limit_headers_are_parsed_on_responses_and_errors,
    per_request_options_override_the_client,
);
